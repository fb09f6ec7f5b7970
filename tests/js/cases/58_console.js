// console: compare
// console.log / ctx.log output lines (compared as text): primitives, several arguments, numbers formatting.
function main(data, ctx) {
  console.log('routing', data.routing.dest_number, 'via', data.egress_routing.length, 'carriers');
  console.log(1, 2.5, -0 + 0, true, null, undefined, NaN, 1e21, 0.1 + 0.2);
  console.log('');
  console.log('tab\tand unicode é😀');
  ctx.log('ctx.log line', 42);
  console.log(`template ${data.routing.transport}`);
  console.log(String([1, 2, 3]), String(null));
  data.out = 'logged';
  return data;
}
