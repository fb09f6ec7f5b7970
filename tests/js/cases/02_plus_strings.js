// + with strings and mixed operands, += on strings, String() conversions.
function main(data) {
  const o = [];
  o.push(1 + 2, '1' + 2, 1 + '2', 1 + 2 + '3', '1' + 2 + 3, 1 + (2 + '3'));
  o.push('a' + null, 'a' + undefined, 'a' + true, 'a' + NaN, 'a' + -0, 'a' + 1e21, 'a' + 0.1);
  o.push(null + 1, true + true, true + 1, undefined + 1 + '', null + '', [] + [], [] + {}, [1, 2] + [3], ({}) + 'x');
  o.push([1, [2, 3]] + '', [null, undefined, 4] + '', 'n=' + [5], '' + 1.5e-7, '' + 123456789012345680000);
  let s = '';
  for (let i = 0; i < 5; i++) s += i;
  o.push(s);
  let n = 10;
  n += '5';
  o.push(n, typeof n);
  let m = '3';
  m -= 1;
  o.push(m, typeof m);
  o.push(data.routing.cli + 1, +data.routing.cli + 1, data.routing.src_port + '', data.max_attempts + data.rate);
  o.push(String(123), String(-0), String(null), String(undefined), String(true), String([1, 2]), String({}));
  data.out = o;
  return data;
}
