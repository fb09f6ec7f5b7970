//! Routing scripts end to end: `sipforge check` / `sipforge run` on the
//! examples, and Lua scripts shaping real 302s from the running sidecar
//! (routes, headers, SIP errors, timeouts, failures, hot swap on SIGHUP).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    Sidecar, call_user, config_with_script, header_values, invite, status, status_line, udp_client,
};
use serde_json::Value;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/examples")
}

/// `sipforge run` → (stdout JSON, stderr, exit code).
fn run(script: &Path, data: &Path) -> (Value, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_sipforge"))
        .arg("run")
        .arg(script)
        .arg("--data")
        .arg(data)
        .arg("--ctx")
        .arg(examples().join("ctx.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    (
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap(),
    )
}

fn sample_call() -> Value {
    serde_json::from_str(&std::fs::read_to_string(examples().join("call.json")).unwrap()).unwrap()
}

fn with_call(dir: &Path, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut call = sample_call();
    edit(&mut call);
    let path = dir.join("call.json");
    std::fs::write(&path, call.to_string()).unwrap();
    path
}

#[test]
fn check_reports_file_line_col() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.lua");
    std::fs::write(
        &bad,
        "function main(data)\n  local x =\n  return data\nend\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sipforge"))
        .arg("check")
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.starts_with(&format!("{}:3:1: ", bad.display())),
        "{err}"
    );
    let nomain = dir.path().join("nomain.lua");
    std::fs::write(&nomain, "function route(data) return data end\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sipforge"))
        .arg("check")
        .arg(&nomain)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("main"),
        "{out:?}"
    );
    for name in EXAMPLES {
        for ext in ["lua", "js"] {
            let f = format!("{name}.{ext}");
            let out = Command::new(env!("CARGO_BIN_EXE_sipforge"))
                .arg("check")
                .arg(examples().join(&f))
                .output()
                .unwrap();
            assert!(out.status.success(), "{f}: {out:?}");
        }
    }
}

/// Every example exists in Lua and in JavaScript, with the same behaviour.
const EXAMPLES: [&str; 5] = [
    "add_header",
    "block_premium",
    "time_of_day",
    "reorder_carriers",
    "random_cli",
];

#[test]
fn run_every_example_lua() {
    run_every_example("lua", "\t");
}

#[test]
fn run_every_example_js() {
    run_every_example("js", " ");
}

/// `sep`: how `ctx.log`'s arguments are joined (tab in Lua as `print` does,
/// a space in JavaScript as `console.log` does).
fn run_every_example(ext: &str, sep: &str) {
    let dir = tempfile::tempdir().unwrap();
    let call = examples().join("call.json");
    let example = |name: &str| examples().join(format!("{name}.{ext}"));

    let (out, _, code) = run(&example("add_header"), &call);
    assert_eq!(code, 0);
    assert_eq!(out["headers"][0]["key"], "X-Customer-ID");
    assert_eq!(out["headers"][0]["value"], "acme");
    assert_eq!(out["egress_routing"][1]["headers"][0]["value"], "carrier-b");

    let (out, _, _) = run(&example("block_premium"), &call);
    assert_eq!(
        out["egress_routing"].as_array().unwrap().len(),
        2,
        "not premium: untouched"
    );
    let premium = with_call(dir.path(), |c| {
        c["routing"]["dest_number"] = "19005550100".into()
    });
    let (out, stderr, code) = run(&example("block_premium"), &premium);
    assert_eq!(
        out,
        serde_json::json!({ "sip": "403 Premium Destination Blocked" })
    );
    assert_eq!(code, 0);
    assert!(
        stderr.contains(&format!(
            "console: blocked premium destination{sep}19005550100"
        )),
        "{stderr}"
    );

    // 08:26 UTC is outside 9-21; 12:00 UTC is inside.
    let (out, _, _) = run(&example("time_of_day"), &call);
    assert_eq!(
        out,
        serde_json::json!({ "sip": "480 Outside Business Hours" })
    );
    let noon = with_call(dir.path(), |c| {
        c["routing"]["time"] = 1763812800000i64.into()
    });
    let (out, _, _) = run(&example("time_of_day"), &noon);
    assert_eq!(out["egress_routing"].as_array().unwrap().len(), 2);

    let (out, _, _) = run(&example("reorder_carriers"), &call);
    let carriers: Vec<&str> = out["egress_routing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["carrier"].as_str().unwrap())
        .collect();
    assert_eq!(carriers, vec!["carrier-b", "carrier-a"]);
    let blocked = with_call(dir.path(), |c| c["blocked_carrier"] = "carrier-a".into());
    let (out, _, _) = run(&example("reorder_carriers"), &blocked);
    assert_eq!(out["egress_routing"].as_array().unwrap().len(), 1);

    for _ in 0..3 {
        let (out, _, _) = run(&example("random_cli"), &call);
        let cli = out["egress_routing"][0]["cli"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(cli.len() == 11 && cli.starts_with("1555010"), "{cli}");
        assert_eq!(out["egress_routing"][1]["cli"].as_str().unwrap(), cli);
    }
}

#[test]
fn script_shapes_the_302() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("acme.lua");
    std::fs::write(
        &script,
        r#"
function main(data, ctx)
  if data.routing.dest_number == "999" then error("404 Number Not Routable") end
  -- carrier-b first, a header for every attempt, and a brand new gateway
  table.sort(data.egress_routing, function(a, b)
    if a.carrier ~= b.carrier then return a.carrier > b.carrier end
    return a.gateway < b.gateway
  end)
  table.insert(data.headers, { key = "X-Customer", value = ctx.customer.id })
  table.insert(data.egress_routing, { gateway = "192.0.2.77:5070;transport=tcp", dest_number = "00" .. data.routing.dest_number })
  return data
end
"#,
    )
    .unwrap();
    let sc = Sidecar::start_with(&config_with_script(&script, ""));
    let r = call_user(&sc, "15551234567", "s1");
    assert_eq!(status(&r), 302, "{}", String::from_utf8_lossy(&r));
    assert_eq!(
        header_values(&r, "Contact"),
        vec![
            "<sip:15551234567@[2001:db8::5]:5080?X-Customer=acme>;q=1.0",
            "<sip:15551234567@198.51.100.10:5060?X-Customer=acme>;q=0.9",
            "<sip:15551234567@198.51.100.11:5060;transport=tcp?X-Customer=acme>;q=0.8",
            "<sip:0015551234567@192.0.2.77:5070;transport=tcp?X-Customer=acme>;q=0.7",
        ]
    );
    let r = call_user(&sc, "999", "s2");
    assert_eq!(
        String::from_utf8_lossy(&r).lines().next().unwrap(),
        "SIP/2.0 404 Number Not Routable"
    );
}

#[test]
fn script_adds_a_route_where_no_prefix_matched() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("acme.lua");
    std::fs::write(
        &script,
        "function main(data) if #data.egress_routing == 0 then data.egress_routing = {{ gateway = \"198.51.100.99\" }} end return data end",
    )
    .unwrap();
    let sc = Sidecar::start_with(&config_with_script(&script, ""));
    let r = call_user(&sc, "8612345", "n1");
    assert_eq!(
        header_values(&r, "Contact"),
        vec!["<sip:8612345@198.51.100.99:5060>;q=1.0"]
    );
}

