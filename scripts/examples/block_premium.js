// Refuses premium-rate destinations (NANP 1900, UK 449) with a SIP error.
const PREMIUM = ['1900', '449'];

function main(data, ctx) {
  const number = data.routing.dest_number;
  if (PREMIUM.some((prefix) => number.startsWith(prefix))) {
    ctx.log('blocked premium destination', number);
    throw new Error('403 Premium Destination Blocked');
  }
  return data;
}
