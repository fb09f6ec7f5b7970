// expect: 4:39|4:40 look
// Regex lookbehind is refused too.
function main(data) {
  data.out = data.routing.cli.replace(/(?<=^1)555/, 'XXX');
  return data;
}
