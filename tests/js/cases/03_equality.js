// == coercions vs ===, != and !==, Object.is not used (see edge cases).
function main(data) {
  const vals = [0, 1, '', '0', '1', ' 1 ', 'a', null, undefined, false, true, NaN, [], [0], [1], '1,2', [1, 2]];
  const loose = [];
  const strict = [];
  for (let i = 0; i < vals.length; i++) {
    let row = '';
    let srow = '';
    for (let j = 0; j < vals.length; j++) {
      row += vals[i] == vals[j] ? '1' : '0';
      srow += vals[i] === vals[j] ? '1' : '0';
    }
    loose.push(row);
    strict.push(srow);
  }
  const a = { x: 1 };
  const b = { x: 1 };
  data.out = {
    loose,
    strict,
    objects: [a == a, a == b, a === a, a != b, a !== b, null == 0, undefined == 0, null != undefined, NaN != NaN],
    numstr: ['10' == 10, '0x10' == 16, '1e2' == 100, '' == 0, '\n' == 0, 'abc' == NaN, 2 == true, 1 == true],
    port: [data.routing.src_port == '5060', data.routing.src_port === '5060', data.max_attempts == '2'],
  };
  return data;
}
