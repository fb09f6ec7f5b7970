// expect: 7:10 arguments
// The `arguments` object is refused at the identifier (rest parameters are the supported form).
function main(data) {
  return count(1, 2, 3) ? data : data;
}
function count() {
  return arguments.length;
}
