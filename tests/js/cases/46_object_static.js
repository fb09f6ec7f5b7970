// Object.keys / values / entries / assign / freeze / isFrozen / fromEntries on plain objects, arrays and strings.
function main(data) {
  const o = { b: 2, a: 1, 3: 'three', 1: 'one' };
  const target = { x: 0 };
  const ret = Object.assign(target, { y: 1 }, null, { x: 2, z: [3] }, undefined);
  const frozen = Object.freeze({ k: 'v', nested: { n: 1 } });
  let writeErr = 'none';
  try { frozen.k = 'changed'; } catch (e) { writeErr = e.name; }
  let addErr = 'none';
  try { frozen.newKey = 1; } catch (e) { addErr = e.name; }
  frozen.nested.n = 2;
  data.out = [Object.keys(o), Object.values(o), Object.entries(o), ret === target, target, Object.keys([4, 5]), Object.values('hi'),
    Object.entries(['a']), Object.fromEntries([['a', 1], ['b', [2]]]), Object.fromEntries(new Map([['m', true]])),
    Object.fromEntries(Object.entries(data.carrier_prefs).map(([k, v]) => [k.toUpperCase(), v * 10])), frozen.k, writeErr, addErr,
    frozen.nested.n, Object.keys(data.routing).length, Object.keys({}),
    Object.entries(data.schedule), Object.assign({}, 'ab'), Object.keys(Object.assign([], { 0: 'z' }))];
  return data;
}
