// console: compare
// expect: sip
// A SIP error thrown deep inside nested try/finally still ends the call with that status; finally blocks run first.
const trail = [];
function inner(d) {
  try {
    if (d.routing.dest_number.startsWith('1555')) throw new Error('503 Service Unavailable');
  } finally {
    trail.push('inner-finally');
  }
}
function main(data) {
  try {
    inner(data);
  } catch (e) {
    trail.push('caught ' + e.message);
    throw e;
  } finally {
    trail.push('outer-finally');
    console.log(trail.join(' | '));
  }
  return data;
}
