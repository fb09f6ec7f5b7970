// sort: default (string order, undefined last), numeric comparators, stability, sorting objects, reverse comparators.
function main(data) {
  const items = [
    { c: 'x', w: 2, i: 0 }, { c: 'y', w: 1, i: 1 }, { c: 'z', w: 2, i: 2 }, { c: 'w', w: 1, i: 3 }, { c: 'v', w: 3, i: 4 },
    { c: 'u', w: 2, i: 5 }, { c: 't', w: 1, i: 6 }, { c: 's', w: 2, i: 7 }, { c: 'r', w: 1, i: 8 }, { c: 'q', w: 2, i: 9 },
    { c: 'p', w: 1, i: 10 }, { c: 'o', w: 3, i: 11 },
  ];
  const stable = [...items].sort((a, b) => a.w - b.w).map((x) => x.c).join('');
  const byName = [...items].sort((a, b) => (a.c < b.c ? -1 : a.c > b.c ? 1 : 0)).map((x) => x.i);
  const prefs = data.carrier_prefs;
  const egress = [...data.egress_routing].sort((a, b) => prefs[a.carrier] - prefs[b.carrier]).map((e) => e.carrier);
  const big = [];
  for (let i = 0; i < 40; i++) big.push((i * 7919) % 53);
  data.out = [[10, 9, 1, 100, 25].sort(), [10, 9, 1, 100, 25].sort((a, b) => a - b), [10, 9, 1, 100, 25].sort((a, b) => b - a),
    ['b', undefined, 'a', 'c', undefined].sort().map(String), [3, 1, 2].sort(() => 0), ['B', 'a', 'C', 'b'].sort(),
    [true, false, 'true', 1, '1', null].sort().map(String), [-1, -2, 0, 2, 1].sort(), stable, byName, egress,
    big.sort((a, b) => a - b).join(','), [5, 1, 4].sort((a, b) => (a < b ? -1 : 1)), ['10', '9', '1'].sort((a, b) => a - b),
    [0.1, 0.01, 1e-7, 1e21, 5].sort()];
  const arr = [3, 2, 1];
  data.out.push(arr.sort() === arr, arr);
  return data;
}
