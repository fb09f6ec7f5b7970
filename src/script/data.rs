//! `data` / `ctx` tables built directly with mlua, and the returned table read back
//! (raw accesses only: no script metamethod ever runs here).

use std::sync::Arc;

use mlua::{Function, Lua, LuaString, Table, Value};

use super::{CallCtx, CallData, Routing};
use crate::config::Gateway;
use crate::routing::EgressEntry;
use crate::transport::Transport;

/// Interned key strings, created once per VM.
pub(crate) struct Keys {
    pub(crate) routing: LuaString,
    pub(crate) egress_routing: LuaString,
    headers: LuaString,
    remove_headers: LuaString,
    key: LuaString,
    value: LuaString,
    carrier: LuaString,
    gateway: LuaString,
    transport: LuaString,
    dest_number: LuaString,
    cli: LuaString,
    call_id: LuaString,
    method: LuaString,
    ruri: LuaString,
    from_display: LuaString,
    from_uri: LuaString,
    to_uri: LuaString,
    pai: LuaString,
    src_ip: LuaString,
    src_port: LuaString,
    account_id: LuaString,
    server: LuaString,
    time: LuaString,
    udp: LuaString,
    tcp: LuaString,
    secrets: LuaString,
    customer: LuaString,
    id: LuaString,
    log: LuaString,
}

impl Keys {
    pub(crate) fn new(lua: &Lua) -> mlua::Result<Keys> {
        let s = |k: &str| lua.create_string(k);
        Ok(Keys {
            routing: s("routing")?,
            egress_routing: s("egress_routing")?,
            headers: s("headers")?,
            remove_headers: s("remove_headers")?,
            key: s("key")?,
            value: s("value")?,
            carrier: s("carrier")?,
            gateway: s("gateway")?,
            transport: s("transport")?,
            dest_number: s("dest_number")?,
            cli: s("cli")?,
            call_id: s("call_id")?,
            method: s("method")?,
            ruri: s("ruri")?,
            from_display: s("from_display")?,
            from_uri: s("from_uri")?,
            to_uri: s("to_uri")?,
            pai: s("pai")?,
            src_ip: s("src_ip")?,
            src_port: s("src_port")?,
            account_id: s("account_id")?,
            server: s("server")?,
            time: s("time")?,
            udp: s("udp")?,
            tcp: s("tcp")?,
            secrets: s("secrets")?,
            customer: s("customer")?,
            id: s("id")?,
            log: s("log")?,
        })
    }

    fn transport(&self, t: Transport) -> &LuaString {
        match t {
            Transport::Udp => &self.udp,
            Transport::Tcp => &self.tcp,
        }
    }
}

/// Marks a per-call environment "safe" (as `luaL_sandboxthread` does for its proxy):
/// imported builtins keep their fast paths. Sound because the globals behind it are
/// read-only and the compiler never treats a global the script writes as an import.
pub(crate) fn set_safeenv(lua: &Lua, env: &Table) -> mlua::Result<()> {
    // SAFETY: the table is the only argument, at the top of the stack; the closure
    // only flips a flag on it.
    unsafe {
        lua.exec_raw::<()>(env, |state| {
            mlua::ffi::lua_setsafeenv(state, -1, 1);
        })
    }
}

fn toml_to_lua(lua: &Lua, v: &toml::Value) -> mlua::Result<Value> {
    Ok(match v {
        toml::Value::String(s) => Value::String(lua.create_string(s)?),
        toml::Value::Integer(i) => Value::Number(*i as f64),
        toml::Value::Float(f) => Value::Number(*f),
        toml::Value::Boolean(b) => Value::Boolean(*b),
        toml::Value::Datetime(d) => Value::String(lua.create_string(d.to_string())?),
        toml::Value::Array(a) => {
            let t = lua.create_table_with_capacity(a.len(), 0)?;
            for item in a {
                t.raw_push(toml_to_lua(lua, item)?)?;
            }
            Value::Table(t)
        }
        toml::Value::Table(m) => Value::Table(toml_table(lua, m)?),
    })
}

