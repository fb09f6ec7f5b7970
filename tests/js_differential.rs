//! Differential tests of JavaScript routing scripts against Node.js (issue 4).
//!
//! Every script in `tests/js/cases/` runs twice on the same call: through
//! `node tests/js/harness.mjs` (the reference engine) and through
//! `sipforge run`. Both print one JSON line (the returned data,
//! `{"sip": "NNN Reason"}` or `{"error": ...}`); the lines must be equal as
//! JSON, with numbers compared as `f64` and `{"error": ...}` compared by
//! presence only (the messages differ between engines). Every mismatch of the
//! whole corpus is collected and reported at the end, each with both outputs
//! and the JSON paths that differ.
//!
//! Directives in a case's leading `//` comment lines:
//! * `// call: a.json b.json` — run on these call files (default `call.json`);
//! * `// expect: data sip error` — what Node must produce on each call
//!   (default `data`); checked by `corpus_runs_on_node`, so a broken case is
//!   caught even before sipforge can run it;
//! * `// console: compare` — also compare the `console: ` lines on stderr.
//!
//! `tests/js/unsupported/*.js` must be refused by `sipforge check` with
//! `FILE:LINE:COL:` (first line: `// expect: L:C[|L:C] word[|word]`).
//! `generated_expressions_match_node` evaluates ~300 random small expressions
//! both ways (seed: `JS_FUZZ_SEED`, count: `JS_FUZZ_COUNT`).
//!
//! `corpus_matches_node_in_live_calls` runs every case as a customer script of
//! one live redirect-mode sidecar: a real INVITE per case, the script input the
//! sidecar logs (debug) replayed through Node, and Node's result turned into
//! the SIP answer it implies (302 Contacts, the thrown status, 500, 404) and
//! compared with the answer that came back on the wire.
//!
//! Tests that need Node are skipped with a notice when `node` is not on PATH.

mod common;

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Wall-clock limit per process (sipforge itself is given `--timeout-ms`).
const PROCESS_LIMIT: Duration = Duration::from_secs(60);
/// The script time limit passed to `sipforge run` (debug builds are slow).
const SCRIPT_TIMEOUT_MS: &str = "10000";
/// Report at most this many differing paths per case.
const MAX_PATHS: usize = 25;
/// Outputs are shown up to this many characters.
const SHOW_CHARS: usize = 1500;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn js_dir() -> PathBuf {
    root().join("tests/js")
}

fn node_available() -> bool {
    Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn skip_without_node(test: &str) -> bool {
    if node_available() {
        return false;
    }
    eprintln!("NOTICE: `node` is not on PATH: {test} skipped (CI installs Node 20)");
    true
}

// ------------------------------------------------------------------ processes

/// A finished process: exit code (None when killed), stdout, stderr.
struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// A started process whose pipes are drained by reader threads.
struct Started {
    child: Option<std::process::Child>,
    readers: Vec<thread::JoinHandle<String>>,
    spawn_error: Option<String>,
}

fn drain<R: Read + Send + 'static>(mut r: R) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

fn start(mut cmd: Command) -> Started {
    cmd.current_dir(root())
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match cmd.spawn() {
        Ok(mut child) => {
            let mut readers = Vec::new();
            if let Some(o) = child.stdout.take() {
                readers.push(drain(o));
            }
            if let Some(e) = child.stderr.take() {
                readers.push(drain(e));
            }
            Started {
                child: Some(child),
                readers,
                spawn_error: None,
            }
        }
        Err(e) => Started {
            child: None,
            readers: Vec::new(),
            spawn_error: Some(format!("cannot start {cmd:?}: {e}")),
        },
    }
}

impl Started {
    fn finish(self) -> Finished {
        let Some(mut child) = self.child else {
            return Finished {
                code: None,
                stdout: String::new(),
                stderr: self.spawn_error.unwrap_or_default(),
            };
        };
        let t0 = Instant::now();
        let mut killed = false;
        let code = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status.code(),
                Ok(None) if t0.elapsed() < PROCESS_LIMIT => thread::sleep(Duration::from_millis(3)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    killed = true;
                    break None;
                }
            }
        };
        let mut outs = self
            .readers
            .into_iter()
            .map(|h| h.join().unwrap_or_default());
        let stdout = outs.next().unwrap_or_default();
        let mut stderr = outs.next().unwrap_or_default();
        if killed {
            stderr.push_str(&format!("\n(killed after {PROCESS_LIMIT:?})"));
        }
        Finished {
            code,
            stdout,
            stderr,
        }
    }

    /// The last non-empty stdout line parsed as JSON.
    fn json(self) -> (Finished, Result<Value, String>) {
        let f = self.finish();
        let line = f.stdout.lines().rev().find(|l| !l.trim().is_empty());
        let v = match line {
            Some(l) => {
                serde_json::from_str(l).map_err(|e| format!("stdout is not JSON ({e}): {l}"))
            }
            None => Err(format!(
                "no output (exit {:?}); stderr: {}",
                f.code,
                clip(f.stderr.trim(), SHOW_CHARS)
            )),
        };
        (f, v)
    }
}

