// Map: set/get/has/delete/clear/size, any key type, insertion order, overwrite keeps position, iteration, forEach, keys/values/entries.
function main(data) {
  const m = new Map();
  const ko = { id: 1 };
  m.set('a', 1).set(2, 'two').set(ko, 'obj').set(NaN, 'nan').set('2', 'str2');
  m.set('a', 10);
  const r = [m.size, m.get('a'), m.get(2), m.get('2'), m.get(ko), m.get({ id: 1 }), m.get(NaN), m.has(2), m.has('b'), String(m.get('zz'))];
  r.push([...m.keys()].map((k) => typeof k), [...m.values()].map(String));
  r.push(m.delete(2), m.delete(2), m.size);
  const fe = [];
  m.forEach((v, k) => fe.push(String(k) + '=' + String(v)));
  r.push(fe, [...m.entries()].length, [...m].map(([k]) => typeof k));
  const counts = new Map();
  for (const e of data.egress_routing) counts.set(e.transport, (counts.get(e.transport) || 0) + 1);
  r.push([...counts], Object.fromEntries(counts));
  const byCarrier = new Map(data.egress_routing.map((e) => [e.carrier, e.gateway]));
  r.push(byCarrier.get('carrier-b'), byCarrier.size);
  m.clear();
  r.push(m.size, [...m]);
  data.out = r;
  return data;
}
