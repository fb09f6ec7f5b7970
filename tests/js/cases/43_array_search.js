// indexOf / lastIndexOf / includes (NaN) / find / findIndex / findLast-free variants.
function main(data) {
  const a = [1, 2, NaN, '2', 2, null, undefined];
  const e = data.egress_routing;
  data.out = [a.indexOf(2), a.indexOf('2'), a.indexOf(NaN), a.includes(NaN), a.indexOf(2, 2), a.indexOf(2, -3), a.lastIndexOf(2),
    a.indexOf(null), a.indexOf(undefined), a.includes(undefined), a.includes('1'), [].includes(), [1].indexOf(1, 5),
    e.find((x) => x.transport === 'tcp').carrier, e.find((x) => x.carrier === 'none') === undefined, e.findIndex((x) => x.gateway.startsWith('192.')),
    e.findIndex(() => false), [5, 12, 8, 130].find((x, i, arr) => x > 10 && arr.length === 4 && i > 0), data.dnc.includes(data.routing.dest_number),
    data.dnc.indexOf('15551230000'), data.premium_prefixes.find((p) => '19005550100'.startsWith(p))];
  return data;
}
