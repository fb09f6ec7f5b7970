// Recursion: deep (1000 frames), mutual recursion, recursive object walks and memoisation through closures.
function depth(n) { return n === 0 ? 0 : 1 + depth(n - 1); }
function isEven(n) { return n === 0 ? true : isOdd(n - 1); }
function isOdd(n) { return n === 0 ? false : isEven(n - 1); }
function walk(v, path, out) {
  if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`, out));
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) walk(v[k], path ? `${path}.${k}` : k, out);
  else out.push(`${path}=${v}`);
  return out;
}
function memo(f) {
  const cache = new Map();
  return (n) => { if (!cache.has(n)) cache.set(n, f(n)); return cache.get(n); };
}
const fib = memo((n) => (n < 2 ? n : fib(n - 1) + fib(n - 2)));
function main(data) {
  data.out = [depth(1000), isEven(301), isOdd(301), walk(data.schedule, '', []), walk(data.egress_routing[0], 'e0', []), fib(90)];
  return data;
}
