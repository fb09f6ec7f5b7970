// filter / map / forEach / reduce (with and without initial value) / some / every, callback arguments.
function main(data) {
  const n = [1, 2, 3, 4, 5, 6];
  const seen = [];
  n.forEach((v, i, arr) => seen.push(`${i}:${v}:${arr.length}`));
  let emptyErr = 'none';
  try { [].reduce((a, b) => a + b); } catch (e) { emptyErr = e.name; }
  const e = data.egress_routing;
  data.out = [n.filter((x) => x % 2), n.map((x, i) => x * i), seen, n.reduce((a, b) => a + b), n.reduce((a, b) => a + b, 100),
    n.reduce((acc, x) => { acc[x % 3] = (acc[x % 3] || 0) + x; return acc; }, {}), [[1, 2], [3]].reduce((a, b) => a.concat(b), []),
    n.some((x) => x > 5), n.some((x) => x > 6), n.every((x) => x > 0), n.every((x) => x > 1), [].some(() => true), [].every(() => false),
    emptyErr, ['a'].reduce((a, b) => a + b), e.filter((x) => x.transport === 'udp').map((x) => x.gateway),
    e.map((x) => ({ ...x, cli: '15550009999' })).map((x) => x.cli), e.reduce((m, x) => Math.max(m, Number(x.gateway.split(':')[1])), 0),
    ['1', '2', '3'].map(Number), ['1', '2', '3'].map(parseInt), n.map(String), n.filter(Boolean).length];
  return data;
}
