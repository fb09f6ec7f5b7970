// expect: 4:13 Function
// The Function constructor (code from strings) is refused.
function main(data) {
  const f = Function('a', 'return a * 2');
  data.out = f(2);
  return data;
}
