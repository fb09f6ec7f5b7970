//! Tests for loading and validating the configuration.

use std::path::{Path, PathBuf};

use super::*;
use crate::transport::Transport;

/// A scratch directory unique to this test process and `name`.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sipforge-cfg-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, file: &str, text: &str) -> PathBuf {
    let p = dir.join(file);
    std::fs::write(&p, text).unwrap();
    p
}

const MINIMAL: &str = r#"
[server]
listen_udp = ["0.0.0.0:5060"]

[[customers]]
id = "acme"
sources = ["203.0.113.0/24"]
"#;

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, "sipforge.toml")
}

/// Loads `text`, expecting an error; returns its Display.
fn err(text: &str) -> String {
    match load(text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn assert_err(text: &str, prefix: &str, contains: &str) {
    let e = err(text);
    assert!(e.starts_with(prefix), "want prefix {prefix:?}, got: {e}");
    assert!(e.contains(contains), "want {contains:?} in: {e}");
    assert!(!e.contains('\n'), "multi-line error: {e}");
}

#[test]
fn embedded_default_loads() {
    let cfg = Config::load(None).unwrap();
    assert_eq!(cfg.source, "<embedded default>");
    assert_eq!(cfg.server.mode, Mode::Redirect);
    assert_eq!(
        cfg.server.listen_udp,
        vec!["127.0.0.1:5060".parse().unwrap()]
    );
    assert_eq!(
        cfg.server.listen_tcp,
        vec!["127.0.0.1:5060".parse().unwrap()]
    );
    assert_eq!(
        cfg.server.admin_listen,
        Some("127.0.0.1:9090".parse().unwrap())
    );
    assert!(cfg.carriers.len() >= 2);
    assert!(
        cfg.carriers
            .iter()
            .flat_map(|c| &c.gateways)
            .any(|g| g.transport == Transport::Tcp)
    );
    let demo = &cfg.customers[cfg.customer_index("demo").unwrap()];
    assert_eq!(demo.sources.len(), 2);
    assert!(demo.script.is_none());
    assert!(!demo.routes.is_empty());
    assert!(demo.vars.contains_key("schedule"));
    // The example route file parses against the default carriers.
    let router_cfg = {
        let mut c = cfg.clone();
        c.customers[0].routes_file = Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/routes/demo.csv"
        )));
        c
    };
    crate::routing::Router::new(&router_cfg).unwrap();
    crate::routing::Router::new(&cfg).unwrap();
}

#[test]
fn defaults_applied() {
    let cfg = load(MINIMAL).unwrap();
    assert_eq!(cfg.source, "sipforge.toml");
    let s = &cfg.server;
    assert_eq!(s.mode, Mode::Proxy);
    assert!(s.listen_tcp.is_empty());
    assert_eq!(s.admin_listen, None);
    assert_eq!(s.admin_token_env, "SIPFORGE_ADMIN_TOKEN");
    assert_eq!(s.script_dir, PathBuf::from("scripts"));
    assert_eq!(s.server_name, "sipforge");
    assert_eq!(cfg.sip, SipConfig::default());
    assert_eq!(cfg.sip.max_message_bytes, 65535);
    assert!(cfg.carriers.is_empty());
    assert!(cfg.global_scripts.is_empty());
    let c = &cfg.customers[0];
    assert_eq!(c.timeout_ms, 50);
    assert_eq!(c.script_memory_mb, 16);
    assert_eq!(c.timeout_action.to_string(), "503 Service Unavailable");
    assert_eq!(c.cps_limit, None);
    assert_eq!(c.cps_limit_action.to_string(), "503 Service Unavailable");
    assert_eq!(c.channels, None);
    assert_eq!(c.channels_action.to_string(), "486 Busy Here");
    assert!(c.vars.is_empty() && c.secrets.is_empty() && c.routes.is_empty());
    assert_eq!(c.routes_file, None);
    assert_eq!(c.script, None);
}

