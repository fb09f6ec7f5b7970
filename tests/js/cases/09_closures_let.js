// Closures: per-iteration let bindings in for loops, var sharing, counters, IIFE.
function makeCounter(start) {
  let n = start;
  return { inc: () => ++n, get: () => n };
}
function main(data) {
  const fns = [];
  for (let i = 0; i < 4; i++) fns.push(() => i * 10);
  const vfns = [];
  for (var j = 0; j < 3; j++) vfns.push(() => j);
  const ofns = [];
  for (const e of data.egress_routing) ofns.push(() => e.carrier);
  const kfns = [];
  for (const k in { a: 1, b: 2 }) kfns.push(() => k);
  const c1 = makeCounter(5);
  const c2 = makeCounter(100);
  c1.inc(); c1.inc(); c2.inc();
  const adders = [1, 2, 3].map((n) => (x) => x + n);
  let later = 'before';
  const readLater = () => later;
  later = 'after';
  const iife = (function (a) { return a * 2; })(21);
  const wfns = [];
  let w = 0;
  while (w < 3) { let captured = w; wfns.push(() => captured); w++; }
  data.out = [fns.map((f) => f()), vfns.map((f) => f()), ofns.map((f) => f()), kfns.map((f) => f()),
    c1.get(), c2.get(), adders.map((f) => f(10)), readLater(), iife, wfns.map((f) => f())];
  return data;
}
