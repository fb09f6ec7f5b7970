// Number(), parseInt (radix, prefixes, junk), parseFloat, isNaN (global and Number.), isInteger, isFinite, constants, toString(radix).
function show(v) { return Object.is(v, -0) ? '-0' : String(v); }
function main(data) {
  const strs = ['42', ' 42 ', '4.2e1', '0x2A', '0b101', '0o17', '', ' ', '12px', '-0', '+5', '1_000', 'Infinity', '-Infinity', 'abc', '.5', '5.', '1e', '\n7\t'];
  data.out = strs.map((s) => [show(Number(s)), show(parseInt(s)), show(parseFloat(s))].join(' '));
  data.out.push(parseInt('ff', 16), parseInt('0xff'), parseInt('0xff', 16), parseInt('z', 36), parseInt('101', 2), parseInt('9', 8), parseInt('  -12.9'),
    parseInt(null), parseInt('123', 0), show(parseInt('-0')), parseFloat('3.14abc'), parseFloat('-.5e2'), parseFloat('1e1000'),
    Number(null), Number(undefined), Number(true), Number([]), Number([7]), Number([1, 2]), Number({}), Number('١'), Number(data.routing.dest_number),
    isNaN('abc'), isNaN(''), Number.isNaN('abc'), Number.isNaN(NaN), Number.isInteger(5), Number.isInteger(5.0), Number.isInteger(5.5),
    Number.isInteger('5'), (255).toString(16).toUpperCase(), (-7.5).toString(2), (0.1).toString(3).slice(0, 12), 1e21.toString(10));
  return data;
}