#[test]
fn full_example_from_design() {
    let dir = scratch("design");
    let script = write(&dir, "acme.js", "function main(data, ctx) { return data; }");
    let fraud = write(&dir, "fraud.lua", "function main(d) return d end");
    let csv = write(&dir, "acme.csv", "prefix,carrier\n1,carrier-a\n");
    let text = format!(
        r#"
[server]
listen_udp = ["127.0.0.1:5060"]
listen_tcp = ["127.0.0.1:5060"]
mode = "proxy"
admin_listen = "127.0.0.1:9090"
admin_token_env = "SIPFORGE_ADMIN_TOKEN"
script_dir = "scripts"

[[carriers]]
id = "carrier-a"
gateways = ["198.51.100.10:5060", "198.51.100.11:5060;transport=tcp"]

[[carriers]]
id = "carrier-b"
gateways = ["[2001:db8::1]", "sbc.carrier-b.example"]

[[customers]]
id = "acme"
sources = ["203.0.113.0/24", "127.0.0.1/32"]
script = {script:?}
timeout_ms = 50
timeout_action = "503 Service Unavailable"
cps_limit = 100
channels = 500
vars = {{ schedule = {{ week = "9-21" }} }}
secrets = {{ api_key = "s3cret-value" }}
routes = [ {{ prefix = "+1", carriers = ["carrier-a", "carrier-b"] }} ]
routes_file = {csv:?}

[[global_scripts]]
name = "fraud-block"
file = {fraud:?}
priority = "first"

[[global_scripts]]
name = "off"
file = "does/not/exist.js"
priority = "disabled"
"#
    );
    let cfg = load(&text).unwrap();
    let c = &cfg.customers[0];
    assert_eq!(c.cps_limit, Some(100));
    assert_eq!(c.channels, Some(500));
    assert_eq!(c.routes[0].prefix, "1", "leading + stripped");
    assert_eq!(c.script.as_deref(), Some(script.as_path()));
    let g = &cfg.carriers[1].gateways;
    assert_eq!(g[0].hostport(), "[2001:db8::1]:5060");
    assert_eq!(g[1].hostport(), "sbc.carrier-b.example:5060");
    assert_eq!(cfg.carriers[0].gateways[1].transport, Transport::Tcp);
    assert_eq!(cfg.global_scripts[0].priority, Priority::First);
    assert_eq!(cfg.global_scripts[1].priority, Priority::Disabled);
    // Secrets never show up in Debug output.
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("s3cret-value"), "{dbg}");
    assert!(dbg.contains("api_key"), "{dbg}");
}

#[test]
fn unknown_keys_name_the_key_path() {
    // Line 7 holds the typo.
    let text = "[server]\nlisten_udp = [\"0.0.0.0:5060\"]\n\n[[customers]]\nid = \"acme\"\nsources = [\"203.0.113.0/24\"]\nsourcez = [\"1.2.3.4\"]\n";
    assert_err(
        text,
        "sipforge.toml:7:1: customers[0].sourcez: unknown field `sourcez`",
        "expected one of",
    );
    assert_err(
        "[server]\nlisten_udp = [\"0.0.0.0:5060\"]\nlisten = 1\n",
        "sipforge.toml:3:1: server.listen: unknown field `listen`",
        "listen_udp",
    );
    assert_err(
        "bogus = 1\n[server]\nlisten_udp = [\"0.0.0.0:5060\"]\n",
        "sipforge.toml:1:1: bogus: unknown field `bogus`",
        "server",
    );
    assert_err(
        &format!("{MINIMAL}\n[sip]\nmax_msg = 5\n"),
        "sipforge.toml:10:1: sip.max_msg: unknown field",
        "max_message_bytes",
    );
    assert_err(
        &format!("{MINIMAL}routes = [{{ prefix = \"1\", carriers = [], prio = 1 }}]\n"),
        "sipforge.toml:8:",
        "customers[0].routes[0].prio: unknown field `prio`",
    );
}

#[test]
fn syntax_errors_have_a_position() {
    assert_err("[server\nlisten_udp = []\n", "sipforge.toml:1:", "");
    let e = err("[server]\nlisten_udp = [\"0.0.0.0:5060\"\n");
    assert!(
        e.starts_with("sipforge.toml:2:") || e.starts_with("sipforge.toml:3:"),
        "{e}"
    );
    assert!(!e.contains('\n'));
}

