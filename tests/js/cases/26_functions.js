// Functions: hoisting, recursion, higher-order, function expressions, closures over params, name/length.
function main(data) {
  data.out = [hoisted(3), fact(10), fib(15), compose((x) => x + 1, (x) => x * 2)(5), apply(Math.max, [3, 9, 2]),
    named(), (function () { return 'anon'; })(), ((a, b) => a * b)(6, 7),
    [1, 2, 3].map(function sq(x) { return x * x; }), typeof hoisted, curry(1)(2)(3), once()(), once()()];
  function hoisted(n) { return n * 2; }
  return data;
}
function fact(n) { return n <= 1 ? 1 : n * fact(n - 1); }
function fib(n) { let a = 0, b = 1; while (n-- > 0) [a, b] = [b, a + b]; return a; }
function compose(f, g) { return (x) => f(g(x)); }
function apply(f, args) { return f(...args); }
const named = function inner() { return typeof inner; };
const curry = (a) => (b) => (c) => a + b + c;
function once() { let done = false; return () => { if (done) return 'again'; done = true; return 'first'; }; }
