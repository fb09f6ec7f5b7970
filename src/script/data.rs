//! `data` / `ctx` built and the returned table read back, each inside ONE call
//! into the VM ([`Lua::exec_raw`]) made of raw Luau C-API operations: no Lua code
//! runs, no mlua handle is made per value, no protected call is made per table
//! operation, and reads are raw (no script metamethod ever runs here).
//!
//! Going through mlua's per-value API instead costs a lock, a stack check and
//! often a handle (registry slot) per value; doing the work in Lua helpers costs
//! interpreter dispatch, the interrupt hook per call and loop iteration, and the
//! garbage of the flat arrays passed back and forth. Both measured several times
//! slower (see `benches/script.rs`).

use std::collections::HashMap;
use std::ffi::{c_char, c_int};
use std::marker::PhantomData;
use std::sync::Arc;

use mlua::ffi::{self, lua_State};
use mlua::{Function, Lua, Table, Value};

use super::{CallCtx, CallData, Routing};
use crate::config::Gateway;
use crate::routing::EgressEntry;
use crate::transport::Transport;

/// Slots of the per-VM key table: the interned key strings (so no key is hashed
/// and interned per call), then the template tables (see [`Codec`]).
#[derive(Clone, Copy)]
#[repr(i32)]
enum K {
    CallId = 1,
    Method,
    Ruri,
    DestNumber,
    Cli,
    FromDisplay,
    FromUri,
    ToUri,
    Pai,
    SrcIp,
    SrcPort,
    Transport,
    AccountId,
    Server,
    Time,
    Headers,
    EgressRouting,
    Routing,
    RemoveHeaders,
    Carrier,
    Gateway,
    Key,
    Value,
    Secrets,
    Customer,
    Id,
    Log,
}

/// Key strings, in [`K`] order.
const KEY_NAMES: [&str; 27] = [
    "call_id",
    "method",
    "ruri",
    "dest_number",
    "cli",
    "from_display",
    "from_uri",
    "to_uri",
    "pai",
    "src_ip",
    "src_port",
    "transport",
    "account_id",
    "server",
    "time",
    "headers",
    "egress_routing",
    "routing",
    "remove_headers",
    "carrier",
    "gateway",
    "key",
    "value",
    "secrets",
    "customer",
    "id",
    "log",
];

/// Template tables (stored after the keys): each has its fields' keys set (to
/// `false`), so a call clones it and overwrites existing slots instead of
/// inserting keys one by one. Never reachable from scripts.
#[derive(Clone, Copy)]
#[repr(i32)]
enum Tmpl {
    Routing = KEY_NAMES.len() as i32 + 1,
    Entry,
    Header,
    Remove,
    Ctx,
    CustomerT,
}

const TEMPLATES: [(Tmpl, &[K]); 6] = [
    (
        Tmpl::Routing,
        &[
            K::CallId,
            K::Method,
            K::Ruri,
            K::DestNumber,
            K::Cli,
            K::FromDisplay,
            K::FromUri,
            K::ToUri,
            K::Pai,
            K::SrcIp,
            K::SrcPort,
            K::Transport,
            K::AccountId,
            K::Server,
            K::Headers,
            K::Time,
            K::EgressRouting,
        ],
    ),
    (
        Tmpl::Entry,
        &[
            K::Carrier,
            K::Gateway,
            K::Transport,
            K::DestNumber,
            K::Cli,
            K::Headers,
            K::RemoveHeaders,
        ],
    ),
    (Tmpl::Header, &[K::Key, K::Value]),
    (Tmpl::Remove, &[K::Key]),
    (Tmpl::Ctx, &[K::Secrets, K::Customer, K::Log]),
    (Tmpl::CustomerT, &[K::Id]),
];

/// Which value representation a script sees: Lua tables, or the JavaScript
/// runtime's (docs/javascript.md: arrays with `ArrayMT` and the length at `[0]`,
/// objects with their key order at `[true]`, `null` for absent optional fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Lua,
    Js,
}

/// Slots after the Lua templates in the key table: the JavaScript templates (in
/// [`Tmpl`] order), then `J.ArrayMT`, `J.null`, `J.undef`, `J.ctxlog`.
const JS_TMPL_BASE: i32 = Tmpl::Routing as i32 + TEMPLATES.len() as i32;
const JS_DATA_TEMPLATES: i32 = TEMPLATES.len() as i32;
const SLOT_ARRAY_MT: i32 = JS_TMPL_BASE + JS_DATA_TEMPLATES;
const SLOT_NULL: i32 = SLOT_ARRAY_MT + 1;
const SLOT_UNDEF: i32 = SLOT_NULL + 1;
/// `J.ctxlog`: `ctx.log` for JavaScript (this-first, formats like console.log).
const SLOT_CTX_LOG: i32 = SLOT_UNDEF + 1;

/// Per-VM state for building and reading the data.
pub(crate) struct Codec {
    /// `[K] = key string`, then `[Tmpl] = template table`, then the JavaScript
    /// slots (see [`JS_TMPL_BASE`]).
    keys: Table,
    /// Identities of `J.null` / `J.undef` (read back as nil), if the runtime has them.
    null_ptr: usize,
    undef_ptr: usize,
    /// `ctx.log` (the same function as `print`).
    log: Function,
    interned: Interned,
}

