// JSON.stringify: key order, undefined/function omission, null for NaN/Infinity in arrays, nesting, indent (number/string), escapes, toJSON of Date.
function main(data) {
  const o = { b: 1, a: [1, 'two', null, undefined, NaN, () => 1], u: undefined, f() {}, n: null, nested: { z: { y: [] } }, 2: 'int', '1': 'one', e: {} };
  data.out = [JSON.stringify(o), JSON.stringify(o, null, 2), JSON.stringify([1, [2, { a: 3 }]], null, '--'), JSON.stringify('he said "hi"\n'),
    JSON.stringify(undefined), JSON.stringify(null), JSON.stringify(() => 1), JSON.stringify(-0), JSON.stringify(1e21), JSON.stringify(0.1 + 0.2),
    JSON.stringify(new Date(data.routing.time)), JSON.stringify({ d: new Date(0) }), JSON.stringify('\u00e9\u2603😀'), JSON.stringify('\u0007\b\f\t\r'),
    JSON.stringify([]), JSON.stringify({}), JSON.stringify([[]], null, 2), JSON.stringify({ a: {} }, null, 4), JSON.stringify(data.schedule),
    JSON.stringify(data.egress_routing[0]), JSON.stringify({ a: 1 }, null, 20).split('\n')[1].length, JSON.stringify(true), JSON.stringify('x', null, 2),
    JSON.stringify(new Map([[1, 2]])), JSON.stringify(new Set([1])), JSON.stringify([new Error('e')]), JSON.stringify({ toJSON() { return 'custom'; } })];
  return data;
}