fn toml_table(lua: &Lua, m: &toml::Table) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, m.len())?;
    for (k, v) in m {
        t.raw_set(k.as_str(), toml_to_lua(lua, v)?)?;
    }
    Ok(t)
}

fn header_list(lua: &Lua, k: &Keys, headers: &[(String, String)]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(headers.len(), 0)?;
    for (i, (name, value)) in headers.iter().enumerate() {
        let h = lua.create_table_with_capacity(0, 2)?;
        h.raw_set(&k.key, name.as_str())?;
        h.raw_set(&k.value, value.as_str())?;
        t.raw_seti(i + 1, h)?;
    }
    Ok(t)
}

fn remove_list(lua: &Lua, k: &Keys, names: &[String]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(names.len(), 0)?;
    for (i, name) in names.iter().enumerate() {
        let h = lua.create_table_with_capacity(0, 1)?;
        h.raw_set(&k.key, name.as_str())?;
        t.raw_seti(i + 1, h)?;
    }
    Ok(t)
}

/// Builds `data` (DESIGN.md §4).
pub(crate) fn build_data(lua: &Lua, k: &Keys, d: &CallData) -> mlua::Result<Table> {
    let data = lua.create_table_with_capacity(0, 4 + d.vars.len())?;
    for (key, v) in d.vars.iter() {
        data.raw_set(key.as_str(), toml_to_lua(lua, v)?)?;
    }

    let r = &d.routing;
    let routing = lua.create_table_with_capacity(0, 18)?;
    routing.raw_set(&k.call_id, r.call_id.as_str())?;
    routing.raw_set(&k.method, r.method.as_str())?;
    routing.raw_set(&k.ruri, r.ruri.as_str())?;
    routing.raw_set(&k.dest_number, r.dest_number.as_str())?;
    routing.raw_set(&k.cli, r.cli.as_str())?;
    if let Some(v) = &r.from_display {
        routing.raw_set(&k.from_display, v.as_str())?;
    }
    routing.raw_set(&k.from_uri, r.from_uri.as_str())?;
    routing.raw_set(&k.to_uri, r.to_uri.as_str())?;
    if let Some(v) = &r.pai {
        routing.raw_set(&k.pai, v.as_str())?;
    }
    routing.raw_set(&k.src_ip, r.src_ip.to_string())?;
    routing.raw_set(&k.src_port, Value::Integer(r.src_port.into()))?;
    routing.raw_set(&k.transport, k.transport(r.transport))?;
    routing.raw_set(&k.account_id, r.account_id.as_str())?;
    routing.raw_set(&k.server, r.server.as_str())?;
    routing.raw_set(&k.time, Value::Number(r.time_ms as f64))?;
    let headers = lua.create_table_with_capacity(0, r.headers.len())?;
    for (name, value) in &r.headers {
        let name = lua.create_string(name)?;
        match headers.raw_get::<Value>(&name)? {
            Value::String(prev) => {
                let mut joined = prev.as_bytes().to_vec();
                joined.extend_from_slice(b", ");
                joined.extend_from_slice(value.as_bytes());
                headers.raw_set(name, lua.create_string(joined)?)?;
            }
            _ => headers.raw_set(name, value.as_str())?,
        }
    }
    routing.raw_set(&k.headers, headers)?;

    let egress = lua.create_table_with_capacity(d.egress.len(), 0)?;
    for (i, e) in d.egress.iter().enumerate() {
        let t = lua.create_table_with_capacity(0, 7)?;
        t.raw_set(&k.carrier, &*e.carrier)?;
        t.raw_set(&k.gateway, &*e.gateway)?;
        t.raw_set(&k.transport, k.transport(e.transport))?;
        t.raw_set(&k.dest_number, e.dest_number.as_str())?;
        t.raw_set(&k.cli, e.cli.as_str())?;
        t.raw_set(&k.headers, header_list(lua, k, &e.headers)?)?;
        t.raw_set(&k.remove_headers, remove_list(lua, k, &e.remove_headers)?)?;
        egress.raw_seti(i + 1, t)?;
    }
    routing.raw_set(&k.egress_routing, egress.clone())?;

    data.raw_set(&k.routing, routing)?;
    data.raw_set(&k.egress_routing, egress)?;
    data.raw_set(&k.headers, header_list(lua, k, &d.headers)?)?;
    data.raw_set(&k.remove_headers, remove_list(lua, k, &d.remove_headers)?)?;
    Ok(data)
}

