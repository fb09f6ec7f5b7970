// flat (depths), Array.isArray, Array.from (iterables, array-likes, map fn), Array.of.
function main(data) {
  data.out = [[1, [2, [3, [4]]]].flat(), [1, [2, [3, [4]]]].flat(2), [1, [2, [3, [4]]]].flat(Infinity), [[], [[]]].flat(),
    Array.isArray([]), Array.isArray({ length: 0 }), Array.isArray('ab'), Array.isArray(data.egress_routing), Array.isArray(null),
    Array.from('abc'), Array.from(new Set([1, 1, 2])), Array.from(new Map([[1, 'a']])), Array.from({ length: 3 }, (_, i) => i * i),
    Array.from([1, 2], (x) => x * 10), Array.from({ length: 2, 0: 'x', 1: 'y' }), Array.of(7), Array.of(1, 2, 3), Array.of(),
    Array.from(data.cli_ranges, (r) => r.from.length), Array.from('😀a').length];
  return data;
}
