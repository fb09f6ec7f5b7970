// `new` with built-in constructors and wrapper conversions (no ES5 prototype assignment).
function main(data) {
  const a = new Array(3);
  const b = new Array(1, 2);
  const d = new Date(data.routing.time);
  const m = new Map([['k', 1]]);
  const s = new Set('hello');
  const err = new Error('msg');
  const re = new RegExp('^1555', 'g');
  const o = new Object();
  o.x = 1;
  data.out = [a.length, String(a), b, d.getTime(), m.get('k'), s.size, err.message, re.source, re.flags, re.global, o,
    Number('42'), String(42), Boolean(''), Array.isArray(new Array()), [...s].join('')];
  return data;
}