/// Builds `ctx`.
pub(crate) fn build_ctx(lua: &Lua, k: &Keys, ctx: &CallCtx, log: &Function) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 3)?;
    t.raw_set(&k.secrets, toml_table(lua, &ctx.secrets)?)?;
    let customer = lua.create_table_with_capacity(0, 1)?;
    customer.raw_set(&k.id, &*ctx.customer_id)?;
    t.raw_set(&k.customer, customer)?;
    t.raw_set(&k.log, log.clone())?;
    Ok(t)
}

fn same_table(a: &Value, b: &Value) -> bool {
    matches!((a, b), (Value::Table(x), Value::Table(y)) if x.to_pointer() == y.to_pointer())
}

/// After a script returned `data`: if it replaced only one of `data.egress_routing`
/// and `data.routing.egress_routing`, the replaced one wins; both then point at it
/// again (best effort: a frozen table is left alone).
pub(crate) fn unify_egress(data: &Table, orig: &Value, k: &Keys) -> mlua::Result<()> {
    let top = data.raw_get::<Value>(&k.egress_routing)?;
    let Value::Table(routing) = data.raw_get::<Value>(&k.routing)? else {
        return Ok(());
    };
    let nested = routing.raw_get::<Value>(&k.egress_routing)?;
    if same_table(&top, &nested) {
        return Ok(());
    }
    let nested_wins = (top.is_nil() || same_table(&top, orig))
        && matches!(nested, Value::Table(_))
        && !same_table(&nested, orig);
    if nested_wins {
        let _ = data.raw_set(&k.egress_routing, nested);
    } else if !top.is_nil() {
        let _ = routing.raw_set(&k.egress_routing, top);
    }
    Ok(())
}

/// The Lua-facing type name (`number` for integers too).
pub(crate) fn lua_type(v: &Value) -> &'static str {
    match v {
        Value::Integer(_) | Value::Number(_) => "number",
        Value::Error(_) => "error",
        other => other.type_name(),
    }
}

fn type_of(v: &Value) -> &'static str {
    lua_type(v)
}

/// A string field (strings only).
fn string_field(v: Value, path: &dyn Fn() -> String) -> Result<Option<String>, String> {
    match v {
        Value::Nil => Ok(None),
        Value::String(s) => s
            .to_str()
            .map(|s| Some(s.to_string()))
            .map_err(|_| format!("{} is not valid UTF-8", path())),
        other => Err(format!(
            "{} is a {}, expected a string",
            path(),
            type_of(&other)
        )),
    }
}

/// A number-like field (`dest_number`, `cli`): string or integral number.
fn number_field(v: Value, path: &dyn Fn() -> String) -> Result<Option<String>, String> {
    let s = match v {
        Value::Integer(i) => Some(i.to_string()),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => Some((n as i64).to_string()),
        Value::Number(_) => {
            return Err(format!("{} is not an integral number", path()));
        }
        other => string_field(other, path)?,
    };
    if let Some(s) = &s {
        if s.is_empty() {
            return Err(format!("{} is empty", path()));
        }
        if s.chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '@' | '<' | '>' | '"'))
        {
            return Err(format!(
                "{} = {s:?} contains whitespace, control characters, '@', '<', '>' or '\"'",
                path()
            ));
        }
    }
    Ok(s)
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

fn header_name(v: Value, path: &dyn Fn() -> String) -> Result<String, String> {
    let name = string_field(v, path)?.ok_or_else(|| format!("{} is missing", path()))?;
    if !is_token(&name) {
        return Err(format!("{} = {name:?} is not a valid header name", path()));
    }
    Ok(name)
}

