//! The routing-script engine core (DESIGN.md §4): per-customer scripts run in a
//! sandboxed Luau VM, on a bounded pool of worker threads.
//!
//! Wiring into the SIP pipeline, config loading and the CLI live elsewhere; this
//! module only compiles scripts and runs them on one call.
//!
//! # API
//!
//! ```text
//! enum Lang { Lua }
//! struct Script { pub name: String, pub version: u64, pub lang: Lang, .. }
//! Script::compile_lua(name: &str, version: u64, source: &str) -> Result<Script, ScriptError>
//! Script::compile_lua_with(name, version, source, &Limits) -> Result<Script, ScriptError>
//! enum ScriptError { Compile { file, line, col, message } }      // "file:line:col: message"
//!
//! struct Limits { pub timeout: Duration, pub memory_bytes: usize }   // default 50 ms, 16 MiB
//! struct Routing { call_id, method, ruri, dest_number, cli, from_display: Option<String>,
//!                  from_uri, to_uri, pai: Option<String>, src_ip: IpAddr, src_port: u16,
//!                  transport: Transport, account_id, server, headers: Vec<(String, String)>,
//!                  time_ms: i64 }                                   // data.routing
//! struct CallData { pub routing: Routing, pub egress: Vec<EgressEntry>,
//!                   pub headers: Vec<(String, String)>, pub remove_headers: Vec<String>,
//!                   pub vars: Arc<toml::Table> }
//! struct CallCtx { pub customer_id: Arc<str>, pub secrets: Arc<toml::Table> }
//! enum Outcome { Continue(CallData), Reject { code: u16, reason: String },
//!                Timeout, MemoryExceeded, Failed { message: String } }
//! struct RunReport { pub outcome: Outcome, pub console: Vec<String>, pub elapsed: Duration,
//!                    pub returned_json: Option<serde_json::Value> }
//! struct Overloaded;
//!
//! Engine::new(workers: usize, queue: usize) -> Engine
//! async Engine::run(&self, chain: Vec<Arc<Script>>, data: CallData, ctx: CallCtx,
//!                   limits: Limits, want_json: bool) -> Result<RunReport, Overloaded>
//! Engine::run_blocking(chain: &[Arc<Script>], data: CallData, ctx: &CallCtx,
//!                      limits: &Limits, want_json: bool) -> RunReport   // current thread
//! ```
//!
//! The caller maps `Reject` to that status, `Timeout`/`MemoryExceeded` to the
//! customer's `timeout_action`, `Failed` to `500 Server Internal Error` (logging
//! `message`, which names the script and line), and `Err(Overloaded)` to 503.
//!
//! # The data contract
//!
//! `main(data, ctx)` receives `data` as DESIGN.md §4 shows. `data.egress_routing`
//! and `data.routing.egress_routing` are the same table. `pai` and `from_display`
//! are nil when absent. Repeated request headers in `routing.headers` are joined
//! with `", "`. The customer's `vars` are copied in first (fresh tables every call,
//! so a script may modify them), then the contract fields, which win on a clash.
//! `ctx` is `{ secrets = {...}, customer = { id = "..." }, log = function }`.
//! `print(...)` and `ctx.log(...)` append one console line each (arguments joined
//! with tabs; at most 200 lines / 64 KiB per call, then a truncation marker).
//!
//! The returned table is read back strictly: `egress_routing` (if a script
//! replaced only one of the two aliases, the replaced one wins), each entry's
//! `gateway` (`host[:port][;transport=udp|tcp]`, required), `transport` (used when
//! the gateway has no `;transport=`; default udp), `carrier` (default ""),
//! `dest_number`/`cli` (strings or integral numbers; default the call's), entry
//! and top-level `headers` (`{key=, value=}`) and `remove_headers` (`{key=}`).
//! Header names must be tokens and values must not contain control characters
//! (no header injection); numbers must not contain whitespace, `@`, `<`, `>` or
//! control characters. Anything else is `Failed` with a message naming the field.
//! In a chain each script receives the exact table the previous one returned; the
//! data is parsed once at the end and a problem is attributed to the last script.
//!
//! # Errors
//!
//! `error('404 Not Found')` (the `file:line: ` position prefix is stripped),
//! `error('404 Not Found', 0)`, `error({code=404, reason='Not Found'})` (reason
//! defaults to the standard phrase) and `error({404, 'Not Found'})` give
//! `Reject`; the code must be 300..=699 and the string must look like
//! `NNN Reason`, otherwise the call `Failed`.
//!
//! # VM and isolation strategy
//!
//! One Luau state per worker thread, shared by every customer, made safe by:
//! * Luau sandbox mode: every library, builtin metatable and the global table are
//!   read-only; `io`, `debug`, `require`, `load`, `loadstring`, `getfenv`,
//!   `setfenv`, `collectgarbage`, `dofile`, `loadfile`, `gcinfo` are removed and
//!   `os` keeps only `time`, `clock`, `date`.
//! * A fresh environment table per (call, script) whose `__index` is the read-only
//!   globals, set as the environment of the cached chunk function; the chunk is then
//!   run (so script-level locals/upvalues are fresh) and `env.main` is called. The
//!   environment is marked "safeenv" like Luau's own `luaL_sandboxthread` does, so
//!   imported builtins (`string.sub`, `math.floor`) keep their fast paths; the
//!   compiler never treats a global the script assigns as an import, so that is
//!   sound. Nothing a script can write outlives its call.
//! * Bytecode is compiled once per script version ([`Script`]); each worker loads
//!   it into its state once and caches the function (dropped once the `Script` is).
//! * Limits per call: a deadline checked by Luau's interrupt (called at loop back
//!   edges, calls, and inside the pattern matcher) → `Timeout`, and a memory limit
//!   of (memory in use at call start + `memory_bytes`) → `MemoryExceeded`; large
//!   built-in allocations (`string.rep("x", 1e9)`, `table.create`) fail on the
//!   limit. After a stop (or any internal error) the worker discards its VM and
//!   builds a new one, so nothing half-done survives.
//!
//! One state per worker rather than per (worker, script): a Luau state costs
//! ~100+ KiB, so per-script states would cost workers × customers of them; the
//! per-call environment gives the same isolation at a fraction of the memory, and
//! the per-call memory delta gives each run the same budget a dedicated VM would.

