// Default parameters: undefined vs null, defaults referring to earlier params, calls in defaults.
let calls = 0;
function next() { calls++; return calls; }
function f(a, b = a + 1, c = b * 2) { return [a, b, c]; }
function g(x = next()) { return x; }
function h(opts = {}) { return opts.v ?? 'none'; }
const arrow = (p = 'P', q = p + 'Q') => p + q;
function main(data = {}, ctx) {
  data.out = [f(1), f(1, 5), f(1, undefined, 0), f(1, null), g(), g(), g(7), g(undefined), calls, h(), h({ v: 0 }), h(null === null ? undefined : 1),
    arrow(), arrow('x'), arrow(undefined, 'y'), ctx.customer.id];
  return data;
}
