// Relational operators on strings, numbers and mixed operands.
function main(data) {
  const pairs = [
    ['9', 0], ['2', '12'], [2, '12'], ['2', 12], ['abc', 'abd'], ['a', 'B'], ['Z', 'a'], ['', 'a'],
    ['10', '9'], [10, '9'], [null, 0], [undefined, 0], ['x', 1], [NaN, NaN], [true, 0], [false, 1],
    ['1e1', 9], [[2], 1], [[1, 2], 1], ['09', 9], [' 5 ', 5], [-0, 0], [Infinity, 1e308], ['\u00e9', 'z'],
  ];
  data.out = pairs.map(([a, b]) => [a < b, a <= b, a > b, a >= b].map((x) => (x ? 1 : 0)).join(''));
  const h = '09';
  data.out.push(h >= 9, h >= '9', h < '10', '21' > 9, '21' > '9');
  data.out.push(data.routing.dest_number > '1555', data.routing.dest_number > 1555, data.routing.dest_number < 2e10);
  return data;
}
