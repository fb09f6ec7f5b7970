// instanceof with classes, subclasses and built-ins.
class Animal {}
class Dog extends Animal {}
class Other {}
function main(data) {
  const d = new Dog();
  const e = new TypeError('bad');
  const vals = [d instanceof Dog, d instanceof Animal, d instanceof Other, d instanceof Object,
    [] instanceof Array, [] instanceof Object, {} instanceof Array, e instanceof TypeError, e instanceof Error,
    new Error('x') instanceof TypeError, new RangeError('r') instanceof Error, new Date(0) instanceof Date,
    /x/ instanceof RegExp, new Map() instanceof Map, new Set() instanceof Map, Promise.resolve() instanceof Promise,
    null instanceof Object, 'str' instanceof String, 3 instanceof Number, (() => 1) instanceof Object,
    data.egress_routing instanceof Array, data.routing instanceof Object];
  data.out = vals;
  return data;
}
