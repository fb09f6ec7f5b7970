// Less common operators: comma, void, unary +/-/! chains, nested ternaries, in with arrays, delete on objects, grouping, typeof in conditions.
function main(data) {
  let a = 1;
  const c = (a++, a++, a);
  const v = void 0;
  const arr = ['x', 'y'];
  const o = { p: 1, q: 2 };
  const deleted = delete o.p;
  const grade = (n) => (n > 90 ? 'A' : n > 80 ? 'B' : n > 70 ? 'C' : 'F');
  data.out = [c, v === undefined, +'', -'', +[], +{}, +'3' + +'4', - -'5', !!'0', !0, !!NaN, 0 in arr, 2 in arr, 'length' in arr, deleted, o,
    [95, 85, 75, 5].map(grade), (1, 2, 3), typeof data.routing === 'object' ? 'obj' : 'other', (2 + 3) * 4, 2 + 3 * 4, 2 ** 3 ** 2,
    (-8) % 3, -(8 % 3), 1 - -1, '5' - - '2', 10 / 4 | 0];
  return data;
}
