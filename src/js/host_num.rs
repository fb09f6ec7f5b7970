//! Number formatting and parsing helpers for the JavaScript runtime (Rust side).

use mlua::{Lua, Table};

/// Registers the number helpers into the runtime's `host` table.
pub(crate) fn register(_lua: &Lua, _host: &Table) -> mlua::Result<()> {
    Ok(())
}
