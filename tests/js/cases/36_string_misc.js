// Strings outside the core list: String.fromCharCode, at, codePointAt, search; unicode lengths, escapes, sort order.
function main(data) {
  const s = 'Grüße 😀';
  data.out = [String.fromCharCode(72, 105), s.length, s[2], s.toUpperCase(), s.split(' ')[1].length, s.charCodeAt(2), s.indexOf('😀'),
    'abc' < 'abd', 'B' < 'a', 'é' > 'z', ['b', 'a', 'C', 'é', 'A'].sort(), 'a\u0000b'.length, '\x41\u{1F600}'.length,
    'tab\tnew\nline'.length, 'abc'[1], 'abc'.length, JSON.stringify('quote" back\\ nl\n uni\u2028 ctrl\u0001'),
    'abc'.at(0), 'abc'.at(-1), s.at(-2) === undefined, s.codePointAt(6), 'Hello World'.search(/o/), 'Hello World'.search(/z/),
    data.routing.dest_number.at(-1)];
  return data;
}
