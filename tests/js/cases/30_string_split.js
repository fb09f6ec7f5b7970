// String.prototype.split: separators, limit, regex (with captures), empty string, edge cases.
function main(data) {
  const s = 'a,b,,c,';
  data.out = [s.split(','), s.split(',', 2), s.split(',', 0), s.split(), s.split(''), 'abc'.split('', 2), ''.split(','), ''.split(''),
    'a1b22c333'.split(/\d+/), 'a1b22c'.split(/(\d)/), 'one  two\tthree'.split(/\s+/), 'x'.split('x'), 'aXbxC'.split(/x/i),
    data.schedule.week.split('-').map(Number), data.egress_routing[0].gateway.split(':'), 'k=v;k2=v2'.split(';').map((p) => p.split('=')),
    '2025-11-18'.split('-', -1), 'a,b'.split(',', 1.7), 'héllo wörld'.split('ö'), 'a||b'.split('|')];
  return data;
}
