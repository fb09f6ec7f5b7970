// Arrays: length assignment (truncate/extend), holes as undefined, writes past the end, non-index props.
// Holes are read by index (not with map/forEach, which skip holes in Node: a documented difference).
function show(a) {
  const out = [];
  for (let i = 0; i < a.length; i++) out.push(a[i] === undefined ? 'u' : a[i] === null ? 'n' : a[i]);
  return out;
}
function main(data) {
  const a = [1, 2, 3, 4, 5];
  a.length = 3;
  const b = [1, 2];
  b.length = 4;
  const c = [];
  c[3] = 'x';
  const d = [1, 2, 3];
  d[d.length] = 4;
  const e = ['a'];
  e.extra = 'prop';
  const f = [0, 1, 2];
  f.length = 0;
  const g = new Array(3).fill(null);
  data.out = [a, a.length, show(b), b.length, show(c), c.length, d, e.length, e.extra, Object.keys(e), f, f.length, g,
    JSON.stringify([undefined, null, 1]), JSON.stringify(c), [1, 2, 3][5], [1, 2, 3]['1'], [1, 2, 3].length - 1];
  data.egress_routing.length = 2;
  data.out.push(data.routing.egress_routing.length);
  return data;
}
