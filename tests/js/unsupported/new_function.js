// expect: 4:13|4:17 Function
// `new Function(...)` is refused (at the `new` expression or at `Function`).
function main(data) {
  const f = new Function('a', 'return a * 2');
  data.out = f(2);
  return data;
}
