// ?? versus ||: only null/undefined fall through.
function main(data) {
  const vals = [null, undefined, 0, '', false, NaN, 'v', [], -0];
  data.out = vals.map((v) => [v ?? 'D', v || 'D'].map(String).join('/'));
  const r = data.routing;
  data.out.push(r.from_display ?? r.cli, r.pai ?? r.from_uri, r.src_port ?? 0, data.nope ?? data.rate ?? 1, null ?? undefined ?? 0);
  const o = { a: null, b: 0, c: 'c' };
  o.a = o.a ?? 'filled';
  o.b = o.b ?? 'kept-zero';
  let n = null;
  n = n ?? 5;
  let calls = 0;
  const side = () => { calls++; return 'side'; };
  const keep = 'x' ?? side();
  const keep2 = null ?? side();
  data.out.push(o, n, keep, keep2, calls);
  return data;
}
