// async/await: awaiting values and promises, async arrows, try/catch around rejected awaits, async main.
async function lookup(n) {
  await null;
  if (n.startsWith('1900')) throw new Error('premium');
  return { n, ok: true };
}
const double = async (x) => (await x) * 2;
async function sequence() {
  const out = [];
  for (const v of [1, Promise.resolve(2), 3]) out.push(await v);
  return out;
}
async function main(data) {
  const r = await lookup(data.routing.dest_number);
  let caught = 'none';
  try { await lookup('19001'); } catch (e) { caught = e.message; }
  let rejected = 'none';
  try { await Promise.reject(new Error('rej')); } catch (e) { rejected = e.message; }
  let rawReject = 'none';
  try { await Promise.reject([480, 'Disallowed']); } catch (e) { rawReject = e; }
  const p = lookup('1555');
  data.out = [r, caught, rejected, rawReject, await double(21), await double(Promise.resolve(5)), await sequence(), p instanceof Promise,
    (await p).n, await 7, typeof lookup, (async () => 'arrow')() instanceof Promise, await (async () => 'arrow')()];
  return data;
}
