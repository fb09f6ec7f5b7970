// push/pop/shift/unshift/splice/reverse/fill: return values and resulting arrays.
function main(data) {
  const a = [1, 2, 3];
  const r = [];
  r.push(a.push(4, 5), [...a]);
  r.push(a.pop(), a.shift(), [...a], a.unshift(0, 'z'), [...a]);
  r.push([].pop(), [].shift(), [].push());
  const s = ['a', 'b', 'c', 'd', 'e', 'f'];
  r.push(s.splice(1, 2), [...s]);
  r.push(s.splice(-2), [...s]);
  r.push(s.splice(1, 0, 'x', 'y'), [...s]);
  r.push(s.splice(2), [...s]);
  r.push(s.splice(0, 1, 'new'), [...s]);
  r.push(s.splice(5, 2, 'end'), [...s]);
  r.push(s.splice(-100, 1), [...s]);
  const t = [1, 2, 3, 4];
  const rev = t.reverse();
  r.push(rev === t, t);
  r.push([0, 0, 0, 0, 0].fill(7, 1, -1), new Array(3).fill('x'), [1, 2, 3].fill(0, -1), [1, 2].fill(9, 5));
  const e = data.egress_routing;
  const first = e.shift();
  e.push(first);
  e.unshift({ carrier: 'new', gateway: '203.0.113.99:5060', transport: 'udp' });
  r.push(e.map((x) => x.carrier), data.routing.egress_routing.length);
  data.out = r;
  return data;
}
