//! The JavaScript → Luau translator (issue 4): exact emitted Luau for
//! representative constructs, refusals with `file:line:col`, line alignment,
//! the output compiling as a Lua script, and the transpile time of a
//! 200-line script. Running the output needs the runtime: see `js_exec.rs`.

use std::time::Instant;

use sipforge::js::{self, JsError};
use sipforge::script::Script;

fn lua(src: &str) -> String {
    js::transpile("t.js", src).unwrap_or_else(|e| panic!("{e}"))
}

/// Compiles `luau` as a Lua script and runs its top level in a script VM
/// (which has the runtime global `__js`): it must define `main`.
fn compiles(luau: &str) {
    if let Err(e) = Script::compile_lua("t.js", 1, luau) {
        panic!("{e}\n{luau}");
    }
}

fn snapshot(src: &str, expected: &str) {
    let out = lua(src);
    assert_eq!(out, expected, "\n--- got:\n{out}");
    compiles(&out);
    // Line-aligned: the output has exactly the script's lines.
    assert_eq!(out.lines().count(), src.lines().count(), "{out}");
}

fn err(src: &str) -> String {
    let e: JsError = js::transpile("t.js", src).expect_err("should be refused");
    e.to_string()
}

// ---------------------------------------------------------------- snapshots

#[test]
fn declarations_template_and_plus() {
    let src = r##"export function main(data, ctx) {
  var n = 1;
  let s = "x" + n;
  const t = `${s}-${n + 1}`;
  return data;
}"##;
    snapshot(
        src,
        r##"local J = __js local __O = ... or {} local J_add, J_tostr = J.add, J.tostr local function __u_main(this, data, ctx) local n
  n = 1
  local s = J_add("x", n)
  local t = (J_tostr(s) .. "-") .. J_tostr(J_add(n, 1))
  return data
end main = function(data, ctx) return J.main(__u_main, data, ctx) end
"##,
    );
}

#[test]
fn numeric_for_loop_with_continue() {
    let src = r##"function main(data) {
  let total = 0;
  for (let i = 0; i < data.length; i++) {
    if (i % 2 === 0) continue;
    total += i;
  }
  return total;
}"##;
    snapshot(
        src,
        r##"local J = __js local __O = ... or {} local J_get, J_lt = J.get, J.lt local function __u_main(this, data)
  local total = 0
  do local i = 0 while J_lt(i, J_get(data, "length")) do
      if math.fmod(i, 2) == 0 then i = i + 1 continue end
      total = total + i i = i + 1
    end end
  return total
end main = function(data, ctx) return J.main(__u_main, data, ctx) end
"##,
    );
}

#[test]
fn per_iteration_let_captured_by_closure() {
    let src = r##"function main() {
  const fns = [];
  for (let i = 0; i < 3; i++) {
    fns.push(() => i);
  }
  return fns;
}"##;
    snapshot(
        src,
        r##"local J = __js local __O = ... or {} local J_arr, J_invoke = J.arr, J.invoke local function __u_main(this)
  local fns = J_arr(0)
  do local __c1 = 0 local __f2 = true while true do local i = __c1 if __f2 then __f2 = false else i = i + 1 end
      if not (i < 3) then break end do J_invoke(fns, "push", function(__) return i end)
      end __c1 = i end end
  return fns
end main = function(data, ctx) return J.main(__u_main, data, ctx) end
"##,
    );
}

#[test]
fn logical_operators_and_optional_chaining() {
    let src = r##"function main(a, b) {
  const x = a && b;
  const y = a || f(b);
  if (a && !b || a === null) return x ?? y;
  return data?.routing?.dest ?? "none";
}
function f(v) { return v; }
const data = null;"##;
    snapshot(
        src,
        r##"local J = __js local __O = ... or {} local J_get, J_null, J_truthy = J.get, J.null, J.truthy local f, data local function __u_main(this, a, b)
  local x = if J_truthy(a) then b else a
  local y = if J_truthy(a) then a else f(nil, b)
  if (J_truthy(a) and (not J_truthy(b))) or (a == J_null) then return if (x == nil) or (x == J_null) then y else x end
  do local __t1 local __t2 = data if (__t2 ~= nil) and (__t2 ~= J_null) then local __t3 = J_get(__t2, "routing") if (__t3 ~= nil) and (__t3 ~= J_null) then __t1 = J_get(__t3, "dest") end end return if (__t1 == nil) or (__t1 == J_null) then "none" else __t1 end
end
f = function(this, v) return v end
data = J_null main = function(data, ctx) return J.main(__u_main, data, ctx) end
"##,
    );
}