fn read_headers(v: Value, k: &Keys, path: &str) -> Result<Vec<(String, String)>, String> {
    let t = match v {
        Value::Nil => return Ok(Vec::new()),
        Value::Table(t) => t,
        other => {
            return Err(format!(
                "{path} is a {}, expected an array",
                type_of(&other)
            ));
        }
    };
    let n = t.raw_len();
    let mut out = Vec::with_capacity(n);
    for i in 1..=n {
        let item = t.raw_get::<Value>(i).map_err(|e| e.to_string())?;
        let Value::Table(h) = item else {
            return Err(format!(
                "{path}[{i}] is a {}, expected {{key=..., value=...}}",
                type_of(&item)
            ));
        };
        let name = header_name(h.raw_get(&k.key).unwrap_or(Value::Nil), &|| {
            format!("{path}[{i}].key")
        })?;
        let value = match h.raw_get(&k.value).unwrap_or(Value::Nil) {
            Value::Integer(i) => i.to_string(),
            Value::Number(n) => n.to_string(),
            other => string_field(other, &|| format!("{path}[{i}].value"))?
                .ok_or_else(|| format!("{path}[{i}].value is missing"))?,
        };
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(format!(
                "{path}[{i}].value contains control characters (CR/LF)"
            ));
        }
        out.push((name, value));
    }
    Ok(out)
}

fn read_removes(v: Value, k: &Keys, path: &str) -> Result<Vec<String>, String> {
    let t = match v {
        Value::Nil => return Ok(Vec::new()),
        Value::Table(t) => t,
        other => {
            return Err(format!(
                "{path} is a {}, expected an array",
                type_of(&other)
            ));
        }
    };
    let n = t.raw_len();
    let mut out = Vec::with_capacity(n);
    for i in 1..=n {
        let item = t.raw_get::<Value>(i).map_err(|e| e.to_string())?;
        let name = match item {
            Value::Table(h) => header_name(h.raw_get(&k.key).unwrap_or(Value::Nil), &|| {
                format!("{path}[{i}].key")
            })?,
            s @ Value::String(_) => header_name(s, &|| format!("{path}[{i}]"))?,
            other => {
                return Err(format!(
                    "{path}[{i}] is a {}, expected {{key=...}}",
                    type_of(&other)
                ));
            }
        };
        out.push(name);
    }
    Ok(out)
}

fn read_entry(i: usize, v: Value, r: &Routing, k: &Keys) -> Result<EgressEntry, String> {
    let Value::Table(e) = v else {
        return Err(format!(
            "egress_routing[{i}] is a {}, expected a table with at least a gateway",
            type_of(&v)
        ));
    };
    let get = |key: &LuaString| e.raw_get::<Value>(key).unwrap_or(Value::Nil);
    let gw_text = string_field(get(&k.gateway), &|| format!("egress_routing[{i}].gateway"))?
        .ok_or_else(|| {
            format!(
                "egress_routing[{i}] has no gateway (\"host:port\" or \"host:port;transport=tcp\")"
            )
        })?;
    let gw: Gateway = gw_text
        .parse()
        .map_err(|m| format!("egress_routing[{i}].gateway: {m}"))?;
    let transport = if gw_text.contains(';') {
        gw.transport
    } else {
        match string_field(get(&k.transport), &|| {
            format!("egress_routing[{i}].transport")
        })? {
            None => Transport::Udp,
            Some(t) => Transport::parse(&t).ok_or_else(|| {
                format!("egress_routing[{i}].transport = {t:?}: expected \"udp\" or \"tcp\"")
            })?,
        }
    };
    let carrier = string_field(get(&k.carrier), &|| format!("egress_routing[{i}].carrier"))?
        .unwrap_or_default();
    let dest_number = number_field(get(&k.dest_number), &|| {
        format!("egress_routing[{i}].dest_number")
    })?
    .unwrap_or_else(|| r.dest_number.clone());
    let cli = number_field(get(&k.cli), &|| format!("egress_routing[{i}].cli"))?
        .unwrap_or_else(|| r.cli.clone());
    let headers = read_headers(get(&k.headers), k, &format!("egress_routing[{i}].headers"))?;
    let remove_headers = read_removes(
        get(&k.remove_headers),
        k,
        &format!("egress_routing[{i}].remove_headers"),
    )?;
    Ok(EgressEntry {
        carrier: Arc::from(carrier),
        gateway: Arc::from(gw.hostport()),
        transport,
        dest_number,
        cli,
        headers,
        remove_headers,
    })
}

