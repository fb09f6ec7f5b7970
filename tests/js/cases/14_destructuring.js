// Destructuring: objects and arrays, defaults, renaming, nesting, holes, rest, in params and loops.
function route({ carrier, gateway: gw, weight = 10, opts: { tcp = false } = {} }) {
  return `${carrier}|${gw}|${weight}|${tcp}`;
}
function pair([a, b = 'B', ...rest]) { return [a, b, rest]; }
function main(data) {
  const { routing: { dest_number: dest, cli, pai = 'no-pai', from_display = 'none' }, schedule: { week } } = data;
  const [first, , third = 'x', fourth = 'd4'] = data.egress_routing.map((e) => e.carrier);
  const [h, m] = week.split('-').map(Number);
  let a = 1, b = 2;
  [a, b] = [b, a];
  const { x = 5, y = x * 2, ...others } = { z: 3, w: 4 };
  const [[n1, n2], { k }] = [[1, 2], { k: 'kk' }];
  const res = [];
  for (const { carrier, transport } of data.egress_routing) res.push(carrier + '/' + transport);
  for (const [key, value] of Object.entries({ p: 1, q: 2 })) res.push(key + value);
  let undef;
  const { u = 'default-for-undefined' } = { u: undef };
  const { nl = 'not-used' } = { nl: null };
  data.out = [dest, cli, pai, from_display, first, third, fourth, h, m, a, b, x, y, others, n1, n2, k, res, u, nl,
    route(data.egress_routing[0]), route({ carrier: 'z', gateway: 'g', opts: { tcp: true } }), pair(['A']), pair([1, 2, 3, 4])];
  return data;
}
