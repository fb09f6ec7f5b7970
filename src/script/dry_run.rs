//! `sipforge run SCRIPT --data CALL.json [--ctx CTX.json]`: one call through a
//! script on the current thread, with the `data` and `ctx` objects given as
//! JSON exactly as a script sees them (DESIGN.md §4 / §8).

use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{CallCtx, CallData, Engine, Limits, Outcome, Routing};
use crate::config::Gateway;
use crate::routing::EgressEntry;
use crate::transport::Transport;

/// The keys of `data` that are not the customer's vars.
const CONTRACT_KEYS: &[&str] = &["routing", "egress_routing", "headers", "remove_headers"];

fn str_field(o: &Map<String, Value>, key: &str) -> String {
    match o.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn header_pairs(v: Option<&Value>, what: &str) -> Result<Vec<(String, String)>, String> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let arr = v.as_array().ok_or(format!("{what} must be an array"))?;
    arr.iter()
        .map(|h| {
            let o = h
                .as_object()
                .ok_or(format!("{what}: each entry must be {{key, value}}"))?;
            Ok((str_field(o, "key"), str_field(o, "value")))
        })
        .collect()
}

fn header_names(v: Option<&Value>, what: &str) -> Result<Vec<String>, String> {
    Ok(header_pairs(v, what)?.into_iter().map(|(k, _)| k).collect())
}

fn egress_entry(v: &Value, routing: &Routing) -> Result<EgressEntry, String> {
    let o = v
        .as_object()
        .ok_or("egress_routing: each entry must be an object")?;
    let gw: Gateway = str_field(o, "gateway")
        .parse()
        .map_err(|e| format!("egress_routing: gateway: {e}"))?;
    let transport = match o.get("transport").and_then(Value::as_str) {
        Some(t) => Transport::parse(t).ok_or(format!("egress_routing: unknown transport {t:?}"))?,
        None => gw.transport,
    };
    let or = |k: &str, d: &str| {
        Some(str_field(o, k))
            .filter(|s| !s.is_empty())
            .unwrap_or(d.to_string())
    };
    Ok(EgressEntry {
        carrier: Arc::from(str_field(o, "carrier").as_str()),
        gateway: Arc::from(gw.hostport().as_str()),
        transport,
        dest_number: or("dest_number", &routing.dest_number),
        cli: or("cli", &routing.cli),
        headers: header_pairs(o.get("headers"), "egress_routing[].headers")?,
        remove_headers: header_names(o.get("remove_headers"), "egress_routing[].remove_headers")?,
    })
}