#[test]
fn type_and_value_errors() {
    assert_err(
        "[server]\nlisten_udp = [\"0.0.0.0:5060\", \"nonsense\"]\n",
        "sipforge.toml:2:31: server.listen_udp[1]: ",
        "socket address",
    );
    assert_err(
        "[server]\nlisten_udp = [\"0.0.0.0:5060\"]\nmode = \"prox\"\n",
        "sipforge.toml:3:8: server.mode: unknown variant `prox`",
        "redirect",
    );
    assert_err(
        &format!("{MINIMAL}timeout_ms = \"fast\"\n"),
        "sipforge.toml:8:14: customers[0].timeout_ms: invalid type",
        "",
    );
    assert_err(
        &format!("{MINIMAL}timeout_action = \"200 OK\"\n"),
        "sipforge.toml:8:18: customers[0].timeout_action: ",
        "outside 300..699",
    );
    assert_err(
        &format!("{MINIMAL}channels_action = \"Busy\"\n"),
        "sipforge.toml:8:19: customers[0].channels_action: ",
        "NNN Reason phrase",
    );
    assert_err(
        "[server]\nlisten_udp = [\"0.0.0.0:5060\"]\n[[customers]]\nid = \"a\"\nsources = [\"10.0.0.0/8\", \"203.0.113.7/24\"]\n",
        "sipforge.toml:5:26: customers[0].sources[1]: ",
        "did you mean 203.0.113.0/24?",
    );
    assert_err(
        "[server]\nlisten_udp = [\"0.0.0.0:5060\"]\n[[carriers]]\nid = \"c\"\ngateways = [\"1.2.3.4\", \"1.2.3.5;transport=tls\"]\n",
        "sipforge.toml:5:24: carriers[0].gateways[1]: ",
        "unsupported transport \"tls\"",
    );
    assert_err(
        "[server]\nlisten_udp = [\"0.0.0.0:5060\"]\n[[customers]]\nsources = [\"10.0.0.0/8\"]\n",
        "sipforge.toml:3:1: customers[0]: missing field `id`",
        "",
    );
    assert_err(
        "[server]\nlisten_udp = [\"0.0.0.0:5060\"]\n[[customers]]\nid = \"a\"\n",
        "sipforge.toml:3:1: customers[0]: missing field `sources`",
        "",
    );
    assert_err("", "sipforge.toml", "missing field `server`");
}

#[test]
fn semantic_errors_point_at_the_key() {
    assert_err(
        "[server]\nmode = \"proxy\"\n",
        "sipforge.toml:1:1: server.listen_udp: no SIP listener",
        "listen_tcp",
    );
    assert_err(
        "[server]\nlisten_udp = [\"0.0.0.0:5060\", \"0.0.0.0:5060\"]\n",
        "sipforge.toml:2:31: server.listen_udp[1]: ",
        "listed twice",
    );
    assert_err(
        "[server]\nlisten_tcp = [\"127.0.0.1:9090\"]\nadmin_listen = \"127.0.0.1:9090\"\n",
        "sipforge.toml:3:16: server.admin_listen: ",
        "also a SIP TCP listener",
    );
    assert_err(
        "[server]\nlisten_udp = [\"0.0.0.0:5060\"]\nadmin_token_env = \"MY-TOKEN\"\n",
        "sipforge.toml:3:19: server.admin_token_env: ",
        "not an environment variable name",
    );
    assert_err(
        &format!("{MINIMAL}\n[sip]\nmax_message_bytes = 100\n"),
        "sipforge.toml:10:21: sip.max_message_bytes: 100 is out of range",
        "512..=1048576",
    );
    let two_carriers = "[server]\nlisten_udp = [\"0.0.0.0:5060\"]\n[[carriers]]\nid = \"c1\"\ngateways = [\"1.2.3.4\"]\n[[carriers]]\nid = \"c1\"\ngateways = [\"1.2.3.5\"]\n";
    assert_err(
        two_carriers,
        "sipforge.toml:7:6: carriers[1].id: duplicate carrier id \"c1\"",
        "carriers[0]",
    );
    assert_err(
        "[server]\nlisten_udp = [\"0.0.0.0:5060\"]\n[[carriers]]\nid = \"bad id\"\ngateways = [\"1.2.3.4\"]\n",
        "sipforge.toml:4:6: carriers[0].id: ",
        "contains ' '",
    );
    assert_err(
        "[server]\nlisten_udp = [\"0.0.0.0:5060\"]\n[[carriers]]\nid = \"c\"\ngateways = []\n",
        "sipforge.toml:5:12: carriers[0].gateways: ",
        "at least one gateway",
    );
    assert_err(
        &format!("{MINIMAL}[[customers]]\nid = \"acme\"\nsources = [\"10.0.0.0/8\"]\n"),
        "sipforge.toml:9:6: customers[1].id: duplicate customer id \"acme\"",
        "",
    );
    assert_err(
        &format!("{MINIMAL}[[customers]]\nid = \"other\"\nsources = [\"203.0.113.0/24\"]\n"),
        "sipforge.toml:10:12: customers[1].sources[0]: ",
        "already claimed by customer \"acme\"",
    );
    // A more specific network inside another customer's is fine.
    load(&format!(
        "{MINIMAL}[[customers]]\nid = \"other\"\nsources = [\"203.0.113.128/25\"]\n"
    ))
    .unwrap();
    assert_err(
        "[server]\nlisten_udp = [\"0.0.0.0:5060\"]\n[[customers]]\nid = \"a\"\nsources = []\n",
        "sipforge.toml:5:11: customers[0].sources: ",
        "at least one source",
    );
    assert_err(
        &format!("{MINIMAL}timeout_ms = 0\n"),
        "sipforge.toml:8:14: customers[0].timeout_ms: 0 is out of range",
        "1..=10000",
    );
    assert_err(
        &format!("{MINIMAL}script_memory_mb = 4096\n"),
        "sipforge.toml:8:20: customers[0].script_memory_mb: 4096 is out of range",
        "1..=1024",
    );
    assert_err(
        &format!("{MINIMAL}cps_limit = 0\n"),
        "sipforge.toml:8:13: customers[0].cps_limit: ",
        "unlimited",
    );
    assert_err(
        &format!("{MINIMAL}vars = {{ routing = 1 }}\n"),
        "sipforge.toml:8:",
        "customers[0].vars.routing: \"routing\" is reserved",
    );
}

