//! The admin API over real HTTP against the real binary (issue 6): auth,
//! uploads (good and bad), versions, rollback, delete, global scripts, dry
//! runs, body cap and malformed JSON, config reload — and live calls proving
//! that the very next call uses what was just activated, and that nothing is
//! lost on a restart.

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use common::{Sidecar, admin_addr, call_user, header_values, metric, status};
use serde_json::{Value, json};

const TOKEN: &str = "s3cret-token";

struct Http {
    status: u16,
    body: String,
}

impl Http {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn http(
    admin: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> Http {
    let mut s = std::net::TcpStream::connect(admin).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).to_string();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Http { status, body }
}

fn api(admin: SocketAddr, method: &str, path: &str, ct: &str, body: &str) -> Http {
    http(admin, method, path, Some(TOKEN), ct, body.as_bytes())
}

fn config(script_dir: &std::path::Path, routes: &str) -> String {
    format!(
        r#"
[server]
listen_udp = ["127.0.0.1:0"]
listen_tcp = ["127.0.0.1:0"]
mode = "redirect"
admin_listen = "127.0.0.1:0"
script_dir = {dir:?}

[[carriers]]
id = "carrier-a"
gateways = ["198.51.100.10:5060"]

[[carriers]]
id = "carrier-b"
gateways = ["198.51.100.20:5060"]

[[customers]]
id = "acme"
sources = ["127.0.0.1/32"]
routes = [{routes}]
"#,
        dir = script_dir.display().to_string()
    )
}

/// The two carriers' gateways in configured order, and reversed.
const AB: [&str; 2] = ["198.51.100.10:5060", "198.51.100.20:5060"];
const BA: [&str; 2] = ["198.51.100.20:5060", "198.51.100.10:5060"];

const ROUTES: &str = r#"{ prefix = "1", carriers = ["carrier-a", "carrier-b"] }"#;

fn start(dir: &std::path::Path) -> Sidecar {
    Sidecar::start_with_env(&config(dir, ROUTES), &[("SIPFORGE_ADMIN_TOKEN", TOKEN)])
}

/// The Contact hosts of a call's 302, in order.
fn contacts(sc: &Sidecar, id: &str) -> Vec<String> {
    let r = call_user(sc, "15551234567", id);
    assert_eq!(status(&r), 302, "{}", String::from_utf8_lossy(&r));
    header_values(&r, "Contact")
        .iter()
        .map(|c| {
            c.split('@')
                .nth(1)
                .unwrap_or("")
                .split(['>', ';'])
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

const REVERSE_JS: &str =
    "export function main(data) {\n  data.egress_routing.reverse();\n  return data;\n}\n";
const FIRST_ONLY_LUA: &str =
    "function main(data)\n  data.egress_routing = { data.egress_routing[1] }\n  return data\nend\n";

#[test]
fn auth_is_required_on_the_api_only() {
    let dir = tempfile::tempdir().unwrap();
    let sc = start(dir.path());
    let admin = admin_addr(&sc);
    let p = "/api/v1/customers/acme/script";
    assert_eq!(http(admin, "GET", p, None, "text/plain", b"").status, 401);
    let wrong = http(admin, "GET", p, Some("nope"), "text/plain", b"");
    assert_eq!(wrong.status, 401);
    assert!(wrong.json()["error"].as_str().unwrap().contains("token"));
    assert_eq!(
        http(admin, "GET", "/metrics", None, "text/plain", b"").status,
        200
    );
    assert_eq!(
        http(admin, "GET", "/healthz", None, "text/plain", b"").status,
        200
    );
    assert_eq!(
        http(admin, "GET", "/readyz", None, "text/plain", b"").status,
        200
    );
    // With the token: nothing uploaded yet.
    assert_eq!(api(admin, "GET", p, "text/plain", "").status, 404);
    let doc = api(admin, "GET", "/api/v1/openapi.yaml", "text/plain", "");
    assert_eq!(doc.status, 200);
    assert!(doc.body.contains("/api/v1/customers/{id}/script"));
}

#[test]
fn no_token_configured_disables_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let sc = Sidecar::start_with(&config(dir.path(), ROUTES));
    let admin = admin_addr(&sc);
    let r = http(
        admin,
        "GET",
        "/api/v1/customers/acme/script",
        Some(""),
        "text/plain",
        b"",
    );
    assert_eq!(r.status, 401);
    assert!(
        r.json()["error"].as_str().unwrap().contains("disabled"),
        "{}",
        r.body
    );
}

#[test]
fn upload_versions_rollback_delete_and_restart_with_live_calls() {
    let dir = tempfile::tempdir().unwrap();
    let mut sc = start(dir.path());
    let admin = admin_addr(&sc);
    let base = "/api/v1/customers/acme/script";
    assert_eq!(contacts(&sc, "c0"), AB);

    // A script that does not compile: 422 with line:col, nothing changes.
    let bad = api(
        admin,
        "PUT",
        &format!("{base}?lang=js"),
        "text/plain",
        "export function main(data) {\n  return data +;\n}\n",
    );
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(
        bad.json()["error"].as_str().unwrap().contains(":2:"),
        "{}",
        bad.body
    );
    // One that compiles but throws on the sample call: 422 too.
    let throws = api(
        admin,
        "PUT",
        &format!("{base}?lang=js"),
        "text/plain",
        "export function main(data) {\n  return data.nope.deeper;\n}\n",
    );
    assert_eq!(throws.status, 422, "{}", throws.body);
    assert!(throws.body.contains("sample call"), "{}", throws.body);
    assert_eq!(
        api(admin, "GET", &format!("{base}/versions"), "", "").json()["versions"],
        json!([])
    );

    // v1 (JavaScript by Content-Type): the very next call is reversed.
    let up = api(admin, "PUT", base, "application/javascript", REVERSE_JS);
    assert_eq!(up.status, 201, "{}", up.body);
    let v = up.json();
    assert_eq!(v["version"], 1);
    assert_eq!(v["lang"], "js");
    assert_eq!(v["dry_run"]["outcome"], "continue");
    assert_eq!(contacts(&sc, "c1"), BA);
    // The routing CDR names the script version; the gauge shows it.
    let cdr = sc.log_line(&["routing decision", "call_id=\"c1\""]);
    assert!(
        cdr.contains("outcome=\"redirected\"") && cdr.contains("code=302"),
        "{cdr}"
    );
    assert!(
        cdr.contains("script_version=1") && cdr.contains("script_us="),
        "{cdr}"
    );
    assert_eq!(
        metric(admin, "sipforge_script_version{customer=\"acme\"}"),
        1
    );

    // v2 (Lua by ?lang): only the first route.
    let up = api(
        admin,
        "PUT",
        &format!("{base}?lang=lua"),
        "text/plain",
        FIRST_ONLY_LUA,
    );
    assert_eq!(up.status, 201, "{}", up.body);
    assert_eq!(up.json()["version"], 2);
    assert_eq!(contacts(&sc, "c2"), ["198.51.100.10:5060"]);
    assert_eq!(
        metric(admin, "sipforge_script_version{customer=\"acme\"}"),
        2
    );
    let cur = api(admin, "GET", base, "", "").json();
    assert_eq!(
        (cur["version"].clone(), cur["lang"].clone()),
        (json!(2), json!("lua"))
    );
    assert_eq!(cur["source"], FIRST_ONLY_LUA);
    let vs = api(admin, "GET", &format!("{base}/versions"), "", "").json();
    let list = vs["versions"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["active"], false);
    assert_eq!(list[1]["active"], true);

    // Rollback to v1: reversed again.
    let rb = api(
        admin,
        "POST",
        &format!("{base}/rollback"),
        "application/json",
        r#"{"version": 1}"#,
    );
    assert_eq!(rb.status, 200, "{}", rb.body);
    assert_eq!(contacts(&sc, "c3"), BA);
    let missing = api(
        admin,
        "POST",
        &format!("{base}/rollback"),
        "application/json",
        r#"{"version": 9}"#,
    );
    assert_eq!(missing.status, 404, "{}", missing.body);
    let malformed = api(
        admin,
        "POST",
        &format!("{base}/rollback"),
        "application/json",
        r#"{"version": "#,
    );
    assert_eq!(malformed.status, 400);
    assert!(malformed.json()["error"].as_str().unwrap().contains("JSON"));

    // A restart keeps every version and the active one.
    sc.terminate();
    let sc = start(dir.path());
    let admin = admin_addr(&sc);
    assert_eq!(contacts(&sc, "c4"), BA);
    assert_eq!(api(admin, "GET", base, "", "").json()["version"], 1);
    assert_eq!(
        api(admin, "GET", &format!("{base}/versions"), "", "").json()["versions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Delete: back to the configured routes, versions kept.
    assert_eq!(api(admin, "DELETE", base, "", "").status, 200);
    assert_eq!(contacts(&sc, "c5"), AB);
    assert_eq!(api(admin, "DELETE", base, "", "").status, 404);
    assert_eq!(api(admin, "GET", base, "", "").status, 404);

    // Unknown customer, bad language, oversized body.
    assert_eq!(
        api(
            admin,
            "PUT",
            "/api/v1/customers/nobody/script?lang=js",
            "",
            REVERSE_JS
        )
        .status,
        404
    );
    assert_eq!(
        api(admin, "PUT", base, "text/plain", REVERSE_JS).status,
        400
    );
    let big = "x".repeat(2 << 20);
    assert_eq!(
        api(admin, "PUT", &format!("{base}?lang=js"), "text/plain", &big).status,
        413
    );
}

#[test]
fn global_scripts_and_dry_runs() {
    let dir = tempfile::tempdir().unwrap();
    let sc = start(dir.path());
    let admin = admin_addr(&sc);
    // A global "first" script adds a header to every call's 302.
    let g = "/api/v1/global-scripts/tagger";
    let up = api(
        admin,
        "PUT",
        &format!("{g}?lang=js&priority=first"),
        "text/plain",
        "export function main(data) {\n  data.headers.push({ key: 'X-Tagged', value: 'yes' });\n  return data;\n}\n",
    );
    assert_eq!(up.status, 201, "{}", up.body);
    assert_eq!(up.json()["priority"], "first");
    let r = call_user(&sc, "15551234567", "g1");
    assert!(
        String::from_utf8_lossy(&r).contains("X-Tagged"),
        "{}",
        String::from_utf8_lossy(&r)
    );
    assert_eq!(api(admin, "GET", g, "", "").json()["version"], 1);
    assert_eq!(api(admin, "DELETE", g, "", "").status, 200);
    let r = call_user(&sc, "15551234567", "g2");
    assert!(!String::from_utf8_lossy(&r).contains("X-Tagged"));

    // Dry run of a source on a given call.
    let call = json!({
        "routing": { "dest_number": "4420", "cli": "123" },
        "egress_routing": [{ "gateway": "192.0.2.1:5060", "carrier": "x" }]
    });
    let body = json!({
        "script": "export function main(data) {\n  console.log('dest ' + data.routing.dest_number);\n  if (data.routing.dest_number.startsWith('44')) throw '403 Forbidden';\n  return data;\n}\n",
        "lang": "js",
        "call": call,
    });
    let d = api(
        admin,
        "POST",
        "/api/v1/dry-run",
        "application/json",
        &body.to_string(),
    );
    assert_eq!(d.status, 200, "{}", d.body);
    let d = d.json();
    assert_eq!(d["outcome"], "sip");
    assert_eq!(d["sip"], "403 Forbidden");
    assert_eq!(d["console"], json!(["dest 4420"]));
    assert!(d["duration_us"].as_u64().is_some());
    // The customer's active chain on a sample call.
    assert_eq!(
        api(
            admin,
            "PUT",
            "/api/v1/customers/acme/script?lang=js",
            "",
            REVERSE_JS
        )
        .status,
        201
    );
    let d = api(
        admin,
        "POST",
        "/api/v1/dry-run",
        "application/json",
        r#"{"customer": "acme"}"#,
    )
    .json();
    assert_eq!(d["outcome"], "continue", "{d}");
    let gws: Vec<&str> = d["data"]["egress_routing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["gateway"].as_str().unwrap())
        .collect();
    assert_eq!(gws.len(), 2);
    assert!(gws[0].starts_with("198.51.100.20"), "{gws:?}");
    // Refusals.
    let bad = api(
        admin,
        "POST",
        "/api/v1/dry-run",
        "application/json",
        r#"{"script": "function main(", "lang": "lua"}"#,
    );
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(
        api(
            admin,
            "POST",
            "/api/v1/dry-run",
            "application/json",
            "{not json"
        )
        .status,
        400
    );
    assert_eq!(
        api(
            admin,
            "POST",
            "/api/v1/dry-run",
            "application/json",
            r#"{"bogus": 1}"#
        )
        .status,
        400
    );
}

#[test]
fn reload_swaps_the_config_or_keeps_the_running_one() {
    let dir = tempfile::tempdir().unwrap();
    let sc = start(dir.path());
    let admin = admin_addr(&sc);
    let cfg_path = sc.dir().join("sipforge.toml");
    assert_eq!(contacts(&sc, "r0"), AB);
    // New routes: carrier-b only.
    std::fs::write(
        &cfg_path,
        config(dir.path(), r#"{ prefix = "1", carriers = ["carrier-b"] }"#),
    )
    .unwrap();
    let r = api(admin, "POST", "/api/v1/reload", "", "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(contacts(&sc, "r1"), ["198.51.100.20:5060"]);
    // A broken config is refused with its position; the running one stays.
    std::fs::write(
        &cfg_path,
        config(dir.path(), r#"{ prefix = "1", carriers = ["nope"] }"#),
    )
    .unwrap();
    let r = api(admin, "POST", "/api/v1/reload", "", "");
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("sipforge.toml:"),
        "{}",
        r.body
    );
    assert_eq!(contacts(&sc, "r2"), ["198.51.100.20:5060"]);
    // SIGHUP does the same.
    std::fs::write(&cfg_path, config(dir.path(), ROUTES)).unwrap();
    sc.signal("HUP");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while contacts(&sc, "r3").len() != 2 {
        assert!(std::time::Instant::now() < deadline, "{}", sc.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
}
