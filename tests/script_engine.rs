//! The script engine core (issue 3): contract, errors, limits, sandbox, isolation, pool.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sipforge::routing::EgressEntry;
use sipforge::script::{
    CallCtx, CallData, Engine, Limits, Outcome, Overloaded, Routing, RunReport, Script,
};
use sipforge::transport::Transport;

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
    let vars: toml::Table =
        toml::from_str("[schedule]\nweek = \"9-21\"\n[limits]\nmax = 3\n").unwrap();
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
            pai: None,
            src_ip: "203.0.113.7".parse().unwrap(),
            src_port: 5060,
            transport: Transport::Udp,
            account_id: "acme".into(),
            server: "sipforge-1".into(),
            headers: vec![
                ("User-Agent".into(), "pbx/1.0".into()),
                ("X-Foo".into(), "a".into()),
                ("X-Foo".into(), "b".into()),
            ],
            time_ms: 1_763_800_000_123,
        },
        egress: vec![
            entry("carrier-a", "198.51.100.10:5060"),
            entry("carrier-b", "198.51.100.20:5060"),
        ],
        headers: vec![],
        remove_headers: vec![],
        vars: Arc::new(vars),
    }
}

fn ctx(id: &str) -> CallCtx {
    let secrets: toml::Table = toml::from_str("api_key = \"s3cret\"").unwrap();
    CallCtx {
        customer_id: Arc::from(id),
        secrets: Arc::new(secrets),
    }
}

fn script(name: &str, src: &str) -> Arc<Script> {
    Arc::new(Script::compile_lua(name, 1, src).unwrap_or_else(|e| panic!("{e}")))
}

fn run_with(chain: &[Arc<Script>], limits: Limits) -> RunReport {
    Engine::run_blocking(chain, call(), &ctx("acme"), &limits, true)
}

fn run(src: &str) -> RunReport {
    run_with(&[script("scripts/t.lua", src)], Limits::default())
}

fn cont(r: &RunReport) -> &CallData {
    match &r.outcome {
        Outcome::Continue(d) => d,
        other => panic!("expected Continue, got {other:?} (console {:?})", r.console),
    }
}

fn failed(r: &RunReport) -> &str {
    match &r.outcome {
        Outcome::Failed { message } => message,
        other => panic!("expected Failed, got {other:?}"),
    }
}

// ---------------------------------------------------------------- contract

#[test]
fn identity_script_keeps_the_call() {
    let r = run("function main(data, ctx) return data end");
    let d = cont(&r);
    assert_eq!(d.egress, call().egress);
    assert!(d.headers.is_empty() && d.remove_headers.is_empty());
    assert_eq!(d.routing, call().routing);
}