#[test]
fn route_errors() {
    let base = "[server]\nlisten_udp = [\"0.0.0.0:5060\"]\n[[carriers]]\nid = \"c1\"\ngateways = [\"1.2.3.4\"]\n[[customers]]\nid = \"a\"\nsources = [\"10.0.0.0/8\"]\n";
    assert_err(
        &format!("{base}routes = [{{ prefix = \"1\", carriers = [\"c1\", \"c9\"] }}]\n"),
        "sipforge.toml:9:",
        "customers[0].routes[0].carriers[1]: unknown carrier \"c9\"",
    );
    assert_err(
        &format!("{base}routes = [{{ prefix = \"12a\", carriers = [\"c1\"] }}]\n"),
        "sipforge.toml:9:22: customers[0].routes[0].prefix: ",
        "contains 'a'",
    );
    assert_err(
        &format!("{base}routes = [{{ prefix = \"\", carriers = [\"c1\"] }}]\n"),
        "sipforge.toml:9:",
        "customers[0].routes[0].prefix: prefix is empty",
    );
    assert_err(
        &format!("{base}routes = [{{ prefix = \"+\", carriers = [\"c1\"] }}]\n"),
        "sipforge.toml:9:",
        "customers[0].routes[0].prefix: prefix is empty",
    );
    assert_err(
        &format!(
            "{base}routes = [\n  {{ prefix = \"1\", carriers = [\"c1\"] }},\n  {{ prefix = \"+1\", carriers = [\"c1\"] }},\n]\n"
        ),
        "sipforge.toml:11:",
        "customers[0].routes[1].prefix: prefix \"1\" is routed twice",
    );
    assert_err(
        &format!("{base}routes = [{{ prefix = \"1\", carriers = [] }}]\n"),
        "sipforge.toml:9:",
        "customers[0].routes[0].carriers: a route needs at least one carrier",
    );
    assert_err(
        &format!("{base}routes = [{{ prefix = \"1\", carriers = [\"c1\", \"c1\"] }}]\n"),
        "sipforge.toml:9:",
        "customers[0].routes[0].carriers[1]: carrier \"c1\" is listed twice",
    );
}

