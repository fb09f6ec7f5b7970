// Object spread and copies of data structures: shallow copies, override order, rebuilding egress entries.
function main(data) {
  const r = data.routing;
  const copy = { ...r };
  copy.cli = 'changed';
  const entries = data.egress_routing.map((e, i) => ({ ...e, headers: [...e.headers, { key: 'X-Attempt', value: String(i + 1) }], priority: i }));
  const defaults = { transport: 'udp', weight: 1, carrier: 'default' };
  const merged = { ...defaults, ...{ carrier: 'given', extra: undefined } };
  data.egress_routing = entries;
  data.out = [r.cli, copy.cli, Object.keys(copy).length === Object.keys(r).length, merged, Object.keys(merged), 'extra' in merged,
    JSON.stringify(merged), { ...[1, 2], length: 'own' }, { ...{ get: 1 } }];
  return data;
}
