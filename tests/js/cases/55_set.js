// Set: add/has/delete/clear/size, insertion order, SameValueZero (NaN, -0), iteration, chaining, forEach, values/keys/entries.
function main(data) {
  const s = new Set([3, 1, 3, NaN, NaN, 0, -0, '1']);
  const r = [s.size, s.has(NaN), s.has(0), s.has(-0), s.has(1), s.has('1'), [...s].map(String)];
  r.push(s.add(5) === s, s.delete(3), s.delete(99), s.size, [...s].map(String));
  const seen = [];
  s.forEach((v, k, set) => seen.push(String(v) + '/' + String(k) + '/' + (set === s)));
  r.push(seen, [...s.values()].length, [...s.keys()].length, [...s.entries()][0].map(String));
  const o = {};
  const objs = new Set([o, o, {}]);
  r.push(objs.size);
  s.clear();
  r.push(s.size, [...s]);
  const carriers = new Set(data.egress_routing.map((e) => e.transport));
  const dnc = new Set(data.dnc);
  r.push([...carriers], dnc.has(data.routing.dest_number), dnc.has('15559998888'), new Set('aabbc').size, new Set().size);
  data.out = r;
  return data;
}
