// Math: rounding (incl. negative halves and -0), min/max with NaN and no args, abs, sign, pow, sqrt, cbrt, hypot, log/exp, trig, constants.
function show(v) { return Object.is(v, -0) ? '-0' : String(v); }
function main(data) {
  const r = Math.random();
  data.out = [Math.round(2.5), Math.round(-2.5), Math.round(-0.4), Math.round(0.49999999999999994), Math.round(-2.6), Math.floor(-1.1),
    Math.ceil(-1.9), Math.ceil(-0.5), Math.trunc(-4.7), Math.trunc(4.7), Math.sign(-3), Math.sign(0), Math.abs(-7.5), Math.abs('-2'),
    Math.max(1, '3', 2), Math.min(1, -2), Math.max(), Math.min(), Math.max(1, NaN), Math.max(null, -1), Math.pow(2, 10), Math.pow(-8, 1 / 3),
    Math.sqrt(2), Math.sqrt(-1), Math.cbrt(27), Math.hypot(3, 4), Math.log(Math.E), Math.log10(1000), Math.log2(8), Math.exp(1), Math.PI,
    Math.sin(0), Math.cos(Math.PI), Math.atan2(1, 1), Math.floor(5.99999), Math.round('7.5'), Math.round(null), Math.max([1, 2].length, 0)].map(show);
  data.out.push(show(Math.round(-0.2)), show(Math.ceil(-0.2)), show(Math.trunc(-0.2)), show(Math.sign(-0)), show(Math.min(0, -0)), show(Math.max(-0, 0)));
  data.out.push(r >= 0 && r < 1, typeof r, Math.floor(r * 10) >= 0 && Math.floor(r * 10) < 10);
  return data;
}
