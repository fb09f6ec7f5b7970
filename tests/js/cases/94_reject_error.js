// expect: sip
// return Promise.reject(new Error('404 Not Found')) → SIP 404.
function main(data) {
  const known = data.dnc.concat(['15551234567']);
  if (known.includes(data.routing.dest_number)) return Promise.reject(new Error('404 Not Found'));
  return data;
}
