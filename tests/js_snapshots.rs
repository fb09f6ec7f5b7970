//! The JavaScript → Luau translator (issue 4): exact emitted Luau for small
//! inputs, refusals with positions, and end-to-end runs through the engine.

use std::sync::Arc;

use sipforge::js::{self, JsError, prelude as runtime};
use sipforge::script::{CallCtx, CallData, Engine, Limits, Outcome, Routing, RunReport, Script};
use sipforge::transport::Transport;

fn lua(src: &str) -> String {
    js::transpile("t.js", src).unwrap_or_else(|e| panic!("{e}"))
}

/// The emitted Luau without the runtime prelude.
fn body(src: &str, helpers: &[&str]) -> String {
    let out = lua(src);
    let prelude = runtime::prelude(helpers);
    assert!(out.starts_with(&prelude), "prelude mismatch:\n{out}");
    out[prelude.len()..].to_string()
}

fn err(src: &str) -> String {
    let e: JsError = js::transpile("t.js", src).expect_err("should be refused");
    e.to_string()
}

// ---------------------------------------------------------------- snapshots

#[test]
fn identity_main() {
    assert_eq!(
        body("function main(data, ctx) { return data; }", &[]),
        "function main(data, ctx)\n  return data\nend\n"
    );
    assert_eq!(
        body("export function main(data) { return data }", &[]),
        "function main(data)\n  return data\nend\n"
    );
}

#[test]
fn declarations_literals_and_members() {
    let src = r#"
const PREFIX = "19\"00";
function main(data, ctx) {
  let dest = data.routing["dest_number"];
  var n = 1.5, big = 1e21, t = `plain`;
  const none = null, u = undefined, yes = true;
  return data;
}"#;
    assert_eq!(
        body(src, &["__js_get", "__js_null"]),
        r#"local PREFIX
PREFIX = "19\"00"
function main(data, ctx)
  local n, big, t
  local dest = __js_get(__js_get(data, "routing"), "dest_number")
  n = 1.5
  big = 1e21
  t = "plain"
  local none = __js_null
  local u = nil
  local yes = true
  return data
end
"#
    );
}

#[test]
fn if_else_throw_equality_and_add() {
    let src = r#"
function isPremium(n) { return n === "1900"; }
export function main(data, ctx) {
  let label = "n:" + 1;
  if (isPremium(label)) {
    throw new Error('403 Premium Destination Blocked');
  } else if (label !== null) {
    return data;
  } else {
    helper(data);
  }
  if (label) return data;
  return data;
}
function helper(d) { return d; }"#;
    assert_eq!(
        body(src, &["__js_add", "__js_null", "__js_truthy"]),
        r#"local isPremium, helper
function isPremium(n)
  return n == "1900"
end
function main(data, ctx)
  local label = __js_add("n:", 1)
  if __js_truthy(isPremium(label)) then
    error("403 Premium Destination Blocked", 0)
  elseif label ~= __js_null then
    return data
  else
    helper(data)
  end
  if __js_truthy(label) then
    return data
  end
  return data
end
function helper(d)
  return d
end
"#
    );
}

#[test]
fn awkward_names_are_renamed_and_dead_code_after_return_compiles() {
    let src = "function main(data, ctx) { let end = 1, $x = 2, __js_null = 3, error = 4; return data; return error; }";
    let out = lua(src);
    assert!(out.contains("local __js_v_end = 1"), "{out}");
    assert!(out.contains("local __js_v__x24x = 2"), "{out}");
    assert!(out.contains("local __js_v_____js__null = 3"), "{out}");
    assert!(out.contains("local __js_v_error = 4"), "{out}");
    assert!(
        out.contains("  do return data end\n  return __js_v_error\n"),
        "{out}"
    );
    Script::compile_lua("t.js", 1, &out).unwrap_or_else(|e| panic!("{e}\n{out}"));
}

// ---------------------------------------------------------------- refusals

