// slice / concat / join with negatives, nested arrays, null/undefined elements and separators.
function main(data) {
  const a = [1, 2, 3, 4, 5];
  data.out = [a.slice(1, 3), a.slice(-2), a.slice(3, 1), a.slice(), a.slice(-100, 2), a.slice(2, -1), a.slice(10),
    a.concat([6, 7], 8, [[9]]), [].concat(1, [2], [[3]]), a.concat(), [1, null, undefined, 2].join(), [1, [2, [3, 4]]].join(';'),
    ['a', 'b'].join(''), [].join('x'), [null].join('-'), [undefined, undefined].join(), ['x'].join(), [1, 2].join(undefined),
    [1.5, -0, 1e21, true, { a: 1 }].join('|'), data.egress_routing.map((e) => e.carrier).join(', '), a];
  return data;
}