#[test]
fn object_and_array_literals_with_spread() {
    let src = r##"function main(data, k) {
  const o = { a: 1, "b c": data, m() { return this.a; } };
  const p = { ...o, [k]: 2 };
  const arr = [1, , ...data, 3];
  return [o, p, arr];
}"##;
    snapshot(
        src,
        r##"local J = __js local __O = ... or {} local J_arr, J_arrextend, J_arrpush, J_get, J_obj, J_objspread, J_set, J_toprop = J.arr, J.arrextend, J.arrpush, J.get, J.obj, J.objspread, J.set, J.toprop local J_K1, J_K2 = __O[1], __O[2] if J_K1 == nil then J_K1, J_K2 = table.freeze({"a", "b c", "m"}), table.freeze({}) __O[1], __O[2] = J_K1, J_K2 end local function __u_main(this, data, k)
  local o = J_obj(J_K1, 1, data, function(this) return J_get(this, "a") end)
  local p do local __t1 = J_obj(J_K2) J_objspread(__t1, o) J_set(__t1, J_toprop(k), 2) p = __t1 end
  local arr do local __t2 = J_arr(2, 1, nil) J_arrextend(__t2, data) J_arrpush(__t2, 3) arr = __t2 end
  return J_arr(3, o, p, arr)
end main = function(data, ctx) return J.main(__u_main, data, ctx) end
"##,
    );
}

#[test]
fn destructuring_defaults_and_rest() {
    let src = r##"function main({ routing: { dest }, vars = {} }, [first, ...others], limit = 10, ...rest) {
  let a, b;
  [a, b] = [b, a];
  return { dest, vars, first, others, limit, rest };
}"##;
    snapshot(
        src,
        r##"local J = __js local __O = ... or {} local J_arr, J_get, J_invoke, J_obj = J.arr, J.get, J.invoke, J.obj local J_K1, J_K2 = __O[1], __O[2] if J_K1 == nil then J_K1, J_K2 = table.freeze({}), table.freeze({"dest", "vars", "first", "others", "limit", "rest"}) __O[1], __O[2] = J_K1, J_K2 end local function __u_main(this, __p1, __p2, limit, ...) local __t3 = J_get(__p1, "routing") local dest = J_get(__t3, "dest") local vars = J_get(__p1, "vars") if vars == nil then vars = J_obj(J_K1) end local first = J_get(__p2, 0) local others = J_invoke(__p2, "slice", 1) if limit == nil then limit = 10 end local rest = J_arr(select("#", ...), ...)
  local a local b
  do local __t4 = J_arr(2, b, a) a = J_get(__t4, 0) b = J_get(__t4, 1) end
  return J_obj(J_K2, dest, vars, first, others, limit, rest)
end main = function(data, ctx) return J.main(__u_main, data, ctx) end
"##,
    );
}

#[test]
fn switch_with_fallthrough_and_default() {
    let src = r##"function main(x) {
  switch (x) {
    case 1:
      x = "one";
    case 2:
      return x;
    default:
      break;
  }
  return null;
}"##;
    snapshot(
        src,
        r##"local J = __js local __O = ... or {} local J_null = J.null local function __u_main(this, x)
  repeat local __d1, __k2 = x, 0
    if __d1 == 1 then __k2 = 1

    elseif __d1 == 2 then __k2 = 2 else __k2 = 3 end if __k2 <= 1 then x = "one" end if __k2 <= 2 then
      return x end
    if __k2 <= 3 then
      break end
  until true
  return J_null
end main = function(data, ctx) return J.main(__u_main, data, ctx) end
"##,
    );
}

#[test]
fn try_catch_finally_with_return() {
    let src = r##"function main(data) {
  try {
    return risky(data);
  } catch (e) {
    console.log(e.message);
  } finally {
    console.log("done");
  }
}
function risky(d) { return d; }"##;
    snapshot(
        src,
        r##"local J = __js local __O = ... or {} local J_catch, J_get, J_invoke, J_console = J.catch, J.get, J.invoke, J.G.console local risky local function __u_main(this, data)
  do local __ok1, __r1, __v1 = pcall(function()
      return true, risky(nil, data)
    end) if not __ok1 then __ok1, __r1, __v1 = pcall(function(__e) local e = J_catch(__e) do
          J_invoke(J_console, "log", J_get(e, "message"))
        end end, __r1) end do
      J_invoke(J_console, "log", "done")
    end if not __ok1 then error(__r1, 0) end if __r1 then return __v1 end end
end
risky = function(this, d) return d end main = function(data, ctx) return J.main(__u_main, data, ctx) end
"##,
    );
}

