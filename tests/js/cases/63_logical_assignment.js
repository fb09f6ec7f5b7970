// Logical assignment operators ??= ||= &&= on variables, properties and computed keys; short-circuit (no evaluation, no write).
function main(data) {
  const o = { a: null, b: 0, c: 'c', d: 1 };
  o.a ??= 'filled';
  o.b ??= 'kept-zero';
  o.b ||= 'or-filled';
  o.c &&= 'and-set';
  o.e ??= 'new';
  o.d &&= 0;
  let n = null;
  n ??= 5;
  let calls = 0;
  const side = () => { calls++; return 'side'; };
  let keep = 'x';
  keep ??= side();
  keep ||= side();
  let empty = '';
  empty &&= side();
  const k = 'dyn';
  const m = {};
  m[k] ??= [];
  m[k].push(1);
  m[k] ??= 'not replaced';
  data.routing.from_display ??= 'Anonymous';
  data.out = [o, Object.keys(o), n, keep, empty, calls, m];
  return data;
}
