// expect: 4:3 generator|yield
// Generator methods in classes are refused at the method.
class Routes {
  *each() {
    yield 1;
  }
}
function main(data) {
  return data;
}
