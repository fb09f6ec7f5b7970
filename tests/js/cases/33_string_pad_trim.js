// padStart / padEnd / trim / trimStart / trimEnd / repeat / toUpperCase / toLowerCase / concat.
function main(data) {
  const n = String(data.max_attempts);
  data.out = [n.padStart(4, '0'), n.padEnd(4, '-'), 'abc'.padStart(8, '12'), 'abc'.padEnd(8, 'xy'), 'abc'.padStart(2), 'abc'.padStart(6),
    'x'.padEnd(3, ''), '7'.padStart(3, 0), `[${'  a b \t\n'.trim()}]`, `[${'  a '.trimStart()}]`, `[${'  a '.trimEnd()}]`,
    `[${'\u00a0\ufeffx\u2003'.trim()}]`, 'ab'.repeat(3), 'ab'.repeat(0), 'Sip:User@Host'.toUpperCase(), 'ÀÉÎ Straße'.toLowerCase(),
    'straße'.toUpperCase(), 'a'.concat('b', 1, null, [2, 3]), ''.concat(), data.routing.transport.toUpperCase(),
    new Date(data.routing.time).getUTCMinutes().toString().padStart(2, '0')];
  return data;
}
