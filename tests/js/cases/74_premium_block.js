// call: call-premium.json call.json
// expect: sip data
// Premium-rate prefixes from vars are blocked with a SIP 403 thrown as an Error.
function main(data) {
  const dest = data.routing.dest_number.replace(/^\+/, '');
  for (const prefix of data.premium_prefixes) {
    if (dest.startsWith(prefix)) {
      throw new Error('403 Forbidden');
    }
  }
  data.headers.push({ key: 'X-Checked', value: 'premium' });
  return data;
}
