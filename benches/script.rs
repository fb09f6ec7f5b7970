//! Routing-script engine: one call through a typical script, end to end on the
//! current thread (build `data`, fresh env, run chunk + `main`, read back), in
//! Lua and the same logic in JavaScript (issue 4: the translated script should
//! stay within 2x the hand-written Luau), plus transpiling a 200-line script.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use sipforge::routing::EgressEntry;
use sipforge::script::{CallCtx, CallData, Engine, Limits, Outcome, Routing, Script};
use sipforge::transport::Transport;

const TYPICAL: &str = r#"
local blocked = { "1900", "1976" }
function main(data, ctx)
  local num = data.routing.dest_number
  for _, p in ipairs(blocked) do
    if string.sub(num, 1, #p) == p then error("403 Forbidden") end
  end
  local e = data.egress_routing
  if #e > 1 then e[1], e[2] = e[2], e[1] end
  table.insert(data.headers, { key = "X-Customer-ID", value = ctx.customer.id })
  return data
end
"#;

/// The same logic as [`TYPICAL`], as a customer would write it in JavaScript.
const TYPICAL_JS: &str = r#"
const blocked = ["1900", "1976"];
function main(data, ctx) {
  const num = data.routing.dest_number;
  for (const p of blocked) {
    if (num.startsWith(p)) throw new Error("403 Forbidden");
  }
  const e = data.egress_routing;
  if (e.length > 1) [e[0], e[1]] = [e[1], e[0]];
  data.headers.push({ key: "X-Customer-ID", value: ctx.customer.id });
  return data;
}
"#;

/// A 200-line script for the transpile-time figure: the typical script's logic
/// repeated in numbered helper functions.
fn long_script() -> String {
    let mut s = String::from("const blocked = [\"1900\", \"1976\"];\n");
    for i in 0..20 {
        s.push_str(&format!(
            "function helper{i}(data, ctx) {{\n  const num = data.routing.dest_number;\n  for (const p of blocked) {{\n    if (num.startsWith(p)) throw new Error(`403 Forbidden ${{p}}`);\n  }}\n  const e = data.egress_routing.filter((x) => x.carrier !== 'c{i}');\n  if (e.length > 1) [e[0], e[1]] = [e[1], e[0]];\n  data.headers.push({{ key: 'X-H{i}', value: String(ctx.customer.id) + {i} }});\n  return data;\n}}\n"
        ));
    }
    s.push_str("function main(data, ctx) {\n  return helper0(data, ctx);\n}\n");
    s
}

fn entry(carrier: &str, gw: &str) -> EgressEntry {
    EgressEntry {
        carrier: Arc::from(carrier),
        gateway: Arc::from(gw),
        transport: Transport::Udp,
        dest_number: "15551234567".into(),
        cli: "15550001111".into(),
        headers: vec![],
        remove_headers: vec![],
    }
}

fn call() -> CallData {
    let vars: toml::Table = toml::from_str("[schedule]\nweek = \"9-21\"\n").unwrap();
    CallData {
        routing: Routing {
            call_id: "a84b4c76e66710".into(),
            method: "INVITE".into(),
            ruri: "sip:+15551234567@10.0.0.1".into(),
            dest_number: "15551234567".into(),
            cli: "15550001111".into(),
            from_display: Some("Alice".into()),
            from_uri: "sip:15550001111@203.0.113.7".into(),
            to_uri: "sip:+15551234567@10.0.0.1".into(),
            pai: Some("sip:+15550001111@203.0.113.7".into()),
            src_ip: "203.0.113.7".parse().unwrap(),
            src_port: 5060,
            transport: Transport::Udp,
            account_id: "acme".into(),
            server: "sipforge-1".into(),
            headers: vec![
                ("User-Agent".into(), "pbx/1.0".into()),
                ("Max-Forwards".into(), "70".into()),
            ],
            time_ms: 1_763_800_000_123,
        },
        egress: vec![
            entry("carrier-a", "198.51.100.10:5060"),
            entry("carrier-b", "198.51.100.20:5060"),
            entry("carrier-c", "198.51.100.30:5060"),
        ],
        headers: vec![],
        remove_headers: vec![],
        vars: Arc::new(vars),
    }
}

/// One benchmark: a whole call through `chain`.
fn bench_call(
    c: &mut Criterion,
    name: &str,
    chain: &[Arc<Script>],
    data: &CallData,
    ctx: &CallCtx,
    limits: &Limits,
) {
    c.bench_function(name, |b| {
        b.iter(|| {
            black_box(Engine::run_blocking(
                chain,
                black_box(data.clone()),
                ctx,
                limits,
                false,
            ))
        })
    });
}

fn bench(c: &mut Criterion) {
    let typical = Arc::new(Script::compile_lua("scripts/typical.lua", 1, TYPICAL).unwrap());
    let identity = Arc::new(
        Script::compile_lua("scripts/id.lua", 1, "function main(d) return d end").unwrap(),
    );
    let ctx = CallCtx {
        customer_id: Arc::from("acme"),
        secrets: Arc::new(toml::from_str("api_key = \"s3cret\"").unwrap()),
    };
    let limits = Limits::default();
    let data = call();

    let chain = [typical];
    let r = Engine::run_blocking(&chain, data.clone(), &ctx, &limits, false);
    assert!(matches!(r.outcome, Outcome::Continue(_)), "{:?}", r.outcome);
    bench_call(c, "script/typical_call", &chain, &data, &ctx, &limits);
    let chain = [identity];
    bench_call(c, "script/identity_call", &chain, &data, &ctx, &limits);
    let typical_js = Arc::new(Script::compile_js("scripts/typical.js", 1, TYPICAL_JS).unwrap());
    let identity_js =
        Arc::new(Script::compile_js("scripts/id.js", 1, "function main(d) { return d; }").unwrap());
    let chain = [typical_js];
    let r = Engine::run_blocking(&chain, data.clone(), &ctx, &limits, false);
    assert!(matches!(r.outcome, Outcome::Continue(_)), "{:?}", r.outcome);
    bench_call(c, "script/typical_call_js", &chain, &data, &ctx, &limits);
    let chain = [identity_js];
    bench_call(c, "script/identity_call_js", &chain, &data, &ctx, &limits);
    // The Kamailio comparison's script (benches/compare/route.js).
    let route_js = Arc::new(
        Script::compile_js(
            "benches/compare/route.js",
            1,
            include_str!("compare/route.js"),
        )
        .unwrap(),
    );
    let chain = [route_js];
    bench_call(c, "script/compare_route_js", &chain, &data, &ctx, &limits);
    let long = long_script();
    assert!(long.lines().count() >= 200, "{}", long.lines().count());
    c.bench_function("js/transpile_200_lines", |b| {
        b.iter(|| black_box(sipforge::js::transpile("long.js", black_box(&long)).unwrap()))
    });
    c.bench_function("script/calldata_clone_only", |b| {
        b.iter(|| black_box(data.clone()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