impl Codec {
    /// `js` is the JavaScript runtime table (`J`) when the VM has one.
    pub(crate) fn new(lua: &Lua, log: &Function, js: Option<&Table>) -> mlua::Result<Codec> {
        let keys = lua.create_table_with_capacity(KEY_NAMES.len() + TEMPLATES.len() + 8, 0)?;
        for name in KEY_NAMES {
            keys.raw_push(lua.create_string(name)?)?;
        }
        for (slot, fields) in TEMPLATES {
            let t = lua.create_table_with_capacity(0, fields.len())?;
            for &k in fields {
                t.raw_set(KEY_NAMES[k as usize - 1], false)?;
            }
            keys.raw_set(slot as i32, t)?;
        }
        // JavaScript templates: the same fields plus a shared, frozen key-order list.
        for (i, (_, fields)) in TEMPLATES
            .iter()
            .take(JS_DATA_TEMPLATES as usize)
            .enumerate()
        {
            let t = lua.create_table_with_capacity(0, fields.len() + 1)?;
            let order = lua.create_table_with_capacity(fields.len(), 0)?;
            for &k in *fields {
                t.raw_set(KEY_NAMES[k as usize - 1], false)?;
                order.raw_push(KEY_NAMES[k as usize - 1])?;
            }
            order.set_readonly(true);
            t.raw_set(true, order)?;
            keys.raw_set(JS_TMPL_BASE + i as i32, t)?;
        }
        let (mut null_ptr, mut undef_ptr) = (0usize, 0usize);
        if let Some(j) = js {
            let amt: Value = j.raw_get("ArrayMT")?;
            let null: Value = j.raw_get("null")?;
            let undef: Value = j.raw_get("undef")?;
            let ctx_log: Value = j.raw_get("ctxlog")?;
            keys.raw_set(SLOT_CTX_LOG, ctx_log)?;
            null_ptr = null.to_pointer() as usize;
            undef_ptr = undef.to_pointer() as usize;
            keys.raw_set(SLOT_ARRAY_MT, amt)?;
            keys.raw_set(SLOT_NULL, null)?;
            keys.raw_set(SLOT_UNDEF, undef)?;
        }
        Ok(Codec {
            keys,
            null_ptr,
            undef_ptr,
            log: log.clone(),
            interned: Interned::default(),
        })
    }
}

// ---- build -------------------------------------------------------------------

/// Pushes a string (never raises except on out-of-memory, and no memory limit is
/// set while building).
unsafe fn push_str(l: *mut lua_State, s: &str) {
    let p = if s.is_empty() {
        c"".as_ptr()
    } else {
        s.as_ptr() as *const c_char
    };
    unsafe { ffi::lua_pushlstring_(l, p, s.len()) };
}

/// Stack slots the builders and readers use above the ones checked at entry.
const STACK_NEEDED: c_int = 24;

fn len_hint(n: usize) -> c_int {
    c_int::try_from(n).unwrap_or(0)
}

/// Raw pushes into fresh tables; `k` is the stack index of the key table, the
/// templates sit at `tmpl + (Tmpl - Tmpl::Routing)`.
struct Bld {
    l: *mut lua_State,
    k: c_int,
    tmpl: c_int,
    /// JavaScript shape: stack indexes of `J.ArrayMT` and `J.null`.
    js: Option<(c_int, c_int)>,
}

impl Bld {
    /// JavaScript shape: makes the table at `t` (holding `n` elements at 1..=n)
    /// an array (`[0] = n`, metatable `ArrayMT`).
    unsafe fn finish_array(&self, t: c_int, n: usize) {
        if let Some((amt, _)) = self.js {
            unsafe { js_finish_array(self.l, t, n, amt) };
        }
    }

    /// Pushes a fresh copy of a template.
    unsafe fn new_table(&self, t: Tmpl) -> c_int {
        unsafe {
            ffi::lua_clonetable(self.l, self.tmpl + (t as c_int - Tmpl::Routing as c_int));
            ffi::lua_gettop(self.l)
        }
    }

    unsafe fn key(&self, k: K) {
        unsafe { ffi::lua_rawgeti_(self.l, self.k, k as c_int) };
    }

    /// `t[<key>] = <value>`, the two on top of the stack (pops them).
    unsafe fn set(&self, t: c_int) {
        unsafe { ffi::lua_rawset(self.l, t) };
    }

    unsafe fn set_str(&self, t: c_int, k: K, s: &str) {
        unsafe {
            self.key(k);
            push_str(self.l, s);
            ffi::lua_rawset(self.l, t);
        }
    }

    unsafe fn set_opt_str(&self, t: c_int, k: K, s: Option<&str>) {
        unsafe {
            match s {
                Some(s) => self.set_str(t, k, s),
                None => {
                    self.key(k);
                    match self.js {
                        Some((_, null)) => ffi::lua_pushvalue(self.l, null),
                        None => ffi::lua_pushnil(self.l),
                    }
                    ffi::lua_rawset(self.l, t);
                }
            }
        }
    }

    unsafe fn set_num(&self, t: c_int, k: K, n: f64) {
        unsafe {
            self.key(k);
            ffi::lua_pushnumber(self.l, n);
            ffi::lua_rawset(self.l, t);
        }
    }

    /// Pushes `{ {key=, value=}, ... }`.
    unsafe fn header_list(&self, h: &[(String, String)]) {
        let l = self.l;
        unsafe {
            ffi::lua_createtable(l, len_hint(h.len()), 0);
            let list = ffi::lua_gettop(l);
            for (i, (k, v)) in h.iter().enumerate() {
                let item = self.new_table(Tmpl::Header);
                self.set_str(item, K::Key, k);
                self.set_str(item, K::Value, v);
                ffi::lua_rawseti_(l, list, len_hint(i + 1));
            }
            self.finish_array(list, h.len());
        }
    }

    /// Pushes `{ {key=}, ... }`.
    unsafe fn remove_list(&self, r: &[String]) {
        let l = self.l;
        unsafe {
            ffi::lua_createtable(l, len_hint(r.len()), 0);
            let list = ffi::lua_gettop(l);
            for (i, k) in r.iter().enumerate() {
                let item = self.new_table(Tmpl::Remove);
                self.set_str(item, K::Key, k);
                ffi::lua_rawseti_(l, list, len_hint(i + 1));
            }
            self.finish_array(list, r.len());
        }
    }