#[test]
fn labeled_break_and_continue() {
    let src = r##"function main(rows) {
  outer: for (const row of rows) {
    for (const cell of row) {
      if (cell === 0) continue outer;
      if (cell < 0) break outer;
    }
  }
}"##;
    snapshot(
        src,
        r##"local J = __js local __O = ... or {} local J_iter, J_lt = J.iter, J.lt local function __u_main(this, rows)
  local __j1 for __, row in J_iter(rows) do do
      for __, cell in J_iter(row) do do
          if cell == 0 then __j1 = 2 break end
          if J_lt(cell, 0) then __j1 = 1 break end
        end end if __j1 == 1 then break elseif __j1 == 2 then __j1 = nil continue end
    end end
end main = function(data, ctx) return J.main(__u_main, data, ctx) end
"##,
    );
}

#[test]
fn classes_fields_getters_static_super() {
    let src = r##"class Animal {
  legs = 4;
  constructor(name) { this.name = name; }
  get label() { return `${this.name}/${this.legs}`; }
  static create(n) { return new Animal(n); }
}
class Bird extends Animal {
  constructor(name) { super(name); this.legs = 2; }
  speak() { return super.speak() + "!"; }
}
function main() { return new Bird("tweety") instanceof Animal; }"##;
    snapshot(
        src,
        r##"local J = __js local __O = ... or {} local J_add, J_call, J_class, J_get, J_instanceof, J_new, J_set, J_superctor, J_superget, J_tostr = J.add, J.call, J.class, J.get, J.instanceof, J.new, J.set, J.superctor, J.superget, J.tostr local Animal Animal = J_class("Animal", nil, function(this, name)
  J_set(this, "legs", 4)
  J_set(this, "name", name) end, {{kind = "get", static = false, key = "label", value = function(this)
  return (J_tostr(J_get(this, "name")) .. "/") .. J_tostr(J_get(this, "legs")) end}, {kind = "method", static = true, key = "create", value = function(this, n)
  return J_new(Animal, n) end}})

local Bird Bird = J_class("Bird", Animal, function(this, name)
  J_superctor(Bird, this, name) J_set(this, "legs", 2) end, {{kind = "method", static = false, key = "speak", value = function(this)
  return J_add(J_call(J_superget(Bird, this, "speak"), this), "!") end}})

local function __u_main(this) return J_instanceof(J_new(Bird, "tweety"), Animal) end main = function(data, ctx) return J.main(__u_main, data, ctx) end
"##,
    );
}

#[test]
fn async_await_and_export_default() {
    let src = r##"async function lookup(n) {
  const r = await Promise.resolve(n);
  return r;
}
export default async function (data) {
  data.x = await lookup(data.routing.cli);
  return data;
}"##;
    snapshot(
        src,
        r##"local J = __js local __O = ... or {} local J_async, J_await, J_get, J_invoke, J_set, J_Promise = J.async, J.await, J.get, J.invoke, J.set, J.G.Promise local lookup lookup = J_async(function(this, n)
  local r = J_await(J_invoke(J_Promise, "resolve", n))
  return r
end)
local __main = J_async(function(this, data)
  J_set(data, "x", J_await(lookup(nil, J_get(J_get(data, "routing"), "cli"))))
  return data
end) main = function(data, ctx) return J.main(__main, data, ctx) end
"##,
    );
}

#[test]
fn hoisted_function_used_by_an_earlier_closure() {
    let src = r##"const BLOCKED = new Set(["1900", "0900"]);
const isBlocked = (n) => BLOCKED.has(prefix(n));
function main(data) {
  return isBlocked(data.n) ? null : data;
}
function prefix(n) { return n.slice(0, 4); }"##;
    snapshot(
        src,
        r##"local J = __js local __O = ... or {} local J_arr, J_fnname, J_get, J_invoke, J_new, J_null, J_truthy, J_Set = J.arr, J.fnname, J.get, J.invoke, J.new, J.null, J.truthy, J.G.Set local prefix prefix = function(this, n) return J_invoke(n, "slice", 0, 4) end local BLOCKED = J_new(J_Set, J_arr(2, "1900", "0900"))
local isBlocked = J_fnname(function(__, n) return J_invoke(BLOCKED, "has", prefix(nil, n)) end, "isBlocked", 1)
local function __u_main(this, data)
  return if J_truthy(isBlocked(nil, J_get(data, "n"))) then J_null else data
end
main = function(data, ctx) return J.main(__u_main, data, ctx) end
"##,
    );
}

