//! JavaScript routing scripts, transpiled to Luau (DESIGN.md §5, issue 4).
//!
//! # Pipeline
//!
//! 1. **Parse** with `oxc_parser` (pinned `=0.146.0`; source type "unambiguous",
//!    so `export function main` makes it a module). Parser diagnostics become a
//!    [`JsError`] at the diagnostic's first label.
//! 2. **Check and lower**: a single pass over the AST with a scope stack
//!    (`translate.rs`). Every construct is matched explicitly; anything not in the
//!    supported subset is refused with `file:line:col: <construct> is not
//!    supported yet` — a script never runs with a construct the translator did
//!    not understand. A separate IR is planned once destructuring, closures and
//!    `try/finally` need desugaring; today the AST goes straight to Luau.
//! 3. **Codegen**: Luau source whose `main(data, ctx)` is a global, like a Lua
//!    script, preceded by the runtime prelude ([`runtime`]): only the `__js_*`
//!    helpers the script uses. The result is compiled by
//!    [`crate::script::Script::compile_lua`] like any Lua script.
//!
//! # Supported subset (so far)
//!
//! * Top level: `function` declarations (hoisted; `main` becomes the global,
//!   `export function main` too), `let`/`const`/`var` of identifiers whose
//!   initialisers make no calls (so no code observes the temporal dead zone).
//! * Function bodies: `let`/`const`/`var` (`var` hoisted to the function),
//!   `if`/`else`, blocks, `return`, calls of named functions as statements,
//!   `throw new Error('<literal>')` → `error('<literal>', 0)` (which the engine
//!   maps to a SIP answer exactly as in Lua).
//! * Expressions: string/number/boolean/`null` literals, `undefined`, `NaN`,
//!   `Infinity`, template literals without `${}`, identifiers bound in scope,
//!   `a.b` / `a[b]` via `__js_get` (TypeError on `undefined`/`null`), calls of
//!   identifiers, `===`/`!==` (Luau `==`/`~=`, exact for primitives and object
//!   identity), `+` via `__js_add`, parentheses. Conditions use `__js_truthy`
//!   unless statically boolean.
//!
//! # Representation
//!
//! `undefined` is `nil`; `null` is the unique `__js_null` table; numbers,
//! strings and booleans are Luau's. Identifiers that are Luau keywords or
//! globals, start with `__js`, or are not plain ASCII are renamed
//! (`__js_v_` + an injective escape), so user code can neither shadow the code
//! we emit nor reach Luau globals. Free identifiers are compile errors.
//!
//! Columns in errors count Unicode scalar values, 1-based.

mod host_num;
pub mod host_regex;
pub mod prelude;
pub mod runtime;
mod translate;

use std::fmt;

/// A script that cannot be transpiled: `file:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{col}: {message}")]
pub struct JsError {
    pub file: String,
    /// 1-based.
    pub line: u32,
    /// 1-based, in Unicode scalar values.
    pub col: u32,
    pub message: String,
}

impl JsError {
    /// An error at byte `offset` of `source`.
    pub(crate) fn at(file: &str, source: &str, offset: u32, message: impl fmt::Display) -> JsError {
        let (line, col) = line_col(source, offset as usize);
        JsError {
            file: file.to_string(),
            line,
            col,
            message: message.to_string(),
        }
    }
}

/// 1-based line and column (in chars) of byte `offset` (clamped to the source).
fn line_col(source: &str, offset: usize) -> (u32, u32) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line as u32, col as u32)
}

/// Transpiles a JavaScript routing script to Luau (runtime prelude included).
/// `file` is only used in error positions.
pub fn transpile(file: &str, source: &str) -> Result<String, JsError> {
    translate::transpile(file, source)
}
