// expect: 4:13 eval
// eval is refused at the identifier.
function main(data) {
  const n = eval('1 + 1');
  data.out = n;
  return data;
}
