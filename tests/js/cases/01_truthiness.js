// Truthiness: 0, -0, NaN, "", null, undefined, false are falsy; "0", [], {} truthy.
function main(data) {
  const values = [0, -0, NaN, '', null, undefined, false, '0', 'false', ' ', [], {}, [0], 1, -1, Infinity, 0.0001, 'a'];
  data.out = [];
  for (const v of values) {
    data.out.push(v ? 'T' : 'F');
    data.out.push(!v);
    data.out.push(!!v);
    data.out.push(Boolean(v));
  }
  let count = 0;
  if (data.routing.from_display) count += 1;
  if (!data.routing.pai) count += 10;
  if (data.headers) count += 100;
  if (data.remove_headers.length) count += 1000;
  data.out.push(count);
  data.out.push(0 || 'zero', '' || null, null || undefined || 'last', 1 && 2, 0 && 2, 'a' && '', NaN || 7);
  const x = undefined;
  data.out.push(x === undefined, x == null, typeof (x && x.y));
  return data;
}
