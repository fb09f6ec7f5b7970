// call: call.json call-night.json call-weekend.json call-premium.json call-dnc.json call-pai.json
// expect: data data data sip sip data
// console: compare
// A complete ScriptForge-style routing script: normalisation, blocks, time window, LCR ordering, CLI rewrite, headers, logging.
const BLOCKED_CLI = /^(0+|1{11}|anonymous)$/i;

function normalize(num) {
  let n = String(num).replace(/[\s().-]/g, '');
  if (n.startsWith('+')) n = n.slice(1);
  else if (n.startsWith('00')) n = n.slice(2);
  else if (n.length === 10) n = '1' + n;
  return n;
}

function hourWindow(spec) {
  const [a, b] = (spec || '0-24').split('-').map((x) => parseInt(x, 10));
  return { a, b };
}

function main(data, ctx) {
  const r = data.routing;
  const dest = normalize(r.dest_number);
  const cli = normalize(r.cli);
  ctx.log(`route ${cli} -> ${dest} for ${ctx.customer.id}`);
  if (BLOCKED_CLI.test(cli)) throw new Error('403 Forbidden');
  if (data.premium_prefixes.some((p) => dest.startsWith(p))) throw new Error('403 Premium Destination Blocked');
  if (data.dnc.includes(dest)) return Promise.reject([480, 'Disallowed']);

  const now = new Date(r.time);
  const { a, b } = hourWindow(now.getUTCDay() % 6 === 0 ? data.schedule.sat : data.schedule.week);
  const h = now.getUTCHours();
  const open = h >= a && h < b;

  const prefs = data.carrier_prefs;
  let routes = data.egress_routing.map((e, i) => ({ ...e, rank: prefs[e.carrier] ?? 99, i }));
  if (!open) routes = routes.filter((e) => e.transport === 'udp');
  routes.sort((x, y) => x.rank - y.rank || x.i - y.i);
  routes = routes.slice(0, data.max_attempts).map(({ rank, i, ...e }, n) => ({
    ...e,
    dest_number: dest,
    cli: dest.startsWith('44') ? data.cli_ranges[1].from : cli,
    headers: [...e.headers, { key: 'X-LCR-Rank', value: String(rank) }, { key: 'X-Attempt', value: String(n + 1) }],
  }));
  if (routes.length === 0) throw new Error('503 Service Unavailable');

  data.egress_routing = routes;
  data.routing.egress_routing = routes;
  data.headers.push({ key: 'X-Window', value: open ? 'open' : 'closed' }, { key: 'X-Rate', value: (data.rate * 100).toFixed(2) + 'c' });
  data.remove_headers.push({ key: 'X-Account' });
  console.log('routes', routes.map((x) => x.carrier).join(','));
  return data;
}