/// Parses the returned data; `input` supplies routing, vars and the defaults.
pub(crate) fn read_back(value: &Value, input: CallData, k: &Keys) -> Result<CallData, String> {
    let Value::Table(t) = value else {
        return Err(format!(
            "main returned a {}; it must return the data table",
            type_of(value)
        ));
    };
    let get = |key: &LuaString| t.raw_get::<Value>(key).unwrap_or(Value::Nil);
    let mut egress_v = get(&k.egress_routing);
    if egress_v.is_nil()
        && let Value::Table(r) = get(&k.routing)
    {
        egress_v = r.raw_get(&k.egress_routing).unwrap_or(Value::Nil);
    }
    let egress = match egress_v {
        Value::Nil => Vec::new(),
        Value::Table(list) => {
            let n = list.raw_len();
            let mut out = Vec::with_capacity(n);
            for i in 1..=n {
                let v = list.raw_get::<Value>(i).map_err(|e| e.to_string())?;
                out.push(read_entry(i, v, &input.routing, k)?);
            }
            out
        }
        other => {
            return Err(format!(
                "egress_routing is a {}, expected an array of entries",
                type_of(&other)
            ));
        }
    };
    let headers = read_headers(get(&k.headers), k, "headers")?;
    let remove_headers = read_removes(get(&k.remove_headers), k, "remove_headers")?;
    Ok(CallData {
        routing: input.routing,
        egress,
        headers,
        remove_headers,
        vars: input.vars,
    })
}

const JSON_MAX_DEPTH: usize = 32;

/// The returned data as JSON (for dry runs). Empty tables print as `[]` under the
/// contract's list keys and `{}` elsewhere.
pub(crate) fn to_json(v: &Value) -> serde_json::Value {
    json_value(v, 0, false)
}

fn json_value(v: &Value, depth: usize, empty_is_array: bool) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Nil => J::Null,
        Value::Boolean(b) => J::Bool(*b),
        Value::Integer(i) => J::from(*i),
        Value::Number(n) => {
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                J::from(*n as i64)
            } else {
                serde_json::Number::from_f64(*n).map_or(J::Null, J::Number)
            }
        }
        Value::String(s) => J::String(s.to_string_lossy()),
        Value::Table(t) => {
            if depth >= JSON_MAX_DEPTH {
                return J::String("<nested too deeply>".into());
            }
            let len = t.raw_len();
            let mut count = 0usize;
            let mut pairs = Vec::new();
            for (key, val) in t.pairs::<Value, Value>().flatten() {
                count += 1;
                pairs.push((key, val));
            }
            if count == 0 {
                return if empty_is_array {
                    J::Array(Vec::new())
                } else {
                    J::Object(Default::default())
                };
            }
            if count == len {
                let mut arr = Vec::with_capacity(len);
                for i in 1..=len {
                    let item = t.raw_get::<Value>(i).unwrap_or(Value::Nil);
                    arr.push(json_value(&item, depth + 1, false));
                }
                return J::Array(arr);
            }
            let mut map = serde_json::Map::with_capacity(count);
            for (key, val) in pairs {
                let name = match &key {
                    Value::String(s) => s.to_string_lossy(),
                    other => other.to_string().unwrap_or_default(),
                };
                let list_key = match name.as_str() {
                    "egress_routing" | "remove_headers" => true,
                    // data.routing.headers (depth 1) is a map; the others are lists.
                    "headers" => depth != 1,
                    _ => false,
                };
                map.insert(name, json_value(&val, depth + 1, list_key));
            }
            J::Object(map)
        }
        Value::Error(e) => J::String(e.to_string()),
        other => J::String(format!("<{}>", other.type_name())),
    }
}