    /// Pushes `routing.headers`: name → value, repeated names joined with ", ".
    unsafe fn request_headers(&self, h: &[(String, String)]) {
        let l = self.l;
        unsafe {
            ffi::lua_createtable(l, 0, len_hint(h.len() + 1));
            let t = ffi::lua_gettop(l);
            let order = if self.js.is_some() {
                ffi::lua_createtable(l, len_hint(h.len()), 0);
                ffi::lua_pushboolean(l, 1);
                ffi::lua_pushvalue(l, -2);
                ffi::lua_rawset(l, t);
                ffi::lua_gettop(l)
            } else {
                0
            };
            let mut n_keys = 0;
            for (name, value) in h {
                push_str(l, name);
                ffi::lua_pushvalue(l, -1);
                if ffi::lua_rawget(l, t) == ffi::LUA_TSTRING {
                    let mut len = 0usize;
                    let p = ffi::lua_tolstring(l, -1, &mut len);
                    let mut joined = Vec::with_capacity(len + 2 + value.len());
                    if !p.is_null() {
                        joined.extend_from_slice(std::slice::from_raw_parts(p as *const u8, len));
                    }
                    joined.extend_from_slice(b", ");
                    joined.extend_from_slice(value.as_bytes());
                    ffi::lua_pop(l, 1);
                    ffi::lua_pushlstring_(l, joined.as_ptr() as *const c_char, joined.len());
                } else {
                    ffi::lua_pop(l, 1);
                    push_str(l, value);
                    if order != 0 {
                        n_keys += 1;
                        ffi::lua_pushvalue(l, -2);
                        ffi::lua_rawseti_(l, order, n_keys);
                    }
                }
                ffi::lua_rawset(l, t);
            }
            if order != 0 {
                ffi::lua_settop(l, t);
            }
        }
    }

    /// Pushes one `egress_routing` entry.
    unsafe fn entry(&self, e: &EgressEntry) {
        unsafe {
            let t = self.new_table(Tmpl::Entry);
            self.set_str(t, K::Carrier, &e.carrier);
            self.set_str(t, K::Gateway, &e.gateway);
            self.set_str(t, K::Transport, transport_str(e.transport));
            self.set_str(t, K::DestNumber, &e.dest_number);
            self.set_str(t, K::Cli, &e.cli);
            self.key(K::Headers);
            self.header_list(&e.headers);
            self.set(t);
            self.key(K::RemoveHeaders);
            self.remove_list(&e.remove_headers);
            self.set(t);
        }
    }
}

/// JavaScript shape: `t[0] = n` and the `ArrayMT` metatable (at stack index `amt`).
unsafe fn js_finish_array(l: *mut lua_State, t: c_int, n: usize, amt: c_int) {
    unsafe {
        ffi::lua_pushnumber(l, n as f64);
        ffi::lua_rawseti_(l, t, 0);
        ffi::lua_pushvalue(l, amt);
        ffi::lua_setmetatable(l, t);
    }
}

/// Pushes a TOML value as a fresh Lua value (JavaScript-shaped when `amt`, the
/// stack index of `J.ArrayMT`, is given). Returns false if the stack cannot grow
/// (absurd nesting), leaving the stack as it was.
unsafe fn push_toml(l: *mut lua_State, v: &toml::Value, amt: Option<c_int>) -> bool {
    unsafe {
        match v {
            toml::Value::String(s) => push_str(l, s),
            toml::Value::Integer(i) => ffi::lua_pushnumber(l, *i as f64),
            toml::Value::Float(f) => ffi::lua_pushnumber(l, *f),
            toml::Value::Boolean(b) => ffi::lua_pushboolean(l, c_int::from(*b)),
            toml::Value::Datetime(d) => push_str(l, &d.to_string()),
            toml::Value::Array(a) => {
                if ffi::lua_checkstack(l, 2) == 0 {
                    return false;
                }
                ffi::lua_createtable(l, c_int::try_from(a.len()).unwrap_or(0), 0);
                for (i, item) in a.iter().enumerate() {
                    if !push_toml(l, item, amt) {
                        ffi::lua_pop(l, 1);
                        return false;
                    }
                    ffi::lua_rawseti_(l, -2, c_int::try_from(i + 1).unwrap_or(c_int::MAX));
                }
                if let Some(amt) = amt {
                    js_finish_array(l, ffi::lua_gettop(l), a.len(), amt);
                }
            }
            toml::Value::Table(m) => {
                if ffi::lua_checkstack(l, 4) == 0 {
                    return false;
                }
                ffi::lua_createtable(l, 0, c_int::try_from(m.len() + 1).unwrap_or(0));
                if !set_toml_fields(l, m, amt) {
                    ffi::lua_pop(l, 1);
                    return false;
                }
                if amt.is_some() {
                    js_key_order(l, m.keys().map(String::as_str), m.len());
                }
            }
        }
    }
    true
}

/// JavaScript shape: sets `[true] = { keys... }` on the table on top of the stack
/// (needs 3 free slots).
unsafe fn js_key_order<'k>(l: *mut lua_State, keys: impl Iterator<Item = &'k str>, n: usize) {
    unsafe {
        ffi::lua_pushboolean(l, 1);
        ffi::lua_createtable(l, len_hint(n), 0);
        for (i, k) in keys.enumerate() {
            push_str(l, k);
            ffi::lua_rawseti_(l, -2, len_hint(i + 1));
        }
        ffi::lua_rawset(l, -3);
    }
}

/// Sets `m`'s entries on the table on top of the stack (needs 2 free slots).
unsafe fn set_toml_fields(l: *mut lua_State, m: &toml::Table, amt: Option<c_int>) -> bool {
    unsafe { set_toml_fields_where(l, m, amt, |_| true) }
}

/// [`set_toml_fields`] for the keys `keep` accepts.
unsafe fn set_toml_fields_where(
    l: *mut lua_State,
    m: &toml::Table,
    amt: Option<c_int>,
    keep: impl Fn(&str) -> bool,
) -> bool {
    for (k, v) in m.iter().filter(|(k, _)| keep(k)) {
        unsafe {
            push_str(l, k);
            if !push_toml(l, v, amt) {
                ffi::lua_pop(l, 1);
                return false;
            }
            ffi::lua_rawset(l, -3);
        }
    }
    true
}

fn transport_str(t: Transport) -> &'static str {
    match t {
        Transport::Udp => "udp",
        Transport::Tcp => "tcp",
    }
}