#[test]
fn data_has_the_design_shape() {
    let r = run(r#"
function main(data, ctx)
  local r = data.routing
  assert(r.call_id == "a84b4c76e66710" and r.method == "INVITE")
  assert(r.ruri == "sip:+15551234567@10.0.0.1" and r.dest_number == "15551234567")
  assert(r.cli == "15550001111" and r.from_display == "Alice")
  assert(r.from_uri == "sip:15550001111@203.0.113.7" and r.to_uri == "sip:+15551234567@10.0.0.1")
  assert(r.pai == nil)
  assert(r.src_ip == "203.0.113.7" and r.src_port == 5060 and r.transport == "udp")
  assert(r.account_id == "acme" and r.server == "sipforge-1")
  assert(r.time == 1763800000123)
  assert(r.headers["User-Agent"] == "pbx/1.0")
  assert(r.headers["X-Foo"] == "a, b")
  assert(data.egress_routing == r.egress_routing, "same table")
  assert(#data.egress_routing == 2)
  local e = data.egress_routing[1]
  assert(e.carrier == "carrier-a" and e.gateway == "198.51.100.10:5060" and e.transport == "udp")
  assert(e.dest_number == "15551234567" and e.cli == "15550001111")
  assert(#e.headers == 0 and #e.remove_headers == 0)
  assert(#data.headers == 0 and #data.remove_headers == 0)
  assert(data.schedule.week == "9-21" and data.limits.max == 3)
  assert(ctx.customer.id == "acme" and ctx.secrets.api_key == "s3cret")
  print("hello", 42, true, nil)
  ctx.log("via ctx")
  return data
end"#);
    cont(&r);
    assert_eq!(
        r.console,
        vec!["hello\t42\ttrue\tnil".to_string(), "via ctx".to_string()]
    );
}

#[test]
fn returned_data_is_applied() {
    let r = run(r#"
function main(data, ctx)
  local e = data.routing.egress_routing
  e[1], e[2] = e[2], e[1]
  e[1].headers = {{key = "X-Route", value = "first"}}
  e[1].remove_headers = {{key = "X-Old"}}
  e[2].dest_number = "4930123"
  e[2].cli = 4930999
  table.insert(e, {gateway = "gw.example.net:5080;transport=tcp"})
  table.insert(e, {gateway = "[2001:db8::1]", transport = "tcp", carrier = "v6"})
  data.headers = {{key = "X-Customer-ID", value = 1234}}
  data.remove_headers = {{key = "P-Asserted-Identity"}}
  return data
end"#);
    let d = cont(&r);
    let gws: Vec<&str> = d.egress.iter().map(|e| &*e.gateway).collect();
    assert_eq!(
        gws,
        [
            "198.51.100.20:5060",
            "198.51.100.10:5060",
            "gw.example.net:5080",
            "[2001:db8::1]:5060"
        ]
    );
    assert_eq!(
        d.egress[0].headers,
        vec![("X-Route".to_string(), "first".to_string())]
    );
    assert_eq!(d.egress[0].remove_headers, vec!["X-Old".to_string()]);
    assert_eq!(d.egress[1].dest_number, "4930123");
    assert_eq!(d.egress[1].cli, "4930999");
    assert_eq!(d.egress[2].transport, Transport::Tcp);
    assert_eq!(&*d.egress[2].carrier, "");
    assert_eq!(d.egress[2].dest_number, "15551234567");
    assert_eq!(d.egress[2].cli, "15550001111");
    assert_eq!(d.egress[3].transport, Transport::Tcp);
    assert_eq!(&*d.egress[3].carrier, "v6");
    assert_eq!(
        d.headers,
        vec![("X-Customer-ID".to_string(), "1234".to_string())]
    );
    assert_eq!(d.remove_headers, vec!["P-Asserted-Identity".to_string()]);
    let json = r.returned_json.expect("json");
    assert_eq!(json["headers"][0]["key"], "X-Customer-ID");
    assert_eq!(json["egress_routing"][0]["gateway"], "198.51.100.20:5060");
    assert_eq!(
        json["routing"]["egress_routing"][0]["gateway"],
        "198.51.100.20:5060"
    );
    assert_eq!(json["schedule"]["week"], "9-21");
    assert_eq!(json["remove_headers"][0]["key"], "P-Asserted-Identity");
}

#[test]
fn replacing_either_alias_works() {
    let r = run(
        r#"function main(d) d.routing.egress_routing = {{gateway = "1.2.3.4:5060"}}; return d end"#,
    );
    assert_eq!(&*cont(&r).egress[0].gateway, "1.2.3.4:5060");
    assert_eq!(cont(&r).egress.len(), 1);
    let r =
        run(r#"function main(d) d.egress_routing = {{gateway = "1.2.3.5:5060"}}; return d end"#);
    assert_eq!(&*cont(&r).egress[0].gateway, "1.2.3.5:5060");
    let r = run(r#"function main(d) d.egress_routing = {}; return d end"#);
    assert!(cont(&r).egress.is_empty());
}

#[test]
fn bad_return_values_fail() {
    assert!(failed(&run("function main(d) end")).contains("main returned nothing"));
    assert!(failed(&run("function main(d) return 5 end")).contains("main returned a number"));
    let m = run(r#"function main(d) d.egress_routing = {{carrier = "x"}}; return d end"#);
    assert!(
        failed(&m).contains("egress_routing[1] has no gateway"),
        "{}",
        failed(&m)
    );
    let m = run(r#"function main(d) d.egress_routing[2].gateway = 5060; return d end"#);
    assert!(
        failed(&m).contains("egress_routing[2].gateway is a number"),
        "{}",
        failed(&m)
    );
    let m = run(r#"function main(d) d.egress_routing[1].gateway = "a:b:c"; return d end"#);
    assert!(
        failed(&m).contains("egress_routing[1].gateway"),
        "{}",
        failed(&m)
    );
    let m = run(r#"function main(d) d.egress_routing[1].transport = "sctp"; return d end"#);
    assert!(failed(&m).contains("transport"), "{}", failed(&m));
    let m = run(r#"function main(d) d.egress_routing = "x"; return d end"#);
    assert!(
        failed(&m).contains("egress_routing is a string"),
        "{}",
        failed(&m)
    );
    let m = run(
        r#"function main(d) d.headers = {{key = "X-A", value = "1\r\nX-Evil: 1"}}; return d end"#,
    );
    assert!(failed(&m).contains("control characters"), "{}", failed(&m));
    let m = run(r#"function main(d) d.headers = {{key = "X A", value = "1"}}; return d end"#);
    assert!(
        failed(&m).contains("not a valid header name"),
        "{}",
        failed(&m)
    );
    let m = run(r#"function main(d) d.egress_routing[1].dest_number = "1@evil"; return d end"#);
    assert!(failed(&m).contains("dest_number"), "{}", failed(&m));
    assert!(failed(&m).starts_with("scripts/t.lua: "), "{}", failed(&m));
}

// ---------------------------------------------------------------- errors

#[test]
fn sip_errors_reject() {
    let cases = [
        ("error('404 Not Found')", 404, "Not Found"),
        ("error('404 Not Found', 0)", 404, "Not Found"),
        (
            "error({code = 404, reason = 'Not Found'})",
            404,
            "Not Found",
        ),
        ("error({code = 486})", 486, "Busy Here"),
        ("error({480, 'Disallowed'})", 480, "Disallowed"),
        ("error('699 Custom Thing')", 699, "Custom Thing"),
        ("error('300 Multiple Choices', 2)", 300, "Multiple Choices"),
    ];
    for (stmt, code, reason) in cases {
        let r = run(&format!("function main(d)\n  {stmt}\nend"));
        assert_eq!(
            r.outcome,
            Outcome::Reject {
                code,
                reason: reason.into()
            },
            "{stmt}"
        );
    }
}

#[test]
fn other_errors_fail_with_name_and_line() {
    for stmt in [
        "error('200 OK')",
        "error('700 Too High')",
        "error('Not Found')",
        "error({code = 200})",
        "error(42)",
    ] {
        let r = run(&format!("function main(d)\n  {stmt}\nend"));
        assert!(
            matches!(r.outcome, Outcome::Failed { .. }),
            "{stmt}: {:?}",
            r.outcome
        );
    }
    let r = run("function main(d)\n  local x = nil\n  return x.y\nend");
    let m = failed(&r);
    assert!(
        m.starts_with("scripts/t.lua:3: attempt to index nil"),
        "{m}"
    );
}

#[test]
fn chain_passes_data_and_stops_on_error() {
    let first = script(
        "scripts/first.lua",
        r#"function main(d) d.headers = {{key="X-First", value="1"}}; d.seen = "first"; return d end"#,
    );
    let cust = script(
        "scripts/cust.lua",
        r#"function main(d) assert(d.seen == "first"); table.insert(d.headers, {key="X-Cust", value="2"}); return d end"#,
    );
    let last = script(
        "scripts/last.lua",
        r#"function main(d) table.remove(d.egress_routing, 1); return d end"#,
    );
    let r = run_with(&[first.clone(), cust.clone(), last], Limits::default());
    let d = cont(&r);
    assert_eq!(d.headers.len(), 2);
    assert_eq!(d.egress.len(), 1);
    let reject = script(
        "scripts/rej.lua",
        "function main(d) error('403 Forbidden') end",
    );
    let never = script(
        "scripts/never.lua",
        "function main(d) print('ran'); return d end",
    );
    let r = run_with(&[first, reject, never], Limits::default());
    assert_eq!(
        r.outcome,
        Outcome::Reject {
            code: 403,
            reason: "Forbidden".into()
        }
    );
    assert!(r.console.is_empty());
}

// ---------------------------------------------------------------- limits

fn short() -> Limits {
    Limits {
        timeout: Duration::from_millis(30),
        memory_bytes: 4 << 20,
    }
}

#[test]
fn infinite_loop_times_out_and_engine_recovers() {
    let spin = script("scripts/spin.lua", "function main(d) while true do end end");
    let t = Instant::now();
    let r = run_with(std::slice::from_ref(&spin), short());
    assert_eq!(r.outcome, Outcome::Timeout);
    assert!(t.elapsed() < Duration::from_secs(2));
    // pcall cannot swallow the timeout
    let sneaky = script(
        "scripts/sneaky.lua",
        "function main(d) pcall(function() while true do end end); return d end",
    );
    assert_eq!(run_with(&[sneaky], short()).outcome, Outcome::Timeout);
    let sneaky2 = script(
        "scripts/sneaky2.lua",
        "function main(d) while true do pcall(function() while true do end end) end end",
    );
    assert_eq!(run_with(&[sneaky2], short()).outcome, Outcome::Timeout);
    // pathological pattern: the interrupt runs inside the matcher
    let pat = script(
        "scripts/pat.lua",
        "function main(d) local s = string.rep('a', 200000); s:find('.-.-.-.-b'); return d end",
    );
    assert_eq!(run_with(&[pat], short()).outcome, Outcome::Timeout);
    let ok = run("function main(d) return d end");
    cont(&ok);
}

/// A generous timeout so that the memory cap is what stops these (debug builds are slow).
fn mem_only() -> Limits {
    Limits {
        timeout: Duration::from_secs(5),
        memory_bytes: 4 << 20,
    }
}

#[test]
fn memory_cap_stops_huge_allocations() {
    for src in [
        "function main(d) local s = string.rep('x', 1e9); return d end",
        "function main(d) local t = {} for i = 1, 1e8 do t[i] = i end return d end",
        "function main(d) local t = table.create(1e7, 0) return d end",
        "function main(d) local s = 'x' while true do s = s .. s end end",
    ] {
        let r = run_with(&[script("scripts/mem.lua", src)], mem_only());
        assert!(
            matches!(r.outcome, Outcome::MemoryExceeded),
            "{src}: {:?}",
            r.outcome
        );
        cont(&run("function main(d) return d end"));
    }
    // a script may catch a failed allocation and go on: the allocation still never happened
    let r = run_with(
        &[script(
            "scripts/catch.lua",
            "function main(d) local ok = pcall(string.rep, 'x', 1e9); assert(not ok); return d end",
        )],
        mem_only(),
    );
    assert!(
        matches!(r.outcome, Outcome::Continue(_) | Outcome::MemoryExceeded),
        "{:?}",
        r.outcome
    );
}

// ---------------------------------------------------------------- sandbox & isolation

#[test]
fn sandbox_removes_dangerous_globals() {
    let r = run(r#"
function main(d)
  for _, name in ipairs({"io", "require", "load", "loadstring", "getfenv", "setfenv", "debug",
                         "collectgarbage", "dofile", "loadfile", "gcinfo"}) do
    assert(_G[name] == nil, name .. " is reachable")
  end
  assert(os.execute == nil and os.exit == nil and os.remove == nil and os.getenv == nil)
  assert(type(os.time()) == "number" and type(os.clock()) == "number" and type(os.date("%Y")) == "string")
  assert(not pcall(function() string.upper = nil end), "libraries are read-only")
  assert(not pcall(function() _G.x = 1 end), "globals are read-only")
  assert(not pcall(function() getmetatable("").__index = {} end), "string metatable is read-only")
  return d
end"#);
    cont(&r);
}

#[test]
fn no_leaks_between_calls() {
    let counter = script(
        "scripts/n.lua",
        r#"local n = 0
function main(d)
  n = n + 1
  leaked = (leaked or 0) + 1
  d.headers = {{key = "X-N", value = tostring(n)}, {key = "X-G", value = tostring(leaked)}}
  return d
end"#,
    );
    for _ in 0..5 {
        let r = run_with(std::slice::from_ref(&counter), Limits::default());
        assert_eq!(
            cont(&r).headers,
            vec![
                ("X-N".to_string(), "1".to_string()),
                ("X-G".to_string(), "1".to_string())
            ]
        );
    }
}

#[test]
fn customers_do_not_see_each_other() {
    let a = script(
        "scripts/a.lua",
        r#"secret_a = "mine"; function main(d, ctx) stash = ctx.secrets.api_key; return d end"#,
    );
    let b = script(
        "scripts/b.lua",
        r#"function main(d, ctx)
  assert(secret_a == nil and stash == nil, "saw another script's globals")
  assert(ctx.customer.id == "globex")
  assert(ctx.secrets.api_key == nil)
  return d
end"#,
    );
    cont(&Engine::run_blocking(
        &[a],
        call(),
        &ctx("acme"),
        &Limits::default(),
        false,
    ));
    let other = CallCtx {
        customer_id: Arc::from("globex"),
        secrets: Arc::new(toml::Table::new()),
    };
    cont(&Engine::run_blocking(
        &[b],
        call(),
        &other,
        &Limits::default(),
        false,
    ));
}

#[test]
fn mutating_vars_does_not_leak() {
    let s = script(
        "scripts/v.lua",
        r#"function main(d) assert(d.schedule.week == "9-21"); d.schedule.week = "x"; return d end"#,
    );
    for _ in 0..3 {
        cont(&run_with(std::slice::from_ref(&s), Limits::default()));
    }
}

// ---------------------------------------------------------------- pool

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_runs_and_sheds_load() {
    let engine = Engine::new(1, 1);
    let ok = script("scripts/ok.lua", "function main(d) return d end");
    let r = engine
        .run(
            vec![ok.clone()],
            call(),
            ctx("acme"),
            Limits::default(),
            false,
        )
        .await
        .unwrap();
    cont(&r);

    // One worker busy, one job queued: the next is refused at once.
    let slow = script(
        "scripts/slow.lua",
        "function main(d) local t = os.clock() while os.clock() - t < 0.3 do end return d end",
    );
    let lim = Limits {
        timeout: Duration::from_secs(2),
        memory_bytes: 16 << 20,
    };
    let engine = Arc::new(engine);
    let e1 = engine.clone();
    let s1 = slow.clone();
    let busy = tokio::spawn(async move { e1.run(vec![s1], call(), ctx("acme"), lim, false).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let e2 = engine.clone();
    let s2 = slow.clone();
    let queued =
        tokio::spawn(async move { e2.run(vec![s2], call(), ctx("acme"), lim, false).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let t = Instant::now();
    let refused = engine
        .run(vec![ok.clone()], call(), ctx("acme"), lim, false)
        .await;
    assert_eq!(refused.unwrap_err(), Overloaded);
    assert!(t.elapsed() < Duration::from_millis(50));
    cont(&busy.await.unwrap().unwrap());
    cont(&queued.await.unwrap().unwrap());

    // After a timeout on the worker, it serves the next call.
    let spin = script("scripts/spin.lua", "function main(d) while true do end end");
    let r = engine
        .run(vec![spin], call(), ctx("acme"), short(), false)
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::Timeout);
    let r = engine
        .run(vec![ok], call(), ctx("acme"), Limits::default(), false)
        .await
        .unwrap();
    cont(&r);
}

// ---------------------------------------------------------------- speed

/// A typical script per call, end to end on the current thread (release numbers
/// are in benches/script.rs; this only guards against gross regressions).
#[test]
fn typical_script_is_fast() {
    let s = script("scripts/typical.lua", TYPICAL);
    let chain = [s];
    let c = ctx("acme");
    let lim = Limits::default();
    let data = call();
    for _ in 0..200 {
        cont(&Engine::run_blocking(&chain, data.clone(), &c, &lim, false));
    }
    let n: u32 = std::env::var("SCRIPT_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let t = Instant::now();
    for _ in 0..n {
        let r = Engine::run_blocking(&chain, data.clone(), &c, &lim, false);
        assert!(matches!(r.outcome, Outcome::Continue(_)));
    }
    let per = t.elapsed() / n;
    eprintln!(
        "typical script: {per:?} per call (debug build: {})",
        cfg!(debug_assertions)
    );
    assert!(per < Duration::from_millis(2), "{per:?}");
}

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

// ---------------------------------------------------------------- built once per VM

fn js(name: &str, src: &str) -> Arc<Script> {
    Arc::new(Script::compile_js(name, 1, src).unwrap_or_else(|e| panic!("{e}")))
}

/// The values of the headers a script added, call after call on one VM.
fn added_headers(chain: &[Arc<Script>], calls: usize) -> Vec<String> {
    (0..calls)
        .map(|_| {
            let r = run_with(chain, Limits::default());
            cont(&r)
                .headers
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(";")
        })
        .collect()
}

#[test]
fn js_constant_tables_are_built_once_and_read_the_same() {
    // PREFIXES is only read through `PREFIXES[p]`: the translator builds it
    // once per VM (frozen) instead of on every call.
    let src = r#"const PREFIXES = { '1555': 'us', '44': 'uk', 'x': null };
const LIST = ['a', 'b', -1];
export function main(data) {
  const n = data.routing.dest_number;
  data.headers.push({ key: 'X-P', value: String(PREFIXES[n.slice(0, 4)]) + '/' + LIST[2] + LIST.length + PREFIXES.x });
  return data;
}"#;
    let luau = sipforge::js::transpile("t.js", src).unwrap();
    assert!(luau.contains("local PREFIXES = __O[-"), "{luau}");
    assert!(luau.contains("local LIST = __O[-"), "{luau}");
    let s = js("scripts/hoist.js", src);
    assert_eq!(added_headers(&[s], 3), vec!["X-P=us/-13null"; 3]);
}

#[test]
fn js_top_level_state_written_by_main_never_survives_a_call() {
    // Each of these writes to, or lets go of, its top-level object: it must
    // stay a fresh copy per call (DESIGN: the top level runs afresh), so
    // every call sees the initial value.
    let cases = [
        // written through a member
        "const seen = { n: 0 };\nexport function main(d) { seen.n++; d.headers.push({ key: 'N', value: String(seen.n) }); return d; }",
        // passed to a function that writes it
        "const seen = { n: 0 };\nfunction bump(o) { o.n += 1; }\nexport function main(d) { bump(seen); d.headers.push({ key: 'N', value: String(seen.n) }); return d; }",
        // aliased
        "const seen = { n: 0 };\nexport function main(d) { const a = seen; a.n = a.n + 1; d.headers.push({ key: 'N', value: String(seen.n) }); return d; }",
        // an array mutated by a method
        "const seen = [0];\nexport function main(d) { seen.push(1); d.headers.push({ key: 'N', value: String(seen.length - 1) }); return d; }",
        // stored into the returned data
        "const seen = { n: 1 };\nexport function main(d) { d.keep = seen; seen.n = 1; d.headers.push({ key: 'N', value: String(seen.n) }); return d; }",
    ];
    for (i, src) in cases.iter().enumerate() {
        let luau = sipforge::js::transpile("t.js", src).unwrap();
        assert!(
            !luau.contains("__O[-"),
            "case {i} must not be hoisted:\n{luau}"
        );
        let s = js(&format!("scripts/state{i}.js"), src);
        assert_eq!(added_headers(&[s], 3), vec!["N=1"; 3], "case {i}");
    }
}

#[test]
fn js_object_key_lists_are_cached_per_vm() {
    // Object literals share a frozen key list, built by the first call.
    let src = "export function main(d) { const o = { a: 1, b: 2 }; o.c = 3; d.headers.push({ key: 'K', value: Object.keys(o).join(',') }); return d; }";
    let s = js("scripts/keys.js", src);
    assert_eq!(added_headers(&[s], 3), vec!["K=a,b,c"; 3]);
}

// ---------------------------------------------------------------- data built to measure

fn uses(src: &str) -> Option<sipforge::js::DataUse> {
    sipforge::js::translate("t.js", src)
        .unwrap_or_else(|e| panic!("{e}"))
        .uses
}

fn set(items: &[&str]) -> std::collections::BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn js_data_use_is_what_main_reads() {
    let u = uses(include_str!("../benches/compare/route.js")).expect("known");
    assert_eq!(u.keys, set(&["headers", "routing"]));
    assert_eq!(u.routing, Some(set(&["dest_number"])));
    assert!(!u.ctx);

    let u = uses("export default function (data, ctx) { data.egress_routing.reverse(); ctx.log('x'); if (data.schedule.week) return data; return data; }").expect("known");
    assert_eq!(u.keys, set(&["egress_routing", "schedule"]));
    assert_eq!(u.routing, Some(set(&[])));
    assert!(u.ctx);

    // data.routing used as a whole
    let u = uses("function f(r) { return r.cli; }\nfunction main(data) { data.headers.push({key: 'A', value: f(data.routing)}); return data; }").expect("known");
    assert_eq!(u.routing, None);
    // data.routing.x written: routing as a whole too
    let u = uses("function main(data) { data.routing.cli = '1'; return data; }").expect("known");
    assert_eq!(u.routing, None);

    // Anything that lets `data` go, or returns something else: unknown.
    for src in [
        "function main(data) { return helper(data); }\nfunction helper(d) { return d; }",
        "function main(data) { return { ...data }; }",
        "function main(data) { const k = 'headers'; data[k].push({key: 'a', value: 'b'}); return data; }",
        "function main(data) { const { routing } = data; return data; }",
        "function main(data) { if (data.routing.cli) return Promise.reject([480, 'No']); return data; }",
        "function main(data) { data = { headers: [] }; return data; }",
        "function main(data) { console.log(JSON.stringify(data)); return data; }",
        "function main(data) { for (const k in data) {} return data; }",
        "function main(data) { data.egress_routing = []; return data; }",
        "function main(data) { const f = () => data; return f(); }",
        "function main(data) { return data?.routing ? data : data; }",
        "const main = (data) => data;",
        "function main(...args) { return args[0]; }",
    ] {
        assert_eq!(uses(src), None, "{src}");
    }
}

#[test]
fn js_scripts_see_the_same_call_whether_data_is_built_whole_or_in_part() {
    // The engine builds only what a script reads (dry runs, want_json, build
    // everything): both must give the same routing outcome.
    let scripts = [
        include_str!("../benches/compare/route.js"),
        "export function main(data) { data.egress_routing.reverse(); return data; }",
        "export function main(data) { const e = data.routing.egress_routing; e.push({ gateway: '192.0.2.1:5060' }); return data; }",
        "export function main(data) { if (data.routing.dest_number.startsWith('1555')) data.remove_headers.push({ key: 'X-Foo' }); return data; }",
        "export function main(data, ctx) { data.headers.push({ key: 'X-C', value: ctx.customer.id + data.schedule.week }); return data; }",
        "export function main(data) { if (data.routing.pai === null) throw new Error('403 No PAI'); return data; }",
        "export function main(data) { data.egress_routing.splice(0, 1); data.headers.push({ key: 'X-H', value: data.routing.headers['User-Agent'] }); return data; }",
    ];
    for (i, src) in scripts.iter().enumerate() {
        let s = js(&format!("scripts/part{i}.js"), src);
        let chain = [s];
        let part = Engine::run_blocking(&chain, call(), &ctx("acme"), &Limits::default(), false);
        let whole = Engine::run_blocking(&chain, call(), &ctx("acme"), &Limits::default(), true);
        assert_eq!(
            format!("{:?}", part.outcome),
            format!("{:?}", whole.outcome),
            "script {i}"
        );
    }
}

#[test]
fn js_top_level_of_functions_and_constants_runs_once_per_vm() {
    let pure = |src: &str| {
        sipforge::js::translate("t.js", src)
            .unwrap_or_else(|e| panic!("{e}"))
            .pure_top_level
    };
    assert!(pure(include_str!("../benches/compare/route.js")));
    assert!(pure(
        "const A = 'x'; const f = (s) => s + A; function g() { return f('y'); }\nexport default function (d) { return d; }"
    ));
    for src in [
        // state that a call could change, or work done at load time
        "let n = 0;\nexport function main(d) { return d; }",
        "var n = 0;\nexport function main(d) { return d; }",
        "const seen = {};\nexport function main(d) { seen.x = 1; return d; }",
        "console.log('loaded');\nexport function main(d) { return d; }",
        "class C {}\nexport function main(d) { return d; }",
        "const t = Date.now();\nexport function main(d) { return d; }",
    ] {
        assert!(!pure(src), "{src}");
    }

    // Reused: the same answers call after call.
    let src = "const P = { a: 'x' };\nconst suffix = (s) => s + P.a;\nexport function main(d) { d.headers.push({ key: 'S', value: suffix(d.routing.cli) }); return d; }";
    let s = js("scripts/reuse.js", src);
    assert_eq!(added_headers(&[s], 3), vec!["S=15550001111x"; 3]);

    // Not reusable: the top level's output shows on every call.
    let src = "console.log('top');\nexport function main(d) { return d; }";
    let s = js("scripts/top.js", src);
    for _ in 0..3 {
        let r = run_with(std::slice::from_ref(&s), Limits::default());
        assert_eq!(r.console, vec!["top".to_string()]);
    }
}
