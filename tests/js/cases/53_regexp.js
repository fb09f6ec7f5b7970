// RegExp literals: test/exec, flags g/i/m, lastIndex with g, source/flags, character classes, anchors, alternation, quantifiers.
function main(data) {
  const d = data.routing.dest_number;
  const g = /\d{3}/g;
  const seq = [];
  let m;
  while ((m = g.exec('123456789')) !== null) seq.push(m[0] + '@' + m.index + '/' + g.lastIndex);
  const t = /a/g;
  const tests = [t.test('aa'), t.lastIndex, t.test('aa'), t.lastIndex, t.test('aa'), t.lastIndex];
  const e = /^sip:(\+?)(\d+)@([\w.]+)(?::(\d+))?$/.exec('sip:+15551234567@10.0.0.1:5080');
  data.out = [/^1\d{10}$/.test(d), /^1(900|976)/.test(d), /^44/.test(d), /abc/i.test('xABCx'), /^b$/m.test('a\nb\nc'), /^b$/.test('a\nb\nc'),
    seq, tests, [...e], e.index, e.input.length, /x/.exec('y'), /a.c/.test('a\nc'), /[^a-z]/.test('abc'), /\bcall\b/.test('a call here'),
    /^(?:\+|00)?(\d{1,3})/.exec('0044207')[1], /colou?r/.source, /a/gim.flags, /a/g.global, /a/i.ignoreCase, /a/m.multiline, /\s/.test('\u00a0'),
    /\//.source, /[.*+?]/.test('?'), /(a|b)+/.exec('abab')[1], /x{2,3}/.exec('xxxxx')[0], /\d+?/.exec('123')[0],
    /^[0-9a-f]+$/i.test('DEADbeef'), String(/a\/b/g), /\u00e9/.test('é'), /[\u0000-\u001f]/.test('\t')];
  return data;
}
