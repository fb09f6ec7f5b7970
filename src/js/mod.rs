//! JavaScript routing scripts, transpiled to Luau (DESIGN.md §5, issue 4).
//!
//! The contract with the runtime is `docs/javascript.md`. Pipeline:
//!
//! 1. **Parse** with `oxc_parser` (pinned `=0.146.0`, source type
//!    "unambiguous"); parser diagnostics become a [`JsError`].
//! 2. **Scope analysis** (`scope.rs`): resolves every identifier, refuses the
//!    temporal dead zone, finds captured / forward-referenced / hoisted-early
//!    bindings and `let`/`const`s that only ever hold numbers.
//! 3. **Lowering** (`lower.rs`) to a small Luau IR (`ir.rs`): operators become
//!    runtime calls (`J_get`, `J_add`, …) unless the operand types are proven
//!    numbers/strings; short-circuits and assignments in expressions become
//!    statements on temporaries (never IIFEs); `try` is a `pcall`ed closure;
//!    labeled jumps use per-loop jump variables. Unsupported constructs are
//!    refused with `file:line:col: message`.
//! 4. **Codegen** (`codegen.rs`): line-aligned Luau — JS line N is Luau line N.
//!    Line 1 starts with `local J = __js` and the cached entry points
//!    (`local J_get, J_set = J.get, J.set`), globals (`J_Math = J.G.Math`) and
//!    frozen key lists of object literals (`J_K1`); the last line defines the
//!    global `main` through `J.main`.
//!
//! Identifiers that are Luau keywords or globals, `J`, `main`, or start with
//! `J_`/`__` are renamed (`__u_` + an injective escape), so user code can
//! neither shadow emitted names nor reach Luau globals. Columns in errors count
//! Unicode scalar values, 1-based.

mod codegen;
mod host_num;
pub mod host_regex;
mod ir;
mod lower;
pub mod runtime;
mod scope;

use std::collections::BTreeSet;
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

/// What a translated script's `main` reads of `data` and `ctx`, as far as
/// the translator can prove it (`main` only reads fixed member names of
/// `data` — `data.k`, `data.routing.k` — and returns `data` itself). The
/// script VM builds only these parts; the rest of the call stays as it was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataUse {
    /// `data.<key>` names read.
    pub keys: BTreeSet<String>,
    /// `data.routing.<key>` names read; `None`: `data.routing` is used as a
    /// whole.
    pub routing: Option<BTreeSet<String>>,
    /// `ctx` is used at all.
    pub ctx: bool,
}

/// A translated script and what the translator proved about it.
#[derive(Debug, Clone)]
pub struct Translation {
    pub luau: String,
    /// What `main` reads of `data` and `ctx`, when known.
    pub uses: Option<DataUse>,
    /// The top level only defines functions and constants: the script VM
    /// may run it once per VM and reuse `main`.
    pub pure_top_level: bool,
}

/// Transpiles a JavaScript routing script to Luau (which runs on the runtime
/// installed as `__js`). `file` is only used in error positions.
pub fn transpile(file: &str, source: &str) -> Result<String, JsError> {
    translate(file, source).map(|t| t.luau)
}

/// [`transpile`], with what the translator proved about the script.
pub fn translate(file: &str, source: &str) -> Result<Translation, JsError> {
    let allocator = oxc_allocator::Allocator::default();
    let ret =
        oxc_parser::Parser::new(&allocator, source, oxc_span::SourceType::unambiguous()).parse();
    if let Some(d) = ret.diagnostics.errors().next() {
        let offset = d.labels.first().map_or(0, |l| l.offset());
        return Err(JsError::at(file, source, offset, &d.message));
    }
    if ret.panicked {
        return Err(JsError::at(
            file,
            source,
            0,
            "the script could not be parsed",
        ));
    }
    let analysis = scope::analyse(file, source, &ret.program)?;
    let lowered = lower::lower(file, source, &ret.program, &analysis)?;
    let mut w = codegen::Writer::new();
    w.raw(&header(&lowered));
    let at_line = |(line, message): codegen::GenError| JsError {
        file: file.to_string(),
        line,
        col: 1,
        message,
    };
    w.top(&lowered.body).map_err(at_line)?;
    w.goto(lowered.last_line);
    let mut main = String::new();
    codegen::expr_to(&mut main, &lowered.main);
    w.raw(&format!(
        "main = function(data, ctx) return J.main({main}, data, ctx) end"
    ));
    Ok(Translation {
        luau: w.finish(),
        uses: lowered.data_use,
        pure_top_level: lowered.pure_top_level,
    })
}

/// The chunk header (all on line 1): the runtime, cached entry points and
/// globals, frozen key lists of object literals.
fn header(l: &lower::Lowered) -> String {
    let once = lower::ONCE;
    let mut out = format!("local J = __js local {once} = ... or {{}}");
    let mut names = Vec::new();
    let mut values = Vec::new();
    for r in &l.rt {
        names.push(format!("J_{r}"));
        values.push(if *r == "unpack" {
            "table.unpack".to_string()
        } else {
            format!("J.{r}")
        });
    }
    for g in &l.globals {
        names.push(format!("J_{g}"));
        values.push(format!("J.G.{g}"));
    }
    // One `local` statement per 50 names keeps lines readable.
    for (n, v) in names.chunks(50).zip(values.chunks(50)) {
        out.push_str(&format!(" local {} = {}", n.join(", "), v.join(", ")));
    }
    // Frozen key lists: built by the first call in a VM, then taken from
    // the cache (`__O[i]`; the ones past 40 in one table at `__O[0]`).
    let lists: Vec<String> = l
        .shapes
        .iter()
        .map(|keys| {
            let mut list = String::from("table.freeze({");
            for (j, k) in keys.iter().enumerate() {
                if j > 0 {
                    list.push_str(", ");
                }
                codegen::string(&mut list, k);
            }
            list.push_str("})");
            list
        })
        .collect();
    let (first, extra) = lists.split_at(lists.len().min(40));
    for (c, chunk) in first.chunks(20).enumerate() {
        let base = c * 20;
        let names: Vec<String> = (0..chunk.len())
            .map(|i| format!("J_K{}", base + i + 1))
            .collect();
        let slots: Vec<String> = (0..chunk.len())
            .map(|i| format!("{once}[{}]", base + i + 1))
            .collect();
        out.push_str(&format!(
            " local {n} = {s} if {first} == nil then {n} = {v} {s} = {n} end",
            n = names.join(", "),
            s = slots.join(", "),
            first = names[0],
            v = chunk.join(", "),
        ));
    }
    if !extra.is_empty() {
        out.push_str(&format!(
            " local J_KT = {once}[0] if J_KT == nil then J_KT = table.freeze({{{}}}) {once}[0] = J_KT end",
            extra.join(", ")
        ));
    }
    out
}
