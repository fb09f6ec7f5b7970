// Objects: key order (integer-like keys first), computed keys, shorthand, delete, in, hasOwnProperty, methods, nested mutation.
function main(data) {
  const k = 'dyn';
  const cli = data.routing.cli;
  const o = { z: 1, 2: 'b', a: 2, 1: 'a', [k + 'Key']: 3, cli, '4294967295': 'big', 4294967294: 'maxidx', '-5': 'n', '1.5': 'f' };
  o.added = true;
  o[7] = 'seven';
  const keysBefore = Object.keys(o);
  delete o.z;
  const gone = delete o.nothing;
  o.z = 'back';
  const r = data.routing;
  data.out = [keysBefore, Object.keys(o), gone, 'a' in o, 'z' in o, 'toString' in o, o.hasOwnProperty('toString'), 1 in o, '1' in o,
    o[1] === o['1'], JSON.stringify(o), r['dest_number'], r['src' + '_port'], 'time' in r, 'nope' in r, Object.keys(r.headers),
    Object.keys(data), typeof o.toString, String(o.missing), o.missing === undefined];
  const counts = {};
  for (const e of data.egress_routing) counts[e.transport] = (counts[e.transport] || 0) + 1;
  data.out.push(counts);
  data.routing.headers['X-New'] = 'added';
  delete data.routing.headers['Max-Forwards'];
  data.out.push(Object.keys(data.routing.headers));
  return data;
}
