// console: compare
// ctx: secrets, customer id, ctx.log; secrets used to build an auth header.
function main(data, ctx) {
  const key = ctx.secrets.api_key;
  const pin = ctx.secrets.pin;
  ctx.log('customer', ctx.customer.id, 'has', Object.keys(ctx.secrets).length, 'secrets');
  data.headers.push({ key: 'X-Auth', value: `${ctx.customer.id}:${key}` });
  data.out = [typeof ctx.log, ctx.customer.id, Object.keys(ctx.secrets), pin, Number(pin), pin === '0042', ctx.secrets.missing ?? 'no-such-secret',
    Object.keys(ctx)];
  return data;
}
