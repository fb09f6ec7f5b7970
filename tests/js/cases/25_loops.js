// Loops: for, while, do-while, for...in (key order, inherited-free), for...of over arrays/strings/Map/Set, mutation while iterating.
function main(data) {
  const out = [];
  for (let i = 0, j = 10; i < j; i += 3, j--) out.push(i + ':' + j);
  let w = 1;
  while (w < 100) w *= 3;
  out.push(w);
  let d = 0;
  do { d++; } while (d < 0);
  out.push(d);
  const obj = { b: 1, a: 2, 10: 'ten', 2: 'two', '-1': 'neg', '01': 'lead' };
  const keys = [];
  for (const k in obj) keys.push(k);
  out.push(keys.join(','));
  const ak = [];
  for (const k in ['x', 'y']) ak.push(k, typeof k);
  out.push(ak);
  const chars = [];
  for (const ch of 'a€😀b') chars.push(ch);
  out.push(chars, 'a€😀b'.length);
  const grow = [1, 2, 3];
  let seen = 0;
  for (const v of grow) { seen++; if (v === 1) grow.push(4); }
  out.push(seen);
  const m = new Map([['x', 1], ['y', 2]]);
  for (const [k, v] of m) out.push(k + v);
  for (const v of new Set([3, 3, 4])) out.push(v);
  for (const [i, e] of data.egress_routing.map((x, j) => [j, x])) out.push(i + '=' + e.carrier);
  let sum = 0;
  for (var v = 0; v < 5; v++) { if (v === 2) continue; sum += v; }
  out.push(sum, v);
  data.out = out;
  return data;
}
