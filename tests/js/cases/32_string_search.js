// indexOf / lastIndexOf / includes / startsWith / endsWith with positions; search with regex.
function main(data) {
  const d = data.routing.dest_number;
  const s = 'abcabcabc';
  data.out = [s.indexOf('c'), s.indexOf('c', 3), s.indexOf('c', -5), s.indexOf(''), s.indexOf('', 100), s.indexOf('x'), s.lastIndexOf('a'),
    s.lastIndexOf('a', 5), s.lastIndexOf(''), s.lastIndexOf('a', -1), s.includes('cab'), s.includes('abc', 7), s.includes(''),
    s.startsWith('abc'), s.startsWith('bc', 1), s.startsWith('a', 1), s.endsWith('abc'), s.endsWith('ab', 2), s.endsWith('c', 100),
    d.startsWith('1555'), d.endsWith('567'), d.includes('1234'), data.premium_prefixes.some((p) => d.startsWith(p)),
    'a1'.indexOf(1), 'null'.indexOf(null), 'undefined'.includes(undefined)];
  return data;
}
