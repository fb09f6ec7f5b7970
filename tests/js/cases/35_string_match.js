// match / matchAll / exec with and without g: index, groups, null results.
function main(data) {
  const s = 'call 15551234567 from 15550001111 at 14:05';
  const m = s.match(/(\d{3})(\d{3})(\d{4})/);
  const all = s.match(/\d+/g);
  const none = s.match(/xyz/);
  const noneG = s.match(/xyz/g);
  const it = [...s.matchAll(/(\d+):(\d+)|1(555)/g)].map((x) => [x[0], x[1], x[2], x[3], x.index]);
  const date = '2025-11-18'.match(/(\d{4})-(\d{2})-(\d{2})/);
  data.out = [m[0], m[1], m[2], m[3], m.index, m.length, all, none, noneG, it, date.slice(1).reverse().join('.'),
    'ABC'.match(/b/i)[0], 'x'.match(/(y)?x/)[1] === undefined, data.routing.from_uri.match(/^sip:([^@]+)@(.+)$/).slice(1),
    'aaa'.match(/a*?/)[0].length, 'line1\nline2'.match(/^line2$/m)[0], 'line1\nline2'.match(/^line2$/), 'a.b'.match(/./g).length];
  return data;
}
