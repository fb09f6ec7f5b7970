// `export function main` (module syntax) with a module-level constant and helper.
const PREFIX = 'X-Route-';
function tag(e, i) { return { key: PREFIX + (i + 1), value: e.carrier }; }
export function main(data, ctx) {
  data.headers.push(...data.egress_routing.map(tag));
  data.headers.push({ key: 'X-Customer', value: ctx.customer.id });
  return data;
}
