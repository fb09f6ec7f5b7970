// Least-cost routing with per-carrier float rates: arithmetic, toFixed display, sort by cost then name, Math.round to cents.
function main(data) {
  const rates = { 'carrier-a': 0.0125, 'carrier-b': 0.011, 'carrier-c': 0.0125 };
  const minutes = 3.5;
  const priced = data.egress_routing.map((e) => {
    const cost = rates[e.carrier] * minutes * (1 + 0.2);
    return { e, cost, cents: Math.round(cost * 10000) / 100 };
  });
  priced.sort((a, b) => a.cost - b.cost || (a.e.carrier < b.e.carrier ? -1 : 1));
  data.egress_routing = priced.map((p) => p.e);
  data.out = priced.map((p) => [p.e.carrier, p.cost, p.cost.toFixed(4), p.cents, String(p.cents)]);
  data.out.push(0.011 * 3.5 * 1.2, 0.0125 * 3.5, (0.0125 * 3.5).toFixed(3), 1.1 * 3, 0.1 * 0.2);
  data.headers.push({ key: 'X-Cost', value: priced[0].cost.toFixed(5) });
  return data;
}