mod data;
pub mod dry_run;
mod engine;
pub mod set;
pub mod store;
mod vm;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::routing::EgressEntry;
use crate::transport::Transport;

pub use engine::{Engine, Overloaded};
pub use set::{LoadError, ScriptSet};

/// Source language of a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Lua, run as Luau.
    Lua,
    /// JavaScript, transpiled to Luau ([`crate::js`]) and run on the JavaScript
    /// runtime with JavaScript-shaped data.
    Js,
}

static NEXT_SCRIPT_ID: AtomicU64 = AtomicU64::new(1);

/// A compiled script version: Luau bytecode, compiled once and shared by every worker.
#[derive(Debug)]
pub struct Script {
    /// Display name used in errors and chunk positions, e.g. `scripts/acme.lua`.
    pub name: String,
    /// Version number (caller-defined; shown in logs).
    pub version: u64,
    /// Source language.
    pub lang: Lang,
    /// Process-unique identity (worker caches key on it).
    id: u64,
    bytecode: Vec<u8>,
    /// What the script reads of `data`/`ctx` when the translator proved it
    /// (JavaScript only): the VM builds just that.
    uses: Option<crate::js::DataUse>,
    /// The top level only defines functions and constants (JavaScript, proven
    /// by the translator): each VM runs it once and keeps `main`.
    reuse_main: bool,
}

impl Script {
    /// Whether running this script may read `data.routing.headers` (the
    /// request's header map); false only when the translator proved it
    /// does not.
    pub fn reads_request_headers(&self) -> bool {
        self.uses.as_ref().is_none_or(|u| {
            u.keys.contains("routing") && u.routing.as_ref().is_none_or(|r| r.contains("headers"))
        })
    }

    /// Compiles Lua source and checks, in a scratch sandboxed VM with default
    /// [`Limits`], that running it defines a global function `main`.
    pub fn compile_lua(name: &str, version: u64, source: &str) -> Result<Script, ScriptError> {
        Script::compile_lua_with(name, version, source, &Limits::default())
    }

    /// Transpiles JavaScript ([`crate::js::transpile`]) and compiles the result
    /// like [`Script::compile_lua`]; errors point into the JavaScript source.
    pub fn compile_js(name: &str, version: u64, source: &str) -> Result<Script, ScriptError> {
        Script::compile_js_with(name, version, source, &Limits::default())
    }

    /// [`Script::compile_js`] with explicit limits for the definition check.
    pub fn compile_js_with(
        name: &str,
        version: u64,
        source: &str,
        limits: &Limits,
    ) -> Result<Script, ScriptError> {
        let t = crate::js::translate(name, source).map_err(|e| ScriptError::Compile {
            file: e.file,
            line: e.line,
            col: e.col,
            message: e.message,
        })?;
        let mut script = Script::compile(name, version, &t.luau, Lang::Js, limits)?;
        script.uses = t.uses;
        script.reuse_main = t.pure_top_level;
        Ok(script)
    }

    /// [`Script::compile_lua`] with explicit limits for the definition check.
    pub fn compile_lua_with(
        name: &str,
        version: u64,
        source: &str,
        limits: &Limits,
    ) -> Result<Script, ScriptError> {
        Script::compile(name, version, source, Lang::Lua, limits)
    }