// ---------------------------------------------------------------- refusals

#[test]
fn unsupported_constructs_are_refused_with_their_position() {
    let cases: &[(&str, &str)] = &[
        (
            "function* main() { yield 1; }",
            "t.js:1:1: a generator function is not supported",
        ),
        (
            "function main(o) { with (o) { return 1; } }",
            "t.js:1:20: `with` is not supported",
        ),
        (
            "function main() { return eval(\"1\"); }",
            "t.js:1:26: `eval` is not supported",
        ),
        (
            "function main() { return Function(\"x\")(); }",
            "t.js:1:26: `Function` is not supported",
        ),
        (
            "function main() { return new Function(\"x\"); }",
            "t.js:1:26: `new Function` is not supported",
        ),
        (
            "function main() { return arguments.length; }",
            "t.js:1:26: `arguments` is not supported; use a rest parameter (`...args`)",
        ),
        (
            "import x from \"y\"; function main() {}",
            "t.js:1:1: `import` is not supported: scripts are a single file",
        ),
        (
            "function main() { return import(\"x\"); }",
            "t.js:1:26: `import()` is not supported: scripts are a single file",
        ),
        (
            "function main() { return require(\"fs\"); }",
            "t.js:1:26: `require` is not supported: scripts are a single file",
        ),
        (
            "function main() { a: { continue a; } }",
            "t.js:1:24: `continue` must target a loop",
        ),
        (
            "function main() {\n  return { get x() { return 1; } };\n}",
            "t.js:2:12: getters and setters in object literals are not supported (use a class)",
        ),
        (
            "function main() { return Symbol(\"x\"); }",
            "t.js:1:26: `Symbol` is not supported",
        ),
        (
            "function main() { return 10n; }",
            "t.js:1:26: BigInt is not supported",
        ),
        (
            "function main() { undeclared = 1; }",
            "t.js:1:19: assignment to the undeclared variable `undeclared`",
        ),
        (
            "function main() { return missing + 1; }",
            "t.js:1:26: `missing` is not defined",
        ),
        (
            "function main() { return tag`x`; }",
            "t.js:1:26: a tagged template is not supported",
        ),
        (
            "function main() { return typeof nope; }",
            "t.js:1:33: `typeof` of the undeclared name `nope` is not supported",
        ),
        (
            "function main() { const c = 1; c = 2; }",
            "t.js:1:32: `c` is a constant",
        ),
        (
            "function main() { return x; let x = 1; }",
            "t.js:1:26: `x` is used before its declaration",
        ),
        (
            "class A { #p = 1; }\nfunction main() {}",
            "t.js:1:11: private names (`#x`) are not supported",
        ),
        (
            "function main() { return ñ; }",
            "t.js:1:26: `ñ` is not defined",
        ),
        (
            "function helper() {}",
            "t.js:1:1: the script must define a function `main` (`function main(data, ctx) { … }` or `export default function`)",
        ),
        (
            "function main() { await 1; }",
            "t.js:1:19: `await` is only allowed within async functions and at the top levels of modules",
        ),
    ];
    for (src, expected) in cases {
        assert_eq!(err(src), *expected, "{src}");
    }
}

#[test]
fn syntax_errors_carry_the_parser_position() {
    let e = err("function main() {\n  let = ;\n}");
    assert!(e.starts_with("t.js:2:"), "{e}");
}

// ---------------------------------------------------------------- names, lines, limits

#[test]
fn user_names_never_collide_with_luau_or_emitted_names() {
    let src = "function main(data) { let end = 1, $x = 2, J = 3, J_get = 4, __t1 = 5, error = 6, math = 7, main2 = 8; return end + $x + J + J_get + __t1 + error + math + main2 + data.k; }";
    let out = lua(src);
    for name in [
        "local __u_end = 1",
        "local __u__x24x = 2",
        "local __u_J = 3",
        "local __u_J__get = 4",
        "local __u_____t1 = 5",
        "local __u_error = 6",
        "local __u_math = 7",
        "local main2 = 8",
    ] {
        assert!(out.contains(name), "{name}\n{out}");
    }
    compiles(&out);
}

