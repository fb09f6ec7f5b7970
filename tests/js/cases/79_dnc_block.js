// call: call-dnc.json call.json
// expect: sip data
// Do-not-call list from vars: ScriptForge's legacy rejection `return Promise.reject([480, 'Disallowed'])`.
function main(data) {
  const dnc = new Set(data.dnc.map((n) => n.replace(/\D/g, '')));
  if (dnc.has(data.routing.dest_number)) {
    return Promise.reject([480, 'Disallowed']);
  }
  data.headers.push({ key: 'X-DNC', value: 'clear' });
  return data;
}