fn node_cmd(script: &Path, call: &Path, ctx: &Path) -> Command {
    let mut c = Command::new("node");
    c.arg(js_dir().join("harness.mjs"))
        .arg(script)
        .arg(call)
        .arg(ctx);
    c
}

fn sipforge_cmd(script: &Path, call: &Path, ctx: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sipforge"));
    c.arg("run")
        .arg(script)
        .arg("--data")
        .arg(call)
        .arg("--ctx")
        .arg(ctx)
        .arg("--timeout-ms")
        .arg(SCRIPT_TIMEOUT_MS);
    c
}

fn console_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| {
            l.strip_prefix("console: ")
                .or(if l == "console:" { Some("") } else { None })
        })
        .map(|l| l.trim_end().to_string())
        .collect()
}

// ------------------------------------------------------------------ comparison

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let cut: String = s.chars().take(n).collect();
        format!("{cut}… ({} chars)", s.chars().count())
    }
}

/// What a run produced: "data", "sip" or "error".
fn kind(v: &Value) -> &'static str {
    match v.as_object() {
        Some(o) if o.len() == 1 && o.contains_key("error") => "error",
        Some(o) if o.len() == 1 && o.contains_key("sip") => "sip",
        _ => "data",
    }
}

fn show(v: &Value) -> String {
    clip(&v.to_string(), 200)
}

/// Appends the JSON paths where `a` (Node) and `b` (sipforge) differ.
fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    if out.len() >= MAX_PATHS {
        return;
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if x.as_f64() != y.as_f64() {
                out.push(format!("{path}: node {x} / sipforge {y}"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let p = format!("{path}.{k}");
                match y.get(k) {
                    Some(vb) => diff(&p, va, vb, out),
                    None => out.push(format!("{p}: node {} / sipforge <absent>", show(va))),
                }
            }
            for (k, vb) in y {
                if !x.contains_key(k) && out.len() < MAX_PATHS {
                    out.push(format!("{path}.{k}: node <absent> / sipforge {}", show(vb)));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                out.push(format!(
                    "{path}: node has {} elements / sipforge {}",
                    x.len(),
                    y.len()
                ));
            }
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), va, vb, out);
            }
        }
        _ => {
            if a != b {
                out.push(format!("{path}: node {} / sipforge {}", show(a), show(b)));
            }
        }
    }
}

/// The differences between two run results (empty when they agree).
fn compare(node: &Value, sf: &Value) -> Vec<String> {
    let (kn, ks) = (kind(node), kind(sf));
    if kn != ks {
        return vec![format!("outcome: node {kn} / sipforge {ks}")];
    }
    if kn == "error" {
        return Vec::new();
    }
    let mut out = Vec::new();
    diff("$", node, sf, &mut out);
    out
}

