//! Semantic validation of a deserialized [`Config`]: ranges, unique ids, references
//! between sections, files that must exist. Errors carry the key path of the offending
//! value; the loader turns that into a file position.
//!
//! Validation also normalizes: a leading `+` is stripped from inline route prefixes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use super::{Cidr, Config, CustomerConfig, KeyPath, Priority};
use crate::routing::prefix::check_prefix;

/// A validation failure: where and what.
pub(super) type Failure = (KeyPath, String);

/// Longest id / name accepted.
pub const MAX_ID_LEN: usize = 64;

/// Keys of the script's `data` object that `vars` must not overwrite.
const RESERVED_VARS: [&str; 4] = ["routing", "egress_routing", "headers", "remove_headers"];

pub(super) fn validate(cfg: &mut Config) -> Result<(), Failure> {
    let root = KeyPath::root();
    validate_server(cfg, &root.key("server"))?;
    validate_sip(cfg, &root.key("sip"))?;
    validate_proxy(cfg, &root.key("proxy"))?;

    let mut carrier_ids: HashMap<&str, usize> = HashMap::new();
    for (i, c) in cfg.carriers.iter().enumerate() {
        let at = root.key("carriers").index(i);
        check_id(&c.id, "carrier id").map_err(|m| (at.key("id"), m))?;
        if let Some(first) = carrier_ids.insert(&c.id, i) {
            return Err((
                at.key("id"),
                format!(
                    "duplicate carrier id {:?} (already used by carriers[{first}])",
                    c.id
                ),
            ));
        }
        if c.gateways.is_empty() {
            return Err((
                at.key("gateways"),
                "a carrier needs at least one gateway".to_string(),
            ));
        }
        for (j, g) in c.gateways.iter().enumerate() {
            if let Some(k) = c.gateways[..j].iter().position(|o| o == g) {
                return Err((
                    at.key("gateways").index(j),
                    format!("gateway {g} is listed twice (also gateways[{k}])"),
                ));
            }
        }
    }

    let mut customer_ids: HashMap<&str, usize> = HashMap::new();
    let mut claimed: HashMap<Cidr, (usize, usize)> = HashMap::new();
    for (i, c) in cfg.customers.iter().enumerate() {
        let at = root.key("customers").index(i);
        check_id(&c.id, "customer id").map_err(|m| (at.key("id"), m))?;
        if let Some(first) = customer_ids.insert(&c.id, i) {
            return Err((
                at.key("id"),
                format!(
                    "duplicate customer id {:?} (already used by customers[{first}])",
                    c.id
                ),
            ));
        }
        if c.sources.is_empty() {
            return Err((
                at.key("sources"),
                "a customer needs at least one source network (e.g. \"203.0.113.0/24\")"
                    .to_string(),
            ));
        }
        for (j, src) in c.sources.iter().enumerate() {
            if let Some((ci, cj)) = claimed.insert(src.canonical(), (i, j)) {
                let msg = if ci == i {
                    format!("{src} is listed twice (also sources[{cj}])")
                } else {
                    format!(
                        "{src} is already claimed by customer {:?} (customers[{ci}].sources[{cj}]); \
                         a source network may belong to one customer only (a more specific network inside another customer's is fine)",
                        cfg.customers[ci].id
                    )
                };
                return Err((at.key("sources").index(j), msg));
            }
        }
        validate_customer_values(c, &at)?;
    }

    // Inline routes (needs `&mut` to normalize prefixes).
    for (i, c) in cfg.customers.iter_mut().enumerate() {
        let at = root.key("customers").index(i).key("routes");
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (j, r) in c.routes.iter_mut().enumerate() {
            let rat = at.index(j);
            if let Some(stripped) = r.prefix.strip_prefix('+') {
                r.prefix = stripped.to_string();
            }
            check_prefix(&r.prefix).map_err(|e| (rat.key("prefix"), e.to_string()))?;
            if let Some(k) = seen.insert(r.prefix.clone(), j) {
                return Err((
                    rat.key("prefix"),
                    format!(
                        "prefix {:?} is routed twice (also routes[{k}]); list all its carriers in one route",
                        r.prefix
                    ),
                ));
            }
            if r.carriers.is_empty() {
                return Err((
                    rat.key("carriers"),
                    "a route needs at least one carrier".to_string(),
                ));
            }
            for (k, id) in r.carriers.iter().enumerate() {
                if !carrier_ids.contains_key(id.as_str()) {
                    return Err((
                        rat.key("carriers").index(k),
                        format!("unknown carrier {id:?} (define it in a [[carriers]] section)"),
                    ));
                }
                if r.carriers[..k].contains(id) {
                    return Err((
                        rat.key("carriers").index(k),
                        format!("carrier {id:?} is listed twice in this route"),
                    ));
                }
            }
        }
    }

    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, g) in cfg.global_scripts.iter().enumerate() {
        let at = root.key("global_scripts").index(i);
        check_id(&g.name, "global script name").map_err(|m| (at.key("name"), m))?;
        if let Some(first) = names.insert(&g.name, i) {
            return Err((
                at.key("name"),
                format!(
                    "duplicate global script name {:?} (already used by global_scripts[{first}])",
                    g.name
                ),
            ));
        }
        check_script_ext(&g.file).map_err(|m| (at.key("file"), m))?;
        if g.priority != Priority::Disabled {
            check_file(&g.file, "global script").map_err(|m| (at.key("file"), m))?;
        }
    }
    Ok(())
}

