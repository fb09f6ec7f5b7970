// Spread in calls, arrays and objects; rest parameters; copying and merging.
function sum(...nums) { return nums.reduce((a, b) => a + b, 0); }
function tail(first, ...others) { return [first, others.length, others]; }
function main(data) {
  const nums = [3, 1, 4, 1, 5];
  const more = [...nums, ...[9, 2], 6];
  const chars = [...'héllo'];
  const copy = [...data.egress_routing];
  copy.reverse();
  const base = { a: 1, b: 2, c: { deep: true } };
  const merged = { ...base, b: 20, d: 4 };
  const over = { b: 'first', ...base };
  const fromArr = { ...['x', 'y'] };
  const fromStr = { ...'hi' };
  const withNull = { ...null, ...undefined, z: 1 };
  merged.c.deep = 'shared';
  data.out = [sum(...nums), sum(), Math.max(...nums), Math.min(...more), more, chars, chars.length,
    copy.map((e) => e.carrier), data.egress_routing[0].carrier, merged, over, Object.keys(over), fromArr, fromStr, withNull,
    base.c.deep, tail(1), tail(1, 2, 3), [...new Set([1, 2, 2, 3])], [...new Map([['a', 1]])]];
  return data;
}
