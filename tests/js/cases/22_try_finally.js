// try/catch/finally: order of effects, return inside finally overriding, rethrow, nested, catch without binding.
const log = [];
function a() { try { log.push('a-try'); return 'try'; } finally { log.push('a-finally'); } }
function b() { try { return 'try'; } finally { return 'finally'; } }
function c() { try { throw new Error('boom'); } catch (e) { return 'caught ' + e.message; } finally { log.push('c-finally'); } }
function d() { try { throw new Error('lost'); } finally { return 'finally-wins'; } }
function e() {
  try {
    try { throw new Error('inner'); } finally { log.push('e-inner-finally'); }
  } catch (err) { return 'outer caught ' + err.message; }
}
function f() {
  for (let i = 0; i < 3; i++) {
    try { if (i === 1) continue; if (i === 2) break; log.push('f-body' + i); } finally { log.push('f-fin' + i); }
  }
  return 'f-done';
}
function g() { let x = 1; try { return x; } finally { x = 2; log.push('g-x=' + x); } }
function h() { try { JSON.parse('{bad'); } catch { return 'no-binding'; } }
function k() { try { try { throw 1; } catch (v) { throw v + 1; } } catch (w) { return w; } }
function main(data) {
  data.out = [a(), b(), c(), d(), e(), f(), g(), h(), k()];
  data.log = log;
  return data;
}
