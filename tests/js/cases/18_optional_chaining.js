// Optional chaining ?. on properties, computed keys and calls; short-circuiting.
function main(data) {
  const r = data.routing;
  const nothing = null;
  let calls = 0;
  const bump = () => { calls++; return 'k'; };
  const o = { f() { return 'called'; }, nested: { deeper: { v: 0 } }, list: [10, 20] };
  data.out = [r?.cli, r?.missing?.deep, nothing?.x, nothing?.[bump()], calls, o.nested?.deeper?.v, o?.list?.[1], o.list?.[5],
    o.f?.(), o.g?.(), nothing?.f(), o.nested?.['deeper']?.['v'], typeof nothing?.a.b.c, r.headers?.['User-Agent'],
    r.headers?.['X-Missing']?.length, data.egress_routing?.[0]?.carrier, data.egress_routing?.[9]?.carrier ?? 'none',
    (nothing?.a)?.b, String(undefined?.x)];
  return data;
}
