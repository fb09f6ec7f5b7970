//! One sandboxed Luau state and the per-call run (see the module docs for the strategy).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState, ffi};

use super::data::{self, Shape};
use super::{CallCtx, CallData, Lang, Limits, Outcome, RunReport, Script, ScriptError};

/// mlua's interrupt handler for our closure (the same function for every VM:
/// one closure type), called by [`sampled_interrupt`] one time in
/// [`INTERRUPT_EVERY`].
static MLUA_INTERRUPT: std::sync::OnceLock<unsafe extern "C-unwind" fn(*mut ffi::lua_State, i32)> =
    std::sync::OnceLock::new();

/// Luau calls the interrupt at every call, return and loop back edge; reading
/// the clock (and entering mlua's protected callback) each time costs more than
/// a small script's own work, so only one interrupt in this many checks the
/// deadline. A stuck loop is still stopped within this many iterations of it.
const INTERRUPT_EVERY: u32 = 64;

thread_local! {
    static INTERRUPT_TICKS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    /// Set once this thread's running call is past its deadline (until the next
    /// call is armed): from then on every interrupt raises, so a script that
    /// catches the timeout error with `pcall` is stopped again at once.
    static INTERRUPT_STOPPING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

unsafe extern "C-unwind" fn sampled_interrupt(state: *mut ffi::lua_State, gc: std::ffi::c_int) {
    if gc >= 0 {
        return;
    }
    let tick = INTERRUPT_TICKS.with(|t| {
        let n = t.get().wrapping_add(1);
        t.set(n);
        n
    });
    if !tick.is_multiple_of(INTERRUPT_EVERY) && !INTERRUPT_STOPPING.with(std::cell::Cell::get) {
        return;
    }
    if let Some(f) = MLUA_INTERRUPT.get() {
        // SAFETY: mlua's own handler, called as Luau would call it.
        unsafe { f(state, gc) }
    }
}

/// Puts [`sampled_interrupt`] in front of the handler `set_interrupt` installed.
fn install_sampled_interrupt(lua: &Lua) -> mlua::Result<()> {
    // SAFETY: reads and writes the interrupt slot of this state's callbacks
    // (shared by all its threads) while nothing runs in it.
    unsafe {
        lua.exec_raw::<()>((), |l| {
            let cb = ffi::lua_callbacks(l);
            if let Some(f) = (*cb).interrupt
                && f as usize != sampled_interrupt as *const () as usize
            {
                let _ = MLUA_INTERRUPT.set(f);
                (*cb).interrupt = Some(sampled_interrupt);
            }
        })
    }
}

/// The data representation a script sees.
fn shape_of(script: &Script) -> Shape {
    match script.lang {
        Lang::Lua => Shape::Lua,
        Lang::Js => Shape::Js,
    }
}

/// Message of the error the interrupt raises (recognised through [`Guard::timed_out`]).
const TIMEOUT_MESSAGE: &str = "script timed out";
/// Console caps per call.
const CONSOLE_MAX_LINES: usize = 200;
const CONSOLE_MAX_BYTES: usize = 64 << 10;
/// Sweep dead script functions out of the cache every this many runs.
const SWEEP_EVERY: u64 = 1024;

/// Deadline shared with the interrupt callback.
struct Guard {
    base: Instant,
    /// Nanoseconds since `base`; `u64::MAX` = no deadline.
    deadline_ns: AtomicU64,
    timed_out: AtomicBool,
}

impl Guard {
    fn expired(&self) -> bool {
        let deadline = self.deadline_ns.load(Ordering::Relaxed);
        if deadline == u64::MAX {
            return false;
        }
        if self.base.elapsed().as_nanos() as u64 >= deadline {
            self.timed_out.store(true, Ordering::Relaxed);
            INTERRUPT_STOPPING.with(|s| s.set(true));
            return true;
        }
        false
    }

    fn arm(&self, start: Instant, limits: &Limits) {
        let at = start.saturating_duration_since(self.base) + limits.timeout;
        let ns = u64::try_from(at.as_nanos()).unwrap_or(u64::MAX - 1);
        self.timed_out.store(false, Ordering::Relaxed);
        INTERRUPT_STOPPING.with(|s| s.set(false));
        self.deadline_ns.store(ns, Ordering::Relaxed);
    }

    fn disarm(&self) {
        self.deadline_ns.store(u64::MAX, Ordering::Relaxed);
    }
}

/// Console lines captured during one call (Lua app data).
#[derive(Default)]
struct Console {
    lines: Vec<String>,
    bytes: usize,
    truncated: bool,
}

impl Console {
    fn push(&mut self, line: String) {
        if self.truncated {
            return;
        }
        if self.lines.len() >= CONSOLE_MAX_LINES || self.bytes + line.len() > CONSOLE_MAX_BYTES {
            self.truncated = true;
            self.lines
                .push("... (console output truncated)".to_string());
            return;
        }
        self.bytes += line.len();
        self.lines.push(line);
    }
}

/// Runs one script of a chain: the chunk (fresh upvalues), then `env.main(data, ctx)`.
/// If `main` returned a table whose `egress_routing` and `routing.egress_routing`
/// no longer agree, the one the script replaced wins and both point at it again
/// (best effort: a frozen table is left alone).
const TRAMPOLINE: &str = r#"
local pcall, rawget, rawset, rawequal, type = pcall, rawget, rawset, rawequal, type
local function same(a, b) return type(a) == "table" and rawequal(a, b) end
local function unify(data, orig)
  local top = rawget(data, "egress_routing")
  local routing = rawget(data, "routing")
  if type(routing) ~= "table" then return end
  local nested = rawget(routing, "egress_routing")
  if same(top, nested) then return end
  if (top == nil or same(top, orig)) and type(nested) == "table" and not same(nested, orig) then
    pcall(rawset, data, "egress_routing", nested)
  elseif top ~= nil then
    pcall(rawset, routing, "egress_routing", top)
  end
end
return function(chunk, env, data, ctx, once)
  local orig = if type(data) == "table" then rawget(data, "egress_routing") else nil
  -- A script whose top level only defines functions and constants keeps
  -- its `main` in its per-VM cache after the first run (`once.reuse`).
  local main = if once ~= nil then rawget(once, "main") else nil
  if main == nil then
    local ok, err = pcall(chunk, once)
    if not ok then return 1, err end
    main = rawget(env, "main")
    if type(main) ~= "function" then return 2 end
    if once ~= nil and rawget(once, "reuse") then rawset(once, "main", main) end
  end
  local ok2, res = pcall(main, data, ctx)
  if not ok2 then return 1, res end
  if type(res) == "table" then unify(res, orig) end
  return 0, res
end
"#;

/// A sandboxed Luau state with its caches.
pub(crate) struct Vm {
    lua: Lua,
    /// `__js.tolua` / `__js.fromlua`: data crossing between Lua and JavaScript
    /// scripts of one chain.
    to_lua: Function,
    from_lua: Function,
    guard: Arc<Guard>,
    /// `{ __index = <read-only globals> }`, read-only; metatable of every call env.
    env_meta: Table,
    trampoline: Function,
    codec: data::Codec,
    /// Loaded chunks by script id, each with its cache of values built once
    /// per VM (a table for translated JavaScript, whose top level reads it as
    /// its first argument; nil for Lua, whose scripts never see it).
    chunks: HashMap<u64, (Weak<Script>, Chunk)>,
    runs: u64,
    /// Set after a stop or an internal error: the owner must replace this VM.
    pub(crate) poisoned: bool,
}

/// A script loaded into one VM.
#[derive(Clone)]
struct Chunk {
    f: Function,
    /// Values the script's top level builds once per VM (see `chunks`).
    once: Value,
    /// A reusable top level's one environment (set on `f` at load): after
    /// its first run `main` is kept in `once` and calls need no fresh
    /// environment. `None`: a fresh environment per call.
    env: Option<Table>,
}

/// Pushes a fresh call environment — a table whose metatable is the one at
/// stack index `meta` (`env_meta`), marked safe — and makes it the
/// environment of the chunk function at index `chunk` (two slots used).
///
/// "safeenv", as luaL_sandboxthread does for its proxy: imported builtins
/// keep their fast paths. Sound because the globals behind it are read-only
/// and the compiler never treats a global the script writes as an import.
///
/// # Safety
/// `l` is the running state inside a protected call; `meta` is a table and
/// `chunk` a Lua function on its stack, with two free slots.
unsafe fn push_env(l: *mut ffi::lua_State, meta: std::ffi::c_int, chunk: std::ffi::c_int) {
    unsafe {
        ffi::lua_createtable(l, 0, 4);
        let env = ffi::lua_gettop(l);
        ffi::lua_pushvalue(l, meta);
        ffi::lua_setmetatable(l, env);
        ffi::lua_setsafeenv(l, env, 1);
        ffi::lua_pushvalue(l, env);
        ffi::lua_setfenv(l, chunk);
    }
}

/// The trampoline's `(code, value)` as a [`Step`].
fn step_of(code: u8, value: Value) -> Step {
    match code {
        0 => Step::Returned(value),
        2 => Step::NoMain,
        _ => Step::Error(value),
    }
}

/// How one script of the chain ended.
enum Step {
    Returned(Value),
    Error(Value),
    NoMain,
}

impl Vm {
    pub(crate) fn new() -> mlua::Result<Vm> {
        let libs = StdLib::STRING
            | StdLib::TABLE
            | StdLib::MATH
            | StdLib::UTF8
            | StdLib::BIT
            | StdLib::OS
            | StdLib::BUFFER
            | StdLib::COROUTINE
            | StdLib::DEBUG;
        let lua = Lua::new_with(libs, LuaOptions::new())?;
        lua.set_app_data(Console::default());
        // The JavaScript runtime (global `__js`), loaded while `debug` still exists (the
        // runtime keeps `debug.info` for error lines) and before the sandbox
        // makes the globals read-only; its console lines go to the same capture.
        let js_log = lua.create_function(|lua, line: mlua::LuaString| {
            if let Some(mut console) = lua.app_data_mut::<Console>() {
                console.push(line.to_string_lossy());
            }
            Ok(())
        })?;
        let js = crate::js::runtime::install(&lua, js_log)?;
        let to_lua: Function = js.raw_get("tolua")?;
        let from_lua: Function = js.raw_get("fromlua")?;

        let globals = lua.globals();
        for name in [
            "require",
            "load",
            "loadstring",
            "getfenv",
            "setfenv",
            "debug",
            "collectgarbage",
            "dofile",
            "loadfile",
            "gcinfo",
            "io",
        ] {
            globals.raw_set(name, Value::Nil)?;
        }
        let os: Table = globals.raw_get("os")?;
        let safe_os = lua.create_table_with_capacity(0, 3)?;
        for name in ["time", "clock", "date"] {
            safe_os.raw_set(name, os.raw_get::<Value>(name)?)?;
        }
        globals.raw_set("os", safe_os)?;
        let log_fn = lua.create_function(|lua, args: MultiValue| {
            let mut line = String::new();
            for (i, v) in args.iter().enumerate() {
                if i > 0 {
                    line.push('\t');
                }
                line.push_str(&v.to_string()?);
            }
            if let Some(mut console) = lua.app_data_mut::<Console>() {
                console.push(line);
            }
            Ok(())
        })?;
        globals.raw_set("print", log_fn.clone())?;
        lua.sandbox(true)?;
        // Every call's data and environment are garbage once it returns:
        // collect less often (the heap may grow to 4x what is live before a
        // cycle, Luau's default is 2x) — each VM holds a few MiB at most.
        lua.gc_set_mode(mlua::state::GcMode::Incremental(
            mlua::state::GcIncParams::default().goal(400),
        ));
        // sandbox() replaced this thread's globals with a writable proxy whose
        // metatable reads from the (now read-only) real globals.
        let real_globals: Table = lua
            .globals()
            .metatable()
            .ok_or_else(|| mlua::Error::runtime("sandbox proxy has no metatable"))?
            .raw_get("__index")?;
        let env_meta = lua.create_table_with_capacity(0, 1)?;
        env_meta.raw_set("__index", real_globals)?;
        env_meta.set_readonly(true);

        let guard = Arc::new(Guard {
            base: Instant::now(),
            deadline_ns: AtomicU64::new(u64::MAX),
            timed_out: AtomicBool::new(false),
        });
        let g = guard.clone();
        lua.set_interrupt(move |_| {
            if g.expired() {
                Err(mlua::Error::runtime(TIMEOUT_MESSAGE))
            } else {
                Ok(VmState::Continue)
            }
        });
        install_sampled_interrupt(&lua)?;

        let trampoline: Function = lua.load(TRAMPOLINE).set_name("=sipforge").call(())?;
        let codec = data::Codec::new(&lua, &log_fn, Some(&js))?;
        Ok(Vm {
            lua,
            to_lua,
            from_lua,
            guard,
            env_meta,
            trampoline,
            codec,
            chunks: HashMap::new(),
            runs: 0,
            poisoned: false,
        })
    }

    /// The cached chunk of `script` in this state (loaded on first use).
    fn chunk(&mut self, script: &Arc<Script>) -> mlua::Result<Chunk> {
        if let Some((_, c)) = self.chunks.get(&script.id) {
            return Ok(c.clone());
        }
        let f = self
            .lua
            .load(&script.bytecode[..])
            .set_name(format!("@{}", script.name))
            .set_mode(mlua::chunk::ChunkMode::Binary)
            .into_function()?;
        let once = match shape_of(script) {
            Shape::Js => {
                let t = self.lua.create_table()?;
                if script.reuse_main {
                    t.raw_set("reuse", true)?;
                }
                Value::Table(t)
            }
            Shape::Lua => Value::Nil,
        };
        // A reusable top level runs once, in an environment made here.
        let env = if script.reuse_main {
            // SAFETY: the arguments sit at stack indexes 1 (the chunk) and 2
            // (env_meta); the closure pushes three values (LUA_MINSTACK
            // free) and leaves the fresh environment as the one result.
            // Nothing raises but out-of-memory, caught by the protected call.
            Some(unsafe {
                self.lua.exec_raw::<Table>((&f, &self.env_meta), |l| {
                    push_env(l, 2, 1);
                    ffi::lua_replace(l, 1);
                    ffi::lua_settop(l, 1);
                })?
            })
        } else {
            None
        };
        let c = Chunk { f, once, env };
        self.chunks
            .insert(script.id, (Arc::downgrade(script), c.clone()));
        Ok(c)
    }

    fn sweep(&mut self) {
        self.chunks.retain(|_, (w, _)| w.strong_count() > 0);
    }

    /// Runs one script in a fresh environment (a table whose metatable is
    /// `env_meta`, marked safe) set as the chunk's environment: the trampoline
    /// runs the chunk (fresh upvalues) and calls `env.main(data, ctx)`.
    fn step(&self, chunk: &Chunk, data: Value, ctx: &Value) -> mlua::Result<Step> {
        if let Some(env) = &chunk.env {
            // SAFETY: as below, with the chunk's own environment already set:
            // the trampoline runs the chunk only while `once` has no `main`.
            let (code, value): (u8, Value) = unsafe {
                self.lua.exec_raw(
                    (&self.trampoline, &chunk.f, env, data, ctx, &chunk.once),
                    |l| ffi::lua_call(l, 5, 2),
                )?
            };
            return Ok(step_of(code, value));
        }
        // SAFETY: the arguments sit at stack indexes 1..=6 of the protected call's
        // frame (trampoline, chunk, env_meta, data, ctx, once), which has LUA_MINSTACK
        // free slots; the closure uses two. The environment is a fresh table and
        // the chunk a Lua function, so nothing but the trampoline call can raise,
        // and its errors (a timeout outside the script's own pcall, out of memory)
        // are caught by the surrounding protected call. The closure owns nothing
        // that an unwinding error would skip dropping.
        let (code, value): (u8, Value) = unsafe {
            self.lua.exec_raw(
                (
                    &self.trampoline,
                    &chunk.f,
                    &self.env_meta,
                    data,
                    ctx,
                    &chunk.once,
                ),
                |l| {
                    push_env(l, 3, 2);
                    ffi::lua_replace(l, 3); // trampoline(chunk, env, data, ctx, once)
                    ffi::lua_call(l, 5, 2);
                },
            )?
        };
        Ok(step_of(code, value))
    }

    /// Runs the chain on one call.
    pub(crate) fn run(
        &mut self,
        chain: &[Arc<Script>],
        data: CallData,
        ctx: &CallCtx,
        limits: &Limits,
        want_json: bool,
    ) -> RunReport {
        let start = Instant::now();
        self.runs += 1;
        if self.runs.is_multiple_of(SWEEP_EVERY) {
            self.sweep();
        }
        let (outcome, returned_json) = self.run_inner(chain, data, ctx, limits, want_json, start);
        self.guard.disarm();
        let _ = self.lua.set_memory_limit(0);
        if matches!(outcome, Outcome::Timeout | Outcome::MemoryExceeded) {
            self.poisoned = true;
        }
        let console = self
            .lua
            .app_data_mut::<Console>()
            .map(|mut c| {
                let lines = std::mem::take(&mut c.lines);
                *c = Console::default();
                lines
            })
            .unwrap_or_default();
        RunReport {
            outcome,
            console,
            elapsed: start.elapsed(),
            returned_json,
        }
    }

    fn run_inner(
        &mut self,
        chain: &[Arc<Script>],
        data: CallData,
        ctx: &CallCtx,
        limits: &Limits,
        want_json: bool,
        start: Instant,
    ) -> (Outcome, Option<serde_json::Value>) {
        // Load everything first so bytecode loading does not count against the call.
        let mut chunks = Vec::with_capacity(chain.len());
        for script in chain {
            match self.chunk(script) {
                Ok(f) => chunks.push(f),
                Err(e) => {
                    self.poisoned = true;
                    return (
                        Outcome::Failed {
                            message: format!("{}: cannot load: {e}", script.name),
                        },
                        None,
                    );
                }
            }
        }
        let Some(last) = chain.last() else {
            return (Outcome::Continue(data), None);
        };

        // Build `data` and `ctx` (one raw call into the VM) before the memory limit
        // is set: the builder relies on allocation not failing.
        // One translated script whose reads of `data` are known: build only
        // those parts (a dry run shows the whole returned data: all of it).
        let parts = match chain {
            [only] if !want_json => data::Parts(only.uses.as_ref()),
            _ => data::Parts::ALL,
        };
        let built = data::build(
            &self.lua,
            &self.codec,
            &data,
            ctx,
            shape_of(&chain[0]),
            &parts,
        );
        let (table, ctx_table) = match built {
            Ok(b) => b,
            Err(e) => return (self.classify_internal(&e), None),
        };

        let used = self.lua.used_memory();
        let _ = self
            .lua
            .set_memory_limit(used.saturating_add(limits.memory_bytes.max(1)));
        self.guard.arm(start, limits);
        let result = self.run_steps(chain, &chunks, table, &ctx_table);
        let _ = self.lua.set_memory_limit(0);
        self.guard.disarm();
        let value = match result {
            Ok(Ok(v)) => v,
            Ok(Err(outcome)) => return (outcome, None),
            Err(e) => return (self.classify_internal(&e), None),
        };
        // The chain completed; a script that caught the timeout error and returned
        // anyway still timed out.
        if self.guard.timed_out.load(Ordering::Relaxed) {
            return (Outcome::Timeout, None);
        }
        let shape = shape_of(last);
        let json = match (want_json, shape) {
            (false, _) => None,
            (true, Shape::Lua) => Some(data::to_json(&value)),
            (true, Shape::Js) => Some(data::to_json_js(&self.codec, &value)),
        };
        let outcome = match data::read_back(&self.lua, &mut self.codec, &value, data, shape, &parts)
        {
            Ok(Ok(d)) => Outcome::Continue(d),
            Ok(Err(message)) => Outcome::Failed {
                message: format!("{}: {message}", last.name),
            },
            Err(e) => self.classify_internal(&e),
        };
        (outcome, json)
    }

    /// `Ok(Ok(data))`, `Ok(Err(outcome))` for a script-caused stop, `Err` for an
    /// error outside the scripts' protected calls.
    fn run_steps(
        &self,
        chain: &[Arc<Script>],
        chunks: &[Chunk],
        table: Table,
        ctx_table: &Value,
    ) -> mlua::Result<Result<Value, Outcome>> {
        let mut value = Value::Table(table);
        let mut shape = chain.first().map_or(Shape::Lua, |s| shape_of(s));
        for (script, chunk) in chain.iter().zip(chunks) {
            let want = shape_of(script);
            if want != shape {
                let convert = match want {
                    Shape::Lua => &self.to_lua,
                    Shape::Js => &self.from_lua,
                };
                value = convert.call(value)?;
                shape = want;
            }
            match self.step(chunk, value, ctx_table)? {
                Step::Returned(Value::Table(t)) => {
                    value = Value::Table(t);
                }
                Step::Returned(other) => {
                    if let Some(o) = self.stopped() {
                        return Ok(Err(o));
                    }
                    let what = if other.is_nil() {
                        "nothing".to_string()
                    } else {
                        format!("a {}", super::data::lua_type(&other))
                    };
                    return Ok(Err(Outcome::Failed {
                        message: format!(
                            "{}: main returned {what}; it must return the data table",
                            script.name
                        ),
                    }));
                }
                Step::NoMain => {
                    return Ok(Err(Outcome::Failed {
                        message: format!("{}: script does not define main(data, ctx)", script.name),
                    }));
                }
                Step::Error(err) => {
                    if let Some(o) = self.stopped() {
                        return Ok(Err(o));
                    }
                    return Ok(Err(classify_error(&script.name, &err)));
                }
            }
        }
        Ok(Ok(value))
    }

    /// The timeout or memory stop that happened during this call, if any.
    fn stopped(&self) -> Option<Outcome> {
        if self.guard.timed_out.load(Ordering::Relaxed) {
            Some(Outcome::Timeout)
        } else {
            None
        }
    }

    fn classify_internal(&mut self, e: &mlua::Error) -> Outcome {
        if self.guard.timed_out.load(Ordering::Relaxed) {
            return Outcome::Timeout;
        }
        if is_memory_error(e) {
            return Outcome::MemoryExceeded;
        }
        self.poisoned = true;
        Outcome::Failed {
            message: format!("internal script engine error: {e}"),
        }
    }
}

fn is_memory_error(e: &mlua::Error) -> bool {
    match e {
        mlua::Error::MemoryError(_) => true,
        mlua::Error::CallbackError { cause, .. } => is_memory_error(cause),
        mlua::Error::WithContext { cause, .. } => is_memory_error(cause),
        _ => false,
    }
}

/// Luau's out-of-memory message (`LUA_MEMERRMSG`), what `pcall` yields for a memory error.
const MEMORY_MESSAGE: &str = "not enough memory";

/// Maps a value thrown by a script to `Reject` or `Failed` (or `MemoryExceeded`).
pub(crate) fn classify_error(script: &str, err: &Value) -> Outcome {
    match err {
        Value::String(s) => {
            let text = s.to_string_lossy();
            if text == MEMORY_MESSAGE {
                return Outcome::MemoryExceeded;
            }
            let bare = strip_position(script, &text);
            if let Some((code, reason)) = parse_status(bare) {
                return Outcome::Reject { code, reason };
            }
            let message = if bare.len() == text.len() {
                format!("{script}: {text}")
            } else {
                text
            };
            Outcome::Failed { message }
        }
        Value::Table(t) => {
            let code = t
                .raw_get::<Value>("code")
                .ok()
                .filter(|v| !v.is_nil())
                .or_else(|| t.raw_get::<Value>(1).ok());
            let reason = t
                .raw_get::<Value>("reason")
                .ok()
                .filter(|v| !v.is_nil())
                .or_else(|| t.raw_get::<Value>(2).ok());
            let code = code.and_then(|v| match v {
                Value::Integer(i) => Some(i as f64),
                Value::Number(n) if n.fract() == 0.0 => Some(n),
                _ => None,
            });
            match code {
                Some(c) if (300.0..=699.0).contains(&c) => {
                    let code = c as u16;
                    let reason = match reason {
                        Some(Value::String(s)) => s.to_string_lossy().trim().to_string(),
                        _ => String::new(),
                    };
                    let reason = if reason.is_empty() {
                        crate::sip::status::reason_phrase(code).to_string()
                    } else {
                        reason
                    };
                    if reason.is_empty() || reason.chars().any(char::is_control) {
                        return Outcome::Failed {
                            message: format!(
                                "{script}: error table {{code={code}}} has no usable reason phrase"
                            ),
                        };
                    }
                    Outcome::Reject { code, reason }
                }
                _ => Outcome::Failed {
                    message: format!(
                        "{script}: error table without a SIP code in 300..699 (error({{code=404, reason='Not Found'}}))"
                    ),
                },
            }
        }
        Value::Error(e) => {
            if is_memory_error(e) {
                Outcome::MemoryExceeded
            } else {
                Outcome::Failed {
                    message: format!("{script}: {e}"),
                }
            }
        }
        other => Outcome::Failed {
            message: format!(
                "{script}: script raised an error value of type {}: {}",
                super::data::lua_type(other),
                other.to_string().unwrap_or_default()
            ),
        },
    }
}

/// Strips the `name:LINE: ` prefix `error()` adds at level 1.
fn strip_position<'a>(script: &str, text: &'a str) -> &'a str {
    let Some(rest) = text.strip_prefix(script).and_then(|r| r.strip_prefix(':')) else {
        return text;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return text;
    }
    rest[digits..].strip_prefix(": ").unwrap_or(text)
}