#[test]
fn timeout_error_and_memory_get_their_answers_and_the_engine_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("acme.lua");
    std::fs::write(
        &script,
        r#"
function main(data)
  local n = data.routing.dest_number
  if n == "1000" then while true do end end
  if n == "1001" then local t = nil; return t.x end
  if n == "1002" then return string.rep("x", 1e9) end
  return data
end
"#,
    )
    .unwrap();
    let sc = Sidecar::start_with(&config_with_script(
        &script,
        "timeout_ms = 20\ntimeout_action = \"480 Script Too Slow\"\n",
    ));
    assert_eq!(
        status_line(&call_user(&sc, "1000", "t1")),
        "SIP/2.0 480 Script Too Slow"
    );
    assert_eq!(
        status_line(&call_user(&sc, "1001", "t2")),
        "SIP/2.0 500 Server Internal Error"
    );
    assert_eq!(
        status_line(&call_user(&sc, "1002", "t3")),
        "SIP/2.0 480 Script Too Slow"
    );
    assert_eq!(status(&call_user(&sc, "15551234567", "t4")), 302);
    // The caller never sees script internals; the log has them.
    assert!(
        sc.log_text().contains("attempt to index nil"),
        "{}",
        sc.log_text()
    );
}

#[test]
fn sighup_swaps_scripts_and_refuses_a_broken_one() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("acme.lua");
    let v = |tag: &str| {
        format!(
            "function main(data) table.insert(data.headers, {{ key = \"X-V\", value = \"{tag}\" }}) return data end"
        )
    };
    std::fs::write(&script, v("1")).unwrap();
    let sc = Sidecar::start_with(&config_with_script(&script, ""));
    assert!(header_values(&call_user(&sc, "15551234567", "h1"), "Contact")[0].contains("X-V=1"));
    let hup = |sc: &Sidecar| {
        let before = sc.log_text().matches("SIGHUP").count();
        assert!(
            Command::new("kill")
                .args(["-HUP", &sc.pid().to_string()])
                .status()
                .unwrap()
                .success()
        );
        for _ in 0..200 {
            if sc.log_text().matches("SIGHUP").count() > before {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("no SIGHUP log line:\n{}", sc.log_text());
    };
    std::fs::write(&script, v("2")).unwrap();
    hup(&sc);
    assert!(header_values(&call_user(&sc, "15551234567", "h2"), "Contact")[0].contains("X-V=2"));
    std::fs::write(&script, "function main(data) return data").unwrap();
    hup(&sc);
    assert!(
        sc.log_text().contains("SIGHUP: not reloaded"),
        "{}",
        sc.log_text()
    );
    assert!(header_values(&call_user(&sc, "15551234567", "h3"), "Contact")[0].contains("X-V=2"));
}

#[test]
fn global_first_and_last_scripts_wrap_the_customers() {
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let first = w(
        "fraud.lua",
        "function main(data) if string.sub(data.routing.dest_number, 1, 3) == \"881\" then error('403 Fraud Suspected') end table.insert(data.headers, { key = \"X-Order\", value = \"first\" }) return data end",
    );
    let own = w(
        "acme.lua",
        "function main(data) table.insert(data.headers, { key = \"X-Order\", value = data.headers[1].value .. \"-customer\" }) return data end",
    );
    let last = w(
        "audit.lua",
        "function main(data) local h = data.headers; h[#h].value = h[#h].value .. \"-last\" return data end",
    );
    let disabled = w(
        "off.lua",
        "function main(data) error('500 Should Not Run') end",
    );
    let config = format!(
        "{}\n[[global_scripts]]\nname = \"fraud\"\nfile = {:?}\npriority = \"first\"\n\n[[global_scripts]]\nname = \"audit\"\nfile = {:?}\npriority = \"last\"\n\n[[global_scripts]]\nname = \"off\"\nfile = {:?}\npriority = \"disabled\"\n",
        config_with_script(&own, ""),
        first.display().to_string(),
        last.display().to_string(),
        disabled.display().to_string(),
    );
    let sc = Sidecar::start_with(&config);
    let r = call_user(&sc, "15551234567", "g1");
    let contact = &header_values(&r, "Contact")[0];
    assert!(
        contact.ends_with("?X-Order=first&X-Order=first-customer-last>;q=1.0"),
        "{contact}"
    );
    // The first script's SIP error stops the chain.
    let r = call_user(&sc, "881234", "g2");
    assert_eq!(
        String::from_utf8_lossy(&r).lines().next().unwrap(),
        "SIP/2.0 403 Fraud Suspected"
    );
}

#[test]
fn a_full_script_pool_sheds_new_calls_with_503() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("acme.lua");
    // Busy for ~1 s of its 5 s budget, then routes normally.
    std::fs::write(
        &script,
        "function main(data) local t = os.clock() while os.clock() - t < 1 do end return data end",
    )
    .unwrap();
    let config = config_with_script(&script, "timeout_ms = 5000\n").replace(
        "mode = \"redirect\"",
        "mode = \"redirect\"\nscript_workers = 1\nscript_queue = 0",
    );
    let sc = Sidecar::start_with(&config);
    // Two calls 100 ms apart, one worker, no queue: whichever reaches the
    // worker holds it for a second, the other is refused at once.
    let (a, b) = (udp_client("127.0.0.1:0"), udp_client("127.0.0.1:0"));
    a.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    b.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    a.send_to(
        &invite("15551234567", "one", "one", a.local_addr().unwrap()),
        sc.udp,
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    b.send_to(
        &invite("15551234567", "two", "two", b.local_addr().unwrap()),
        sc.udp,
    )
    .unwrap();
    let mut codes = vec![
        status(&common::recv(&a).expect("first call answered")),
        status(&common::recv(&b).expect("second call answered")),
    ];
    codes.sort();
    assert_eq!(codes, vec![302, 503]);
}

#[test]
fn inline_scripts_run_on_the_io_threads_with_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("acme.lua");
    std::fs::write(
        &script,
        "function main(data)\n  if data.routing.dest_number == '15550000000' then error('404 Nobody Here') end\n  if data.routing.dest_number == '15559999999' then while true do end end\n  table.insert(data.headers, { key = 'X-Inline', value = 'yes' })\n  return data\nend\n",
    )
    .unwrap();
    let cfg = config_with_script(&script, "timeout_ms = 20").replace(
        "mode = \"redirect\"",
        "mode = \"redirect\"\nscript_inline = true",
    );
    let sc = Sidecar::start_with(&cfg);
    let ok = call_user(&sc, "15551234567", "in1");
    assert!(
        header_values(&ok, "Contact")[0].contains("X-Inline=yes"),
        "{}",
        String::from_utf8_lossy(&ok)
    );
    let nf = call_user(&sc, "15550000000", "in2");
    assert_eq!(status_line(&nf), "SIP/2.0 404 Nobody Here");
    // A runaway script is stopped on the I/O thread too; the next call is served.
    let to = call_user(&sc, "15559999999", "in3");
    assert_eq!(status_line(&to), "SIP/2.0 503 Service Unavailable");
    let again = call_user(&sc, "15551234567", "in4");
    assert!(header_values(&again, "Contact")[0].contains("X-Inline=yes"));
}