/// Builds [`CallData`] from a `data` JSON object.
pub fn call_data_from_json(v: &Value) -> Result<CallData, String> {
    let o = v.as_object().ok_or("the call data must be a JSON object")?;
    let empty = Map::new();
    let r = o
        .get("routing")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let opt = |k: &str| Some(str_field(r, k)).filter(|s| !s.is_empty());
    let headers = match r.get("headers") {
        Some(Value::Object(h)) => h
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect(),
        _ => Vec::new(),
    };
    let routing = Routing {
        call_id: str_field(r, "call_id"),
        method: opt("method").unwrap_or_else(|| "INVITE".into()),
        ruri: str_field(r, "ruri"),
        dest_number: str_field(r, "dest_number"),
        cli: str_field(r, "cli"),
        from_display: opt("from_display"),
        from_uri: str_field(r, "from_uri"),
        to_uri: str_field(r, "to_uri"),
        pai: opt("pai"),
        src_ip: opt("src_ip")
            .map(|s| {
                s.parse::<IpAddr>()
                    .map_err(|e| format!("routing.src_ip: {e}"))
            })
            .transpose()?
            .unwrap_or(IpAddr::from([127, 0, 0, 1])),
        src_port: r
            .get("src_port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(5060),
        transport: opt("transport")
            .and_then(|t| Transport::parse(&t))
            .unwrap_or(Transport::Udp),
        account_id: str_field(r, "account_id"),
        server: opt("server").unwrap_or_else(|| "sipforge".into()),
        headers,
        time_ms: r.get("time").and_then(Value::as_i64).unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64)
        }),
    };
    let egress_json = o
        .get("egress_routing")
        .or_else(|| r.get("egress_routing"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let egress = egress_json
        .iter()
        .map(|e| egress_entry(e, &routing))
        .collect::<Result<Vec<_>, _>>()?;
    let mut vars = toml::Table::new();
    for (k, v) in o
        .iter()
        .filter(|(k, _)| !CONTRACT_KEYS.contains(&k.as_str()))
    {
        let tv = toml::Value::try_from(v)
            .map_err(|e| format!("{k}: cannot be a var ({e}); null is not supported"))?;
        vars.insert(k.clone(), tv);
    }
    Ok(CallData {
        headers: header_pairs(o.get("headers"), "headers")?,
        remove_headers: header_names(o.get("remove_headers"), "remove_headers")?,
        routing,
        egress,
        vars: Arc::new(vars),
    })
}

/// The `data` object a script receives for `d`, as JSON (DESIGN.md §4; absent
/// `from_display`/`pai` are null). The inverse of [`call_data_from_json`], used
/// to log a live call's script input (debug level) so it can be replayed with
/// `sipforge run`.
pub fn call_data_to_json(d: &CallData) -> Value {
    let r = &d.routing;
    let pairs = |h: &[(String, String)]| -> Value {
        h.iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect()
    };
    let removes = |h: &[String]| -> Value { h.iter().map(|k| json!({ "key": k })).collect() };
    let egress: Vec<Value> = d
        .egress
        .iter()
        .map(|e| {
            json!({
                "carrier": &*e.carrier, "gateway": &*e.gateway, "transport": e.transport.as_str(),
                "dest_number": e.dest_number, "cli": e.cli,
                "headers": pairs(&e.headers), "remove_headers": removes(&e.remove_headers),
            })
        })
        .collect();
    let mut headers = Map::new();
    for (k, v) in &r.headers {
        match headers.get_mut(k) {
            Some(Value::String(prev)) => {
                prev.push_str(", ");
                prev.push_str(v);
            }
            _ => {
                headers.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
    let mut o = Map::new();
    o.insert(
        "routing".into(),
        json!({
            "call_id": r.call_id, "method": r.method, "ruri": r.ruri,
            "dest_number": r.dest_number, "cli": r.cli, "from_display": r.from_display,
            "from_uri": r.from_uri, "to_uri": r.to_uri, "pai": r.pai,
            "src_ip": r.src_ip.to_string(), "src_port": r.src_port,
            "transport": r.transport.as_str(), "account_id": r.account_id, "server": r.server,
            "headers": headers, "time": r.time_ms,
        }),
    );
    o.insert("egress_routing".into(), Value::Array(egress));
    o.insert("headers".into(), pairs(&d.headers));
    o.insert("remove_headers".into(), removes(&d.remove_headers));
    // the customer's vars after the contract's keys, as scripts see them
    for (k, v) in d.vars.iter() {
        if let (false, Ok(j)) = (o.contains_key(k), serde_json::to_value(v)) {
            o.insert(k.clone(), j);
        }
    }
    Value::Object(o)
}

/// Builds [`CallCtx`] from a `ctx` JSON object (`customer.id`, `secrets`).
pub fn call_ctx_from_json(v: Option<&Value>) -> Result<CallCtx, String> {
    let id = v
        .and_then(|c| c.pointer("/customer/id"))
        .and_then(Value::as_str)
        .unwrap_or("dry-run");
    let secrets = match v.and_then(|c| c.get("secrets")) {
        Some(s) => toml::Table::try_from(s).map_err(|e| format!("ctx.secrets: {e}"))?,
        None => toml::Table::new(),
    };
    Ok(CallCtx {
        customer_id: Arc::from(id),
        secrets: Arc::new(secrets),
    })
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))
}

/// The `run` subcommand. Exit code 0 when the script finished (with data or
/// a SIP answer), 1 when it failed, timed out or ran out of memory, 2 when the
/// inputs are unusable.
pub fn run_cli(script: &Path, data: &Path, ctx: Option<&Path>, timeout_ms: u64) -> ExitCode {
    let fail = |msg: String| {
        println!("{}", json!({ "error": msg }));
        ExitCode::from(2)
    };
    let script = match super::set::load_file(script, 1) {
        Ok(s) => Arc::new(s),
        Err(e) => return fail(e.to_string()),
    };
    let data = match read_json(data).and_then(|v| call_data_from_json(&v)) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let ctx = match ctx
        .map(read_json)
        .transpose()
        .and_then(|c| call_ctx_from_json(c.as_ref()))
    {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let limits = Limits {
        timeout: Duration::from_millis(timeout_ms),
        ..Limits::default()
    };
    let report = Engine::run_blocking(&[script], data, &ctx, &limits, true);
    for line in &report.console {
        eprintln!("console: {line}");
    }
    eprintln!("elapsed: {} µs", report.elapsed.as_micros());
    let (out, code) = match report.outcome {
        Outcome::Continue(_) => (report.returned_json.unwrap_or(Value::Null), 0),
        Outcome::Reject { code, reason } => (json!({ "sip": format!("{code} {reason}") }), 0),
        Outcome::Timeout => (
            json!({ "error": format!("script timed out after {timeout_ms} ms") }),
            1,
        ),
        Outcome::MemoryExceeded => (json!({ "error": "script exceeded its memory limit" }), 1),
        Outcome::Failed { message } => (json!({ "error": message }), 1),
    };
    println!("{out}");
    ExitCode::from(code)
}