/// Which parts of `data` and `ctx` a call builds: everything, or what the
/// script is known to read ([`crate::js::DataUse`]). Parts not built are
/// absent from the tables and kept as they were when the result is read back.
pub(crate) struct Parts<'a>(pub(crate) Option<&'a crate::js::DataUse>);

impl Parts<'_> {
    pub(crate) const ALL: Parts<'static> = Parts(None);

    /// `data.<key>`.
    fn key(&self, k: &str) -> bool {
        self.0.is_none_or(|u| u.keys.contains(k))
    }

    /// `data.routing.<key>` (when `data.routing` is built).
    fn routing(&self, k: &str) -> bool {
        self.0
            .is_none_or(|u| u.routing.as_ref().is_none_or(|r| r.contains(k)))
    }

    pub(crate) fn egress(&self) -> bool {
        self.key("egress_routing") || (self.key("routing") && self.routing("egress_routing"))
    }

    pub(crate) fn headers(&self) -> bool {
        self.key("headers")
    }

    pub(crate) fn removes(&self) -> bool {
        self.key("remove_headers")
    }

    fn ctx(&self) -> bool {
        self.0.is_none_or(|u| u.ctx)
    }
}

/// Builds `data` (DESIGN.md §4) and `ctx` in one call into the VM.
///
/// `shape` chooses Lua tables or the JavaScript runtime's representation (for
/// `data` and `ctx`; a JavaScript `ctx.log` is `J.ctxlog`).
pub(crate) fn build(
    lua: &Lua,
    codec: &Codec,
    d: &CallData,
    ctx: &CallCtx,
    shape: Shape,
    parts: &Parts,
) -> mlua::Result<(Table, Value)> {
    let js = shape == Shape::Js;
    if js && codec.null_ptr == 0 {
        return Err(mlua::Error::runtime(
            "this VM has no JavaScript runtime loaded",
        ));
    }
    let r = &d.routing;
    let mut ip_buf = [0u8; 64];
    let src_ip = if !(parts.key("routing") && parts.routing("src_ip")) {
        ""
    } else {
        use std::io::Write;
        let mut cur = std::io::Cursor::new(&mut ip_buf[..]);
        let _ = write!(cur, "{}", r.src_ip);
        let len = cur.position() as usize;
        std::str::from_utf8(&ip_buf[..len]).unwrap_or_default()
    };
    let mut ok = true;
    // SAFETY: the key table and `ctx.log` are the arguments (stack indexes 1 and 2
    // of the protected call's frame); the closure leaves exactly `data, ctx` on the
    // stack, never uses more than STACK_NEEDED slots above its check (TOML nesting
    // checks its own), and indexes only the key table, the templates and tables it
    // created. Nothing raises: no memory limit is set while building and every
    // table written is fresh (clones are never read-only); a real out-of-memory
    // would be turned into an error by the protected call.
    let res = unsafe {
        lua.exec_raw::<(Table, Value)>((&codec.keys, &codec.log), |l| {
            if ffi::lua_checkstack(l, STACK_NEEDED) == 0 {
                ok = false;
                return;
            }
            let tmpl = ffi::lua_gettop(l) + 1;
            for (t, _) in TEMPLATES {
                let slot = t as c_int;
                let slot = if js && slot < Tmpl::Routing as c_int + JS_DATA_TEMPLATES {
                    slot - Tmpl::Routing as c_int + JS_TMPL_BASE
                } else {
                    slot
                };
                ffi::lua_rawgeti_(l, 1, slot);
            }
            let js_slots = if js {
                ffi::lua_rawgeti_(l, 1, SLOT_ARRAY_MT);
                ffi::lua_rawgeti_(l, 1, SLOT_NULL);
                let top = ffi::lua_gettop(l);
                Some((top - 1, top))
            } else {
                None
            };
            let amt = js_slots.map(|(a, _)| a);
            let b = Bld {
                l,
                k: 1,
                tmpl,
                js: js_slots,
            };

            // data, pre-filled with the vars (the contract fields win on a clash)
            ffi::lua_createtable(l, 0, len_hint(5 + d.vars.len()));
            let data = ffi::lua_gettop(l);
            if !set_toml_fields_where(l, &d.vars, amt, |k| parts.key(k)) {
                ok = false;
                return;
            }
            // The key order only shows when `data` is enumerated, which a
            // script reading parts of it never does.
            if js && parts.0.is_none() {
                // routing, egress_routing, headers, remove_headers, then the vars
                let vars = d.vars.keys().map(String::as_str).filter(|k| {
                    !matches!(
                        *k,
                        "routing" | "egress_routing" | "headers" | "remove_headers"
                    )
                });
                let contract = ["routing", "egress_routing", "headers", "remove_headers"];
                let n = if parts.0.is_none() {
                    4 + d.vars.len()
                } else {
                    4
                };
                js_key_order(
                    l,
                    contract.into_iter().chain(vars).filter(|k| parts.key(k)),
                    n,
                );
            }

            let routing = if parts.key("routing") {
                let t = match &parts.0 {
                    // Only some fields: a small fresh table (the template
                    // holds all of them).
                    Some(u) if u.routing.is_some() => {
                        ffi::lua_createtable(
                            l,
                            0,
                            len_hint(u.routing.as_ref().map_or(0, |r| r.len())),
                        );
                        ffi::lua_gettop(l)
                    }
                    _ => b.new_table(Tmpl::Routing),
                };
                let str_fields: [(K, &str, &str); 11] = [
                    (K::CallId, "call_id", &r.call_id),
                    (K::Method, "method", &r.method),
                    (K::Ruri, "ruri", &r.ruri),
                    (K::DestNumber, "dest_number", &r.dest_number),
                    (K::Cli, "cli", &r.cli),
                    (K::FromUri, "from_uri", &r.from_uri),
                    (K::ToUri, "to_uri", &r.to_uri),
                    (K::SrcIp, "src_ip", src_ip),
                    (K::Transport, "transport", transport_str(r.transport)),
                    (K::AccountId, "account_id", &r.account_id),
                    (K::Server, "server", &r.server),
                ];
                for (k, name, v) in str_fields {
                    if parts.routing(name) {
                        b.set_str(t, k, v);
                    }
                }
                if parts.routing("from_display") {
                    b.set_opt_str(t, K::FromDisplay, r.from_display.as_deref());
                }
                if parts.routing("pai") {
                    b.set_opt_str(t, K::Pai, r.pai.as_deref());
                }
                if parts.routing("src_port") {
                    b.set_num(t, K::SrcPort, f64::from(r.src_port));
                }
                if parts.routing("time") {
                    b.set_num(t, K::Time, r.time_ms as f64);
                }
                if parts.routing("headers") {
                    b.key(K::Headers);
                    b.request_headers(&r.headers);
                    b.set(t);
                }
                Some(t)
            } else {
                None
            };

            if parts.egress() {
                ffi::lua_createtable(l, len_hint(d.egress.len()), 0);
                let egress = ffi::lua_gettop(l);
                for (i, e) in d.egress.iter().enumerate() {
                    b.entry(e);
                    ffi::lua_rawseti_(l, egress, len_hint(i + 1));
                }
                b.finish_array(egress, d.egress.len());
                if let Some(routing) = routing.filter(|_| parts.routing("egress_routing")) {
                    b.key(K::EgressRouting);
                    ffi::lua_pushvalue(l, egress);
                    b.set(routing);
                }
                if parts.key("egress_routing") {
                    b.key(K::EgressRouting);
                    ffi::lua_pushvalue(l, egress);
                    b.set(data);
                }
            }
            if let Some(routing) = routing {
                b.key(K::Routing);
                ffi::lua_pushvalue(l, routing);
                b.set(data);
            }
            ffi::lua_settop(l, data);
            if parts.headers() {
                b.key(K::Headers);
                b.header_list(&d.headers);
                b.set(data);
            }
            if parts.removes() {
                b.key(K::RemoveHeaders);
                b.remove_list(&d.remove_headers);
                b.set(data);
            }

            if !parts.ctx() {
                ffi::lua_pushnil(l);
                ffi::lua_replace(l, 2);
                ffi::lua_replace(l, 1);
                ffi::lua_settop(l, 2);
                return;
            }
            // ctx = { secrets = {...}, customer = { id = ... }, log = <log> }
            let c = b.new_table(Tmpl::Ctx);
            b.key(K::Secrets);
            ffi::lua_createtable(l, 0, len_hint(ctx.secrets.len()));
            if !set_toml_fields(l, &ctx.secrets, amt) {
                ok = false;
                return;
            }
            if js {
                js_key_order(l, ctx.secrets.keys().map(String::as_str), ctx.secrets.len());
            }
            b.set(c);
            b.key(K::Customer);
            let customer = b.new_table(Tmpl::CustomerT);
            b.set_str(customer, K::Id, &ctx.customer_id);
            b.set(c);
            b.key(K::Log);
            if js {
                ffi::lua_rawgeti_(l, 1, SLOT_CTX_LOG);
            } else {
                ffi::lua_pushvalue(l, 2);
            }
            b.set(c);
            // leave data, ctx
            ffi::lua_replace(l, 2);
            ffi::lua_replace(l, 1);
            ffi::lua_settop(l, 2);
        })
    };
    if !ok {
        return Err(mlua::Error::runtime(
            "vars or secrets nested too deeply for the script VM",
        ));
    }
    res
}

