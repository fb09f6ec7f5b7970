// Number → string formatting: shortest round-trip, exponents, -0, Infinity, NaN, toFixed.
function main(data) {
  const nums = [0.1 + 0.2, 0.3, 1 / 3, 2 / 3, 1e21, 1e20, 123e20, 1e-6, 1e-7, 1.5e-7, -0, 0, -1.5, 100, 1e100,
    2 ** 53, 2 ** 53 + 1, 2 ** 64, 5e-324, 1.7976931348623157e308, Infinity, -Infinity, NaN, 0.000001234, 123456.789,
    4.35, 0.1 * 3, 1e300 * 10, 9007199254740993, 1.005, -1e-7, 255 / 10];
  data.out = nums.map((n) => String(n));
  data.out.push(`${-0}`, (-0).toString(), JSON.stringify(-0), JSON.stringify([NaN, Infinity, -0]), '' + 1 / -0);
  const fixed = [[1.005, 2], [1.45, 1], [2.5, 0], [3.5, 0], [-1.5, 0], [0.000001, 3], [123.456, 0], [1e21, 2], [-0, 2],
    [0.5, 0], [1.255, 2], [10.235, 2], [99.995, 2], [NaN, 2], [12, 5], [-0.0001, 2]];
  for (const [v, d] of fixed) data.out.push(v.toFixed(d));
  data.out.push((0.0125 * 60).toFixed(4), data.rate.toFixed(3), (1234.5678).toFixed(1), (5).toFixed());
  data.out.push((255).toString(16), (255).toString(2), (-255).toString(36), (0.5).toString(2), (35).toString(36), (123).toString());
  data.out.push((1234.5678).toPrecision(6), (0.00012345).toPrecision(2), (1e21).toPrecision(3), (123.456).toExponential(2));
  return data;
}