#[test]
fn file_errors() {
    let dir = scratch("files");
    let js = write(&dir, "ok.js", "");
    let txt = write(&dir, "script.txt", "");
    let missing = dir.join("missing.lua");

    let cust = |extra: &str| format!("{MINIMAL}{extra}\n");
    load(&cust(&format!("script = {js:?}"))).unwrap();
    assert_err(
        &cust(&format!("script = {txt:?}")),
        "sipforge.toml:8:10: customers[0].script: ",
        "must end in .js or .lua",
    );
    assert_err(
        &cust(&format!("script = {missing:?}")),
        "sipforge.toml:8:10: customers[0].script: ",
        "does not exist",
    );
    assert_err(
        &cust("script = \"relative/nope.js\""),
        "sipforge.toml:8:10: customers[0].script: script relative/nope.js does not exist",
        "resolved against the working directory",
    );
    assert_err(
        &cust("routes_file = \"relative/nope.csv\""),
        "sipforge.toml:8:15: customers[0].routes_file: routes file relative/nope.csv does not exist",
        "",
    );

    let global = |name: &str, file: &Path, prio: &str| {
        format!("[[global_scripts]]\nname = \"{name}\"\nfile = {file:?}\npriority = \"{prio}\"\n")
    };
    load(&format!("{MINIMAL}{}", global("g", &js, "last"))).unwrap();
    load(&format!("{MINIMAL}{}", global("g", &missing, "disabled"))).unwrap();
    assert_err(
        &format!("{MINIMAL}{}", global("g", &missing, "first")),
        "sipforge.toml:10:8: global_scripts[0].file: global script ",
        "does not exist",
    );
    assert_err(
        &format!(
            "{MINIMAL}{}{}",
            global("g", &js, "first"),
            global("g", &js, "last")
        ),
        "sipforge.toml:13:8: global_scripts[1].name: duplicate global script name \"g\"",
        "",
    );
    assert_err(
        &format!("{MINIMAL}{}", global("g", &js, "sometimes")),
        "sipforge.toml:11:12: global_scripts[0].priority: unknown variant `sometimes`",
        "",
    );
}

#[test]
fn io_errors() {
    let e = Config::load(Some(Path::new("config/x.toml"))).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot read config/x.toml: No such file or directory"
    );
    let dir = scratch("io");
    let p = write(
        &dir,
        "bad.toml",
        "[server]\nlisten_udp = [\"0.0.0.0:5060\"]\nnope = 1\n",
    );
    let e = Config::load(Some(&p)).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}:3:1: server.nope: unknown field", p.display())),
        "{e}"
    );
    let p = write(&dir, "good.toml", MINIMAL);
    assert_eq!(
        Config::load(Some(&p)).unwrap().source,
        p.display().to_string()
    );
}

#[test]
fn key_path_display() {
    let p = KeyPath::root()
        .key("customers")
        .index(0)
        .key("vars")
        .key("a b")
        .index(2);
    assert_eq!(p.to_string(), "customers[0].vars.\"a b\"[2]");
    assert!(KeyPath::root().is_empty());
}

#[test]
fn proxy_section_defaults_matching_and_errors() {
    let c = load(MINIMAL).unwrap();
    let p = &c.proxy;
    assert_eq!((p.t1_ms, p.t2_ms, p.t4_ms), (500, 4000, 5000));
    for (code, over) in [
        (408, true),
        (480, false),
        (486, false),
        (500, true),
        (503, true),
        (599, true),
        (600, true),
        (603, false),
        (604, true),
        (302, false),
    ] {
        assert_eq!(p.fails_over(code), over, "{code}");
    }
    let c = load(&format!(
        "{MINIMAL}\n[proxy]\nfailover_on = [\"486\", \"5XX\"]\nno_failover_on = [\"503\"]\nfailover_after_ringing = false\n"
    ))
    .unwrap();
    assert!(c.proxy.fails_over(486) && c.proxy.fails_over(500) && !c.proxy.fails_over(503));
    assert!(!c.proxy.fails_over(408) && !c.proxy.failover_after_ringing);
    let lines = MINIMAL.lines().count();
    assert_err(
        &format!("{MINIMAL}\n[proxy]\nfailover_on = [\"408\", \"2xx\"]\n"),
        &format!("sipforge.toml:{}:", lines + 3),
        "proxy.failover_on[1]",
    );
    assert_err(
        &format!("{MINIMAL}\n[proxy]\nt1_ms = 800\nt2_ms = 500\n"),
        "sipforge.toml:",
        "proxy.t2_ms: 500 is out of range; allowed 800..=60000",
    );
    assert_err(
        &format!("{MINIMAL}\n[proxy]\nring_time_ms = 5\n"),
        "sipforge.toml:",
        "unknown field `ring_time_ms`",
    );
}