#[test]
fn unsupported_constructs_are_refused_with_position() {
    let cases = [
        (
            "function main(data) {\n  for (;;) {}\n}",
            "t.js:2:3: `for` is not supported yet",
        ),
        (
            "function main(data) { return [1]; }",
            "t.js:1:30: an array literal is not supported yet",
        ),
        (
            "function main(data) { return data.x?.y; }",
            "t.js:1:30: optional chaining is not supported yet",
        ),
        (
            "function main(data) { return 1 == 2; }",
            "t.js:1:30: the `==` operator is not supported yet",
        ),
        (
            "function main(data) { throw 'x'; }",
            "t.js:1:23: `throw` of anything but `new Error('<literal string>')` is not supported yet",
        ),
        (
            "function main(data) { return foo; }",
            "t.js:1:30: `foo` is not defined or not supported yet",
        ),
        (
            "function main(data) { return `a${data}`; }",
            "t.js:1:30: a template literal with `${}` is not supported yet",
        ),
        (
            "function main(data) { return data.f(); }",
            "t.js:1:30: calling anything but a named function is not supported yet",
        ),
        (
            "function main(data) { return x; let x = 1; }",
            "t.js:1:30: `x` is used before its declaration",
        ),
        (
            "const a = f();\nfunction f() {}",
            "t.js:1:11: a call at the top level is not supported yet",
        ),
        (
            "async function main(data) { return data; }",
            "t.js:1:1: an async function is not supported yet",
        ),
        (
            "function main(data) {\n  let é = 1; let é = 2; }",
            "t.js:2:18: `é` is declared twice",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(err(src), want, "for {src:?}");
    }
}

#[test]
fn syntax_errors_have_positions() {
    let e = err("function main(data) {\n  return data +;\n}");
    assert!(e.starts_with("t.js:2:"), "{e}");
}

// ---------------------------------------------------------------- end to end

fn call() -> CallData {
    CallData {
        routing: Routing {
            call_id: "a84b4c76e66710".into(),
            method: "INVITE".into(),
            ruri: "sip:+19005551234@10.0.0.1".into(),
            dest_number: "19005551234".into(),
            cli: "15550001111".into(),
            from_display: None,
            from_uri: "sip:15550001111@203.0.113.7".into(),
            to_uri: "sip:+19005551234@10.0.0.1".into(),
            pai: None,
            src_ip: "203.0.113.7".parse().unwrap(),
            src_port: 5060,
            transport: Transport::Udp,
            account_id: "acme".into(),
            server: "sipforge-1".into(),
            headers: vec![],
            time_ms: 1_763_800_000_123,
        },
        egress: vec![],
        headers: vec![],
        remove_headers: vec![],
        vars: Arc::new(toml::Table::new()),
    }
}

fn run_js(src: &str) -> RunReport {
    let luau = lua(src);
    let script = Script::compile_lua("t.js", 1, &luau).unwrap_or_else(|e| panic!("{e}\n{luau}"));
    let ctx = CallCtx {
        customer_id: Arc::from("acme"),
        secrets: Arc::new(toml::Table::new()),
    };
    Engine::run_blocking(&[Arc::new(script)], call(), &ctx, &Limits::default(), true)
}

const PREMIUM: &str = r#"
const BLOCKED = "1900";
function prefix4(n) { return n; }
export function main(data, ctx) {
  const dest = data.routing.dest_number;
  if (dest === "19005551234" + "") {
    throw new Error('404 Not Found');
  }
  return data;
}"#;

#[test]
fn thrown_error_rejects_the_call() {
    let r = run_js(PREMIUM);
    assert_eq!(
        r.outcome,
        Outcome::Reject {
            code: 404,
            reason: "Not Found".into()
        }
    );
}

#[test]
fn returned_data_continues() {
    let r =
        run_js("function main(data, ctx) { if (data.routing.pai === undefined) { return data; } }");
    assert!(matches!(r.outcome, Outcome::Continue(_)), "{:?}", r.outcome);
}

#[test]
fn reading_a_property_of_undefined_fails() {
    let r = run_js("function main(data, ctx) { return data.nothing.here; }");
    match r.outcome {
        Outcome::Failed { message } => assert!(
            message.contains("TypeError: Cannot read properties of undefined (reading 'here')"),
            "{message}"
        ),
        other => panic!("expected Failed, got {other:?}"),
    }
}

/// Runs Luau `expr` with the runtime prelude in a plain Luau VM.
fn eval(expr: &str) -> String {
    let lua = mlua::Lua::new();
    let names: Vec<&str> = runtime::HELPERS.iter().map(|h| h.name).collect();
    let code = format!("{}return {expr}", runtime::prelude(&names));
    lua.load(code).eval::<String>().unwrap()
}

#[test]
fn runtime_add_formats_numbers_like_javascript() {
    let cases = [
        ("__js_add('', 0.1 + 0.2)", "0.30000000000000004"),
        ("__js_add('', 1e21)", "1e+21"),
        ("__js_add('', 1e-7)", "1e-7"),
        (
            "__js_add('', 123456789012345680000)",
            "123456789012345680000",
        ),
        ("__js_add('', -0)", "0"),
        ("__js_add('', 0/0)", "NaN"),
        ("__js_add('', -math.huge)", "-Infinity"),
        ("__js_add('', 1.5e-6)", "0.0000015"),
        ("__js_add('', 2^53)", "9007199254740992"),
        ("__js_add('a', nil)", "aundefined"),
        ("__js_add(__js_null, 'b')", "nullb"),
        ("__js_add(true, 'b')", "trueb"),
        ("__js_add('', __js_add(true, 1))", "2"),
        ("__js_add('', __js_add(__js_null, 1))", "1"),
        ("__js_add('', __js_add(nil, 1))", "NaN"),
        ("__js_add('', __js_get('h€llo😀', 'length'))", "7"),
        (
            "tostring(__js_truthy(0) or __js_truthy('') or __js_truthy(0/0) or __js_truthy(__js_null))",
            "false",
        ),
        ("tostring(__js_truthy('0') and __js_truthy({}))", "true"),
    ];
    for (expr, want) in cases {
        assert_eq!(eval(expr), want, "for {expr}");
    }
}
