// Built-ins beyond the core list of issue 4, each guarded so a missing one shows up as one "throw:" value, not a failed case.
function t(f) {
  try {
    const v = f();
    return v === undefined ? 'undefined' : typeof v === 'number' && v === 0 && 1 / v < 0 ? '-0' : v;
  } catch (e) {
    return 'throw:' + e.name;
  }
}
function two(a, b) { return a + b; }
const arrow = (x, y = 1, ...z) => x;
async function main(data) {
  data.out = [
    t(() => two.length), t(() => arrow.length), t(() => two.name), t(() => arrow.name), t(() => Number.isFinite('1')),
    t(() => Number.isFinite(1e308)), t(() => Number.MAX_SAFE_INTEGER), t(() => Number.EPSILON > 0), t(() => Number.parseFloat('1.5x')),
    t(() => Number.parseInt('08')), t(() => Object.isFrozen(Object.freeze({}))), t(() => Object.isFrozen({})), t(() => Math.imul(3, 4)),
    t(() => Math.clz32(1)), t(() => Math.fround(5.5)), t(() => [1, 2, 3].findLast((x) => x < 3)), t(() => [1, 2, 3].findLastIndex((x) => x > 5)),
    t(() => [1, [2, [3]]].flatMap((x) => x)), t(() => [3, 1, 2].toSorted === undefined ? 'none' : 'has'), t(() => 'abc'.at(-1)),
    t(() => [1, 2].at(-1)), t(() => 'a-b'.split('-').entries === undefined), t(() => [...['x', 'y'].keys()]), t(() => [...['x', 'y'].entries()]),
    t(() => Object.getOwnPropertyNames({ a: 1 })), t(() => String.raw === undefined ? 'none' : 'has'), t(() => 'Abc'.localeCompare('abc') !== 0),
    t(() => Array.prototype.slice.call === undefined), t(() => 'x'.codePointAt(0)), t(() => String.fromCodePoint(128512)),
    t(() => 'ab'.normalize === undefined ? 'none' : 'has'), t(() => Number('0b11')), t(() => (12.5).toString(16)), t(() => new Date(data.routing.time).getTimezoneOffset()),
    t(() => new Date(data.routing.time).toJSON()), t(() => Date.prototype.toUTCString === undefined ? 'none' : new Date(0).toUTCString()),
    t(() => Object.entries(new Error('x')).length),
  ];
  data.out.push(await Promise.all([1, Promise.resolve(2)]).then((x) => x.join('+'), (e) => 'rejected:' + e.name).catch((e) => 'throw:' + e.name));
  return data;
}
