// slice / substring / substr with negative, swapped and out-of-range arguments; charAt/charCodeAt/at; UTF-16 lengths.
function main(data) {
  const s = 'sip:+15551234567@10.0.0.1';
  const d = data.routing.dest_number;
  const u = 'h€llo😀!';
  data.out = [s.slice(4), s.slice(4, 9), s.slice(-8), s.slice(-8, -2), s.slice(10, 4), s.slice(100), s.slice(NaN, 3),
    s.substring(4, 9), s.substring(9, 4), s.substring(-3, 3), s.substring(3), s.substring(NaN), s.substr(4, 3), s.substr(-3), s.substr(-3, 2), s.substr(2, -1),
    d.slice(0, 1), d.slice(1, 4), d.slice(-4), d.charAt(0), d.charAt(99), d.charCodeAt(0), String(d.charCodeAt(99)), d[3], String(d[99]),
    u.length, u.slice(1, 2), u.slice(5, 7), u.charCodeAt(5), u.charCodeAt(6), u.slice(7), u.substring(0, 5), [...u].length,
    u.indexOf('😀'), 'abc'.slice(1.9, 2.9)];
  return data;
}
