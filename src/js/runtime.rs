//! The JavaScript runtime library, loaded once into every worker VM.
//!
//! `core.luau` defines the value representation and the operators the
//! translator emits (docs/javascript.md, "runtime ABI"); each `lib_*.luau`
//! adds built-ins. Every file is a chunk called with `(J, host)`: `J` is the
//! runtime table (becomes the read-only global `__js`), `host` the Rust helpers
//! (`host_num.rs`, `host_regex.rs`, `log`, `now`). After loading, `J.seal()`
//! freezes everything a script could reach.

use mlua::{Function, Lua, Table};

/// Runtime sources in load order: (chunk name, source).
pub const SOURCES: &[(&str, &str)] = &[
    ("=js:core", include_str!("runtime/core.luau")),
    ("=js:object", include_str!("runtime/lib_object.luau")),
    ("=js:error", include_str!("runtime/lib_error.luau")),
    ("=js:json", include_str!("runtime/lib_json.luau")),
    ("=js:promise", include_str!("runtime/lib_promise.luau")),
    ("=js:console", include_str!("runtime/lib_console.luau")),
    ("=js:string", include_str!("runtime/lib_string.luau")),
    ("=js:array", include_str!("runtime/lib_array.luau")),
    ("=js:number", include_str!("runtime/lib_number.luau")),
    ("=js:math", include_str!("runtime/lib_math.luau")),
    ("=js:date", include_str!("runtime/lib_date.luau")),
    ("=js:regexp", include_str!("runtime/lib_regexp.luau")),
    (
        "=js:collections",
        include_str!("runtime/lib_collections.luau"),
    ),
    ("=js:bridge", include_str!("runtime/bridge.luau")),
];

/// The runtime's bytecode, compiled once per process (compiling it is most of
/// the cost of a new worker VM).
fn bytecode() -> mlua::Result<&'static [Vec<u8>]> {
    static CODE: std::sync::OnceLock<Result<Vec<Vec<u8>>, String>> = std::sync::OnceLock::new();
    let code = CODE.get_or_init(|| {
        let compiler = mlua::chunk::Compiler::new()
            .set_optimization_level(2)
            .set_debug_level(1);
        SOURCES
            .iter()
            .map(|(name, src)| {
                compiler
                    .compile(*src)
                    .map_err(|e| format!("JavaScript runtime {name}: {e}"))
            })
            .collect()
    });
    code.as_deref().map_err(|e| mlua::Error::runtime(e.clone()))
}

/// Name of the global the transpiled chunks read the runtime from.
pub const GLOBAL: &str = "__js";

/// Loads the runtime into `lua` (before it is sandboxed) and sets the global
/// `__js`. `log` receives one console line (a string) per call. Returns `J`.
pub fn install(lua: &Lua, log: Function) -> mlua::Result<Table> {
    let host = lua.create_table()?;
    host.raw_set("log", log)?;
    host.raw_set(
        "now",
        lua.create_function(|_, ()| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as f64)
                .unwrap_or(0.0);
            Ok(now)
        })?,
    )?;
    super::host_num::register(lua, &host)?;
    super::host_regex::register(lua, &host)?;
    let j = lua.create_table()?;
    for ((name, _), bytecode) in SOURCES.iter().zip(bytecode()?) {
        lua.load(&bytecode[..])
            .set_name(*name)
            .set_mode(mlua::chunk::ChunkMode::Binary)
            .call::<()>((j.clone(), host.clone()))?;
    }
    if let Ok(seal) = j.raw_get::<Function>("seal") {
        seal.call::<()>(())?;
    }
    lua.globals().raw_set(GLOBAL, j.clone())?;
    Ok(j)
}

/// A plain (unsandboxed) Luau state with the runtime installed, console lines
/// collected into the returned shared vector: for tests of the runtime itself.
pub fn test_state() -> mlua::Result<(Lua, std::sync::Arc<std::sync::Mutex<Vec<String>>>)> {
    let lua = Lua::new();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = lines.clone();
    let log = lua.create_function(move |_, line: String| {
        if let Ok(mut l) = sink.lock() {
            l.push(line);
        }
        Ok(())
    })?;
    install(&lua, log)?;
    Ok((lua, lines))
}
