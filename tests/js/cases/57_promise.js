// Promise.resolve / reject / then / catch / finally chains, awaited; thenable-free.
async function main(data) {
  const log = [];
  const a = await Promise.resolve(1).then((v) => v + 1).then((v) => v * 10);
  const b = await Promise.reject(new Error('no')).catch((e) => 'caught:' + e.message);
  const c = await Promise.resolve('x').finally(() => log.push('finally-ran'));
  const d = await Promise.reject(5).then(() => 'skipped', (v) => 'onRejected:' + v);
  const e = await Promise.resolve(Promise.resolve('nested'));
  let f = 'none';
  try { await Promise.resolve(1).then(() => { throw new TypeError('in then'); }); } catch (err) { f = err.name + ':' + err.message; }
  const g = await Promise.resolve([1, 2, 3]).then((xs) => xs.map((x) => x * 2));
  const h = await Promise.reject([480, 'Disallowed']).catch((x) => x);
  const p = Promise.resolve(7);
  data.out = [a, b, c, d, e, f, g, h, log, p instanceof Promise, typeof p.then, await p.then(String)];
  return data;
}
