// expect: 4:3 with
// `with` (not even valid in strict mode) is refused at the statement.
function main(data) {
  with (data.routing) {
    cli = '15550000000';
  }
  return data;
}
