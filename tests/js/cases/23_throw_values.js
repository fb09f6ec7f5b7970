// throw of any value: strings, numbers, objects, arrays, null, undefined, Error subclasses; catch sees them as-is.
function thrower(v) { throw v; }
function main(data) {
  const values = ['str', 42, 0, { code: 1 }, [486, 'Busy'], null, undefined, false, new TypeError('te'), new RangeError('re')];
  data.out = values.map((v) => {
    try {
      thrower(v);
      return 'not thrown';
    } catch (e) {
      if (e instanceof Error) return `${e.name}:${e.message}:${e instanceof TypeError}`;
      return typeof e + ':' + JSON.stringify(e === undefined ? 'undef' : e);
    }
  });
  try { null.x; } catch (e) { data.out.push(e instanceof TypeError, e.name); }
  try { undefined(); } catch (e) { data.out.push(e instanceof TypeError); }
  try { const q = {}; q.f(); } catch (e) { data.out.push(e.constructor === TypeError); }
  try { new Array(-1); } catch (e) { data.out.push(e.name); }
  const err = new Error('with props');
  err.code = 503;
  try { throw err; } catch (e) { data.out.push(e === err, e.code, Object.keys(e)); }
  return data;
}