fn validate_server(cfg: &Config, at: &KeyPath) -> Result<(), Failure> {
    let s = &cfg.server;
    if s.listen_udp.is_empty() && s.listen_tcp.is_empty() {
        return Err((
            at.key("listen_udp"),
            "no SIP listener: set listen_udp and/or listen_tcp (e.g. [\"0.0.0.0:5060\"])"
                .to_string(),
        ));
    }
    for (key, list) in [("listen_udp", &s.listen_udp), ("listen_tcp", &s.listen_tcp)] {
        check_no_dup_addr(list).map_err(|(j, m)| (at.key(key).index(j), m))?;
    }
    if let Some(admin) = s.admin_listen
        && admin.port() != 0
        && let Some(j) = s.listen_tcp.iter().position(|a| *a == admin)
    {
        return Err((
            at.key("admin_listen"),
            format!("{admin} is also a SIP TCP listener (listen_tcp[{j}]); use another port"),
        ));
    }
    if let Some(w) = s.script_workers
        && !(1..=256).contains(&w)
    {
        return Err((
            at.key("script_workers"),
            format!("{w} is out of range; allowed 1..=256"),
        ));
    }
    if s.script_queue > 1_000_000 {
        return Err((
            at.key("script_queue"),
            format!("{} is out of range; allowed 0..=1000000", s.script_queue),
        ));
    }
    if s.shutdown_grace_s > 3600 {
        return Err((
            at.key("shutdown_grace_s"),
            format!("{} is out of range; allowed 0..=3600", s.shutdown_grace_s),
        ));
    }
    let env = &s.admin_token_env;
    let env_ok = env
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && env.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !env_ok {
        return Err((
            at.key("admin_token_env"),
            format!(
                "{env:?} is not an environment variable name (letters, digits and '_', not starting with a digit)"
            ),
        ));
    }
    if s.script_dir.as_os_str().is_empty() {
        return Err((at.key("script_dir"), "must not be empty".to_string()));
    }
    let name = &s.server_name;
    if name.is_empty() || name.len() > 128 || !name.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err((
            at.key("server_name"),
            "must be 1 to 128 printable ASCII characters".to_string(),
        ));
    }
    Ok(())
}

fn check_no_dup_addr(list: &[SocketAddr]) -> Result<(), (usize, String)> {
    for (j, a) in list.iter().enumerate() {
        if let Some(k) = list[..j].iter().position(|b| b == a) {
            return Err((j, format!("{a} is listed twice (also [{k}])")));
        }
    }
    Ok(())
}

fn validate_sip(cfg: &Config, at: &KeyPath) -> Result<(), Failure> {
    let s = &cfg.sip;
    let checks: [(&str, u64, u64, u64); 5] = [
        (
            "max_message_bytes",
            s.max_message_bytes as u64,
            512,
            1_048_576,
        ),
        ("max_headers", s.max_headers as u64, 16, 4096),
        ("max_line_bytes", s.max_line_bytes as u64, 256, 1_048_576),
        (
            "tcp_max_connections",
            s.tcp_max_connections as u64,
            1,
            1_000_000,
        ),
        ("tcp_idle_timeout_secs", s.tcp_idle_timeout_secs, 1, 86_400),
    ];
    check_ranges(at, &checks)
}

/// `(key, value, min, max)` rows: the first value outside its range is the error.
fn check_ranges(at: &KeyPath, checks: &[(&str, u64, u64, u64)]) -> Result<(), Failure> {
    for &(key, value, min, max) in checks {
        if !(min..=max).contains(&value) {
            return Err((
                at.key(key),
                format!("{value} is out of range; allowed {min}..={max}"),
            ));
        }
    }
    Ok(())
}