// ---- read back -----------------------------------------------------------------

/// A value read from the returned data, borrowed from the VM.
#[derive(Clone, Copy)]
enum Slot<'a> {
    Nil,
    Bool,
    Int(i64),
    Num(f64),
    Str(&'a [u8]),
    Table,
    Other(&'static str),
}

impl Slot<'_> {
    /// The Lua-facing type name (`number` for integers too).
    fn type_name(&self) -> &'static str {
        match self {
            Slot::Nil => "nil",
            Slot::Bool => "boolean",
            Slot::Int(_) | Slot::Num(_) => "number",
            Slot::Str(_) => "string",
            Slot::Table => "table",
            Slot::Other(t) => t,
        }
    }
}

/// Raw reads from the returned data (which stays on the stack while reading, so
/// every string borrowed from a table in it stays alive: nothing writes to those
/// tables meanwhile, and the Luau GC does not move objects).
///
/// Every accessor that returns a `Slot` leaves the value pushed; callers pop it
/// when done with it (on an error the whole stack is dropped by `exec_raw`).
struct Rd<'a> {
    l: *mut lua_State,
    /// Stack index of the key table.
    k: c_int,
    /// JavaScript shape: array lengths at `[0]`; `J.null`/`J.undef` (these
    /// identities, 0 when Lua-shaped) read as nil.
    js: bool,
    null_ptr: usize,
    undef_ptr: usize,
    _vm: PhantomData<&'a Lua>,
}

impl<'a> Rd<'a> {
    fn top(&self) -> c_int {
        // SAFETY: `l` is the running state (see `read_back`).
        unsafe { ffi::lua_gettop(self.l) }
    }

    fn pop(&self) {
        // SAFETY: callers pop only what they pushed.
        unsafe { ffi::lua_pop(self.l, 1) }
    }

    /// The length of the array at `t`: the raw length, or `[0]` for a
    /// JavaScript array.
    fn len(&self, t: c_int) -> c_int {
        // SAFETY: `t` is a table on the stack and a slot is free; raw reads never raise.
        unsafe {
            if self.js {
                ffi::lua_rawgeti_(self.l, t, 0);
                let mut isnum = 0;
                let n = ffi::lua_tonumberx(self.l, -1, &mut isnum);
                ffi::lua_pop(self.l, 1);
                if isnum != 0 && n >= 0.0 {
                    return if n >= c_int::MAX as f64 {
                        c_int::MAX
                    } else {
                        n as c_int
                    };
                }
            }
            let n = ffi::lua_objlen(self.l, t);
            c_int::try_from(n).unwrap_or(c_int::MAX)
        }
    }

