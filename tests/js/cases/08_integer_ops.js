// Bitwise and integer operators: | & ^ ~ << >> >>>, % on negatives, **, Math.trunc-like idioms.
function main(data) {
  const o = [];
  o.push(5 | 3, 5 & 3, 5 ^ 3, ~5, ~-1, ~~3.7, ~~-3.7, 3.7 | 0, -3.7 | 0, 2 ** 32 | 0, (2 ** 31) | 0, (2 ** 32 + 5) | 0);
  o.push(1 << 31, 1 << 32, 1 << 33, -1 >> 1, -1 >>> 0, -1 >>> 28, 1 >>> 0, -16 >> 2, -16 >>> 2, 0xff << 24, (0xff << 24) >>> 0);
  o.push(7 % 3, -7 % 3, 7 % -3, -7 % -3, 5.5 % 2, -5.5 % 2, 7 % 0, 0 % 5, String(-0 % 5), 2 ** 10, 2 ** -1, (-2) ** 3, 2 ** 0.5, 4 ** 0.5);
  o.push('12' | 0, '0x1f' | 0, 'abc' | 0, null | 0, undefined | 0, true << 2, '3' * '4', '10' / '4', '7' % '4', 10 / 0, -10 / 0, String(0 / 0));
  o.push(Math.floor(-7 / 2), Math.trunc(-7 / 2), (-7 / 2) | 0, ((-7 % 3) + 3) % 3, NaN | 0, Infinity | 0, 1e21 | 0, 4294967296.5 | 0);
  let h = 0;
  for (const ch of data.routing.call_id) h = (h * 31 + ch.charCodeAt(0)) | 0;
  o.push(h, h >>> 0, (h >>> 0) % 1000);
  let x = 5;
  x <<= 2; o.push(x);
  x >>= 1; o.push(x);
  x >>>= 1; o.push(x);
  x |= 8; o.push(x);
  x &= 12; o.push(x);
  x ^= 5; o.push(x);
  x **= 2; o.push(x);
  x %= 7; o.push(x);
  let i = 0;
  o.push(i++, i, ++i, i--, --i, i);
  data.out = o;
  return data;
}
