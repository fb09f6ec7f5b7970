// Adds the customer id as a header on every attempt, and tags each carrier.
export function main(data, ctx) {
  data.headers.push({ key: 'X-Customer-ID', value: ctx.customer.id });
  for (const route of data.egress_routing) {
    route.headers.push({ key: 'X-Carrier', value: route.carrier });
  }
  return data;
}