    /// Pushes `t[k]` (raw) and returns it.
    fn field(&self, t: c_int, k: K) -> Slot<'a> {
        // SAFETY: `t` is a table on the stack and a slot is free (checked at entry
        // for the nesting depth the readers use); raw gets run no metamethod and
        // never allocate.
        unsafe {
            ffi::lua_rawgeti_(self.l, self.k, k as c_int);
            ffi::lua_rawget(self.l, t);
            self.slot()
        }
    }

    /// Pushes `t[i]` (raw) and returns it.
    fn index(&self, t: c_int, i: c_int) -> Slot<'a> {
        // SAFETY: as for `field`; integer raw gets never allocate.
        unsafe {
            ffi::lua_rawgeti_(self.l, t, i);
            self.slot()
        }
    }

    /// The value on top of the stack.
    unsafe fn slot(&self) -> Slot<'a> {
        let l = self.l;
        unsafe {
            match ffi::lua_type(l, -1) {
                ffi::LUA_TNIL | ffi::LUA_TNONE => Slot::Nil,
                ffi::LUA_TBOOLEAN => Slot::Bool,
                ffi::LUA_TNUMBER => number_slot(ffi::lua_tonumberx(l, -1, std::ptr::null_mut())),
                ffi::LUA_TINTEGER => Slot::Int(ffi::lua_tointeger64(l, -1, std::ptr::null_mut())),
                ffi::LUA_TSTRING => {
                    let mut len = 0usize;
                    let p = ffi::lua_tolstring(l, -1, &mut len);
                    if p.is_null() {
                        Slot::Str(&[])
                    } else {
                        Slot::Str(std::slice::from_raw_parts(p as *const u8, len))
                    }
                }
                ffi::LUA_TTABLE => {
                    let p = ffi::lua_topointer(l, -1) as usize;
                    if self.js && (p == self.null_ptr || p == self.undef_ptr) {
                        Slot::Nil
                    } else {
                        Slot::Table
                    }
                }
                ffi::LUA_TLIGHTUSERDATA => Slot::Other("lightuserdata"),
                ffi::LUA_TVECTOR => Slot::Other("vector"),
                ffi::LUA_TFUNCTION => Slot::Other("function"),
                ffi::LUA_TUSERDATA => Slot::Other("userdata"),
                ffi::LUA_TTHREAD => Slot::Other("thread"),
                ffi::LUA_TBUFFER => Slot::Other("buffer"),
                _ => Slot::Other("other"),
            }
        }
    }
}

/// A Luau number as mlua presents it: an integer when it is exactly one.
fn number_slot(n: f64) -> Slot<'static> {
    // i64's range is [-2^63, 2^63); `as` saturates, so check it first.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if (-TWO_63..TWO_63).contains(&n) {
        let i = n as i64;
        if (i as f64).to_bits() == n.to_bits() {
            return Slot::Int(i);
        }
    }
    Slot::Num(n)
}

/// The Lua-facing type name (`number` for integers too).
pub(crate) fn lua_type(v: &Value) -> &'static str {
    match v {
        Value::Integer(_) | Value::Number(_) => "number",
        Value::Error(_) => "error",
        other => other.type_name(),
    }
}

/// A string field (strings only), borrowed from the VM.
fn str_field<'a>(v: Slot<'a>, path: &dyn Fn() -> String) -> Result<Option<&'a str>, String> {
    match v {
        Slot::Nil => Ok(None),
        Slot::Str(s) => std::str::from_utf8(s)
            .map(Some)
            .map_err(|_| format!("{} is not valid UTF-8", path())),
        other => Err(format!(
            "{} is a {}, expected a string",
            path(),
            other.type_name()
        )),
    }
}

/// A string field (strings only).
fn string_field(v: Slot, path: &dyn Fn() -> String) -> Result<Option<String>, String> {
    str_field(v, path).map(|s| s.map(str::to_string))
}

