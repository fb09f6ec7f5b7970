//! The load tool (`sipforge-load`) against the real sipforge: redirect mode
//! over UDP and TCP, proxy mode with the tool's built-in UAS, and failover
//! when the first UAS answers half of the INVITEs with 503.

mod common;
#[path = "common/proxy_udp.rs"]
mod proxy_udp;

use std::net::{SocketAddr, UdpSocket};
use std::process::Command;

use common::{Sidecar, TEST_CONFIG, admin_addr, assert_no_transactions};
use proxy_udp::{Opts, config};
use serde_json::{Value, json};

/// Runs the tool with `args`; its exit status and JSON summary.
fn load(args: &[&str]) -> (bool, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_sipforge-load"))
        .args(args)
        .arg("--no-progress")
        .output()
        .expect("run sipforge-load");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON summary ({e}); stdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), summary)
}

/// A loopback UDP port that was free a moment ago (for the tool's UAS).
fn free_udp_port() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
}

#[test]
fn redirect_udp_200_calls_at_200_per_second() {
    let sc = Sidecar::start_with(TEST_CONFIG);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("summary.json");
    let target = sc.udp.to_string();
    let (ok, s) = load(&[
        "--target",
        &target,
        "--scenario",
        "redirect",
        "--rate",
        "200",
        "--count",
        "200",
        "--sockets",
        "3",
        "--json",
        file.to_str().unwrap(),
    ]);
    assert!(ok, "{s:#}");
    assert_eq!(s["completed"], 200, "{s:#}");
    assert_eq!(s["failed"], 0, "{s:#}");
    assert_eq!(s["codes"], json!({"302": 200}), "{s:#}");
    assert_eq!(s["scenario"], "redirect");
    assert_eq!(s["transport"], "udp");
    for k in ["p50", "p90", "p99", "max"] {
        assert!(s["latency_us"][k].as_u64().is_some_and(|v| v > 0), "{s:#}");
    }
    assert!(s["tool_cpu_us_per_call"].as_f64().is_some_and(|v| v > 0.0));
    assert!(
        s["achieved_rate"].as_f64().is_some_and(|v| v > 100.0),
        "{s:#}"
    );
    let from_file: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(from_file, s);
}

#[test]
fn redirect_tcp_calls() {
    let sc = Sidecar::start_with(TEST_CONFIG);
    let target = sc.tcp.to_string();
    let (ok, s) = load(&[
        "--target",
        &target,
        "--transport",
        "tcp",
        "--rate",
        "200",
        "--count",
        "100",
        "--sockets",
        "2",
        "--prefixes",
        "1,44",
    ]);
    assert!(ok, "{s:#}");
    assert_eq!(s["codes"], json!({"302": 100}), "{s:#}");
    assert_eq!(s["transport"], "tcp");
    assert_eq!(s["retransmissions"], 0, "{s:#}");
}

/// A proxy-mode sidecar whose carriers `c1`, `c2` are the tool's UAS ports.
fn proxy_sidecar() -> (Sidecar, SocketAddr, SocketAddr) {
    let (u1, u2) = (free_udp_port(), free_udp_port());
    let cfg = config(
        &u1.to_string(),
        &u2.to_string(),
        &Opts {
            proxy_extra: "linger_ms = 200",
            ..Opts::default()
        },
    );
    (Sidecar::start_with(&cfg), u1, u2)
}

fn proxy_run(sc: &Sidecar, uas: &str, fail: &str, count: &str) -> (bool, Value) {
    let admin = admin_addr(sc);
    let target = sc.udp.to_string();
    let metrics = format!("http://{admin}/metrics");
    load(&[
        "--target",
        &target,
        "--scenario",
        "proxy",
        "--uas",
        uas,
        "--uas-fail",
        fail,
        "--rate",
        "100",
        "--count",
        count,
        "--metrics",
        &metrics,
    ])
}

#[test]
fn proxy_full_calls_complete_and_tables_drain() {
    let (sc, u1, u2) = proxy_sidecar();
    let (ok, s) = proxy_run(&sc, &format!("{u1},{u2}"), "0", "100");
    assert!(ok, "{s:#}\n{}", sc.log_text());
    assert_eq!(s["completed"], 100, "{s:#}");
    assert_eq!(s["codes"], json!({"200": 100}), "{s:#}");
    assert_eq!(s["bye_failed"], 0, "{s:#}");
    assert_eq!(s["uas"]["byes"], 100, "{s:#}");
    assert_eq!(s["uas"]["rejected_503"], 0, "{s:#}");
    assert!(
        s["metrics"]["sipforge_transactions_active"].is_i64(),
        "{s:#}"
    );
    // Finished transactions linger 200 ms, then the tables are empty.
    assert_no_transactions(&sc);
}

#[test]
fn proxy_fails_over_when_the_first_uas_answers_503() {
    let (sc, u1, u2) = proxy_sidecar();
    let (ok, s) = proxy_run(&sc, &format!("{u1},{u2}"), "0.5", "100");
    assert!(ok, "{s:#}\n{}", sc.log_text());
    assert_eq!(s["completed"], 100, "{s:#}");
    assert_eq!(s["codes"], json!({"200": 100}), "{s:#}");
    let rejected = s["uas"]["rejected_503"].as_u64().unwrap();
    assert!((10..=90).contains(&rejected), "{s:#}");
    assert_eq!(s["uas"]["invites"].as_u64().unwrap(), 100 + rejected);
    assert_no_transactions(&sc);
}