#[test]
fn every_statement_is_on_its_javascript_line() {
    let src = "const LIMIT = 3;\n\nfunction main(data) {\n  let n = 0;\n\n  while (n < LIMIT) {\n    n++;\n  }\n  if (n === 3)\n    return data.missing.field;\n  return n;\n}\n";
    let out = lua(src);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), src.lines().count(), "{out}");
    assert!(lines[0].ends_with("local LIMIT = 3"), "{out}");
    assert_eq!(lines[3].trim(), "local n = 0");
    assert!(
        lines[5].trim_start().starts_with("while n < LIMIT do"),
        "{out}"
    );
    assert_eq!(lines[6].trim(), "n = n + 1");
    assert!(
        lines[9].contains("J_get(J_get(data, \"missing\"), \"field\")"),
        "{out}"
    );
    compiles(&out);
}

#[test]
fn numbers_known_statically_use_luau_arithmetic() {
    let out = lua(
        "function main(d) { let i = 0; i += 2; const j = i * 3 - 1; return [j % 2, i < j, j + d, -j]; }",
    );
    assert!(out.contains("i = i + 2"), "{out}");
    assert!(out.contains("local j = (i * 3) - 1"), "{out}");
    assert!(out.contains("math.fmod(j, 2)"), "{out}");
    assert!(out.contains("i < j"), "{out}");
    assert!(out.contains("J_add(j, d)"), "{out}");
    assert!(out.contains("-j"), "{out}");
    // A `let` that may hold a string is not a number.
    let out = lua("function main(d) { let i = 0; i = d; return i + 1; }");
    assert!(out.contains("J_add(i, 1)"), "{out}");
}

#[test]
fn evaluation_order_is_kept_when_an_operand_needs_statements() {
    // `g()` must run before `a ?? h()`'s statements; it is copied to a temporary.
    let out =
        lua("function main(a, g, h) { return g(nil) + (a?.b ?? h(nil)); }\nconst nil = null;");
    let g = out.find("g(nil, __u_nil)").expect("g call");
    let get = out.find("J_get(a, \"b\")").expect("chain");
    assert!(g < get, "{out}");
    compiles(&out);
}

#[test]
fn too_many_locals_are_refused_not_miscompiled() {
    let mut src = String::from("function main() {\n");
    for i in 0..260 {
        src.push_str(&format!("  let v{i} = {i};\n"));
    }
    src.push_str("  return v0;\n}\n");
    let e = err(&src);
    assert!(e.contains("more than 195 local variables"), "{e}");
}

#[test]
fn regex_literals_use_the_runtime_constructor() {
    let out = lua("function main(s) { return /a+b/gi.test(s); }");
    assert!(
        out.contains("J_invoke(J_regex(\"a+b\", \"gi\"), \"test\", s)"),
        "{out}"
    );
}

// ---------------------------------------------------------------- speed

/// A ~200-line routing script in the ScriptForge style.
fn long_script() -> String {
    let mut s = String::from(
        "const PREMIUM = [\"1900\", \"0900\", \"0137\"];\nconst CARRIERS = { a: 1, b: 2 };\n",
    );
    for i in 0..24 {
        s.push_str(&format!(
            "function rule{i}(data, ctx) {{\n  const dest = data.routing.dest_number;\n  let score = 0;\n  for (let i = 0; i < dest.length; i++) {{\n    if (dest[i] === \"{d}\") score += i * 2;\n  }}\n  const {{ vars = {{}} }} = data;\n  return score > {i} ? `${{dest}}-{i}` : vars?.fallback ?? null;\n}}\n",
            d = i % 10
        ));
    }
    s.push_str("export function main(data, ctx) {\n  for (const p of PREMIUM) {\n    if (data.routing.dest_number.startsWith(p)) throw new Error(\"403 Forbidden\");\n  }\n  return data;\n}\n");
    s
}

#[test]
fn transpiling_a_200_line_script_is_fast() {
    let src = long_script();
    assert!(src.lines().count() >= 200);
    let _ = lua(&src);
    let start = Instant::now();
    let runs = 20;
    for _ in 0..runs {
        let _ = lua(&src);
    }
    let each = start.elapsed() / runs;
    println!(
        "transpile: {} lines in {:?} per run (debug build)",
        src.lines().count(),
        each
    );
    compiles(&lua(&src));
}