/// A number-like field (`dest_number`, `cli`): string or integral number.
fn number_field(v: Slot, path: &dyn Fn() -> String) -> Result<Option<String>, String> {
    let s = match v {
        Slot::Int(i) => Some(i.to_string()),
        Slot::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => Some((n as i64).to_string()),
        Slot::Num(_) => {
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

fn header_name(v: Slot, path: &dyn Fn() -> String) -> Result<String, String> {
    let name = string_field(v, path)?.ok_or_else(|| format!("{} is missing", path()))?;
    if !is_token(&name) {
        return Err(format!("{} = {name:?} is not a valid header name", path()));
    }
    Ok(name)
}

/// `true` for a table, `false` for nil (an absent list), an error otherwise.
fn is_array_slot(v: Slot, path: &dyn Fn() -> String) -> Result<bool, String> {
    match v {
        Slot::Nil => Ok(false),
        Slot::Table => Ok(true),
        other => Err(format!(
            "{} is a {}, expected an array",
            path(),
            other.type_name()
        )),
    }
}

/// A header list `{ {key=, value=}, ... }`: `v` (pushed) is the list.
fn read_headers(
    rd: &Rd,
    v: Slot,
    path: &dyn Fn() -> String,
) -> Result<Vec<(String, String)>, String> {
    if !is_array_slot(v, path)? {
        return Ok(Vec::new());
    }
    let t = rd.top();
    let n = rd.len(t);
    let mut out = Vec::with_capacity(n.clamp(0, 1024) as usize);
    for i in 1..=n {
        let item = rd.index(t, i);
        let Slot::Table = item else {
            return Err(format!(
                "{}[{i}] is a {}, expected {{key=..., value=...}}",
                path(),
                item.type_name()
            ));
        };
        let h = rd.top();
        let name = header_name(rd.field(h, K::Key), &|| format!("{}[{i}].key", path()))?;
        rd.pop();
        let value = match rd.field(h, K::Value) {
            Slot::Int(i) => i.to_string(),
            Slot::Num(n) => n.to_string(),
            other => string_field(other, &|| format!("{}[{i}].value", path()))?
                .ok_or_else(|| format!("{}[{i}].value is missing", path()))?,
        };
        rd.pop();
        rd.pop(); // the item
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(format!(
                "{}[{i}].value contains control characters (CR/LF)",
                path()
            ));
        }
        out.push((name, value));
    }
    Ok(out)
}

/// A remove list `{ {key=} or "name", ... }`: `v` (pushed) is the list.
fn read_removes(rd: &Rd, v: Slot, path: &dyn Fn() -> String) -> Result<Vec<String>, String> {
    if !is_array_slot(v, path)? {
        return Ok(Vec::new());
    }
    let t = rd.top();
    let n = rd.len(t);
    let mut out = Vec::with_capacity(n.clamp(0, 1024) as usize);
    for i in 1..=n {
        let name = match rd.index(t, i) {
            Slot::Table => {
                let name = header_name(rd.field(rd.top(), K::Key), &|| {
                    format!("{}[{i}].key", path())
                })?;
                rd.pop();
                name
            }
            s @ Slot::Str(_) => header_name(s, &|| format!("{}[{i}]", path()))?,
            other => {
                return Err(format!(
                    "{}[{i}] is a {}, expected {{key=...}}",
                    path(),
                    other.type_name()
                ));
            }
        };
        rd.pop(); // the item
        out.push(name);
    }
    Ok(out)
}

/// One `egress_routing` entry; the entry table is on top of the stack.
fn read_entry(rd: &Rd, i: c_int, r: &Routing, cache: &mut Interned) -> Result<EgressEntry, String> {
    let e = rd.top();
    let gw_text = str_field(rd.field(e, K::Gateway), &|| {
        format!("egress_routing[{i}].gateway")
    })?
    .ok_or_else(|| {
        format!("egress_routing[{i}] has no gateway (\"host:port\" or \"host:port;transport=tcp\")")
    })?;
    let (gateway, gw_transport) = cache
        .gateway(gw_text)
        .map_err(|m| format!("egress_routing[{i}].gateway: {m}"))?;
    let has_params = gw_text.contains(';');
    rd.pop();
    let transport = if has_params {
        gw_transport
    } else {
        let t = str_field(rd.field(e, K::Transport), &|| {
            format!("egress_routing[{i}].transport")
        })?;
        let t = match t {
            None => Transport::Udp,
            Some(t) => Transport::parse(t).ok_or_else(|| {
                format!("egress_routing[{i}].transport = {t:?}: expected \"udp\" or \"tcp\"")
            })?,
        };
        rd.pop();
        t
    };
    let carrier = str_field(rd.field(e, K::Carrier), &|| {
        format!("egress_routing[{i}].carrier")
    })?
    .unwrap_or_default();
    let carrier = cache.carrier(carrier);
    rd.pop();
    let dest_number = number_field(rd.field(e, K::DestNumber), &|| {
        format!("egress_routing[{i}].dest_number")
    })?
    .unwrap_or_else(|| r.dest_number.clone());
    rd.pop();
    let cli = number_field(rd.field(e, K::Cli), &|| format!("egress_routing[{i}].cli"))?
        .unwrap_or_else(|| r.cli.clone());
    rd.pop();
    let headers = read_headers(rd, rd.field(e, K::Headers), &|| {
        format!("egress_routing[{i}].headers")
    })?;
    rd.pop();
    let remove_headers = read_removes(rd, rd.field(e, K::RemoveHeaders), &|| {
        format!("egress_routing[{i}].remove_headers")
    })?;
    rd.pop();
    Ok(EgressEntry {
        carrier,
        gateway,
        transport,
        dest_number,
        cli,
        headers,
        remove_headers,
    })
}

/// Entries kept per map in [`Interned`] before it starts over.
const INTERNED_MAX: usize = 1024;

/// Per-VM memo of pure conversions of returned strings: gateway text → parsed
/// `host:port` and its `;transport=` (or the default), carrier names → shared
/// strings. Saves parsing, formatting and allocating for the same few values call
/// after call; holds nothing a script can observe.
#[derive(Default)]
pub(crate) struct Interned {
    gateways: HashMap<Box<str>, (Arc<str>, Transport)>,
    carriers: HashMap<Box<str>, Arc<str>>,
}

impl Interned {
    fn gateway(&mut self, text: &str) -> Result<(Arc<str>, Transport), String> {
        if let Some((hp, t)) = self.gateways.get(text) {
            return Ok((hp.clone(), *t));
        }
        let gw: Gateway = text.parse()?;
        let hp: Arc<str> = Arc::from(gw.hostport());
        if self.gateways.len() >= INTERNED_MAX {
            self.gateways.clear();
        }
        self.gateways
            .insert(Box::from(text), (hp.clone(), gw.transport));
        Ok((hp, gw.transport))
    }

    fn carrier(&mut self, name: &str) -> Arc<str> {
        if let Some(c) = self.carriers.get(name) {
            return c.clone();
        }
        let c: Arc<str> = Arc::from(name);
        if self.carriers.len() >= INTERNED_MAX {
            self.carriers.clear();
        }
        self.carriers.insert(Box::from(name), c.clone());
        c
    }
}

type CallDataParts = (
    Option<Vec<EgressEntry>>,
    Option<Vec<(String, String)>>,
    Option<Vec<String>>,
);

/// Reads the returned data table at stack index `d`; the parts not built
/// are not read (`None`).
fn read_data(
    rd: &Rd,
    d: c_int,
    r: &Routing,
    cache: &mut Interned,
    parts: &Parts,
) -> Result<CallDataParts, String> {
    let egress = if parts.egress() {
        Some(read_egress(rd, d, r, cache)?)
    } else {
        None
    };
    let headers = if parts.headers() {
        let h = read_headers(rd, rd.field(d, K::Headers), &|| "headers".to_string())?;
        rd.pop();
        Some(h)
    } else {
        None
    };
    let remove_headers = if parts.removes() {
        let h = read_removes(rd, rd.field(d, K::RemoveHeaders), &|| {
            "remove_headers".to_string()
        })?;
        rd.pop();
        Some(h)
    } else {
        None
    };
    Ok((egress, headers, remove_headers))
}

/// `egress_routing` (or `routing.egress_routing`) of the returned data.
fn read_egress(
    rd: &Rd,
    d: c_int,
    r: &Routing,
    cache: &mut Interned,
) -> Result<Vec<EgressEntry>, String> {
    let mut egress_v = rd.field(d, K::EgressRouting);
    if let Slot::Nil = egress_v {
        rd.pop();
        egress_v = match rd.field(d, K::Routing) {
            Slot::Table => {
                let v = rd.field(rd.top(), K::EgressRouting);
                // SAFETY: drops `routing` from under the pushed value.
                unsafe { ffi::lua_remove(rd.l, -2) };
                v
            }
            _ => {
                rd.pop();
                // SAFETY: a free slot is available (checked at entry).
                unsafe { ffi::lua_pushnil(rd.l) };
                Slot::Nil
            }
        };
    }
    let egress = match egress_v {
        Slot::Nil => Vec::new(),
        Slot::Table => {
            let list = rd.top();
            let n = rd.len(list);
            let mut out = Vec::with_capacity(n.clamp(0, 1024) as usize);
            for i in 1..=n {
                match rd.index(list, i) {
                    Slot::Table => out.push(read_entry(rd, i, r, cache)?),
                    other => {
                        return Err(format!(
                            "egress_routing[{i}] is a {}, expected a table with at least a gateway",
                            other.type_name()
                        ));
                    }
                }
                rd.pop();
            }
            out
        }
        other => {
            return Err(format!(
                "egress_routing is a {}, expected an array of entries",
                other.type_name()
            ));
        }
    };
    rd.pop();
    Ok(egress)
}

/// Parses the returned data; `input` supplies routing, vars and the defaults.
/// `Err` is a VM failure; `Ok(Err(message))` a contract violation by the script.
pub(crate) fn read_back(
    lua: &Lua,
    codec: &mut Codec,
    value: &Value,
    input: CallData,
    shape: Shape,
    parts: &Parts,
) -> mlua::Result<Result<CallData, String>> {
    let (null_ptr, undef_ptr) = (codec.null_ptr, codec.undef_ptr);
    let Value::Table(t) = value else {
        return Ok(Err(format!(
            "main returned a {}; it must return the data table",
            lua_type(value)
        )));
    };
    let mut parsed: Option<Result<CallDataParts, String>> = None;
    let routing = &input.routing;
    let cache = &mut codec.interned;
    // SAFETY: the key table and the data table are the arguments (stack indexes
    // 1 and 2 of the protected call's frame). The readers nest at most 6 values deep and check each value's
    // type before treating it as a table; raw reads neither raise nor run Lua code.
    // Whatever the closure leaves on the stack is dropped by exec_raw.
    unsafe {
        lua.exec_raw::<()>((&codec.keys, t), |l| {
            if ffi::lua_checkstack(l, STACK_NEEDED) == 0 {
                return;
            }
            let rd = Rd {
                l,
                k: 1,
                js: shape == Shape::Js,
                null_ptr,
                undef_ptr,
                _vm: PhantomData,
            };
            parsed = Some(read_data(&rd, 2, routing, cache, parts));
            ffi::lua_settop(l, 0);
        })?;
    }
    let Some(parsed) = parsed else {
        return Err(mlua::Error::runtime("script VM stack exhausted"));
    };
    Ok(parsed.map(|(egress, headers, remove_headers)| CallData {
        routing: input.routing,
        egress: egress.unwrap_or(input.egress),
        headers: headers.unwrap_or(input.headers),
        remove_headers: remove_headers.unwrap_or(input.remove_headers),
        vars: input.vars,
    }))
}

const JSON_MAX_DEPTH: usize = 32;

/// A Luau number as JSON: integral values print without a fraction.
fn json_number(n: f64) -> serde_json::Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

/// The returned JavaScript-shaped data as JSON (for dry runs), as
/// `JSON.stringify` would print it: arrays by their length, objects in key
/// order, `undefined` members skipped (`null` in arrays), `null` as null.
pub(crate) fn to_json_js(codec: &Codec, v: &Value) -> serde_json::Value {
    js_json_value(codec, v, 0).unwrap_or(serde_json::Value::Null)
}

fn js_json_value(codec: &Codec, v: &Value, depth: usize) -> Option<serde_json::Value> {
    use serde_json::Value as J;
    Some(match v {
        Value::Nil => return None,
        Value::Boolean(b) => J::Bool(*b),
        Value::Integer(i) => J::from(*i),
        Value::Number(n) => json_number(*n),
        Value::String(s) => J::String(s.to_string_lossy()),
        Value::Table(t) => {
            let p = t.to_pointer() as usize;
            if p == codec.undef_ptr {
                return None;
            }
            if p == codec.null_ptr {
                return Some(J::Null);
            }
            if depth >= JSON_MAX_DEPTH {
                return Some(J::String("<nested too deeply>".into()));
            }
            let len = match t.raw_get::<Value>(0) {
                Ok(Value::Integer(n)) if t.metatable().is_some() => Some(n.max(0) as usize),
                Ok(Value::Number(n)) if t.metatable().is_some() => Some(n.max(0.0) as usize),
                _ => None,
            };
            if let Some(len) = len {
                let mut arr = Vec::with_capacity(len.min(4096));
                for i in 1..=len {
                    let item = t.raw_get::<Value>(i).unwrap_or(Value::Nil);
                    arr.push(js_json_value(codec, &item, depth + 1).unwrap_or(J::Null));
                }
                return Some(J::Array(arr));
            }
            let mut map = serde_json::Map::new();
            if let Ok(order) = t.raw_get::<Table>(true) {
                for key in order.sequence_values::<Value>().flatten() {
                    let Value::String(name) = &key else { continue };
                    let val = t.raw_get::<Value>(key.clone()).unwrap_or(Value::Nil);
                    if let Some(j) = js_json_value(codec, &val, depth + 1) {
                        map.insert(name.to_string_lossy(), j);
                    }
                }
            }
            J::Object(map)
        }
        Value::Function(_) => return None,
        Value::Error(e) => J::String(e.to_string()),
        other => J::String(format!("<{}>", other.type_name())),
    })
}

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
        Value::Number(n) => json_number(*n),
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
