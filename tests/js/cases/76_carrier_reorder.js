// Carrier reordering: sort by preference from vars, stable for equal preferences, max_attempts cut, per-attempt headers.
function main(data) {
  const prefs = data.carrier_prefs;
  const ranked = data.egress_routing
    .map((e, i) => ({ e, i, p: prefs[e.carrier] ?? 99 }))
    .sort((a, b) => a.p - b.p || a.i - b.i)
    .map(({ e }) => e)
    .slice(0, data.max_attempts);
  ranked.forEach((e, i) => {
    e.headers.push({ key: 'X-Attempt', value: `${i + 1}/${ranked.length}` });
  });
  data.routing.egress_routing = ranked;
  data.egress_routing = ranked;
  data.out = ranked.map((e) => e.carrier);
  return data;
}