/// The comparison itself: numbers as f64, errors by presence, paths reported.
#[test]
fn comparison_rules() {
    let j = |s: &str| serde_json::from_str::<Value>(s).expect("test JSON");
    assert!(compare(&j(r#"{"a":[1,2.5]}"#), &j(r#"{"a":[1.0,2.5]}"#)).is_empty());
    assert!(
        compare(
            &j(r#"{"error":"TypeError: x"}"#),
            &j(r#"{"error":"t.js:3: TypeError"}"#)
        )
        .is_empty()
    );
    assert_eq!(
        compare(&j(r#"{"sip":"404 Not Found"}"#), &j(r#"{"error":"boom"}"#)),
        ["outcome: node sip / sipforge error"]
    );
    assert_eq!(
        compare(
            &j(r#"{"sip":"404 Not Found"}"#),
            &j(r#"{"sip":"404 Gone"}"#)
        ),
        [r#"$.sip: node "404 Not Found" / sipforge "404 Gone""#]
    );
    assert_eq!(
        compare(
            &j(r#"{"out":[1,{"k":null}],"x":[]}"#),
            &j(r#"{"out":[1,{}],"x":{}}"#)
        ),
        [
            "$.out[1].k: node null / sipforge <absent>",
            "$.x: node [] / sipforge {}"
        ]
    );
    assert_eq!(
        compare(&j(r#"{"out":[1,2]}"#), &j(r#"{"out":[1]}"#)),
        ["$.out: node has 2 elements / sipforge 1"]
    );
    assert_eq!(
        console_lines("console: a \nelapsed: 5 µs\nconsole: \nconsole:\n"),
        ["a", "", ""]
    );
}

// ------------------------------------------------------------------ corpus

struct Case {
    name: String,
    path: PathBuf,
    calls: Vec<String>,
    expect: Vec<String>,
    console: bool,
}

fn directives(source: &str) -> Vec<(String, String)> {
    source
        .lines()
        .take_while(|l| l.starts_with("//"))
        .filter_map(|l| {
            let l = l.trim_start_matches('/').trim();
            let (k, v) = l.split_once(':')?;
            matches!(k, "call" | "expect" | "console")
                .then(|| (k.to_string(), v.trim().to_string()))
        })
        .collect()
}

fn load_cases() -> Vec<Case> {
    let dir = js_dir().join("cases");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "js"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let source = std::fs::read_to_string(&path).unwrap_or_default();
            let mut case = Case {
                name: path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                path,
                calls: vec!["call.json".to_string()],
                expect: Vec::new(),
                console: false,
            };
            for (k, v) in directives(&source) {
                match k.as_str() {
                    "call" => case.calls = v.split_whitespace().map(str::to_string).collect(),
                    "expect" => case.expect = v.split_whitespace().map(str::to_string).collect(),
                    _ => case.console = v == "compare",
                }
            }
            case
        })
        .collect()
}

/// One (case, call) pair run by Node only.
fn node_run(case: &Case, call: &str) -> (Finished, Result<Value, String>) {
    let dir = js_dir();
    start(node_cmd(&case.path, &dir.join(call), &dir.join("ctx.json"))).json()
}

#[test]
fn corpus_is_large_enough() {
    let cases = load_cases();
    assert!(
        cases.len() >= 60,
        "only {} cases in tests/js/cases",
        cases.len()
    );
    for c in &cases {
        assert!(
            c.expect.is_empty() || c.expect.len() == c.calls.len(),
            "{}: `// expect:` needs one kind per call file",
            c.name
        );
        for call in &c.calls {
            assert!(
                js_dir().join(call).is_file(),
                "{}: no call file {call}",
                c.name
            );
        }
    }
}

/// The Node side of every case produces what the case declares (`// expect:`),
/// exits with the code sipforge would use, and prints console lines as asked.
#[test]
fn corpus_runs_on_node() {
    if skip_without_node("corpus_runs_on_node") {
        return;
    }
    let mut problems = Vec::new();
    for case in load_cases() {
        for (i, call) in case.calls.iter().enumerate() {
            let want = case.expect.get(i).map_or("data", String::as_str);
            let (f, v) = node_run(&case, call);
            match v {
                Err(e) => problems.push(format!("{} [{call}]: {e}", case.name)),
                Ok(v) => {
                    let got = kind(&v);
                    let code = if got == "error" { 1 } else { 0 };
                    if got != want || f.code != Some(code) {
                        problems.push(format!(
                            "{} [{call}]: expected {want}, node gave {got} (exit {:?}): {}",
                            case.name,
                            f.code,
                            clip(&v.to_string(), 400)
                        ));
                    }
                    if case.console && console_lines(&f.stderr).is_empty() {
                        problems.push(format!("{} [{call}]: no console lines", case.name));
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "corpus problems:\n{}",
        problems.join("\n")
    );
}

/// Every case, on every call it names: `sipforge run` prints what Node prints.
#[test]
fn corpus_matches_node() {
    if skip_without_node("corpus_matches_node") {
        return;
    }
    let dir = js_dir();
    let ctx = dir.join("ctx.json");
    let mut report = String::new();
    let mut failed = 0usize;
    let mut total = 0usize;
    let mut names = Vec::new();
    for case in load_cases() {
        for call in &case.calls {
            total += 1;
            let call_path = dir.join(call);
            let sf = start(sipforge_cmd(&case.path, &call_path, &ctx));
            let node = start(node_cmd(&case.path, &call_path, &ctx));
            let (nf, nv) = node.json();
            let (sff, sv) = sf.json();
            let mut paths = Vec::new();
            match (&nv, &sv) {
                (Ok(a), Ok(b)) => {
                    paths = compare(a, b);
                    if paths.is_empty() && nf.code != sff.code {
                        paths.push(format!(
                            "exit code: node {:?} / sipforge {:?}",
                            nf.code, sff.code
                        ));
                    }
                }
                (Err(e), _) => paths.push(format!("node side broken: {e}")),
                (_, Err(e)) => paths.push(format!("sipforge: {e}")),
            }
            if case.console {
                let (a, b) = (console_lines(&nf.stderr), console_lines(&sff.stderr));
                if a != b {
                    paths.push(format!("console lines: node {a:?} / sipforge {b:?}"));
                }
            }
            if paths.is_empty() {
                continue;
            }
            failed += 1;
            names.push(format!("{} [{call}]", case.name));
            let shown = |r: &Result<Value, String>, n: usize| match r {
                Ok(v) => clip(&v.to_string(), n),
                Err(e) => clip(e, n),
            };
            let _ = writeln!(report, "\n=== {} [{call}]", case.name);
            let _ = writeln!(report, "  node:     {}", shown(&nv, 300));
            let _ = writeln!(report, "  sipforge: {}", shown(&sv, SHOW_CHARS));
            let tail: Vec<&str> = sff
                .stderr
                .lines()
                .filter(|l| !l.starts_with("console: ") && !l.starts_with("elapsed: "))
                .collect();
            if !tail.is_empty() {
                let _ = writeln!(
                    report,
                    "  sipforge stderr: {}",
                    clip(&tail.join(" | "), 600)
                );
            }
            for p in &paths {
                let _ = writeln!(report, "    {p}");
            }
        }
    }
    assert!(
        failed == 0,
        "{failed} of {total} runs differ from Node:{report}\n\n{failed} of {total} runs differ from Node: {}",
        names.join(", ")
    );
}

// ------------------------------------------------------------------ live calls

/// The SIP answer Node's result for a call implies: `(status, Contacts)`.
fn expected_answer(node: &Value) -> (u16, Vec<String>) {
    if let Some(sip) = node.get("sip").and_then(Value::as_str) {
        return (sip[..3].parse().unwrap_or(0), Vec::new());
    }
    if node.get("error").is_some() {
        return (500, Vec::new());
    }
    // only what routing uses (other keys are the script's own, maybe null)
    let contract: serde_json::Map<String, Value> = node
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| {
            ["routing", "egress_routing", "headers", "remove_headers"].contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let data = sipforge::script::dry_run::call_data_from_json(&Value::Object(contract))
        .unwrap_or_else(|e| panic!("Node's data does not parse: {e}: {node}"));
    if data.egress.is_empty() {
        return (404, Vec::new());
    }
    let contacts = sipforge::pipeline::redirect::contacts(&data.egress, &data.headers)
        .into_iter()
        .map(|c| String::from_utf8_lossy(&c).into_owned())
        .collect();
    (302, contacts)
}

#[test]
fn corpus_matches_node_in_live_calls() {
    if skip_without_node("corpus_matches_node_in_live_calls") {
        return;
    }
    let dir = js_dir();
    let call: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("call.json")).unwrap()).unwrap();
    let ctx: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("ctx.json")).unwrap()).unwrap();
    let vars: serde_json::Map<String, Value> = call
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| {
            !["routing", "egress_routing", "headers", "remove_headers"].contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // One customer per case, told apart by source address 127.0.1.N; the
    // carriers of call.json, reached through prefix "1".
    let cases = load_cases();
    assert!(cases.len() < 250, "one source address per case");
    let customers: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            serde_json::json!({
                "id": format!("acme-{i}"),
                "sources": [format!("127.0.1.{}/32", i + 1)],
                "script": case.path.display().to_string(),
                "timeout_ms": 10000,
                "routes": [{ "prefix": "1", "carriers": ["carrier-a", "carrier-b", "carrier-c"] }],
                "vars": vars,
                "secrets": ctx["secrets"],
            })
        })
        .collect();
    let config = serde_json::json!({
        "server": { "listen_udp": ["127.0.0.1:0"], "listen_tcp": ["127.0.0.1:0"], "mode": "redirect" },
        "carriers": [
            { "id": "carrier-a", "gateways": ["198.51.100.10:5060"] },
            { "id": "carrier-b", "gateways": ["198.51.100.20:5060;transport=tcp"] },
            { "id": "carrier-c", "gateways": ["192.0.2.30:5080"] },
        ],
        "customers": customers,
    });
    let config = toml::to_string(&toml::Value::try_from(&config).unwrap()).unwrap();
    let sc = common::Sidecar::start_with(&config);
    let tmp = tempfile::tempdir().unwrap();
    let mut report = String::new();
    let mut failed = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let sock = common::udp_client(&format!("127.0.1.{}:0", i + 1));
        let local = sock.local_addr().unwrap();
        let call_id = format!("live-{i}");
        let answer = common::udp_exchange(
            &sock,
            sc.udp,
            &common::invite("15551234567", &call_id, &call_id, local),
        )
        .unwrap_or_else(|| panic!("{}: no answer", case.name));
        // the script input the sidecar logged for this call
        let marker = format!("call_id={call_id} ");
        let deadline = Instant::now() + Duration::from_secs(10);
        let input = loop {
            let found = sc.log.lock().unwrap().iter().find_map(|l| {
                (l.contains("script input") && l.contains(&marker))
                    .then(|| l.split(" data=").nth(1).map(str::to_string))
                    .flatten()
            });
            if let Some(d) = found {
                break d;
            }
            assert!(
                Instant::now() < deadline,
                "{}: no script input logged",
                case.name
            );
            thread::sleep(Duration::from_millis(20));
        };
        let input = input.trim_end_matches(" script input").to_string();
        let call_path = tmp.path().join(format!("call-{i}.json"));
        std::fs::write(&call_path, &input).unwrap();
        let ctx_path = tmp.path().join(format!("ctx-{i}.json"));
        let mut case_ctx = ctx.clone();
        case_ctx["customer"]["id"] = Value::String(format!("acme-{i}"));
        std::fs::write(&ctx_path, case_ctx.to_string()).unwrap();
        let (_, node) = start(node_cmd(&case.path, &call_path, &ctx_path)).json();
        let node = node.unwrap_or_else(|e| panic!("{}: node: {e}", case.name));
        let (code, contacts) = expected_answer(&node);
        let got = (
            common::status(&answer),
            common::header_values(&answer, "Contact"),
        );
        if got != (code, contacts.clone()) {
            failed.push(case.name.clone());
            let _ = writeln!(
                report,
                "\n=== {}\n  node implies: {code} {contacts:?}\n  sipforge:     {} {:?}\n  input: {}",
                case.name,
                got.0,
                got.1,
                clip(&input, 300)
            );
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} live calls differ from Node:{report}\n\nfailed: {}",
        failed.len(),
        cases.len(),
        failed.join(", ")
    );
}

// ------------------------------------------------------------------ refusals

/// `sipforge check` refuses every script in `tests/js/unsupported/` with
/// `FILE:LINE:COL:` at the construct and a message naming it.
#[test]
fn unsupported_constructs_are_refused() {
    let dir = js_dir().join("unsupported");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "js"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "too few unsupported scripts");
    let mut problems = Vec::new();
    for path in files {
        let rel = path.strip_prefix(root()).unwrap_or(&path).to_path_buf();
        let source = std::fs::read_to_string(&path).unwrap_or_default();
        let Some(expect) = source
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// expect: "))
        else {
            problems.push(format!(
                "{}: first line must be `// expect: L:C word`",
                rel.display()
            ));
            continue;
        };
        let (positions, words) = expect.split_once(' ').unwrap_or((expect, ""));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sipforge"));
        cmd.arg("check").arg(&rel);
        let f = start(cmd).finish();
        let all = format!("{}{}", f.stdout, f.stderr);
        if f.code == Some(0) {
            problems.push(format!(
                "{}: accepted (exit 0): {}",
                rel.display(),
                all.trim()
            ));
            continue;
        }
        let line = positions.split('|').find_map(|pos| {
            let prefix = format!("{}:{pos}:", rel.display());
            all.lines().find(|l| l.contains(&prefix))
        });
        match line {
            None => problems.push(format!(
                "{}: expected `{}:{{{positions}}}:`, got: {}",
                rel.display(),
                rel.display(),
                clip(all.trim(), 400)
            )),
            Some(l) => {
                let lower = l.to_lowercase();
                if !words.is_empty() && !words.split('|').any(|w| lower.contains(&w.to_lowercase()))
                {
                    problems.push(format!(
                        "{}: message does not name `{words}`: {l}",
                        rel.display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "refusals:\n{}", problems.join("\n"));
}

// ------------------------------------------------------------------ generator

/// xorshift64* — deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const ATOMS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "2",
    "3",
    "0.5",
    "3.7",
    "-2.5",
    "10",
    "255",
    "1e21",
    "1e-7",
    "0.1",
    "NaN",
    "Infinity",
    "-Infinity",
    "''",
    "'0'",
    "'1'",
    "'2'",
    "'12'",
    "'abc'",
    "' 12 '",
    "'1e3'",
    "'0x1f'",
    "'-5'",
    "'true'",
    "'null'",
    "'a b'",
    "true",
    "false",
    "null",
    "undefined",
    "[]",
    "[1]",
    "[1, 2]",
    "['a']",
    "[null]",
    "[[]]",
    "[0]",
    "{}",
    "{ a: 1 }",
    "'\u{e9}'",
];

const BINARY: &[&str] = &[
    "+", "+", "+", "-", "*", "/", "%", "**", "==", "===", "!=", "!==", "<", "<=", ">", ">=", "&&",
    "||", "??", "|", "&", ">>>",
];

const UNARY: &[&str] = &["!", "typeof ", "-", "+", "~"];

fn gen_expr(rng: &mut Rng, depth: u32) -> String {
    if depth == 0 || rng.below(4) == 0 {
        return format!("({})", rng.pick(ATOMS));
    }
    match rng.below(12) {
        0..=6 => {
            let l = gen_expr(rng, depth - 1);
            let op = rng.pick(BINARY);
            let r = gen_expr(rng, depth - 1);
            format!("({l} {op} {r})")
        }
        7 | 8 => format!("({}{})", rng.pick(UNARY), gen_expr(rng, depth - 1)),
        9 => format!(
            "`{}${{{}}}-${{{}}}`",
            rng.pick(&["", "x", "n="]),
            gen_expr(rng, depth - 1),
            gen_expr(rng, depth - 1)
        ),
        10 => format!(
            "({} ? {} : {})",
            gen_expr(rng, depth - 1),
            gen_expr(rng, depth - 1),
            gen_expr(rng, depth - 1)
        ),
        _ => format!(
            "[{}, {}]",
            gen_expr(rng, depth - 1),
            gen_expr(rng, depth - 1)
        ),
    }
}

const FUZZ_PRELUDE: &str = "\
function show(v) {
  if (typeof v === 'number') return v === 0 && 1 / v < 0 ? 'number:-0' : 'number:' + String(v);
  if (v === null) return 'null';
  if (typeof v === 'object') return (Array.isArray(v) ? 'array:' : 'object:') + JSON.stringify(v);
  return typeof v + ':' + String(v);
}
function t(f) {
  try {
    return show(f());
  } catch (e) {
    return 'throw:' + (e instanceof Error ? e.name : typeof e);
  }
}
";

fn fuzz_script(exprs: &[String]) -> String {
    let mut s = String::from(FUZZ_PRELUDE);
    s.push_str("function main(data) {\n  data.out = [\n");
    for e in exprs {
        let _ = writeln!(s, "    t(() => {e}),");
    }
    s.push_str("  ];\n  return data;\n}\n");
    s
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// ~300 random expressions, in scripts of 50, evaluated by Node and by sipforge.
#[test]
fn generated_expressions_match_node() {
    if skip_without_node("generated_expressions_match_node") {
        return;
    }
    let seed = env_u64("JS_FUZZ_SEED", 0x5eed_2025);
    let count = env_u64("JS_FUZZ_COUNT", 300) as usize;
    let mut rng = Rng(seed | 1);
    let exprs: Vec<String> = (0..count).map(|_| gen_expr(&mut rng, 3)).collect();
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("js_fuzz");
    std::fs::create_dir_all(&tmp).expect("create the fuzz directory");
    let (call, ctx) = (js_dir().join("call.json"), js_dir().join("ctx.json"));
    let mut report = Vec::new();
    let mut node_total = 0usize;
    for (chunk_no, chunk) in exprs.chunks(50).enumerate() {
        let script = tmp.join(format!("fuzz_{seed}_{chunk_no}.js"));
        std::fs::write(&script, fuzz_script(chunk)).expect("write a fuzz script");
        let sf = start(sipforge_cmd(&script, &call, &ctx));
        let (_, nv) = start(node_cmd(&script, &call, &ctx)).json();
        let (_, sv) = sf.json();
        let node_out = match nv
            .as_ref()
            .ok()
            .and_then(|v| v.get("out"))
            .and_then(Value::as_array)
        {
            Some(a) if a.len() == chunk.len() => a.clone(),
            _ => panic!("node cannot run {}: {nv:?}", script.display()),
        };
        node_total += node_out.len();
        let Some(sf_out) = sv
            .as_ref()
            .ok()
            .and_then(|v| v.get("out"))
            .and_then(Value::as_array)
        else {
            report.push(format!(
                "{}: sipforge did not return data.out: {}",
                script.display(),
                match &sv {
                    Ok(v) => clip(&v.to_string(), 600),
                    Err(e) => clip(e, 600),
                }
            ));
            continue;
        };
        for (i, e) in chunk.iter().enumerate() {
            let a = &node_out[i];
            let b = sf_out.get(i).unwrap_or(&Value::Null);
            if a != b {
                report.push(format!("{e}\n      node {a} / sipforge {b}"));
            }
        }
    }
    assert_eq!(node_total, count, "node evaluated every expression");
    assert!(
        report.is_empty(),
        "{} generated expressions differ from Node (seed {seed}, scripts in {}):\n  {}",
        report.len(),
        tmp.display(),
        report.join("\n  ")
    );
}