/// `NNN Reason` with NNN in 300..=699 and a reason without control characters.
pub(crate) fn parse_status(s: &str) -> Option<(u16, String)> {
    let b = s.as_bytes();
    if b.len() < 5
        || !(b'3'..=b'6').contains(&b[0])
        || !b[1].is_ascii_digit()
        || !b[2].is_ascii_digit()
        || b[3] != b' '
    {
        return None;
    }
    let code: u16 = s[..3].parse().ok()?;
    let reason = s[4..].trim();
    if reason.is_empty() || reason.chars().any(char::is_control) {
        return None;
    }
    Some((code, reason.to_string()))
}

/// Compile-time check: running the chunk in a scratch VM defines a global `main`.
pub(crate) fn check_defines_main(script: &Script, limits: &Limits) -> Result<(), ScriptError> {
    let err = |line: u32, message: String| ScriptError::Compile {
        file: script.name.clone(),
        line,
        col: 1,
        message,
    };
    let vm = Vm::new().map_err(|e| err(1, format!("cannot create a script VM: {e}")))?;
    let f = vm
        .lua
        .load(&script.bytecode[..])
        .set_name(format!("@{}", script.name))
        .set_mode(mlua::chunk::ChunkMode::Binary)
        .into_function()
        .map_err(|e| err(1, e.to_string()))?;
    let env = vm
        .lua
        .create_table()
        .and_then(|env| env.set_metatable(Some(vm.env_meta.clone())).map(|_| env))
        .map_err(|e| err(1, e.to_string()))?;
    f.set_environment(env.clone())
        .map_err(|e| err(1, e.to_string()))?;
    let _ = vm.lua.set_memory_limit(
        vm.lua
            .used_memory()
            .saturating_add(limits.memory_bytes.max(1)),
    );
    vm.guard.arm(Instant::now(), limits);
    let result = f.call::<()>(());
    vm.guard.disarm();
    match result {
        Err(_) if vm.guard.timed_out.load(Ordering::Relaxed) => Err(err(
            1,
            format!(
                "running the script's top level took longer than {:?}",
                limits.timeout
            ),
        )),
        Err(e) if is_memory_error(&e) => Err(err(
            1,
            "running the script's top level exceeded the memory limit".to_string(),
        )),
        Err(e) => {
            let text = match &e {
                mlua::Error::RuntimeError(s) => s.clone(),
                other => other.to_string(),
            };
            let text = text.lines().next().unwrap_or_default().to_string();
            match super::compile_error(&script.name, &text) {
                ScriptError::Compile { line, message, .. } if text.starts_with(&script.name) => {
                    Err(err(line, message))
                }
                _ => Err(err(1, text)),
            }
        }
        Ok(()) => match env.raw_get::<Value>("main") {
            Ok(Value::Function(_)) => Ok(()),
            _ => Err(err(1, "script does not define main(data, ctx)".to_string())),
        },
    }
}
