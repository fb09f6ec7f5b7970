// replace / replaceAll with strings, regexes, $1/$&/$$ patterns and replacer functions.
function main(data) {
  const d = data.routing.dest_number;
  data.out = ['a-b-c'.replace('-', '+'), 'a-b-c'.replaceAll('-', '+'), 'a-b-c'.replace(/-/g, ''), 'aaa'.replace('a', '$&$&'),
    'John Smith'.replace(/(\w+)\s(\w+)/, '$2, $1'), 'price'.replace('price', '$$5'), 'abc'.replace(/b/, "[$`|$']"),
    '+1 (555) 123-4567'.replace(/[^\d+]/g, ''), d.replace(/^1/, '+1'), d.replace(/^(\d{1})(\d{3})(\d{3})(\d{4})$/, '+$1 ($2) $3-$4'),
    'x1y22z'.replace(/\d+/g, (m) => `<${m.length}>`), 'a.b.c'.replaceAll('.', '/'), 'aXbx'.replace(/x/gi, '_'),
    'k1=v1&k2=v2'.replace(/(\w+)=(\w+)/g, (m, k, v, off) => `${v}:${k}@${off}`), 'abc'.replace('', '^'), 'abc'.replaceAll('', '.'),
    'no match'.replace(/zzz/, 'y'), 'sip:+4420790000@gw'.replace(/^sip:\+?(\d+)@.*$/, '$1'),
    'Tab\there'.replace(/\t/, '\\t'), '$1'.replace('$1', '$1x')];
  return data;
}
