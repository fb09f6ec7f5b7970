// new RegExp from strings (built from vars), escaping, flags, lastIndex reuse, RegExp with exec in a loop.
function escape(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }
function main(data) {
  const premium = new RegExp('^(' + data.premium_prefixes.map(escape).join('|') + ')');
  const dncRe = new RegExp('^(?:' + data.dnc.join('|') + ')$');
  const host = new RegExp(escape('198.51.100.10'), 'i');
  const word = new RegExp('\\bpbx\\b', 'i');
  const global = new RegExp('5', 'g');
  let count = 0;
  while (global.exec(data.routing.dest_number)) count++;
  const copy = new RegExp(/ab+c/, 'gi');
  let bad = 'none';
  try { new RegExp('('); } catch (e) { bad = e.name; }
  data.out = [premium.test(data.routing.dest_number), premium.test('19005550100'), premium.exec('4487123')[1], dncRe.test('15551230000'),
    dncRe.test('155512300001'), host.test(data.egress_routing[0].gateway), host.test('198x51x100x10'), word.test('Acme-PBX/4.2'),
    count, global.lastIndex, copy.flags, copy.source, copy.test('xABBCx'), bad, premium.source, escape('a.b*c'), new RegExp('').source,
    new RegExp('a', '').flags, new RegExp('[0-9]+').exec('ab12cd')[0]];
  return data;
}