    fn compile(
        name: &str,
        version: u64,
        source: &str,
        lang: Lang,
        limits: &Limits,
    ) -> Result<Script, ScriptError> {
        let compiler = mlua::chunk::Compiler::new()
            .set_optimization_level(2)
            .set_debug_level(1);
        let bytecode = compiler.compile(source).map_err(|e| match e {
            mlua::Error::SyntaxError { message, .. } => compile_error(name, &message),
            other => ScriptError::Compile {
                file: name.to_string(),
                line: 1,
                col: 1,
                message: other.to_string(),
            },
        })?;
        let script = Script {
            name: name.to_string(),
            version,
            lang,
            id: NEXT_SCRIPT_ID.fetch_add(1, Ordering::Relaxed),
            bytecode,
            uses: None,
            reuse_main: false,
        };
        vm::check_defines_main(&script, limits)?;
        Ok(script)
    }
}

/// Parses Luau's `:LINE: message` (compile errors) or `name:LINE: message`.
fn compile_error(file: &str, message: &str) -> ScriptError {
    let rest = message.strip_prefix(file).unwrap_or(message);
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (line, text) = match (
        rest[..digits].parse::<u32>(),
        rest[digits..].strip_prefix(':'),
    ) {
        (Ok(line), Some(text)) => (line, text.trim()),
        _ => (1, message.trim()),
    };
    ScriptError::Compile {
        file: file.to_string(),
        line,
        col: 1,
        message: text.to_string(),
    }
}

/// A script that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// Syntax error, an error while defining, or no `main` (`col` is 1 when Luau gives none).
    #[error("{file}:{line}:{col}: {message}")]
    Compile {
        file: String,
        line: u32,
        col: u32,
        message: String,
    },
}

/// Per-call limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall time for the whole chain.
    pub timeout: Duration,
    /// Bytes the call may allocate in the VM beyond what it held at call start.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout: Duration::from_millis(50),
            memory_bytes: 16 << 20,
        }
    }
}

/// `data.routing`: the call as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    pub call_id: String,
    pub method: String,
    pub ruri: String,
    pub dest_number: String,
    pub cli: String,
    /// nil in Lua when absent.
    pub from_display: Option<String>,
    pub from_uri: String,
    pub to_uri: String,
    /// nil in Lua when absent.
    pub pai: Option<String>,
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub transport: Transport,
    pub account_id: String,
    pub server: String,
    /// Request headers (name, value) in message order; repeated names are joined
    /// with `", "` in `data.routing.headers`.
    pub headers: Vec<(String, String)>,
    /// Milliseconds since the Unix epoch.
    pub time_ms: i64,
}

/// Everything `data` is built from, and (in [`Outcome::Continue`]) what the
/// script chain returned.
#[derive(Debug, Clone, PartialEq)]
pub struct CallData {
    pub routing: Routing,
    /// `data.egress_routing`.
    pub egress: Vec<EgressEntry>,
    /// `data.headers`: added on every attempt.
    pub headers: Vec<(String, String)>,
    /// `data.remove_headers`: removed on every attempt.
    pub remove_headers: Vec<String>,
    /// The customer's vars, merged at the top level of `data`.
    pub vars: Arc<toml::Table>,
}

/// `ctx`.
#[derive(Debug, Clone)]
pub struct CallCtx {
    pub customer_id: Arc<str>,
    pub secrets: Arc<toml::Table>,
}

/// How a run ended.
// `Continue` is the common case; boxing it would add an allocation per call.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The returned data, parsed: `routing` and `vars` are the input's, `egress`,
    /// `headers` and `remove_headers` are the script's.
    Continue(CallData),
    /// The script threw a SIP status (300..=699).
    Reject { code: u16, reason: String },
    /// The chain ran past `Limits::timeout`.
    Timeout,
    /// The chain exceeded `Limits::memory_bytes`.
    MemoryExceeded,
    /// Anything else; `message` names the script and line (for logs and dry runs).
    Failed { message: String },
}

/// The result of one run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub outcome: Outcome,
    /// `print` / `ctx.log` lines.
    pub console: Vec<String>,
    /// Time spent running on the worker (queue wait excluded).
    pub elapsed: Duration,
    /// The returned data as JSON (only when asked and the chain completed).
    pub returned_json: Option<serde_json::Value>,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Continue(d) => write!(f, "continue with {} egress entries", d.egress.len()),
            Outcome::Reject { code, reason } => write!(f, "reject {code} {reason}"),
            Outcome::Timeout => f.write_str("timeout"),
            Outcome::MemoryExceeded => f.write_str("memory limit exceeded"),
            Outcome::Failed { message } => write!(f, "failed: {message}"),
        }
    }
}

#[cfg(test)]
mod tests;
