//! `GET /metrics` after a scripted call mix, parsed by a real Prometheus text
//! parser (Python's `prometheus_client`, installed by `.ci/test`): every
//! family issue 6 lists is there, with the values the calls should produce.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{
    Sidecar, admin_addr, config_with_script, invite, metrics, status, tcp_connect,
    tcp_read_message, tcp_send, udp_client, udp_exchange,
};

/// Reads Prometheus text on stdin, prints every sample as JSON.
const PARSER: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        out.append({"family": fam.name, "type": fam.type, "name": s.name,
                    "labels": s.labels, "value": s.value})
print(json.dumps(out))
"#;

/// One parsed sample.
#[derive(Debug)]
struct Sample {
    family: String,
    kind: String,
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The body of a `/metrics` answer, parsed by `prometheus_client`.
fn scrape(admin: SocketAddr) -> Vec<Sample> {
    let raw = metrics(admin);
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    let mut child = Command::new("python3")
        .args(["-c", PARSER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (with prometheus_client: see .ci/test)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused the exposition: {}\n{body}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("parser JSON");
    json.as_array()
        .expect("a list")
        .iter()
        .map(|s| Sample {
            family: s["family"].as_str().unwrap().to_string(),
            kind: s["type"].as_str().unwrap().to_string(),
            name: s["name"].as_str().unwrap().to_string(),
            labels: s["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect(),
            value: s["value"].as_f64().unwrap(),
        })
        .collect()
}

/// The value of sample `name` with exactly `labels` (None when absent).
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    samples
        .iter()
        .find(|s| s.name == name && s.labels == want)
        .map(|s| s.value)
}

fn get(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    value(samples, name, labels).unwrap_or_else(|| {
        let near: Vec<_> = samples.iter().filter(|s| s.name == name).collect();
        panic!("no sample {name}{labels:?}; same name: {near:#?}")
    })
}

/// One INVITE for `user` from a fresh socket on `ip`; the answer's status.
fn call_from(sc: &Sidecar, ip: &str, user: &str, id: &str) -> u16 {
    let sock = udp_client(&format!("{ip}:0"));
    let local = sock.local_addr().unwrap();
    status(&udp_exchange(&sock, sc.udp, &invite(user, id, id, local)).expect("an answer"))
}

#[test]
fn metrics_after_a_call_mix_parse_with_the_right_values() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("acme.lua");
    std::fs::write(
        &script,
        "function main(data, ctx)\n  if string.sub(data.routing.dest_number, 1, 2) == \"44\" then\n    error(\"403 Forbidden\")\n  end\n  return data\nend\n",
    )
    .unwrap();
    // acme (127.0.0.1) runs a script; `limited` (127.0.0.2) has limits and no script.
    let config = config_with_script(&script, "timeout_ms = 2000").replace(
        "mode = \"redirect\"",
        "mode = \"redirect\"\nadmin_listen = \"127.0.0.1:0\"",
    ) + "\n[[customers]]\nid = \"limited\"\nsources = [\"127.0.0.2/32\"]\ncps_limit = 1\nchannels = 3\n\
           routes = [{ prefix = \"1\", carriers = [\"carrier-a\"] }]\n";
    let sc = Sidecar::start_with(&config);
    let admin = admin_addr(&sc);

    assert_eq!(call_from(&sc, "127.0.0.1", "15551234567", "m-1"), 302);
    assert_eq!(call_from(&sc, "127.0.0.1", "15551234567", "m-2"), 302);
    assert_eq!(call_from(&sc, "127.0.0.1", "999", "m-3"), 404);
    assert_eq!(call_from(&sc, "127.0.0.1", "442071234567", "m-4"), 403);
    assert_eq!(call_from(&sc, "127.0.0.3", "15551234567", "m-5"), 403);
    // `limited`: the first call passes, then one of a few quick ones is refused.
    assert_eq!(call_from(&sc, "127.0.0.2", "15551234567", "l-0"), 302);
    let mut limited_302 = 1.0;
    let refused = (1..=6).any(|i| {
        let code = call_from(&sc, "127.0.0.2", "15551234567", &format!("l-{i}"));
        if code == 302 {
            limited_302 += 1.0;
        }
        code == 503
    });
    assert!(refused, "cps_limit = 1 never refused a call");
    // Garbage is counted as a parse error.
    let g = udp_client("127.0.0.1:0");
    g.send_to(b"\x00\x01 not sip at all", sc.udp).unwrap();
    // One TCP connection held open while scraping.
    let mut tcp = tcp_connect(sc.tcp);
    let local = tcp.local_addr().unwrap();
    let options = String::from_utf8(invite("ping", "m-tcp", "mtcp", local))
        .unwrap()
        .replacen("INVITE", "OPTIONS", 1)
        .replace("1 INVITE", "1 OPTIONS")
        .replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    tcp_send(&mut tcp, options.as_bytes());
    let pong = tcp_read_message(&mut tcp).expect("OPTIONS answered over TCP");
    assert_eq!(status(&pong), 200);
    // The garbage datagram is handled once it is counted (liveness bound).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let samples = loop {
        let s = scrape(admin);
        if value(&s, "sipforge_parse_errors_total", &[("kind", "garbage")]).is_some()
            || std::time::Instant::now() > deadline
        {
            break s;
        }
        std::thread::sleep(Duration::from_millis(50));
    };

    let acme = [("customer", "acme")];
    let outcome = |c: &str, o: &str| {
        value(
            &samples,
            "sipforge_routing_outcomes_total",
            &[("customer", c), ("outcome", o)],
        )
        .unwrap_or(0.0)
    };
    // Requests and responses by method / code and transport.
    assert_eq!(
        get(
            &samples,
            "sipforge_sip_requests_total",
            &[("method", "INVITE"), ("transport", "udp")]
        ),
        5.0 + limited_302 + 1.0
    );
    assert_eq!(
        get(
            &samples,
            "sipforge_sip_requests_total",
            &[("method", "OPTIONS"), ("transport", "tcp")]
        ),
        1.0
    );
    assert_eq!(
        get(
            &samples,
            "sipforge_sip_responses_total",
            &[("code", "302"), ("transport", "udp")]
        ),
        2.0 + limited_302
    );
    assert_eq!(
        get(
            &samples,
            "sipforge_sip_responses_total",
            &[("code", "403"), ("transport", "udp")]
        ),
        2.0
    );
    assert_eq!(
        get(
            &samples,
            "sipforge_sip_responses_total",
            &[("code", "503"), ("transport", "udp")]
        ),
        1.0
    );
    // Routing outcomes per customer.
    assert_eq!(outcome("acme", "redirected"), 2.0);
    assert_eq!(outcome("acme", "no_route"), 1.0);
    assert_eq!(outcome("acme", "rejected"), 1.0);
    assert_eq!(
        value(
            &samples,
            "sipforge_script_rejections_total",
            &[("customer", "acme"), ("code", "403")]
        ),
        Some(1.0)
    );
    assert_eq!(outcome("", "forbidden"), 1.0);
    assert_eq!(outcome("limited", "redirected"), limited_302);
    assert_eq!(outcome("limited", "limit"), 1.0);
    // Script durations: acme's four script runs, none for `limited`.
    let hist: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.family == "sipforge_script_duration_seconds")
        .collect();
    assert!(hist.iter().all(|s| s.kind == "histogram"), "{hist:#?}");
    assert_eq!(
        get(&samples, "sipforge_script_duration_seconds_count", &acme),
        4.0
    );
    assert!(get(&samples, "sipforge_script_duration_seconds_sum", &acme) > 0.0);
    assert_eq!(
        get(
            &samples,
            "sipforge_script_duration_seconds_bucket",
            &[("customer", "acme"), ("le", "0.000001")]
        ),
        0.0,
        "no script chain runs in under 1 µs"
    );
    assert_eq!(
        get(
            &samples,
            "sipforge_script_duration_seconds_bucket",
            &[("customer", "acme"), ("le", "+Inf")]
        ),
        4.0
    );
    assert!(
        value(
            &samples,
            "sipforge_script_duration_seconds_count",
            &[("customer", "limited")]
        )
        .is_none()
    );
    // Limits.
    assert_eq!(
        get(
            &samples,
            "sipforge_limit_rejections_total",
            &[("customer", "limited"), ("limit", "cps")]
        ),
        1.0
    );
    assert_eq!(get(&samples, "sipforge_calls_active", &acme), 0.0);
    assert_eq!(
        get(
            &samples,
            "sipforge_calls_active",
            &[("customer", "limited")]
        ),
        0.0
    );
    // Gauges and errors.
    assert_eq!(get(&samples, "sipforge_tcp_connections", &[]), 1.0);
    assert_eq!(
        get(
            &samples,
            "sipforge_parse_errors_total",
            &[("kind", "garbage")]
        ),
        1.0
    );
    assert_eq!(get(&samples, "sipforge_transactions_active", &[]), 0.0);
    assert_eq!(get(&samples, "sipforge_dialogs_active", &[]), 0.0);
    // The new families with their types (`prometheus_client` names
    // counter families without `_total`).
    for (family, kind) in [
        ("sipforge_limit_rejections", "counter"),
        ("sipforge_calls_active", "gauge"),
        ("sipforge_tcp_connections", "gauge"),
        ("sipforge_script_duration_seconds", "histogram"),
        ("sipforge_routing_outcomes", "counter"),
    ] {
        assert!(
            samples.iter().any(|s| s.family == family && s.kind == kind),
            "no {kind} family {family}"
        );
    }
    // The TCP gauge goes back down when the connection closes.
    drop(tcp);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while value(&scrape(admin), "sipforge_tcp_connections", &[]) != Some(0.0) {
        assert!(
            std::time::Instant::now() < deadline,
            "tcp gauge never went back to 0"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every `sipforge_*` name in a text, histogram sample suffixes removed.
fn family_names(text: &str) -> std::collections::BTreeSet<String> {
    let re = regex::Regex::new(r"sipforge_[a-z_]+").unwrap();
    re.find_iter(text)
        .map(|m| {
            let n = m.as_str().trim_end_matches('_');
            n.strip_suffix("_bucket").unwrap_or(n).to_string()
        })
        .collect()
}

#[test]
fn docs_and_dashboard_name_exactly_the_families_the_code_defines() {
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |p: &str| std::fs::read_to_string(format!("{root}/{p}")).unwrap();
    // The names registered in src/metrics.rs (quoted string literals).
    let code: std::collections::BTreeSet<String> = regex::Regex::new(r#""(sipforge_[a-z_]+)""#)
        .unwrap()
        .captures_iter(&read("src/metrics.rs"))
        .map(|c| c[1].to_string())
        .collect();
    assert!(code.len() >= 15, "{code:?}");
    let docs = family_names(&read("docs/metrics.md"));
    assert_eq!(docs, code, "docs/metrics.md vs src/metrics.rs");

    let dashboard: serde_json::Value =
        serde_json::from_str(&read("docs/grafana-dashboard.json")).expect("valid JSON");
    assert!(dashboard["schemaVersion"].as_u64().is_some());
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut used = std::collections::BTreeSet::new();
    for p in panels {
        assert!(p["gridPos"].is_object() && p["type"].is_string(), "{p}");
        let targets = p["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{p}");
        for t in targets {
            used.extend(family_names(t["expr"].as_str().expect("expr")));
        }
    }
    let unknown: Vec<_> = used.difference(&code).collect();
    assert!(
        unknown.is_empty(),
        "dashboard queries unknown families {unknown:?}"
    );
    for must in [
        "sipforge_routing_outcomes_total",
        "sipforge_script_duration_seconds",
        "sipforge_transactions_active",
        "sipforge_dialogs_active",
        "sipforge_calls_active",
        "sipforge_egress_attempts_total",
        "sipforge_limit_rejections_total",
        "sipforge_parse_errors_total",
    ] {
        assert!(used.contains(must), "no dashboard panel uses {must}");
    }
}
