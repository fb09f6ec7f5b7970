// call: call-pai.json
// Header manipulation: read incoming headers, remove/replace global headers, per-entry headers, case-insensitive lookups.
function header(data, name) {
  const h = data.routing.headers;
  const k = Object.keys(h).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : h[k];
}
function main(data) {
  const ua = header(data, 'user-agent');
  const div = header(data, 'DIVERSION');
  const tenant = header(data, 'x-tenant') ?? 'none';
  data.remove_headers.push({ key: 'User-Agent' }, { key: 'X-Tenant' });
  data.headers = data.headers.filter((h) => h.key !== 'X-Customer-ID');
  data.headers.push({ key: 'X-Customer-ID', value: '5678' }, { key: 'X-Original-UA', value: ua.split('/')[0] });
  if (div) {
    const m = /<sip:(\d+)@/.exec(div);
    data.headers.push({ key: 'X-Diverted-From', value: m ? m[1] : 'unknown' });
  }
  data.egress_routing.forEach((e, i) => {
    e.headers = e.headers.filter((h) => h.key !== 'X-Carrier');
    e.headers.push({ key: 'X-Route', value: `${i}:${e.carrier}` });
    if (e.transport === 'tcp') e.remove_headers.push({ key: 'P-Asserted-Identity' });
  });
  data.out = [ua, div, tenant, data.routing.from_display, data.routing.pai, data.headers.length, data.remove_headers.map((h) => h.key)];
  return data;
}
