// typeof of every kind of value, including undeclared-safe use and functions.
class K {}
function f() {}
function main(data) {
  const vals = [1, NaN, 'x', '', true, null, undefined, {}, [], f, () => 1, K, new K(), new Date(0), /a/, new Map(), new Set(),
    Math, JSON, Math.max, String, Number(3), String(4), Promise.resolve(1), new Error('e'), Boolean(0)];
  data.out = vals.map((v) => typeof v);
  data.out.push(typeof data, typeof data.routing.time, typeof data.routing.pai, typeof data.nothing, typeof data.routing.headers);
  data.out.push(typeof typeof 1, typeof -'3', typeof +'3', typeof ('3' * '4'), typeof `${1}`);
  return data;
}