fn validate_proxy(cfg: &Config, at: &KeyPath) -> Result<(), Failure> {
    let p = &cfg.proxy;
    for (key, list) in [
        ("failover_on", &p.failover_on),
        ("no_failover_on", &p.no_failover_on),
    ] {
        for (i, pat) in list.iter().enumerate() {
            let b = pat.as_bytes();
            let ok = match b {
                [c, x, y] if matches!(x, b'x' | b'X') && matches!(y, b'x' | b'X') => {
                    (b'3'..=b'6').contains(c)
                }
                _ => pat.parse::<u16>().is_ok_and(|c| (300..=699).contains(&c)),
            };
            if !ok {
                return Err((
                    at.key(key).index(i),
                    format!(
                        "{pat:?} is not a final status code 300..699 or a class \"3xx\"..\"6xx\""
                    ),
                ));
            }
        }
    }
    let checks: [(&str, u64, u64, u64); 9] = [
        ("attempt_timeout_ms", p.attempt_timeout_ms, 100, 32_000),
        ("ring_timeout_ms", p.ring_timeout_ms, 1000, 600_000),
        (
            "max_transactions",
            p.max_transactions as u64,
            16,
            10_000_000,
        ),
        ("max_dialogs", p.max_dialogs as u64, 16, 10_000_000),
        (
            "dialog_idle_timeout_s",
            p.dialog_idle_timeout_s,
            60,
            604_800,
        ),
        ("linger_ms", p.linger_ms, 100, 64_000),
        ("t1_ms", p.t1_ms, 50, 5000),
        ("t2_ms", p.t2_ms, p.t1_ms, 60_000),
        ("t4_ms", p.t4_ms, 100, 60_000),
    ];
    check_ranges(at, &checks)
}

fn validate_customer_values(c: &CustomerConfig, at: &KeyPath) -> Result<(), Failure> {
    if let Some(script) = &c.script {
        check_script_ext(script).map_err(|m| (at.key("script"), m))?;
        check_file(script, "script").map_err(|m| (at.key("script"), m))?;
    }
    if !(1..=10_000).contains(&c.timeout_ms) {
        return Err((
            at.key("timeout_ms"),
            format!("{} is out of range; allowed 1..=10000", c.timeout_ms),
        ));
    }
    if !(1..=1024).contains(&c.script_memory_mb) {
        return Err((
            at.key("script_memory_mb"),
            format!("{} is out of range; allowed 1..=1024", c.script_memory_mb),
        ));
    }
    if c.cps_limit == Some(0) {
        return Err((
            at.key("cps_limit"),
            "must be at least 1 (leave the key out for unlimited)".to_string(),
        ));
    }
    if c.channels == Some(0) {
        return Err((
            at.key("channels"),
            "must be at least 1 (leave the key out for unlimited)".to_string(),
        ));
    }
    for key in RESERVED_VARS {
        if c.vars.contains_key(key) {
            return Err((
                at.key("vars").key(key),
                format!(
                    "{key:?} is reserved: vars are merged into the script's data, where {key:?} is set by sipforge"
                ),
            ));
        }
    }
    if let Some(file) = &c.routes_file {
        check_file(file, "routes file").map_err(|m| (at.key("routes_file"), m))?;
    }
    Ok(())
}

/// Ids and names: `[A-Za-z0-9_.-]{1,64}`.
pub(crate) fn check_id(id: &str, what: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(format!(
            "{what} {id:?} is longer than {MAX_ID_LEN} characters"
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|&ch| !(ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | '-')))
    {
        return Err(format!(
            "{what} {id:?} contains {bad:?}; use only letters, digits, '_', '.' and '-'"
        ));
    }
    Ok(())
}

fn check_script_ext(path: &Path) -> Result<(), String> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("js" | "lua") => Ok(()),
        _ => Err(format!("{} must end in .js or .lua", path.display())),
    }
}

fn check_file(path: &Path, what: &str) -> Result<(), String> {
    if path.is_file() {
        return Ok(());
    }
    let why = if path.exists() {
        "is not a regular file"
    } else {
        "does not exist"
    };
    let mut msg = format!("{what} {} {why}", path.display());
    if path.is_relative()
        && let Ok(cwd) = std::env::current_dir()
    {
        msg.push_str(&format!(
            " (relative paths are resolved against the working directory {})",
            cwd.display()
        ));
    }
    Err(msg)
}
