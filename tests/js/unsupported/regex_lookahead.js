// expect: 4:14|4:20 look
// Regex lookahead is not supported by the regex engine: refused at compile time (the literal or the group).
function main(data) {
  const re = /^1555(?=\d{7}$)/;
  data.out = re.test(data.routing.dest_number);
  return data;
}
