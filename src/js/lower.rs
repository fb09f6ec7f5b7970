//! Lowering: oxc AST (+ [`super::scope`] facts) → Luau IR ([`super::ir`]).
//!
//! Expressions lower to an IR expression plus *prelude* statements
//! (`self.pre`) that must run first: short-circuit operators whose right side
//! needs statements, assignments used as values, optional chains, spreads. When
//! a later operand produces prelude statements, earlier operands that could be
//! affected are first copied into temporaries (`seq`), so JavaScript's
//! left-to-right evaluation order is kept without IIFEs.
//!
//! Control flow: every Luau loop (JS loops, and `switch` as `repeat … until
//! true`) and every `try` (a `pcall`ed closure) is a *frame*. A `break`/
//! `continue` that must cross frames sets the target frame's jump variable and
//! leaves the inner frame (`break`, or `return` from a try closure); after each
//! frame the parent checks the variables that crossed it. `return` inside a try
//! closure returns `true, value` and is re-issued after the `pcall`.

use std::collections::{BTreeSet, HashMap, HashSet};

use oxc_ast::ast::*;
use oxc_span::{GetSpan, Span};

use super::JsError;
use super::ir::{Block, Expr, Func, S, Stmt};
use super::scope::{Analysis, BKind, Bid};

type R<T> = Result<T, JsError>;

/// Static type of a lowered value, when provable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Num,
    Str,
    Bool,
    Any,
}

/// A lowered value: `stable` when no prelude statement could change it.
#[derive(Clone, Debug)]
struct V {
    e: Expr,
    ty: Ty,
    stable: bool,
}

impl V {
    fn any(e: Expr) -> V {
        V {
            e,
            ty: Ty::Any,
            stable: false,
        }
    }
    fn of(e: Expr, ty: Ty) -> V {
        V {
            e,
            ty,
            stable: false,
        }
    }
    fn stable(e: Expr, ty: Ty) -> V {
        V {
            e,
            ty,
            stable: true,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FrameKind {
    Loop,
    Switch,
    Try,
    /// A labeled statement that is not a loop: only `break label` targets it.
    Block,
}

struct Frame {
    kind: FrameKind,
    labels: Vec<String>,
    /// Jump variable (set by jumps that target this frame from deeper frames).
    jmp: Option<String>,
    /// Frames (indices) targeted by jumps that left through this frame.
    escapes: BTreeSet<usize>,
    /// Statements to run before `continue` (a `for` update, per-iteration copies).
    cont: Vec<Stmt>,
    /// A try closure that contains a `return`.
    has_return: bool,
}

impl Frame {
    fn new(kind: FrameKind, labels: Vec<String>, cont: Vec<Stmt>) -> Frame {
        Frame {
            kind,
            labels,
            jmp: None,
            escapes: BTreeSet::new(),
            cont,
            has_return: false,
        }
    }
}

#[derive(Clone)]
struct ClassCtx {
    /// Luau name of the class being defined.
    name: String,
    derived: bool,
}

struct FnCtx {
    temps: u32,
    frames: Vec<Frame>,
    /// `this`: `Some(expr)`; `None` where `this` is refused.
    this: Option<Expr>,
    is_async: bool,
    class: Option<ClassCtx>,
    /// Instance field initialisers to run after `super(...)` (derived constructors).
    fields_after_super: Option<Vec<Stmt>>,
    /// This is the script's `main` (its returns are checked by the data-use
    /// analysis).
    is_main: bool,
}

impl FnCtx {
    fn new(this: Option<Expr>, is_async: bool, class: Option<ClassCtx>) -> FnCtx {
        FnCtx {
            temps: 0,
            frames: Vec::new(),
            this,
            is_async,
            class,
            fields_after_super: None,
            is_main: false,
        }
    }
}

/// The lowered program: statements plus what the chunk header must define.
pub struct Lowered {
    pub body: Vec<Stmt>,
    /// Runtime entries used (`J_x = J.x`).
    pub rt: BTreeSet<&'static str>,
    /// Globals used (`J_X = J.G.X`).
    pub globals: BTreeSet<&'static str>,
    /// Frozen key lists of object literals, in order (`J_K1`, ...).
    pub shapes: Vec<Vec<String>>,
    /// The expression holding the script's `main`.
    pub main: Expr,
    pub last_line: u32,
    /// What `main` reads of `data` and `ctx`, when the analysis could tell.
    pub data_use: Option<super::DataUse>,
    /// The top level only defines functions and constants (see
    /// [`pure_top_level`]): running it again gives the same values.
    pub pure_top_level: bool,
}

/// Globals a script may read (`J.G.<name>`).
const GLOBALS: &[&str] = &[
    "Object",
    "Array",
    "String",
    "Number",
    "Boolean",
    "Math",
    "JSON",
    "Date",
    "RegExp",
    "Map",
    "Set",
    "Promise",
    "Error",
    "TypeError",
    "RangeError",
    "SyntaxError",
    "ReferenceError",
    "EvalError",
    "URIError",
    "console",
    "parseInt",
    "parseFloat",
    "isNaN",
    "isFinite",
    "encodeURIComponent",
    "decodeURIComponent",
    "encodeURI",
    "decodeURI",
    "globalThis",
];

/// Luau reserved words and globals the output relies on, plus names the
/// emitted code uses: user identifiers with these names are renamed.
const LUA_RESERVED: &[&str] = &[
    "and",
    "break",
    "do",
    "else",
    "elseif",
    "end",
    "false",
    "for",
    "function",
    "if",
    "in",
    "local",
    "nil",
    "not",
    "or",
    "repeat",
    "return",
    "then",
    "true",
    "until",
    "while",
    "continue",
    "export",
    "type",
    "self",
    "this",
    "main",
    "J",
    "_G",
    "_VERSION",
    "assert",
    "bit32",
    "buffer",
    "coroutine",
    "debug",
    "error",
    "gcinfo",
    "getfenv",
    "getmetatable",
    "ipairs",
    "math",
    "newproxy",
    "next",
    "os",
    "pairs",
    "pcall",
    "print",
    "rawequal",
    "rawget",
    "rawlen",
    "rawset",
    "require",
    "select",
    "setfenv",
    "setmetatable",
    "string",
    "table",
    "tonumber",
    "tostring",
    "typeof",
    "unpack",
    "utf8",
    "vector",
    "xpcall",
];

/// The Luau name of JavaScript identifier `name`. Plain ASCII names that
/// cannot collide with Luau or with emitted names (`J`, `J_*`, `__*`) stay as
/// they are; the others become `__u_` + an injective escape.
pub fn lua_name(name: &str) -> String {
    let plain = name.bytes().next().is_some_and(|b| !b.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.starts_with("__")
        && !name.starts_with("J_")
        && !LUA_RESERVED.contains(&name);
    if plain {
        return name.to_string();
    }
    let mut s = String::from("__u_");
    for b in name.bytes() {
        match b {
            b'_' => s.push_str("__"),
            b if b.is_ascii_alphanumeric() => s.push(b as char),
            b => s.push_str(&format!("_x{b:02X}")),
        }
    }
    s
}

pub fn lower(file: &str, source: &str, program: &Program, an: &Analysis) -> R<Lowered> {
    let mut line_starts = vec![0u32];
    for (i, b) in source.bytes().enumerate() {
        if b == b'\n' {
            line_starts.push(i as u32 + 1);
        }
    }
    let mut l = Lowerer {
        file,
        source,
        an,
        line_starts,
        line: 1,
        rt: BTreeSet::new(),
        globals: BTreeSet::new(),
        shapes: Vec::new(),
        shape_ids: HashMap::new(),
        f: FnCtx::new(Some(Expr::Nil), false, None),
        pre: Vec::new(),
        opens: Vec::new(),
        forced: HashSet::new(),
        rename: HashMap::new(),
        direct_params: HashSet::new(),
        main: None,
        hoistable: HashSet::new(),
        escaped: HashSet::new(),
        member_object: None,
        hoist_sites: Vec::new(),
        main_span: None,
        data_param: None,
        ctx_param: None,
        data_keys: BTreeSet::new(),
        routing_keys: Some(BTreeSet::new()),
        main_returns_other: false,
        routing_field: None,
    };
    let mut body = Vec::new();
    l.hoistable = hoist_candidates(program, an);
    if let Some((span, data, ctx)) = main_params(program, an) {
        l.main_span = Some(span);
        l.data_param = data;
        l.ctx_param = ctx;
    }
    l.program(program, &mut body)?;
    let hoisted = l.hoist(&mut body);
    let data_use = l.data_use();
    let pure = pure_top_level(program, an, &hoisted);
    let last_line = l.line_of(source.trim_end().len() as u32);
    let main = match l.main.take() {
        Some(m) => m,
        None => {
            return Err(JsError::at(
                file,
                source,
                0,
                "the script must define a function `main` (`function main(data, ctx) { … }` or `export default function`)",
            ));
        }
    };
    Ok(Lowered {
        body,
        rt: l.rt,
        globals: l.globals,
        shapes: l.shapes,
        main,
        last_line,
        data_use,
        pure_top_level: pure,
    })
}

struct Lowerer<'s> {
    file: &'s str,
    source: &'s str,
    an: &'s Analysis,
    line_starts: Vec<u32>,
    line: u32,
    rt: BTreeSet<&'static str>,
    globals: BTreeSet<&'static str>,
    shapes: Vec<Vec<String>>,
    shape_ids: HashMap<Vec<String>, usize>,
    f: FnCtx,
    pre: Vec<Stmt>,
    /// Open optional-chain guards: (outer prelude, condition).
    opens: Vec<(Vec<Stmt>, Expr)>,
    /// Bindings declared at the top of their block whatever the analysis says.
    forced: HashSet<Bid>,
    /// Bindings temporarily printed under another name (per-iteration copies).
    rename: HashMap<Bid, String>,
    /// Parameters that are Luau parameters (others are locals of the prologue).
    direct_params: HashSet<Bid>,
    main: Option<Expr>,
    /// Top-level `const`s initialised with an object or array literal of
    /// primitive values: built once per VM if they never escape (see `hoist`).
    hoistable: HashSet<Bid>,
    /// Bindings read other than as the object of a plain member read.
    escaped: HashSet<Bid>,
    /// The identifier reference (span start) being read as a member object.
    member_object: Option<u32>,
    /// Where each hoistable declaration landed in the top-level body.
    hoist_sites: Vec<(Bid, usize)>,
    /// The data-use analysis (see [`super::DataUse`]): `main`'s function
    /// (span start) and its `data` and `ctx` parameters.
    main_span: Option<u32>,
    data_param: Option<Bid>,
    ctx_param: Option<Bid>,
    /// `data.<key>` names read.
    data_keys: BTreeSet<String>,
    /// `data.routing.<key>` names read; `None` once `data.routing` is used
    /// any other way.
    routing_keys: Option<BTreeSet<String>>,
    /// `main` returns something other than `data` somewhere.
    main_returns_other: bool,
    /// The `data.routing` member expression (span start) being read only
    /// for the field named.
    routing_field: Option<(u32, String)>,
}

fn stmt_ends(b: &[Stmt]) -> bool {
    matches!(
        b.last().map(|s| &s.kind),
        Some(S::Return(_) | S::Break | S::Continue)
    )
}

/// The chunk-level local holding the per-VM cache of values built once
/// (frozen key lists, hoisted constants): the chunk's first argument, passed
/// by the script VM (`{}` when run any other way).
pub const ONCE: &str = "__O";

/// A primitive literal: the values a hoisted constant may hold.
fn primitive_literal(e: &Expression) -> bool {
    match e {
        Expression::StringLiteral(s) => !s.lone_surrogates,
        Expression::NumericLiteral(_)
        | Expression::BooleanLiteral(_)
        | Expression::NullLiteral(_) => true,
        Expression::UnaryExpression(u) => {
            u.operator == UnaryOperator::UnaryNegation
                && matches!(u.argument, Expression::NumericLiteral(_))
        }
        Expression::ParenthesizedExpression(p) => primitive_literal(&p.expression),
        _ => false,
    }
}

/// An object literal with plain keys or an array literal, holding only
/// primitive literals: a value whose whole content is fixed at compile time.
fn constant_literal(e: &Expression) -> bool {
    match e {
        Expression::ObjectExpression(o) => o.properties.iter().all(|p| match p {
            ObjectPropertyKind::ObjectProperty(p) => {
                p.kind == PropertyKind::Init
                    && !p.computed
                    && !p.method
                    && !p.shorthand
                    && !p.key.is_specific_static_name("__proto__")
                    && matches!(
                        p.key,
                        PropertyKey::StaticIdentifier(_)
                            | PropertyKey::StringLiteral(_)
                            | PropertyKey::NumericLiteral(_)
                    )
                    && primitive_literal(&p.value)
            }
            ObjectPropertyKind::SpreadProperty(_) => false,
        }),
        Expression::ArrayExpression(a) => a
            .elements
            .iter()
            .all(|el| el.as_expression().is_some_and(primitive_literal)),
        Expression::ParenthesizedExpression(p) => constant_literal(&p.expression),
        _ => false,
    }
}

/// Top-level `const NAME = <constant literal>` bindings never written again.
/// Whether they may be hoisted is decided after lowering (they must also
/// never escape).
fn hoist_candidates(program: &Program, an: &Analysis) -> HashSet<Bid> {
    let mut out = HashSet::new();
    for s in &program.body {
        let Statement::VariableDeclaration(v) = s else {
            continue;
        };
        if v.kind != VariableDeclarationKind::Const {
            continue;
        }
        for d in &v.declarations {
            if let (BindingPattern::BindingIdentifier(id), Some(init)) = (&d.id, &d.init)
                && constant_literal(init)
                && let Some(&b) = an.decls.get(&id.span.start)
                && !an.binding(b).reassigned
            {
                out.insert(b);
            }
        }
    }
    out
}

/// The script's `main` as a function declaration (`export default function`,
/// else a top-level `function main`): its span start and its `data` and
/// `ctx` parameters when they are plain names. `None` when `main` is
/// anything else (an arrow, a reassigned binding, a rest parameter).
fn main_params(program: &Program, an: &Analysis) -> Option<(u32, Option<Bid>, Option<Bid>)> {
    let mut main = None;
    for s in &program.body {
        match s {
            Statement::ExportDefaultDeclaration(e) => {
                if let ExportDefaultDeclarationKind::FunctionDeclaration(f) = &e.declaration {
                    return params_of(f, an);
                }
                return None;
            }
            Statement::FunctionDeclaration(f)
                if f.id.as_ref().is_some_and(|id| id.name.as_str() == "main") =>
            {
                main = Some(&**f);
            }
            Statement::ExportDeclaration(e) => {
                if let Declaration::FunctionDeclaration(f) = &e.declaration
                    && f.id.as_ref().is_some_and(|id| id.name.as_str() == "main")
                {
                    main = Some(&**f);
                }
            }
            _ => {}
        }
    }
    params_of(main?, an)
}

fn params_of(f: &Function, an: &Analysis) -> Option<(u32, Option<Bid>, Option<Bid>)> {
    if f.params.rest.is_some() {
        return None;
    }
    if let Some(id) = &f.id
        && let Some(&b) = an.decls.get(&id.span.start)
        && an.binding(b).reassigned
    {
        return None;
    }
    let param = |i: usize| -> Option<Option<Bid>> {
        match f.params.items.get(i) {
            None => Some(None),
            Some(p) if p.initializer.is_none() => match &p.pattern {
                BindingPattern::BindingIdentifier(id) => {
                    an.decls.get(&id.span.start).map(|&b| Some(b))
                }
                _ => None,
            },
            Some(_) => None,
        }
    };
    Some((f.span.start, param(0)?, param(1)?))
}

/// The name a member expression reads when it is fixed: `o.k`, `o["k"]`.
fn static_member_name<'a>(m: &'a MemberExpression<'a>) -> Option<&'a str> {
    match m {
        MemberExpression::StaticMemberExpression(s) => Some(s.property.name.as_str()),
        MemberExpression::ComputedMemberExpression(c) => match &c.expression {
            Expression::StringLiteral(s) if !s.lone_surrogates => Some(s.value.as_str()),
            _ => None,
        },
        MemberExpression::PrivateFieldExpression(_) => None,
    }
}

/// Whether the program's top level only defines values that never change:
/// function declarations (never reassigned), and `const`s holding a
/// primitive literal, a hoisted constant (frozen, built once per VM) or a
/// function. Running such a top level again yields the same functions over
/// the same immutable values (functions cannot hold properties in the
/// runtime, scripts cannot create globals), so the script VM may run it
/// once and keep `main` for the next calls.
fn pure_top_level(program: &Program, an: &Analysis, hoisted: &HashSet<Bid>) -> bool {
    let function_ok = |f: &Function| {
        !f.generator
            && f.id.as_ref().is_none_or(|id| {
                an.decls
                    .get(&id.span.start)
                    .is_some_and(|&b| !an.binding(b).reassigned)
            })
    };
    let const_ok = |v: &VariableDeclaration| {
        v.kind == VariableDeclarationKind::Const
            && v.declarations.iter().all(|d| {
                let (BindingPattern::BindingIdentifier(id), Some(init)) = (&d.id, &d.init) else {
                    return false;
                };
                let Some(&b) = an.decls.get(&id.span.start) else {
                    return false;
                };
                primitive_literal(init)
                    || hoisted.contains(&b)
                    || matches!(
                        init.without_parentheses(),
                        Expression::ArrowFunctionExpression(_) | Expression::FunctionExpression(_)
                    )
            })
    };
    program.body.iter().all(|s| match s {
        Statement::EmptyStatement(_) => true,
        Statement::FunctionDeclaration(f) => function_ok(f),
        Statement::VariableDeclaration(v) => const_ok(v),
        Statement::ExportDeclaration(e) => match &e.declaration {
            Declaration::FunctionDeclaration(f) => function_ok(f),
            Declaration::VariableDeclaration(v) => const_ok(v),
            _ => false,
        },
        Statement::ExportDefaultDeclaration(e) => matches!(
            &e.declaration,
            ExportDefaultDeclarationKind::FunctionDeclaration(f) if function_ok(f)
        ),
        _ => false,
    })
}

fn declares_locals(stmts: &[Stmt]) -> bool {
    stmts
        .iter()
        .any(|s| matches!(s.kind, S::Local(..) | S::LocalFunction(..)))
}

impl<'s> Lowerer<'s> {
    /// The data-use analysis' result: known only when `main` is a plain
    /// function whose `data` parameter is never reassigned, only read
    /// through fixed member names (`data.k`, `data.routing.k`), and is what
    /// every `return` of `main` gives back.
    fn data_use(&self) -> Option<super::DataUse> {
        self.main_span?;
        let data = self.data_param?;
        if self.escaped.contains(&data)
            || self.an.binding(data).reassigned
            || self.main_returns_other
        {
            return None;
        }
        Some(super::DataUse {
            keys: self.data_keys.clone(),
            routing: self.routing_keys.clone(),
            ctx: self.ctx_param.is_some_and(|c| self.an.binding(c).used),
        })
    }

    /// Hoisting: a top-level constant literal that is only ever read through
    /// plain member reads (`X.k`, `X[k]`; never passed, returned, stored,
    /// method-called or written through) cannot be told apart from a fresh
    /// copy, so it is built once per VM, frozen, and kept in the chunk's
    /// cache ([`ONCE`]): `local X = __O[-n] if X == nil then X =
    /// table.freeze(<literal>) __O[-n] = X end`. Every call still runs the
    /// top level afresh; only the build is skipped.
    /// Returns the bindings hoisted.
    fn hoist(&mut self, body: &mut Vec<Stmt>) -> HashSet<Bid> {
        let mut hoisted = HashSet::new();
        let mut sites: Vec<(Bid, usize)> = self
            .hoist_sites
            .iter()
            .copied()
            .filter(|(b, _)| !self.escaped.contains(b))
            .collect();
        sites.sort_by_key(|&(_, i)| std::cmp::Reverse(i));
        for (n, (b, i)) in sites.into_iter().enumerate() {
            let name = self.bname(b);
            let Some(Stmt {
                line,
                kind: S::Local(names, vals),
            }) = body.get(i)
            else {
                continue;
            };
            if names.len() != 1 || names[0] != name || vals.len() != 1 {
                continue;
            }
            let (line, init) = (*line, vals[0].clone());
            let slot = Expr::Index(
                Box::new(Expr::name(ONCE)),
                Box::new(Expr::Num(-(n as f64) - 1.0)),
            );
            let x = Expr::name(&name);
            let build = Block::new(
                vec![
                    Stmt::new(
                        line,
                        S::Assign(
                            vec![x.clone()],
                            vec![Expr::call(Expr::name("table.freeze"), vec![init])],
                        ),
                    ),
                    Stmt::new(line, S::Assign(vec![slot.clone()], vec![x.clone()])),
                ],
                0,
            );
            hoisted.insert(b);
            body[i] = Stmt::new(line, S::Local(vec![name], vec![slot]));
            body.insert(
                i + 1,
                Stmt::new(
                    line,
                    S::If(vec![(line, Expr::bin("==", x, Expr::Nil), build)], None),
                ),
            );
        }
        hoisted
    }

    // ---------------------------------------------------------------- helpers

    fn line_of(&self, offset: u32) -> u32 {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }

    fn at(&mut self, span: Span) -> u32 {
        let l = self.line_of(span.start);
        self.line = l;
        l
    }

    fn err(&self, span: Span, message: impl std::fmt::Display) -> JsError {
        JsError::at(self.file, self.source, span.start, message)
    }

    fn unsupported(&self, span: Span, what: &str) -> JsError {
        self.err(span, format!("{what} is not supported"))
    }

    fn st(&self, kind: S) -> Stmt {
        Stmt::new(self.line, kind)
    }

    fn push(&mut self, kind: S) {
        let s = self.st(kind);
        self.pre.push(s);
    }

    fn rt(&mut self, name: &'static str) -> Expr {
        self.rt.insert(name);
        Expr::Name(format!("J_{name}"))
    }

    fn rcall(&mut self, name: &'static str, args: Vec<Expr>) -> Expr {
        let f = self.rt(name);
        Expr::call(f, args)
    }

    fn null(&mut self) -> Expr {
        self.rt("null")
    }

    fn temp(&mut self) -> String {
        self.f.temps += 1;
        format!("__t{}", self.f.temps)
    }

    fn named_temp(&mut self, prefix: &str) -> String {
        self.f.temps += 1;
        format!("__{prefix}{}", self.f.temps)
    }

    /// A temporary holding `e` (declared in the prelude).
    fn spill(&mut self, e: Expr) -> Expr {
        let t = self.temp();
        self.push(S::Local(vec![t.clone()], vec![e]));
        Expr::Name(t)
    }

    /// `v` as an expression that may be evaluated twice.
    fn stable(&mut self, v: V) -> V {
        if v.stable {
            return v;
        }
        V::stable(self.spill(v.e), v.ty)
    }

    /// Lowers with the prelude kept separately: (prelude, value).
    fn apart<T>(&mut self, f: impl FnOnce(&mut Self) -> R<T>) -> R<(Vec<Stmt>, T)> {
        let saved = std::mem::take(&mut self.pre);
        let r = f(self);
        let pre = std::mem::replace(&mut self.pre, saved);
        Ok((pre, r?))
    }

    /// Appends the value `f` lowers to `vals`, first copying earlier unstable
    /// values to temporaries if `f` needed prelude statements.
    fn seq(&mut self, vals: &mut [V], f: impl FnOnce(&mut Self) -> R<V>) -> R<V> {
        let mark = self.pre.len();
        let v = f(self)?;
        if self.pre.len() > mark && vals.iter().any(|v| !v.stable) {
            let mut ins = Vec::new();
            for o in vals.iter_mut() {
                if !o.stable {
                    let t = self.temp();
                    let e = std::mem::replace(&mut o.e, Expr::Name(t.clone()));
                    ins.push(self.st(S::Local(vec![t], vec![e])));
                    o.stable = true;
                }
            }
            self.pre.splice(mark..mark, ins);
        }
        Ok(v)
    }

    /// Lowers expressions in order (see [`Self::seq`]).
    fn exprs(&mut self, es: &[&Expression]) -> R<Vec<V>> {
        let mut vals: Vec<V> = Vec::with_capacity(es.len());
        for e in es {
            let v = self.seq(&mut vals, |s| s.expr(e))?;
            vals.push(v);
        }
        Ok(vals)
    }

    /// A Luau boolean for a JS value.
    fn truthy(&mut self, v: V) -> Expr {
        if v.ty == Ty::Bool {
            v.e
        } else {
            self.rcall("truthy", vec![v.e])
        }
    }

    /// `e == nil or e == J.null` (e stable).
    fn nullish(&mut self, e: Expr) -> Expr {
        let null = self.null();
        Expr::bin(
            "or",
            Expr::bin("==", e.clone(), Expr::Nil),
            Expr::bin("==", e, null),
        )
    }

    fn shape(&mut self, keys: Vec<String>) -> Expr {
        let n = self.shapes.len();
        let id = *self.shape_ids.entry(keys.clone()).or_insert(n);
        if id == n {
            self.shapes.push(keys);
        }
        shape_name(id)
    }

    /// Emits `pre` + `stmt` into `out`, scoped in `do … end` when the prelude
    /// declares temporaries.
    fn emit(&self, out: &mut Vec<Stmt>, pre: Vec<Stmt>, stmts: Vec<Stmt>) {
        if pre.is_empty() {
            out.extend(stmts);
        } else if declares_locals(&pre) && !declares_locals(&stmts) {
            let mut all = pre;
            let line = all.first().map_or(self.line, |s| s.line);
            all.extend(stmts);
            out.push(Stmt::new(line, S::Do(Block::new(all, 0))));
        } else {
            out.extend(pre);
            out.extend(stmts);
        }
    }

    // ---------------------------------------------------------------- bindings

    fn binding_of_ref(&self, id: &IdentifierReference) -> Option<Bid> {
        self.an.refs.get(&id.span.start).copied()
    }

    fn binding_of_decl(&self, id: &BindingIdentifier) -> R<Bid> {
        self.an
            .decls
            .get(&id.span.start)
            .copied()
            .ok_or_else(|| self.err(id.span, "internal error: unresolved declaration"))
    }

    fn bname(&self, b: Bid) -> String {
        if let Some(n) = self.rename.get(&b) {
            return n.clone();
        }
        lua_name(&self.an.binding(b).name)
    }

    fn predeclared(&self, b: Bid) -> bool {
        self.an.binding(b).predeclare || self.forced.contains(&b)
    }

    /// Reads a variable.
    fn read_binding(&self, b: Bid) -> V {
        let info = self.an.binding(b);
        V {
            e: Expr::Name(self.bname(b)),
            ty: if info.number { Ty::Num } else { Ty::Any },
            stable: !info.reassigned && !info.predeclare,
        }
    }

    // ---------------------------------------------------------------- program

    fn program(&mut self, p: &Program, out: &mut Vec<Stmt>) -> R<()> {
        for s in &p.body {
            match s {
                Statement::ImportDeclaration(i) => {
                    return Err(self.err(
                        i.span,
                        "`import` is not supported: scripts are a single file",
                    ));
                }
                Statement::ExportAllDeclaration(e) => {
                    return Err(self.unsupported(e.span, "`export … from`"));
                }
                Statement::ExportFromDeclaration(e) => {
                    return Err(self.unsupported(e.span, "`export … from`"));
                }
                _ => {}
            }
        }
        // Top-level `var`s are chunk locals declared up front.
        let mut vars = Vec::new();
        self.var_bindings(&p.body, &mut vars)?;
        if !vars.is_empty() {
            let names = vars.iter().map(|&b| self.bname(b)).collect();
            out.push(Stmt::new(1, S::Local(names, Vec::new())));
        }
        self.block_body(&p.body, out, 1)?;
        if self.main.is_none() {
            // A top-level binding called `main`.
            for s in &p.body {
                let decl = match s {
                    Statement::ExportDeclaration(e) => Some(&e.declaration),
                    s => s.as_declaration(),
                };
                let mut ids = Vec::new();
                match decl {
                    Some(Declaration::FunctionDeclaration(f)) => ids.extend(f.id.iter()),
                    Some(Declaration::VariableDeclaration(v)) => {
                        for d in &v.declarations {
                            if let BindingPattern::BindingIdentifier(id) = &d.id {
                                ids.push(id);
                            }
                        }
                    }
                    Some(Declaration::ClassDeclaration(c)) => ids.extend(c.id.iter()),
                    _ => {}
                }
                for id in ids {
                    if id.name.as_str() == "main" {
                        let b = self.binding_of_decl(id)?;
                        self.main = Some(Expr::Name(self.bname(b)));
                    }
                }
            }
        }
        Ok(())
    }

    /// `var` bindings of a function body (not in nested functions), deduplicated.
    fn var_bindings(&self, stmts: &[Statement], out: &mut Vec<Bid>) -> R<()> {
        for s in stmts {
            self.var_bindings_stmt(s, out)?;
        }
        Ok(())
    }

    fn var_bindings_decl(&self, v: &VariableDeclaration, out: &mut Vec<Bid>) -> R<()> {
        if v.kind == VariableDeclarationKind::Var {
            for d in &v.declarations {
                let mut ids = Vec::new();
                pattern_ids(&d.id, &mut ids);
                for id in ids {
                    let b = self.binding_of_decl(id)?;
                    if self.an.binding(b).kind == BKind::Var && !out.contains(&b) {
                        out.push(b);
                    }
                }
            }
        }
        Ok(())
    }

    fn var_bindings_stmt(&self, s: &Statement, out: &mut Vec<Bid>) -> R<()> {
        match s {
            Statement::VariableDeclaration(v) => self.var_bindings_decl(v, out)?,
            Statement::ExportDeclaration(e) => {
                if let Declaration::VariableDeclaration(v) = &e.declaration {
                    self.var_bindings_decl(v, out)?;
                }
            }
            Statement::BlockStatement(b) => self.var_bindings(&b.body, out)?,
            Statement::IfStatement(i) => {
                self.var_bindings_stmt(&i.consequent, out)?;
                if let Some(a) = &i.alternate {
                    self.var_bindings_stmt(a, out)?;
                }
            }
            Statement::ForStatement(f) => {
                if let Some(ForStatementInit::VariableDeclaration(v)) = &f.init {
                    self.var_bindings_decl(v, out)?;
                }
                self.var_bindings_stmt(&f.body, out)?;
            }
            Statement::ForInStatement(f) => {
                if let ForStatementLeft::VariableDeclaration(v) = &f.left {
                    self.var_bindings_decl(v, out)?;
                }
                self.var_bindings_stmt(&f.body, out)?;
            }
            Statement::ForOfStatement(f) => {
                if let ForStatementLeft::VariableDeclaration(v) = &f.left {
                    self.var_bindings_decl(v, out)?;
                }
                self.var_bindings_stmt(&f.body, out)?;
            }
            Statement::WhileStatement(w) => self.var_bindings_stmt(&w.body, out)?,
            Statement::DoWhileStatement(w) => self.var_bindings_stmt(&w.body, out)?,
            Statement::LabeledStatement(l) => self.var_bindings_stmt(&l.body, out)?,
            Statement::SwitchStatement(sw) => {
                for c in &sw.cases {
                    self.var_bindings(&c.consequent, out)?;
                }
            }
            Statement::TryStatement(t) => {
                self.var_bindings(&t.block.body, out)?;
                if let Some(h) = &t.handler {
                    self.var_bindings(&h.body.body, out)?;
                }
                if let Some(f) = &t.finalizer {
                    self.var_bindings(&f.body, out)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    // ---------------------------------------------------------------- blocks

    /// The lexical bindings a statement list declares: (binding, is function decl).
    fn lexical_bindings(&self, stmts: &[Statement]) -> R<Vec<(Bid, Option<usize>)>> {
        let mut out = Vec::new();
        for (i, s) in stmts.iter().enumerate() {
            let decl = match s {
                Statement::ExportDeclaration(e) => Some(&e.declaration),
                Statement::ExportDefaultDeclaration(e) => {
                    if let ExportDefaultDeclarationKind::FunctionDeclaration(f) = &e.declaration
                        && let Some(id) = &f.id
                    {
                        out.push((self.binding_of_decl(id)?, Some(i)));
                    }
                    None
                }
                s => s.as_declaration(),
            };
            match decl {
                Some(Declaration::VariableDeclaration(v))
                    if v.kind != VariableDeclarationKind::Var =>
                {
                    for d in &v.declarations {
                        let mut ids = Vec::new();
                        pattern_ids(&d.id, &mut ids);
                        for id in ids {
                            out.push((self.binding_of_decl(id)?, None));
                        }
                    }
                }
                Some(Declaration::FunctionDeclaration(f)) => {
                    if let Some(id) = &f.id {
                        out.push((self.binding_of_decl(id)?, Some(i)));
                    }
                }
                Some(Declaration::ClassDeclaration(c)) => {
                    if let Some(id) = &c.id {
                        out.push((self.binding_of_decl(id)?, None));
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// A block's statements (its scope is the enclosing Luau block): declares
    /// predeclared names and early (hoisted) functions first.
    fn block_body(&mut self, stmts: &[Statement], out: &mut Vec<Stmt>, line: u32) -> R<()> {
        let lex = self.lexical_bindings(stmts)?;
        let pre: Vec<String> = lex
            .iter()
            .filter(|(b, _)| self.predeclared(*b))
            .map(|&(b, _)| self.bname(b))
            .collect();
        if !pre.is_empty() {
            out.push(Stmt::new(line, S::Local(pre, Vec::new())));
        }
        let mut early = HashSet::new();
        for &(b, pos) in &lex {
            if let Some(i) = pos
                && self.an.binding(b).early
            {
                early.insert(i);
                // Defined before the block's statements run: printed on the
                // block's first line (its body loses line alignment).
                let mut tmp = Vec::new();
                let saved = self.line;
                self.stmt(&stmts[i], &mut tmp)?;
                self.line = saved;
                clamp(&mut tmp, line);
                out.extend(tmp);
            }
        }
        for (i, s) in stmts.iter().enumerate() {
            if !early.contains(&i) {
                self.stmt(s, out)?;
            }
        }
        Ok(())
    }

    /// A nested statement list in its own Luau block.
    fn block(&mut self, stmts: &[Statement], line: u32, end: u32) -> R<Block> {
        let mut out = Vec::new();
        self.block_body(stmts, &mut out, line)?;
        Ok(Block::new(out, end))
    }

    /// The body of `if`/loops.
    fn sub_block(&mut self, s: &Statement) -> R<Block> {
        let line = self.line_of(s.span().start);
        let end = self.line_of(s.span().end.saturating_sub(1));
        match s {
            Statement::BlockStatement(b) => self.block(&b.body, line, end),
            s => self.block(std::slice::from_ref(s), line, 0),
        }
    }
}

fn shape_name(id: usize) -> Expr {
    if id < 40 {
        Expr::Name(format!("J_K{}", id + 1))
    } else {
        Expr::Index(
            Box::new(Expr::name("J_KT")),
            Box::new(Expr::Num((id - 39) as f64)),
        )
    }
}

fn pattern_ids<'b>(p: &'b BindingPattern<'b>, out: &mut Vec<&'b BindingIdentifier<'b>>) {
    match p {
        BindingPattern::BindingIdentifier(id) => out.push(id),
        BindingPattern::AssignmentPattern(a) => pattern_ids(&a.left, out),
        BindingPattern::ObjectPattern(o) => {
            for p in &o.properties {
                pattern_ids(&p.value, out);
            }
            if let Some(r) = &o.rest {
                pattern_ids(&r.argument, out);
            }
        }
        BindingPattern::ArrayPattern(a) => {
            for p in a.elements.iter().flatten() {
                pattern_ids(p, out);
            }
            if let Some(r) = &a.rest {
                pattern_ids(&r.argument, out);
            }
        }
    }
}

/// The property name of a JS number used as a key (integers only).
fn number_key(n: f64) -> Option<String> {
    if n == n.trunc() && n.abs() < 9007199254740992.0 {
        Some(format!("{}", n as i64))
    } else {
        None
    }
}

/// Moves every statement of `stmts` (deeply) to line `line` at the latest.
fn clamp(stmts: &mut [Stmt], line: u32) {
    for s in stmts {
        s.line = s.line.min(line);
        match &mut s.kind {
            S::Local(_, es) | S::Return(es) => es.iter_mut().for_each(|e| clamp_expr(e, line)),
            S::Assign(a, b) => a
                .iter_mut()
                .chain(b.iter_mut())
                .for_each(|e| clamp_expr(e, line)),
            S::Call(e) => clamp_expr(e, line),
            S::Do(b) => clamp_block(b, line),
            S::If(arms, els) => {
                for (l, c, b) in arms {
                    *l = (*l).min(line);
                    clamp_expr(c, line);
                    clamp_block(b, line);
                }
                if let Some((l, b)) = els {
                    *l = (*l).min(line);
                    clamp_block(b, line);
                }
            }
            S::While(c, b) | S::Repeat(b, c) => {
                clamp_expr(c, line);
                clamp_block(b, line);
            }
            S::ForIn(_, es, b) => {
                es.iter_mut().for_each(|e| clamp_expr(e, line));
                clamp_block(b, line);
            }
            S::LocalFunction(_, f) => clamp_block(&mut f.body, line),
            S::Break | S::Continue => {}
        }
    }
}

fn clamp_block(b: &mut Block, line: u32) {
    b.end_line = b.end_line.min(line);
    clamp(&mut b.stmts, line);
}

fn clamp_expr(e: &mut Expr, line: u32) {
    match e {
        Expr::Func(f) => clamp_block(&mut f.body, line),
        Expr::Index(a, b) | Expr::Bin(_, a, b) => {
            clamp_expr(a, line);
            clamp_expr(b, line);
        }
        Expr::Un(_, a) | Expr::Paren(a) => clamp_expr(a, line),
        Expr::Call(f, args) => {
            clamp_expr(f, line);
            args.iter_mut().for_each(|e| clamp_expr(e, line));
        }
        Expr::IfElse(a, b, c) => {
            clamp_expr(a, line);
            clamp_expr(b, line);
            clamp_expr(c, line);
        }
        Expr::Table(items) => items.iter_mut().for_each(|e| clamp_expr(e, line)),
        Expr::Record(items) => items.iter_mut().for_each(|(_, e)| clamp_expr(e, line)),
        _ => {}
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Jump {
    Break,
    Continue,
}

impl<'s> Lowerer<'s> {
    // ---------------------------------------------------------------- statements

    fn stmt(&mut self, s: &Statement, out: &mut Vec<Stmt>) -> R<()> {
        let line = self.at(s.span());
        match s {
            Statement::BlockStatement(b) => {
                let end = self.line_of(b.span.end.saturating_sub(1));
                let blk = self.block(&b.body, line, end)?;
                out.push(Stmt::new(line, S::Do(blk)));
            }
            Statement::EmptyStatement(_) | Statement::DebuggerStatement(_) => {}
            Statement::ExpressionStatement(e) => {
                let (pre, stmts) = self.apart(|s| s.expr_stmt(&e.expression))?;
                self.emit(out, pre, stmts);
            }
            Statement::VariableDeclaration(v) => self.var_decl(v, out)?,
            Statement::FunctionDeclaration(f) => self.fn_decl(f, out)?,
            Statement::ClassDeclaration(c) => self.class_decl(c, out)?,
            Statement::ExportDeclaration(e) => match &e.declaration {
                Declaration::VariableDeclaration(v) => self.var_decl(v, out)?,
                Declaration::FunctionDeclaration(f) => self.fn_decl(f, out)?,
                Declaration::ClassDeclaration(c) => self.class_decl(c, out)?,
                d => return Err(self.unsupported(d.span(), "TypeScript syntax")),
            },
            Statement::ExportNamedDeclaration(_) => {}
            Statement::ExportDefaultDeclaration(e) => {
                let value = match &e.declaration {
                    ExportDefaultDeclarationKind::FunctionDeclaration(f) if f.id.is_some() => {
                        self.fn_decl(f, out)?;
                        let id = f.id.as_ref().expect("id");
                        let b = self.binding_of_decl(id)?;
                        Expr::Name(self.bname(b))
                    }
                    ExportDefaultDeclarationKind::FunctionDeclaration(f) => {
                        let func = self.function_of(f)?;
                        out.push(self.st(S::Local(vec!["__main".into()], vec![func])));
                        Expr::name("__main")
                    }
                    ExportDefaultDeclarationKind::ClassDeclaration(c) => {
                        return Err(self.unsupported(c.span, "`export default class`"));
                    }
                    d => {
                        let Some(ex) = d.as_expression() else {
                            return Err(self.unsupported(d.span(), "this export"));
                        };
                        let (pre, v) = self.apart(|s| s.expr(ex))?;
                        out.extend(pre);
                        out.push(self.st(S::Local(vec!["__main".into()], vec![v.e])));
                        Expr::name("__main")
                    }
                };
                self.main = Some(value);
            }
            Statement::ReturnStatement(r) => {
                let saved = self.member_object;
                if self.f.is_main {
                    // `return data` gives the data back; anything else from
                    // `main` ends the data-use analysis.
                    match &r.argument {
                        Some(Expression::Identifier(id))
                            if self.data_param.is_some()
                                && self.binding_of_ref(id) == self.data_param =>
                        {
                            self.member_object = Some(id.span.start);
                        }
                        _ => self.main_returns_other = true,
                    }
                }
                let r = self.apart(|s| match &r.argument {
                    Some(e) => s.expr(e).map(Some),
                    None => Ok(None),
                });
                self.member_object = saved;
                let (pre, v) = r?;
                let ret = self.ret(v.map(|v| v.e));
                self.emit(out, pre, vec![ret]);
            }
            Statement::IfStatement(i) => self.if_stmt(i, out)?,
            Statement::WhileStatement(w) => self.while_stmt(w, Vec::new(), out)?,
            Statement::DoWhileStatement(w) => self.do_while(w, Vec::new(), out)?,
            Statement::ForStatement(f) => self.for_stmt(f, Vec::new(), out)?,
            Statement::ForOfStatement(f) => {
                if f.r#await {
                    return Err(self.unsupported(f.span, "`for await`"));
                }
                self.for_each(&f.left, &f.right, &f.body, true, Vec::new(), out)?
            }
            Statement::ForInStatement(f) => {
                self.for_each(&f.left, &f.right, &f.body, false, Vec::new(), out)?
            }
            Statement::LabeledStatement(l) => {
                let mut labels = vec![l.label.name.to_string()];
                let mut body = &l.body;
                while let Statement::LabeledStatement(inner) = body {
                    labels.push(inner.label.name.to_string());
                    body = &inner.body;
                }
                match body {
                    Statement::WhileStatement(w) => self.while_stmt(w, labels, out)?,
                    Statement::DoWhileStatement(w) => self.do_while(w, labels, out)?,
                    Statement::ForStatement(f) => self.for_stmt(f, labels, out)?,
                    Statement::ForOfStatement(f) if !f.r#await => {
                        self.for_each(&f.left, &f.right, &f.body, true, labels, out)?
                    }
                    Statement::ForInStatement(f) => {
                        self.for_each(&f.left, &f.right, &f.body, false, labels, out)?
                    }
                    other => {
                        // `label: { ... break label; ... }`: a block run once
                        // (`repeat ... until true`), left by `break`.
                        let line = self.at(l.span);
                        self.push_frame(FrameKind::Block, labels, Vec::new());
                        let body = self.sub_block(other);
                        let frame = self.pop_frame();
                        let body = body?;
                        let end = body.end_line;
                        let rep = Stmt::new(
                            line,
                            S::Repeat(
                                Block::new(vec![Stmt::new(line, S::Do(body))], end),
                                Expr::Bool(true),
                            ),
                        );
                        self.finish_frame(frame, vec![rep], out);
                    }
                }
            }
            Statement::BreakStatement(b) => {
                let stmts = self.jump(
                    Jump::Break,
                    b.label.as_ref().map(|l| l.name.as_str()),
                    b.span,
                )?;
                out.extend(stmts);
            }
            Statement::ContinueStatement(c) => {
                let stmts = self.jump(
                    Jump::Continue,
                    c.label.as_ref().map(|l| l.name.as_str()),
                    c.span,
                )?;
                out.extend(stmts);
            }
            Statement::ThrowStatement(t) => {
                let (pre, v) = self.apart(|s| s.expr(&t.argument))?;
                let call = self.rcall("throw", vec![v.e]);
                let st = self.st(S::Call(call));
                self.emit(out, pre, vec![st]);
            }
            Statement::TryStatement(t) => self.try_stmt(t, out)?,
            Statement::SwitchStatement(sw) => self.switch(sw, out)?,
            Statement::WithStatement(w) => return Err(self.unsupported(w.span, "`with`")),
            Statement::ImportDeclaration(i) => {
                return Err(self.err(
                    i.span,
                    "`import` is not supported: scripts are a single file",
                ));
            }
            s => return Err(self.unsupported(s.span(), "this statement")),
        }
        Ok(())
    }

    /// An expression in statement position: its statements (prelude in `self.pre`).
    fn expr_stmt(&mut self, e: &Expression) -> R<Vec<Stmt>> {
        self.at(e.span());
        match e {
            Expression::AssignmentExpression(a) => {
                self.assign(a, false)?;
                Ok(Vec::new())
            }
            Expression::UpdateExpression(u) => {
                self.update(u, false)?;
                Ok(Vec::new())
            }
            Expression::SequenceExpression(s) => {
                for e in &s.expressions {
                    let stmts = self.expr_stmt(e)?;
                    self.pre.extend(stmts);
                }
                Ok(Vec::new())
            }
            Expression::ParenthesizedExpression(p) => self.expr_stmt(&p.expression),
            Expression::LogicalExpression(l) => {
                let a = self.expr(&l.left)?;
                let c = match l.operator {
                    LogicalOperator::And => self.truthy(a),
                    LogicalOperator::Or => {
                        let t = self.truthy(a);
                        Expr::not(t)
                    }
                    LogicalOperator::Coalesce => {
                        let a = self.stable(a);
                        self.nullish(a.e)
                    }
                };
                let (pre, stmts) = self.apart(|s| s.expr_stmt(&l.right))?;
                let mut body = pre;
                body.extend(stmts);
                Ok(vec![self.st(S::If(
                    vec![(self.line, c, Block::new(body, 0))],
                    None,
                ))])
            }
            Expression::ConditionalExpression(c) => {
                let test = self.cond(&c.test)?;
                let (p1, s1) = self.apart(|s| s.expr_stmt(&c.consequent))?;
                let (p2, s2) = self.apart(|s| s.expr_stmt(&c.alternate))?;
                let mut b1 = p1;
                b1.extend(s1);
                let mut b2 = p2;
                b2.extend(s2);
                let els = if b2.is_empty() {
                    None
                } else {
                    Some((self.line, Block::new(b2, 0)))
                };
                Ok(vec![self.st(S::If(
                    vec![(self.line, test, Block::new(b1, 0))],
                    els,
                ))])
            }
            e => {
                let v = self.expr(e)?;
                Ok(self.discard(v))
            }
        }
    }

    fn discard(&self, v: V) -> Vec<Stmt> {
        match v.e {
            Expr::Call(..) => vec![self.st(S::Call(v.e))],
            Expr::Nil
            | Expr::Bool(_)
            | Expr::Num(_)
            | Expr::Str(_)
            | Expr::Name(_)
            | Expr::Func(_)
            | Expr::Vararg => Vec::new(),
            e => vec![self.st(S::Do(Block::new(
                vec![self.st(S::Local(vec!["_".into()], vec![e]))],
                0,
            )))],
        }
    }

    fn ret(&mut self, v: Option<Expr>) -> Stmt {
        let try_frame = self.f.frames.iter().rposition(|f| f.kind == FrameKind::Try);
        match try_frame {
            Some(k) => {
                self.f.frames[k].has_return = true;
                self.st(S::Return(vec![Expr::Bool(true), v.unwrap_or(Expr::Nil)]))
            }
            None => self.st(S::Return(v.into_iter().collect())),
        }
    }

    fn if_stmt(&mut self, i: &IfStatement, out: &mut Vec<Stmt>) -> R<()> {
        let line = self.at(i.span);
        let (pre, c) = self.apart(|s| s.cond(&i.test))?;
        let then = self.sub_block(&i.consequent)?;
        let mut arms = vec![(line, c, then)];
        let mut els = None;
        if let Some(alt) = &i.alternate {
            let alt_line = self.line_of(alt.span().start);
            let mut b = self.sub_block(alt)?;
            let merge = matches!(alt, Statement::IfStatement(_))
                && b.stmts.len() == 1
                && matches!(b.stmts[0].kind, S::If(..));
            if merge {
                let Some(Stmt {
                    kind: S::If(more, e),
                    ..
                }) = b.stmts.pop()
                else {
                    unreachable!()
                };
                arms.extend(more);
                els = e;
            } else {
                els = Some((alt_line, b));
            }
        }
        let st = Stmt::new(line, S::If(arms, els));
        self.emit(out, pre, vec![st]);
        Ok(())
    }

    // ---------------------------------------------------------------- loops & jumps

    fn push_frame(&mut self, kind: FrameKind, labels: Vec<String>, cont: Vec<Stmt>) {
        self.f.frames.push(Frame::new(kind, labels, cont));
    }

    fn pop_frame(&mut self) -> Frame {
        self.f.frames.pop().expect("frame")
    }

    /// Emits `loop_stmt` (preceded by the frame's jump variable) and the checks
    /// for jumps that crossed the frame.
    fn finish_frame(&mut self, frame: Frame, loop_stmts: Vec<Stmt>, out: &mut Vec<Stmt>) {
        if let Some(j) = &frame.jmp {
            out.push(Stmt::new(
                loop_stmts.first().map_or(self.line, |s| s.line),
                S::Local(vec![j.clone()], Vec::new()),
            ));
        }
        out.extend(loop_stmts);
        self.after_frame(frame, out);
    }

    fn after_frame(&mut self, frame: Frame, out: &mut Vec<Stmt>) {
        let n = self.f.frames.len();
        for &t in frame.escapes.iter().rev() {
            let jv = Expr::Name(self.f.frames[t].jmp.clone().expect("jump variable"));
            if t + 1 == n {
                let mut cont = vec![self.st(S::Assign(vec![jv.clone()], vec![Expr::Nil]))];
                cont.extend(self.f.frames[t].cont.clone());
                cont.push(self.st(S::Continue));
                let mut arms = vec![(
                    self.line,
                    Expr::bin("==", jv.clone(), Expr::Num(1.0)),
                    Block::new(vec![self.st(S::Break)], 0),
                )];
                if self.f.frames[t].kind == FrameKind::Loop {
                    arms.push((
                        self.line,
                        Expr::bin("==", jv, Expr::Num(2.0)),
                        Block::new(cont, 0),
                    ));
                }
                out.push(self.st(S::If(arms, None)));
            } else {
                let exit = if self.f.frames[n - 1].kind == FrameKind::Try {
                    S::Return(Vec::new())
                } else {
                    S::Break
                };
                out.push(self.st(S::If(
                    vec![(
                        self.line,
                        Expr::bin("~=", jv, Expr::Nil),
                        Block::new(vec![self.st(exit)], 0),
                    )],
                    None,
                )));
                self.f.frames[n - 1].escapes.insert(t);
            }
        }
    }

    fn jump(&mut self, kind: Jump, label: Option<&str>, span: Span) -> R<Vec<Stmt>> {
        let frames = &self.f.frames;
        let target = frames.iter().rposition(|f| match label {
            Some(l) => f.labels.iter().any(|x| x == l),
            None => match kind {
                Jump::Break => f.kind != FrameKind::Try && f.kind != FrameKind::Block,
                Jump::Continue => f.kind == FrameKind::Loop,
            },
        });
        let Some(t) = target else {
            return Err(self.unsupported(span, "this `break`/`continue` target"));
        };
        if kind == Jump::Continue && frames[t].kind != FrameKind::Loop {
            return Err(self.err(span, "`continue` must target a loop"));
        }
        let n = frames.len() - 1;
        if t == n {
            return Ok(match kind {
                Jump::Break => vec![self.st(S::Break)],
                Jump::Continue => {
                    let mut v = frames[t].cont.clone();
                    v.push(self.st(S::Continue));
                    v
                }
            });
        }
        let jv = match &self.f.frames[t].jmp {
            Some(j) => j.clone(),
            None => {
                let j = self.named_temp("j");
                self.f.frames[t].jmp = Some(j.clone());
                j
            }
        };
        self.f.frames[n].escapes.insert(t);
        let code = if kind == Jump::Break { 1.0 } else { 2.0 };
        let exit = if self.f.frames[n].kind == FrameKind::Try {
            S::Return(Vec::new())
        } else {
            S::Break
        };
        Ok(vec![
            self.st(S::Assign(vec![Expr::Name(jv)], vec![Expr::Num(code)])),
            self.st(exit),
        ])
    }

    fn while_stmt(
        &mut self,
        w: &WhileStatement,
        labels: Vec<String>,
        out: &mut Vec<Stmt>,
    ) -> R<()> {
        let line = self.at(w.span);
        let (pre, c) = self.apart(|s| s.cond(&w.test))?;
        self.push_frame(FrameKind::Loop, labels, Vec::new());
        let body = self.sub_block(&w.body);
        let frame = self.pop_frame();
        let mut body = body?;
        let lp = if pre.is_empty() {
            Stmt::new(line, S::While(c, body))
        } else {
            let mut stmts = pre;
            stmts.push(self.exit_unless(c));
            stmts.push(Stmt::new(line, S::Do(std::mem::take(&mut body))));
            Stmt::new(
                line,
                S::While(Expr::Bool(true), Block::new(stmts, body.end_line)),
            )
        };
        self.finish_frame(frame, vec![lp], out);
        Ok(())
    }

    /// `if not c then break end`
    fn exit_unless(&self, c: Expr) -> Stmt {
        self.st(S::If(
            vec![(
                self.line,
                Expr::not(c),
                Block::new(vec![self.st(S::Break)], 0),
            )],
            None,
        ))
    }

    fn do_while(
        &mut self,
        w: &DoWhileStatement,
        labels: Vec<String>,
        out: &mut Vec<Stmt>,
    ) -> R<()> {
        let line = self.at(w.span);
        self.push_frame(FrameKind::Loop, labels, Vec::new());
        let body = self.sub_block(&w.body);
        let frame = self.pop_frame();
        let body = body?;
        self.at(w.test.span());
        let (pre, c) = self.apart(|s| s.cond(&w.test))?;
        let end = body.end_line;
        let lp = if pre.is_empty() {
            vec![Stmt::new(
                line,
                S::Repeat(
                    Block::new(vec![Stmt::new(line, S::Do(body))], end),
                    Expr::not(c),
                ),
            )]
        } else {
            let f = self.named_temp("f");
            let fv = Expr::Name(f.clone());
            let mut check = pre;
            check.push(self.exit_unless(c));
            let first = first_pass_else(line, fv, check);
            vec![
                Stmt::new(line, S::Local(vec![f], vec![Expr::Bool(true)])),
                Stmt::new(
                    line,
                    S::While(
                        Expr::Bool(true),
                        Block::new(vec![first, Stmt::new(line, S::Do(body))], end),
                    ),
                ),
            ]
        };
        self.finish_frame(frame, lp, out);
        Ok(())
    }

    fn for_stmt(&mut self, f: &ForStatement, labels: Vec<String>, out: &mut Vec<Stmt>) -> R<()> {
        let line = self.at(f.span);
        // Captured `let`s of the head get one copy per iteration.
        let mut per_iter: Vec<Bid> = Vec::new();
        if let Some(ForStatementInit::VariableDeclaration(v)) = &f.init
            && v.kind != VariableDeclarationKind::Var
        {
            for d in &v.declarations {
                let mut ids = Vec::new();
                pattern_ids(&d.id, &mut ids);
                for id in ids {
                    let b = self.binding_of_decl(id)?;
                    if self.an.binding(b).captured {
                        per_iter.push(b);
                    }
                }
            }
        }
        let mut carriers = Vec::new();
        for &b in &per_iter {
            let c = self.named_temp("c");
            self.rename.insert(b, c.clone());
            carriers.push(c);
        }
        let mut head = Vec::new();
        match &f.init {
            Some(ForStatementInit::VariableDeclaration(v)) => self.var_decl(v, &mut head)?,
            Some(init) => {
                if let Some(e) = init.as_expression() {
                    let (pre, stmts) = self.apart(|s| s.expr_stmt(e))?;
                    self.emit(&mut head, pre, stmts);
                }
            }
            None => {}
        }
        for b in &per_iter {
            self.rename.remove(b);
        }
        let (tpre, test) = match &f.test {
            Some(t) => self.apart(|s| s.cond(t))?,
            None => (Vec::new(), Expr::Bool(true)),
        };
        let mut update = Vec::new();
        if let Some(u) = &f.update {
            let (pre, stmts) = self.apart(|s| s.expr_stmt(u))?;
            self.emit(&mut update, pre, stmts);
        }
        let names: Vec<String> = per_iter.iter().map(|&b| self.bname(b)).collect();
        let writeback = if per_iter.is_empty() {
            Vec::new()
        } else {
            vec![Stmt::new(
                line,
                S::Assign(
                    carriers.iter().map(|c| Expr::Name(c.clone())).collect(),
                    names.iter().map(|n| Expr::Name(n.clone())).collect(),
                ),
            )]
        };
        let cont = if per_iter.is_empty() {
            update.clone()
        } else {
            writeback.clone()
        };
        self.push_frame(FrameKind::Loop, labels, cont);
        let body = self.sub_block(&f.body);
        let frame = self.pop_frame();
        let mut body = body?;
        let end = body.end_line;
        let mut loop_stmts = Vec::new();
        if per_iter.is_empty() {
            let ends = stmt_ends(&body.stmts);
            if !ends {
                body.stmts.extend(update);
            }
            let lp = if tpre.is_empty() {
                Stmt::new(line, S::While(test, body))
            } else {
                let mut stmts = tpre;
                stmts.push(self.exit_unless(test));
                stmts.push(Stmt::new(line, S::Do(body)));
                Stmt::new(line, S::While(Expr::Bool(true), Block::new(stmts, end)))
            };
            loop_stmts.push(lp);
        } else {
            let mut stmts = vec![Stmt::new(
                line,
                S::Local(
                    names.clone(),
                    carriers.iter().map(|c| Expr::Name(c.clone())).collect(),
                ),
            )];
            if !update.is_empty() {
                let fl = self.named_temp("f");
                let fv = Expr::Name(fl.clone());
                head.push(Stmt::new(line, S::Local(vec![fl], vec![Expr::Bool(true)])));
                stmts.push(first_pass_else(line, fv, update));
            }
            stmts.extend(tpre);
            if test != Expr::Bool(true) {
                stmts.push(self.exit_unless(test));
            }
            let ends = stmt_ends(&body.stmts);
            stmts.push(Stmt::new(line, S::Do(body)));
            if !ends {
                stmts.extend(writeback);
            }
            loop_stmts.push(Stmt::new(
                line,
                S::While(Expr::Bool(true), Block::new(stmts, end)),
            ));
        }
        let mut inner = head;
        self.finish_frame(frame, loop_stmts, &mut inner);
        if declares_locals(&inner) {
            out.push(Stmt::new(line, S::Do(Block::new(inner, 0))));
        } else {
            out.extend(inner);
        }
        Ok(())
    }

    fn for_each(
        &mut self,
        left: &ForStatementLeft,
        right: &Expression,
        body: &Statement,
        of: bool,
        labels: Vec<String>,
        out: &mut Vec<Stmt>,
    ) -> R<()> {
        let line = self.at(right.span());
        let (pre, v) = self.apart(|s| s.expr(right))?;
        let iter = self.rcall(if of { "iter" } else { "forin" }, vec![v.e]);
        // The loop variable: a fresh local per iteration.
        let mut bind = Vec::new();
        let var = match left {
            ForStatementLeft::VariableDeclaration(d) => {
                if d.declarations.len() != 1 {
                    return Err(self.err(d.span, "one variable expected"));
                }
                let decl = &d.declarations[0];
                match &decl.id {
                    BindingPattern::BindingIdentifier(id) => {
                        let b = self.binding_of_decl(id)?;
                        if d.kind == VariableDeclarationKind::Var || self.predeclared(b) {
                            let t = self.temp();
                            bind.push(self.st(S::Assign(
                                vec![Expr::Name(self.bname(b))],
                                vec![Expr::name(&t)],
                            )));
                            t
                        } else {
                            self.bname(b)
                        }
                    }
                    p => {
                        let t = self.temp();
                        let (bpre, ()) =
                            self.apart(|s| s.bind_pattern(p, V::stable(Expr::name(&t), Ty::Any)))?;
                        bind.extend(bpre);
                        t
                    }
                }
            }
            t => {
                let tmp = self.temp();
                let Some(target) = t.as_assignment_target() else {
                    return Err(self.unsupported(t.span(), "this loop variable"));
                };
                let (bpre, ()) =
                    self.apart(|s| s.assign_target(target, V::stable(Expr::name(&tmp), Ty::Any)))?;
                bind.extend(bpre);
                tmp
            }
        };
        self.push_frame(FrameKind::Loop, labels, Vec::new());
        let b = self.sub_block(body);
        let frame = self.pop_frame();
        let b = b?;
        let end = b.end_line;
        let mut stmts = bind;
        stmts.push(Stmt::new(line, S::Do(b)));
        let lp = Stmt::new(
            line,
            S::ForIn(vec!["__".into(), var], vec![iter], Block::new(stmts, end)),
        );
        let mut all = Vec::new();
        self.finish_frame(frame, vec![lp], &mut all);
        self.emit(out, pre, all);
        Ok(())
    }

    fn switch(&mut self, sw: &SwitchStatement, out: &mut Vec<Stmt>) -> R<()> {
        let line = self.at(sw.span);
        let (pre, d) = self.apart(|s| s.expr(&sw.discriminant))?;
        let dn = self.named_temp("d");
        let kn = self.named_temp("k");
        let dv = Expr::Name(dn.clone());
        let kv = Expr::Name(kn.clone());
        let mut body = vec![Stmt::new(
            line,
            S::Local(vec![dn, kn], vec![d.e, Expr::Num(0.0)]),
        )];
        // All lexical declarations of the cases share the switch's scope.
        let all: Vec<&Statement> = sw.cases.iter().flat_map(|c| c.consequent.iter()).collect();
        let mut lex = Vec::new();
        for c in &sw.cases {
            lex.extend(self.lexical_bindings(&c.consequent)?);
        }
        for &(b, _) in &lex {
            self.forced.insert(b);
        }
        let _ = all;
        if !lex.is_empty() {
            body.push(Stmt::new(
                line,
                S::Local(
                    lex.iter().map(|&(b, _)| self.bname(b)).collect(),
                    Vec::new(),
                ),
            ));
        }
        // Which case matches: tests run in order, lazily.
        let n = sw.cases.len();
        let default = sw.cases.iter().position(|c| c.test.is_none());
        let fallback = default.map_or(n + 1, |i| i + 1);
        let mut chain: Vec<Stmt> = vec![self.st(S::Assign(
            vec![kv.clone()],
            vec![Expr::Num(fallback as f64)],
        ))];
        for (i, c) in sw.cases.iter().enumerate().rev() {
            let Some(t) = &c.test else { continue };
            self.at(t.span());
            let (tpre, tv) = self.apart(|s| s.expr(t))?;
            let test = Expr::bin("==", dv.clone(), tv.e);
            let set = Block::new(
                vec![self.st(S::Assign(vec![kv.clone()], vec![Expr::Num((i + 1) as f64)]))],
                0,
            );
            let l = self.line;
            let merged = if tpre.is_empty() && chain.len() == 1 {
                if let S::If(arms, els) = &chain[0].kind {
                    let mut a = vec![(l, test.clone(), set.clone())];
                    a.extend(arms.iter().cloned());
                    Some(S::If(a, els.clone()))
                } else {
                    None
                }
            } else {
                None
            };
            let stmt = match merged {
                Some(s) => Stmt::new(l, s),
                None => Stmt::new(
                    l,
                    S::If(vec![(l, test, set)], Some((l, Block::new(chain, 0)))),
                ),
            };
            chain = tpre;
            chain.push(stmt);
        }
        body.extend(chain);
        self.push_frame(FrameKind::Switch, Vec::new(), Vec::new());
        let mut err = None;
        for (i, c) in sw.cases.iter().enumerate() {
            if c.consequent.is_empty() {
                continue;
            }
            let cline = self.at(c.span);
            let mut stmts = Vec::new();
            if let Err(e) = self.block_body(&c.consequent, &mut stmts, cline) {
                err = Some(e);
                break;
            }
            body.push(Stmt::new(
                cline,
                S::If(
                    vec![(
                        cline,
                        Expr::bin("<=", kv.clone(), Expr::Num((i + 1) as f64)),
                        Block::new(stmts, 0),
                    )],
                    None,
                ),
            ));
        }
        let frame = self.pop_frame();
        for &(b, _) in &lex {
            self.forced.remove(&b);
        }
        if let Some(e) = err {
            return Err(e);
        }
        let end = self.line_of(sw.span.end.saturating_sub(1));
        let rep = Stmt::new(line, S::Repeat(Block::new(body, end), Expr::Bool(true)));
        let mut all = Vec::new();
        self.finish_frame(frame, vec![rep], &mut all);
        self.emit(out, pre, all);
        Ok(())
    }

    fn try_stmt(&mut self, t: &TryStatement, out: &mut Vec<Stmt>) -> R<()> {
        let line = self.at(t.span);
        self.f.temps += 1;
        let n = self.f.temps;
        let (ok, r, v) = (format!("__ok{n}"), format!("__r{n}"), format!("__v{n}"));
        let (okv, rv, vv) = (Expr::name(&ok), Expr::name(&r), Expr::name(&v));
        let pcall = Expr::name("pcall");
        // try { … } as a closure.
        self.push_frame(FrameKind::Try, Vec::new(), Vec::new());
        let tend = self.line_of(t.block.span.end.saturating_sub(1));
        let body = self.block(&t.block.body, line, tend);
        let try_frame = self.pop_frame();
        let body = body?;
        let mut stmts = vec![Stmt::new(
            line,
            S::Local(
                vec![ok.clone(), r.clone(), v.clone()],
                vec![Expr::call(
                    pcall.clone(),
                    vec![Expr::Func(Box::new(Func {
                        params: Vec::new(),
                        vararg: false,
                        body,
                    }))],
                )],
            ),
        )];
        let mut has_return = try_frame.has_return;
        let mut escapes = try_frame.escapes;
        let finally = t.finalizer.as_ref();
        if let Some(h) = &t.handler {
            let hline = self.at(h.span);
            let hend = self.line_of(h.span.end.saturating_sub(1));
            let err_name = if finally.is_some() {
                "__e".to_string()
            } else {
                r.clone()
            };
            let mut cbody = Vec::new();
            if let Some(p) = &h.param {
                let caught = self.rcall("catch", vec![Expr::name(&err_name)]);
                let (bpre, ()) = self.apart(|s| s.bind_pattern(&p.pattern, V::any(caught)))?;
                cbody.extend(bpre);
            }
            if finally.is_some() {
                self.push_frame(FrameKind::Try, Vec::new(), Vec::new());
                let b = self.block(&h.body.body, hline, hend);
                let cf = self.pop_frame();
                cbody.push(Stmt::new(hline, S::Do(b?)));
                has_return |= cf.has_return;
                escapes.extend(cf.escapes);
                let call = Expr::call(
                    pcall,
                    vec![
                        Expr::Func(Box::new(Func {
                            params: vec![err_name],
                            vararg: false,
                            body: Block::new(cbody, hend),
                        })),
                        rv.clone(),
                    ],
                );
                stmts.push(Stmt::new(
                    hline,
                    S::If(
                        vec![(
                            hline,
                            Expr::not(okv.clone()),
                            Block::new(
                                vec![Stmt::new(
                                    hline,
                                    S::Assign(
                                        vec![okv.clone(), rv.clone(), vv.clone()],
                                        vec![call],
                                    ),
                                )],
                                0,
                            ),
                        )],
                        None,
                    ),
                ));
            } else {
                if !has_return && h.param.is_none() {
                    // Nothing to bind.
                }
                let b = self.block(&h.body.body, hline, hend)?;
                cbody.push(Stmt::new(hline, S::Do(b)));
                let mut arms = vec![(hline, Expr::not(okv.clone()), Block::new(cbody, hend))];
                if has_return {
                    let ret = self.ret(Some(vv.clone()));
                    arms.push((hline, rv.clone(), Block::new(vec![ret], 0)));
                    has_return = false;
                }
                stmts.push(Stmt::new(hline, S::If(arms, None)));
            }
        }
        if let Some(f) = finally {
            let fline = self.at(f.span);
            let fend = self.line_of(f.span.end.saturating_sub(1));
            let b = self.block(&f.body, fline, fend)?;
            stmts.push(Stmt::new(fline, S::Do(b)));
            let error = Expr::call(Expr::name("error"), vec![rv.clone(), Expr::Num(0.0)]);
            stmts.push(self.st(S::If(
                vec![(
                    self.line,
                    Expr::not(okv),
                    Block::new(vec![self.st(S::Call(error))], 0),
                )],
                None,
            )));
        }
        if has_return {
            let ret = self.ret(Some(vv));
            stmts.push(self.st(S::If(vec![(self.line, rv, Block::new(vec![ret], 0))], None)));
        }
        let mut frame = Frame::new(FrameKind::Try, Vec::new(), Vec::new());
        frame.escapes = escapes;
        self.after_frame(frame, &mut stmts);
        out.push(Stmt::new(line, S::Do(Block::new(stmts, 0))));
        Ok(())
    }
}

impl<'s> Lowerer<'s> {
    // ---------------------------------------------------------------- declarations

    fn var_decl(&mut self, v: &VariableDeclaration, out: &mut Vec<Stmt>) -> R<()> {
        if matches!(
            v.kind,
            VariableDeclarationKind::Using | VariableDeclarationKind::AwaitUsing
        ) {
            return Err(self.unsupported(v.span, "`using`"));
        }
        for d in &v.declarations {
            self.at(d.span);
            match &d.id {
                BindingPattern::BindingIdentifier(id) => {
                    let b = self.binding_of_decl(id)?;
                    let name = self.bname(b);
                    let assign = v.kind == VariableDeclarationKind::Var || self.predeclared(b);
                    let Some(init) = &d.init else {
                        if !assign {
                            out.push(self.st(S::Local(vec![name], Vec::new())));
                        } else if v.kind == VariableDeclarationKind::Let {
                            out.push(self.st(S::Assign(vec![Expr::Name(name)], vec![Expr::Nil])));
                        }
                        continue;
                    };
                    let (pre, mut val) = self.apart(|s| s.expr(init))?;
                    // `const f = () => ...`: the function is named `f`, as in JS.
                    let params = match init {
                        Expression::ArrowFunctionExpression(a) => Some(&a.params),
                        Expression::FunctionExpression(f) if f.id.is_none() => Some(&f.params),
                        _ => None,
                    };
                    if let Some(params) = params {
                        let js_name = Expr::Str(id.name.to_string());
                        // `length`: the parameters before the first default
                        let len = params
                            .items
                            .iter()
                            .take_while(|p| {
                                p.initializer.is_none()
                                    && !matches!(p.pattern, BindingPattern::AssignmentPattern(_))
                            })
                            .count();
                        let len = Expr::Num(len as f64);
                        val.e = self.rcall("fnname", vec![val.e, js_name, len]);
                    }
                    if assign {
                        let st = self.st(S::Assign(vec![Expr::Name(name)], vec![val.e]));
                        self.emit(out, pre, vec![st]);
                    } else if declares_locals(&pre) {
                        out.push(self.st(S::Local(vec![name.clone()], Vec::new())));
                        let st = self.st(S::Assign(vec![Expr::Name(name)], vec![val.e]));
                        self.emit(out, pre, vec![st]);
                    } else {
                        if pre.is_empty() && params.is_none() && self.hoistable.contains(&b) {
                            self.hoist_sites.push((b, out.len()));
                        }
                        out.extend(pre);
                        out.push(self.st(S::Local(vec![name], vec![val.e])));
                    }
                }
                p => {
                    let Some(init) = &d.init else {
                        return Err(self.err(d.span, "a destructuring declaration needs a value"));
                    };
                    let (pre, ()) = self.apart(|s| {
                        let v = s.expr(init)?;
                        s.bind_pattern(p, v)
                    })?;
                    out.extend(pre);
                }
            }
        }
        Ok(())
    }

    /// Binds a declaration pattern to `src` (new locals, or assignments for
    /// `var`s, parameters and predeclared names); statements go to the prelude.
    fn bind_pattern(&mut self, p: &BindingPattern, src: V) -> R<()> {
        match p {
            BindingPattern::BindingIdentifier(id) => {
                let b = self.binding_of_decl(id)?;
                let name = self.bname(b);
                let kind = self.an.binding(b).kind;
                if kind == BKind::Var
                    || (kind == BKind::Param && self.direct_params.contains(&b))
                    || self.predeclared(b)
                {
                    self.push(S::Assign(vec![Expr::Name(name)], vec![src.e]));
                } else {
                    self.push(S::Local(vec![name], vec![src.e]));
                }
            }
            BindingPattern::AssignmentPattern(a) => {
                if let BindingPattern::BindingIdentifier(id) = &a.left {
                    self.bind_pattern(&a.left, src)?;
                    let b = self.binding_of_decl(id)?;
                    let name = Expr::Name(self.bname(b));
                    self.default_value(name, &a.right)?;
                } else {
                    let t = self.temp();
                    self.push(S::Local(vec![t.clone()], vec![src.e]));
                    self.default_value(Expr::name(&t), &a.right)?;
                    self.bind_pattern(&a.left, V::stable(Expr::Name(t), Ty::Any))?;
                }
            }
            BindingPattern::ObjectPattern(o) => {
                let s = self.stable(src);
                let mut keys = Vec::new();
                for prop in &o.properties {
                    self.at(prop.span);
                    let key = self.prop_key(&prop.key, prop.computed)?;
                    let key = self.stable(key);
                    keys.push(key.e.clone());
                    let get = self.rcall("get", vec![s.e.clone(), key.e]);
                    self.bind_pattern(&prop.value, V::any(get))?;
                }
                if let Some(r) = &o.rest {
                    let rest = self.object_rest(&s.e, keys);
                    self.bind_pattern(&r.argument, V::stable(rest, Ty::Any))?;
                }
            }
            BindingPattern::ArrayPattern(a) => {
                let s = self.stable(src);
                for (i, el) in a.elements.iter().enumerate() {
                    if let Some(el) = el {
                        let get = self.array_element(&s, i);
                        self.bind_pattern(el, get)?;
                    }
                }
                if let Some(r) = &a.rest {
                    let slice = self.array_rest(&s, a.elements.len());
                    self.bind_pattern(&r.argument, slice)?;
                }
            }
        }
        Ok(())
    }

    /// `if x == nil then x = <default> end`
    fn default_value(&mut self, x: Expr, default: &Expression) -> R<()> {
        let (pre, d) = self.apart(|s| s.expr(default))?;
        let mut body = pre;
        body.push(self.st(S::Assign(vec![x.clone()], vec![d.e])));
        self.push(S::If(
            vec![(
                self.line,
                Expr::bin("==", x, Expr::Nil),
                Block::new(body, 0),
            )],
            None,
        ));
        Ok(())
    }

    /// `{...rest}` of a pattern: a copy of `src` without `keys` (a temporary).
    fn object_rest(&mut self, src: &Expr, keys: Vec<Expr>) -> Expr {
        let shape = self.shape(Vec::new());
        let obj = self.rcall("obj", vec![shape]);
        let t = self.spill(obj);
        let spread = self.rcall("objspread", vec![t.clone(), src.clone()]);
        self.push(S::Call(spread));
        for k in keys {
            let del = self.rcall("del", vec![t.clone(), k]);
            self.push(S::Call(del));
        }
        t
    }

    /// A property key as a value: static names as strings, computed keys via `J.toprop`.
    fn prop_key(&mut self, key: &PropertyKey, computed: bool) -> R<V> {
        if let Some(k) = self.static_key(key, computed)? {
            return Ok(V::stable(Expr::Str(k), Ty::Str));
        }
        let Some(e) = key.as_expression() else {
            return Err(self.unsupported(key.span(), "this property key"));
        };
        let v = self.expr(e)?;
        if v.ty == Ty::Str {
            return Ok(v);
        }
        Ok(V::of(self.rcall("toprop", vec![v.e]), Ty::Any))
    }

    /// The name of a non-computed (or literal) key.
    fn static_key(&self, key: &PropertyKey, computed: bool) -> R<Option<String>> {
        Ok(match key {
            PropertyKey::StaticIdentifier(id) if !computed => Some(id.name.to_string()),
            PropertyKey::PrivateIdentifier(p) => {
                return Err(self.err(p.span, "private names (`#x`) are not supported"));
            }
            PropertyKey::StringLiteral(s) => {
                if s.lone_surrogates {
                    return Err(self.unsupported(s.span, "a string with a lone surrogate"));
                }
                Some(s.value.to_string())
            }
            PropertyKey::NumericLiteral(n) => match number_key(n.value) {
                Some(k) => Some(k),
                None if computed => None,
                None => return Err(self.unsupported(n.span, "this numeric property key")),
            },
            _ => None,
        })
    }

    fn fn_decl(&mut self, f: &Function, out: &mut Vec<Stmt>) -> R<()> {
        let line = self.at(f.span);
        let Some(id) = &f.id else {
            return Err(self.unsupported(f.span, "an anonymous function declaration"));
        };
        let b = self.binding_of_decl(id)?;
        let name = self.bname(b);
        let func = self.function_of(f)?;
        if self.predeclared(b) {
            out.push(Stmt::new(
                line,
                S::Assign(vec![Expr::Name(name)], vec![func]),
            ));
        } else if let Expr::Func(func) = func {
            out.push(Stmt::new(line, S::LocalFunction(name, *func)));
        } else {
            // async: `local f; f = J.async(function … end)` (recursion sees `f`).
            out.push(Stmt::new(line, S::Local(vec![name.clone()], Vec::new())));
            out.push(Stmt::new(
                line,
                S::Assign(vec![Expr::Name(name)], vec![func]),
            ));
        }
        Ok(())
    }

    fn class_decl(&mut self, c: &Class, out: &mut Vec<Stmt>) -> R<()> {
        let line = self.at(c.span);
        let Some(id) = &c.id else {
            return Err(self.unsupported(c.span, "an anonymous class declaration"));
        };
        let b = self.binding_of_decl(id)?;
        let name = self.bname(b);
        if !self.predeclared(b) {
            out.push(Stmt::new(line, S::Local(vec![name.clone()], Vec::new())));
        }
        let (pre, value) = self.apart(|s| s.class(c, &name))?;
        let st = Stmt::new(line, S::Assign(vec![Expr::Name(name)], vec![value]));
        self.emit(out, pre, vec![st]);
        Ok(())
    }

    // ---------------------------------------------------------------- functions

    fn function_of(&mut self, f: &Function) -> R<Expr> {
        if f.generator {
            return Err(self.unsupported(f.span, "a generator function"));
        }
        let Some(body) = &f.body else {
            return Err(self.unsupported(f.span, "a function without a body"));
        };
        self.function(
            &f.params,
            Some(&body.statements),
            None,
            false,
            f.r#async,
            f.span,
            None,
        )
    }

    /// Lowers a function: `this` first, parameters, prologue (defaults,
    /// destructuring, rest), hoisted `var`s, body. `class` gives `super` access.
    #[allow(clippy::too_many_arguments)]
    fn function(
        &mut self,
        params: &FormalParameters,
        body: Option<&[Statement]>,
        expr_body: Option<&Expression>,
        arrow: bool,
        is_async: bool,
        span: Span,
        class: Option<(ClassCtx, Vec<Stmt>, bool)>,
    ) -> R<Expr> {
        let line = self.line_of(span.start);
        let end = self.line_of(span.end.saturating_sub(1));
        let this = if arrow {
            self.f.this.clone()
        } else {
            Some(Expr::name("this"))
        };
        let class_ctx = match &class {
            Some((c, _, _)) => Some(c.clone()),
            None if arrow => self.f.class.clone(),
            None => None,
        };
        let mut ctx = FnCtx::new(this, is_async, class_ctx);
        ctx.is_main = self.main_span == Some(span.start);
        let saved_f = std::mem::replace(&mut self.f, ctx);
        let saved_pre = std::mem::take(&mut self.pre);
        let saved_line = self.line;
        self.line = line;
        let r = self.function_inner(params, body, expr_body, arrow, line, end, class);
        self.f = saved_f;
        self.pre = saved_pre;
        self.line = saved_line;
        let func = r?;
        let e = Expr::Func(Box::new(func));
        Ok(if is_async {
            self.rcall("async", vec![e])
        } else {
            e
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn function_inner(
        &mut self,
        params: &FormalParameters,
        body: Option<&[Statement]>,
        expr_body: Option<&Expression>,
        arrow: bool,
        line: u32,
        end: u32,
        class: Option<(ClassCtx, Vec<Stmt>, bool)>,
    ) -> R<Func> {
        let mut names = vec![if arrow {
            "__".to_string()
        } else {
            "this".to_string()
        }];
        let mut out = Vec::new();
        let mut prologue: Vec<(&FormalParameter, String)> = Vec::new();
        for p in &params.items {
            match (&p.pattern, &p.initializer) {
                (BindingPattern::BindingIdentifier(id), None) => {
                    let b = self.binding_of_decl(id)?;
                    self.direct_params.insert(b);
                    names.push(self.bname(b));
                }
                (BindingPattern::BindingIdentifier(id), Some(_)) => {
                    let b = self.binding_of_decl(id)?;
                    self.direct_params.insert(b);
                    let n = self.bname(b);
                    names.push(n.clone());
                    prologue.push((p, n));
                }
                _ => {
                    let t = self.named_temp("p");
                    names.push(t.clone());
                    prologue.push((p, t));
                }
            }
        }
        // Parameters are bound in order, defaults may read earlier ones.
        for (p, n) in prologue {
            self.line = line;
            let (pre, ()) = self.apart(|s| {
                if let Some(init) = &p.initializer {
                    s.default_value(Expr::name(&n), init)?;
                }
                if !matches!(p.pattern, BindingPattern::BindingIdentifier(_)) {
                    s.bind_pattern(&p.pattern, V::stable(Expr::name(&n), Ty::Any))?;
                }
                Ok(())
            })?;
            out.extend(pre);
        }
        let vararg = params.rest.is_some();
        if let Some(rest) = &params.rest {
            let count = Expr::call(
                Expr::name("select"),
                vec![Expr::Str("#".into()), Expr::Vararg],
            );
            let arr = self.rcall("arr", vec![count, Expr::Vararg]);
            let (pre, ()) =
                self.apart(|s| s.bind_pattern(&rest.rest.argument, V::stable(arr, Ty::Any)))?;
            out.extend(pre);
        }
        // Hoisted `var`s (not parameters).
        if let Some(stmts) = body {
            let mut vars = Vec::new();
            self.var_bindings(stmts, &mut vars)?;
            if !vars.is_empty() {
                let vn = vars.iter().map(|&b| self.bname(b)).collect();
                out.push(Stmt::new(line, S::Local(vn, Vec::new())));
            }
        }
        if let Some((_, fields, derived)) = class
            && !fields.is_empty()
        {
            if derived {
                self.f.fields_after_super = Some(fields);
            } else {
                out.extend(fields);
            }
        }
        match (body, expr_body) {
            (Some(stmts), _) => self.block_body(stmts, &mut out, line)?,
            (None, Some(e)) => {
                self.at(e.span());
                let (pre, v) = self.apart(|s| s.expr(e))?;
                let ret = self.st(S::Return(vec![v.e]));
                self.emit(&mut out, pre, vec![ret]);
            }
            (None, None) => {}
        }
        Ok(Func {
            params: names,
            vararg,
            body: Block::new(out, end),
        })
    }

    fn class(&mut self, c: &Class, name: &str) -> R<Expr> {
        let js_name =
            c.id.as_ref()
                .map_or(String::new(), |id| id.name.to_string());
        let parent = match &c.heritage {
            Some(h) => Some(self.expr(&h.expression)?),
            None => None,
        };
        let derived = parent.is_some();
        let ctx = ClassCtx {
            name: name.to_string(),
            derived,
        };
        let mut ctor = None;
        let mut defs = Vec::new();
        let mut fields: Vec<(Expr, &Expression)> = Vec::new();
        let mut field_keys_only: Vec<Expr> = Vec::new();
        for el in &c.body.body {
            match el {
                ClassElement::MethodDefinition(m) => {
                    if m.r#type != MethodDefinitionType::MethodDefinition {
                        return Err(self.unsupported(m.span, "TypeScript syntax"));
                    }
                    if m.kind == MethodDefinitionKind::Constructor {
                        ctor = Some(m);
                        continue;
                    }
                    let key = self.prop_key(&m.key, m.computed)?;
                    if m.value.generator {
                        return Err(self.unsupported(m.span, "a generator method"));
                    }
                    let Some(body) = &m.value.body else {
                        return Err(self.unsupported(m.span, "a method without a body"));
                    };
                    let f = self.function(
                        &m.value.params,
                        Some(&body.statements),
                        None,
                        false,
                        m.value.r#async,
                        m.value.span,
                        Some((ctx.clone(), Vec::new(), false)),
                    )?;
                    let kind = match m.kind {
                        MethodDefinitionKind::Get => "get",
                        MethodDefinitionKind::Set => "set",
                        _ => "method",
                    };
                    defs.push(Expr::Record(vec![
                        ("kind".into(), Expr::Str(kind.into())),
                        ("static".into(), Expr::Bool(m.r#static)),
                        ("key".into(), key.e),
                        ("value".into(), f),
                    ]));
                }
                ClassElement::PropertyDefinition(p) => {
                    if p.r#type != PropertyDefinitionType::PropertyDefinition {
                        return Err(self.unsupported(p.span, "TypeScript syntax"));
                    }
                    let key = self.prop_key(&p.key, p.computed)?;
                    if p.r#static {
                        let saved = self.f.this.take();
                        let v = match &p.value {
                            Some(v) => self.expr(v),
                            None => Ok(V::any(Expr::Nil)),
                        };
                        self.f.this = saved;
                        let v = v?;
                        defs.push(Expr::Record(vec![
                            ("kind".into(), Expr::Str("field".into())),
                            ("static".into(), Expr::Bool(true)),
                            ("key".into(), key.e),
                            ("value".into(), v.e),
                        ]));
                    } else {
                        let key = self.stable(key);
                        match &p.value {
                            Some(v) => fields.push((key.e, v)),
                            None => field_keys_only.push(key.e),
                        }
                    }
                }
                ClassElement::StaticBlock(b) => {
                    return Err(self.unsupported(b.span, "a static block"));
                }
                ClassElement::AccessorProperty(a) => {
                    return Err(self.unsupported(a.span, "`accessor`"));
                }
                ClassElement::TSIndexSignature(t) => {
                    return Err(self.unsupported(t.span, "TypeScript syntax"));
                }
            }
        }
        // Instance field initialisers, lowered as statements of the constructor.
        let field_init = |s: &mut Self| -> R<Vec<Stmt>> {
            let mut out = Vec::new();
            for k in &field_keys_only {
                let set = s.rcall("set", vec![Expr::name("this"), k.clone(), Expr::Nil]);
                out.push(s.st(S::Call(set)));
            }
            for (k, v) in &fields {
                s.at(v.span());
                let (pre, val) = s.apart(|s| s.expr(v))?;
                let set = s.rcall("set", vec![Expr::name("this"), k.clone(), val.e]);
                let st = s.st(S::Call(set));
                s.emit(&mut out, pre, vec![st]);
            }
            Ok(out)
        };
        let has_fields = !fields.is_empty() || !field_keys_only.is_empty();
        let ctor_fn = match ctor {
            Some(m) => {
                let Some(body) = &m.value.body else {
                    return Err(self.unsupported(m.span, "a constructor without a body"));
                };
                // Field initialisers are lowered inside the constructor's context.
                let line = self.line_of(m.value.span.start);
                let end = self.line_of(m.value.span.end.saturating_sub(1));
                let fctx = FnCtx::new(Some(Expr::name("this")), false, Some(ctx.clone()));
                let saved_f = std::mem::replace(&mut self.f, fctx);
                let saved_pre = std::mem::take(&mut self.pre);
                let inits = field_init(self);
                self.f = saved_f;
                self.pre = saved_pre;
                let inits = inits?;
                let _ = (line, end);
                let f = self.function(
                    &m.value.params,
                    Some(&body.statements),
                    None,
                    false,
                    false,
                    m.value.span,
                    Some((ctx.clone(), inits, derived)),
                )?;
                if derived && has_fields && !contains_super_call(&body.statements) {
                    return Err(self.err(m.span, "a derived constructor must call `super(…)`"));
                }
                f
            }
            None if has_fields || derived => {
                let line = self.line;
                let fctx = FnCtx::new(Some(Expr::name("this")), false, Some(ctx.clone()));
                let saved_f = std::mem::replace(&mut self.f, fctx);
                let saved_pre = std::mem::take(&mut self.pre);
                let inits = field_init(self);
                self.f = saved_f;
                self.pre = saved_pre;
                let mut stmts = Vec::new();
                if derived {
                    let sup = self.rcall(
                        "superctor",
                        vec![Expr::name(name), Expr::name("this"), Expr::Vararg],
                    );
                    stmts.push(Stmt::new(line, S::Call(sup)));
                }
                stmts.extend(inits?);
                Expr::Func(Box::new(Func {
                    params: vec!["this".into()],
                    vararg: derived,
                    body: Block::new(stmts, 0),
                }))
            }
            None => Expr::Nil,
        };
        Ok(self.rcall(
            "class",
            vec![
                Expr::Str(js_name),
                parent.map_or(Expr::Nil, |p| p.e),
                ctor_fn,
                Expr::Table(defs),
            ],
        ))
    }
}

/// Whether statements contain a `super(…)` call (outside nested functions).
fn contains_super_call(stmts: &[Statement]) -> bool {
    stmts.iter().any(|s| match s {
        Statement::ExpressionStatement(e) => is_super_call(&e.expression),
        Statement::BlockStatement(b) => contains_super_call(&b.body),
        Statement::IfStatement(i) => {
            contains_super_call(std::slice::from_ref(&i.consequent))
                || i.alternate
                    .as_ref()
                    .is_some_and(|a| contains_super_call(std::slice::from_ref(a)))
        }
        _ => false,
    })
}

fn is_super_call(e: &Expression) -> bool {
    matches!(e, Expression::CallExpression(c) if matches!(c.callee, Expression::Super(_)))
}

impl<'s> Lowerer<'s> {
    // ---------------------------------------------------------------- expressions

    /// A condition as a Luau boolean.
    fn cond(&mut self, e: &Expression) -> R<Expr> {
        match e {
            Expression::ParenthesizedExpression(p) => self.cond(&p.expression),
            Expression::UnaryExpression(u) if u.operator == UnaryOperator::LogicalNot => {
                let c = self.cond(&u.argument)?;
                Ok(Expr::not(c))
            }
            Expression::LogicalExpression(l) if l.operator != LogicalOperator::Coalesce => {
                let and = l.operator == LogicalOperator::And;
                let a = self.cond(&l.left)?;
                let (bpre, b) = self.apart(|s| s.cond(&l.right))?;
                if bpre.is_empty() {
                    return Ok(Expr::bin(if and { "and" } else { "or" }, a, b));
                }
                let t = self.spill(a);
                let mut body = bpre;
                body.push(self.st(S::Assign(vec![t.clone()], vec![b])));
                let test = if and { t.clone() } else { Expr::not(t.clone()) };
                self.push(S::If(vec![(self.line, test, Block::new(body, 0))], None));
                Ok(t)
            }
            e => {
                let v = self.expr(e)?;
                Ok(self.truthy(v))
            }
        }
    }

    fn expr(&mut self, e: &Expression) -> R<V> {
        self.at(e.span());
        Ok(match e {
            Expression::BooleanLiteral(b) => V::stable(Expr::Bool(b.value), Ty::Bool),
            Expression::NullLiteral(_) => V::stable(self.null(), Ty::Any),
            Expression::NumericLiteral(n) => V::stable(Expr::Num(n.value), Ty::Num),
            Expression::StringLiteral(s) => {
                if s.lone_surrogates {
                    return Err(self.unsupported(s.span, "a string with a lone surrogate"));
                }
                V::stable(Expr::Str(s.value.to_string()), Ty::Str)
            }
            Expression::BigIntLiteral(b) => return Err(self.unsupported(b.span, "BigInt")),
            Expression::RegExpLiteral(r) => {
                let source = r.regex.pattern.text.as_str();
                let flags = r.regex.flags.to_string();
                if let Err(m) = super::host_regex::validate(source, &flags) {
                    return Err(self.err(r.span, m));
                }
                V::of(
                    self.rcall(
                        "regex",
                        vec![Expr::Str(source.to_string()), Expr::Str(flags)],
                    ),
                    Ty::Any,
                )
            }
            Expression::TemplateLiteral(t) => self.template(t)?,
            Expression::Identifier(id) => self.ident(id)?,
            Expression::ThisExpression(t) => match &self.f.this {
                Some(e) => V::stable(e.clone(), Ty::Any),
                None => return Err(self.unsupported(t.span, "`this` here")),
            },
            Expression::ParenthesizedExpression(p) => self.expr(&p.expression)?,
            Expression::SequenceExpression(s) => {
                let n = s.expressions.len();
                for e in &s.expressions[..n - 1] {
                    let stmts = self.expr_stmt(e)?;
                    self.pre.extend(stmts);
                }
                self.expr(&s.expressions[n - 1])?
            }
            Expression::ArrayExpression(a) => self.array(a)?,
            Expression::ObjectExpression(o) => self.object(o)?,
            Expression::FunctionExpression(f) => {
                let func = self.function_of(f)?;
                match &f.id {
                    Some(id) if self.an.binding(self.binding_of_decl(id)?).used => {
                        let name = self.bname(self.binding_of_decl(id)?);
                        match func {
                            Expr::Func(func) => self.push(S::LocalFunction(name.clone(), *func)),
                            func => {
                                self.push(S::Local(vec![name.clone()], Vec::new()));
                                self.push(S::Assign(vec![Expr::name(&name)], vec![func]));
                            }
                        }
                        V::stable(Expr::Name(name), Ty::Any)
                    }
                    _ => V::stable(func, Ty::Any),
                }
            }
            Expression::ArrowFunctionExpression(a) => {
                let (body, expr_body) = match &a.body {
                    ArrowFunctionBody::FunctionBody(b) => (Some(&b.statements[..]), None),
                    b => (None, b.as_expression()),
                };
                let f = self.function(&a.params, body, expr_body, true, a.r#async, a.span, None)?;
                V::stable(f, Ty::Any)
            }
            Expression::ClassExpression(c) => {
                let name = match &c.id {
                    Some(id) => self.bname(self.binding_of_decl(id)?),
                    None => self.named_temp("class"),
                };
                self.push(S::Local(vec![name.clone()], Vec::new()));
                let value = self.class(c, &name)?;
                self.push(S::Assign(vec![Expr::name(&name)], vec![value]));
                V::stable(Expr::Name(name), Ty::Any)
            }
            Expression::AssignmentExpression(a) => self.assign(a, true)?,
            Expression::UpdateExpression(u) => self.update(u, true)?,
            Expression::AwaitExpression(a) => {
                if !self.f.is_async {
                    return Err(self.unsupported(a.span, "`await` outside an async function"));
                }
                let v = self.expr(&a.argument)?;
                V::any(self.rcall("await", vec![v.e]))
            }
            Expression::BinaryExpression(b) => self.binary(b)?,
            Expression::LogicalExpression(l) => self.logical(l)?,
            Expression::ConditionalExpression(c) => self.conditional(c)?,
            Expression::UnaryExpression(u) => self.unary(u)?,
            Expression::CallExpression(c) => self.call(c)?,
            Expression::NewExpression(n) => {
                if let Expression::Identifier(id) = &n.callee
                    && id.name.as_str() == "Function"
                    && self.binding_of_ref(id).is_none()
                {
                    return Err(self.unsupported(n.span, "`new Function`"));
                }
                let c = self.expr(&n.callee)?;
                let mut vals = vec![c];
                let args = self.args(&mut vals, &n.arguments)?;
                let mut all = vec![vals.swap_remove(0).e];
                all.extend(args);
                V::any(self.rcall("new", all))
            }
            Expression::ChainExpression(c) => self.chain(c)?,
            Expression::StaticMemberExpression(_)
            | Expression::ComputedMemberExpression(_)
            | Expression::PrivateFieldExpression(_) => {
                let m = e.as_member_expression().expect("member");
                self.member_get(m)?
            }
            Expression::TaggedTemplateExpression(t) => {
                return Err(self.unsupported(t.span, "a tagged template"));
            }
            Expression::YieldExpression(y) => return Err(self.unsupported(y.span, "`yield`")),
            Expression::Super(s) => return Err(self.unsupported(s.span, "`super` here")),
            Expression::ImportExpression(i) => {
                return Err(self.err(
                    i.span,
                    "`import()` is not supported: scripts are a single file",
                ));
            }
            Expression::NewTarget(n) => return Err(self.unsupported(n.span, "`new.target`")),
            Expression::ImportMeta(m) => return Err(self.unsupported(m.span, "`import.meta`")),
            Expression::PrivateInExpression(p) => {
                return Err(self.err(p.span, "private names (`#x`) are not supported"));
            }
            e => return Err(self.unsupported(e.span(), "this expression")),
        })
    }

    fn ident(&mut self, id: &IdentifierReference) -> R<V> {
        if let Some(b) = self.binding_of_ref(id) {
            if self.member_object != Some(id.span.start) {
                self.escaped.insert(b);
            }
            return Ok(self.read_binding(b));
        }
        let name = id.name.as_str();
        Ok(match name {
            "undefined" => V::stable(Expr::Nil, Ty::Any),
            "NaN" => V::stable(Expr::Num(f64::NAN), Ty::Num),
            "Infinity" => V::stable(Expr::Num(f64::INFINITY), Ty::Num),
            "arguments" => {
                return Err(self.err(
                    id.span,
                    "`arguments` is not supported; use a rest parameter (`...args`)",
                ));
            }
            "eval" | "Function" | "Symbol" | "Proxy" | "Reflect" | "WeakMap" | "WeakSet"
            | "WeakRef" | "BigInt" | "Intl" => {
                return Err(self.unsupported(id.span, &format!("`{name}`")));
            }
            "require" | "module" | "exports" => {
                return Err(self.err(
                    id.span,
                    format!("`{name}` is not supported: scripts are a single file"),
                ));
            }
            _ => match GLOBALS.iter().find(|g| **g == name) {
                Some(g) => {
                    self.globals.insert(g);
                    V::stable(Expr::Name(format!("J_{g}")), Ty::Any)
                }
                None => return Err(self.err(id.span, format!("`{name}` is not defined"))),
            },
        })
    }

    fn template(&mut self, t: &TemplateLiteral) -> R<V> {
        let exprs: Vec<&Expression> = t.expressions.iter().collect();
        let vals = self.exprs(&exprs)?;
        let mut parts = Vec::new();
        for (i, q) in t.quasis.iter().enumerate() {
            if q.lone_surrogates {
                return Err(self.unsupported(q.span, "a string with a lone surrogate"));
            }
            let Some(cooked) = &q.value.cooked else {
                return Err(self.err(q.span, "invalid escape sequence in a template literal"));
            };
            if !cooked.is_empty() {
                parts.push(Expr::Str(cooked.to_string()));
            }
            if let Some(v) = vals.get(i) {
                let e = if v.ty == Ty::Str {
                    v.e.clone()
                } else {
                    self.rcall("tostr", vec![v.e.clone()])
                };
                parts.push(e);
            }
        }
        let mut it = parts.into_iter();
        let Some(mut acc) = it.next() else {
            return Ok(V::stable(Expr::Str(String::new()), Ty::Str));
        };
        if matches!(acc, Expr::Str(_)) && it.len() == 0 {
            return Ok(V::stable(acc, Ty::Str));
        }
        for p in it {
            acc = Expr::bin("..", acc, p);
        }
        Ok(V::of(acc, Ty::Str))
    }

    fn binary(&mut self, b: &BinaryExpression) -> R<V> {
        use BinaryOperator as B;
        // `x == null` / `x != null`: a nil/null check.
        if matches!(b.operator, B::Equality | B::Inequality) {
            let lit = |e: &Expression| {
                matches!(e, Expression::NullLiteral(_))
                    || matches!(e, Expression::Identifier(i) if i.name.as_str() == "undefined")
            };
            let other = if lit(&b.right) {
                Some(&b.left)
            } else if lit(&b.left) {
                Some(&b.right)
            } else {
                None
            };
            if let Some(o) = other {
                let v = self.expr(o)?;
                let v = self.stable(v);
                let test = self.nullish(v.e);
                let e = if b.operator == B::Equality {
                    test
                } else {
                    Expr::not(Expr::Paren(Box::new(test)))
                };
                return Ok(V::of(e, Ty::Bool));
            }
        }
        let vals = self.exprs(&[&b.left, &b.right])?;
        let [l, r]: [V; 2] = vals.try_into().expect("two operands");
        let num = l.ty == Ty::Num && r.ty == Ty::Num;
        let lua = |op: &'static str, ty: Ty| V::of(Expr::bin(op, l.e.clone(), r.e.clone()), ty);
        Ok(match b.operator {
            B::StrictEquality => lua("==", Ty::Bool),
            B::StrictInequality => lua("~=", Ty::Bool),
            B::Equality if l.ty == r.ty && l.ty != Ty::Any => lua("==", Ty::Bool),
            B::Inequality if l.ty == r.ty && l.ty != Ty::Any => lua("~=", Ty::Bool),
            B::Equality => V::of(self.rcall("eq", vec![l.e, r.e]), Ty::Bool),
            B::Inequality => {
                let eq = self.rcall("eq", vec![l.e, r.e]);
                V::of(Expr::not(eq), Ty::Bool)
            }
            B::LessThan if num => lua("<", Ty::Bool),
            B::LessEqualThan if num => lua("<=", Ty::Bool),
            B::GreaterThan if num => lua(">", Ty::Bool),
            B::GreaterEqualThan if num => lua(">=", Ty::Bool),
            B::LessThan => V::of(self.rcall("lt", vec![l.e, r.e]), Ty::Bool),
            B::LessEqualThan => V::of(self.rcall("le", vec![l.e, r.e]), Ty::Bool),
            B::GreaterThan => V::of(self.rcall("gt", vec![l.e, r.e]), Ty::Bool),
            B::GreaterEqualThan => V::of(self.rcall("ge", vec![l.e, r.e]), Ty::Bool),
            B::Addition => self.add(l, r),
            B::Subtraction if num => lua("-", Ty::Num),
            B::Multiplication if num => lua("*", Ty::Num),
            B::Division if num => lua("/", Ty::Num),
            B::Remainder if num => {
                V::of(Expr::call(Expr::name("math.fmod"), vec![l.e, r.e]), Ty::Num)
            }
            B::Subtraction => V::of(self.rcall("sub", vec![l.e, r.e]), Ty::Num),
            B::Multiplication => V::of(self.rcall("mul", vec![l.e, r.e]), Ty::Num),
            B::Division => V::of(self.rcall("div", vec![l.e, r.e]), Ty::Num),
            B::Remainder => V::of(self.rcall("mod", vec![l.e, r.e]), Ty::Num),
            B::Exponential => V::of(self.rcall("pow", vec![l.e, r.e]), Ty::Num),
            B::BitwiseOR => V::of(self.rcall("bor", vec![l.e, r.e]), Ty::Num),
            B::BitwiseAnd => V::of(self.rcall("band", vec![l.e, r.e]), Ty::Num),
            B::BitwiseXOR => V::of(self.rcall("bxor", vec![l.e, r.e]), Ty::Num),
            B::ShiftLeft => V::of(self.rcall("shl", vec![l.e, r.e]), Ty::Num),
            B::ShiftRight => V::of(self.rcall("shr", vec![l.e, r.e]), Ty::Num),
            B::ShiftRightZeroFill => V::of(self.rcall("ushr", vec![l.e, r.e]), Ty::Num),
            B::In => V::of(self.rcall("has", vec![l.e, r.e]), Ty::Bool),
            B::Instanceof => V::of(self.rcall("instanceof", vec![l.e, r.e]), Ty::Bool),
        })
    }

    /// `+`: Luau `+` on numbers, `..` on strings (numbers via `J.tostr`), else `J.add`.
    fn add(&mut self, l: V, r: V) -> V {
        match (l.ty, r.ty) {
            (Ty::Num, Ty::Num) => V::of(Expr::bin("+", l.e, r.e), Ty::Num),
            (Ty::Str, Ty::Str) => V::of(Expr::bin("..", l.e, r.e), Ty::Str),
            (Ty::Str, Ty::Num) => {
                let rs = self.rcall("tostr", vec![r.e]);
                V::of(Expr::bin("..", l.e, rs), Ty::Str)
            }
            (Ty::Num, Ty::Str) => {
                let ls = self.rcall("tostr", vec![l.e]);
                V::of(Expr::bin("..", ls, r.e), Ty::Str)
            }
            (a, b) => {
                let ty = if a == Ty::Str || b == Ty::Str {
                    Ty::Str
                } else {
                    Ty::Any
                };
                V::of(self.rcall("add", vec![l.e, r.e]), ty)
            }
        }
    }

    /// The arithmetic of a compound assignment `op=`.
    fn arith(&mut self, op: AssignmentOperator, l: V, r: V) -> V {
        use AssignmentOperator as A;
        let num = l.ty == Ty::Num && r.ty == Ty::Num;
        let lua = |o: &'static str, l: V, r: V| V::of(Expr::bin(o, l.e, r.e), Ty::Num);
        let (name, lop) = match op {
            A::Addition => return self.add(l, r),
            A::Subtraction => ("sub", "-"),
            A::Multiplication => ("mul", "*"),
            A::Division => ("div", "/"),
            A::Remainder => ("mod", ""),
            A::Exponential => ("pow", ""),
            A::BitwiseOR => ("bor", ""),
            A::BitwiseAnd => ("band", ""),
            A::BitwiseXOR => ("bxor", ""),
            A::ShiftLeft => ("shl", ""),
            A::ShiftRight => ("shr", ""),
            A::ShiftRightZeroFill => ("ushr", ""),
            A::Assign | A::LogicalAnd | A::LogicalOr | A::LogicalNullish => {
                unreachable!("not arithmetic")
            }
        };
        if num && !lop.is_empty() {
            return lua(lop, l, r);
        }
        V::of(self.rcall(name, vec![l.e, r.e]), Ty::Num)
    }

    fn logical(&mut self, l: &LogicalExpression) -> R<V> {
        let a = self.expr(&l.left)?;
        let (bpre, b) = self.apart(|s| s.expr(&l.right))?;
        let ty = if a.ty == b.ty { a.ty } else { Ty::Any };
        if bpre.is_empty() {
            if a.ty == Ty::Bool && b.ty == Ty::Bool && l.operator != LogicalOperator::Coalesce {
                let op = if l.operator == LogicalOperator::And {
                    "and"
                } else {
                    "or"
                };
                return Ok(V::of(Expr::bin(op, a.e, b.e), Ty::Bool));
            }
            let a = self.stable(a);
            let e = match l.operator {
                LogicalOperator::And => {
                    let c = self.truthy(a.clone());
                    Expr::IfElse(Box::new(c), Box::new(b.e), Box::new(a.e))
                }
                LogicalOperator::Or => {
                    let c = self.truthy(a.clone());
                    Expr::IfElse(Box::new(c), Box::new(a.e), Box::new(b.e))
                }
                LogicalOperator::Coalesce => {
                    let c = self.nullish(a.e.clone());
                    Expr::IfElse(Box::new(c), Box::new(b.e), Box::new(a.e))
                }
            };
            return Ok(V::of(e, ty));
        }
        let t = self.spill(a.e.clone());
        let tv = V::stable(t.clone(), a.ty);
        let test = match l.operator {
            LogicalOperator::And => self.truthy(tv),
            LogicalOperator::Or => {
                let c = self.truthy(tv);
                Expr::not(c)
            }
            LogicalOperator::Coalesce => self.nullish(t.clone()),
        };
        let mut body = bpre;
        body.push(self.st(S::Assign(vec![t.clone()], vec![b.e])));
        self.push(S::If(vec![(self.line, test, Block::new(body, 0))], None));
        Ok(V::stable(t, ty))
    }

    fn conditional(&mut self, c: &ConditionalExpression) -> R<V> {
        let test = self.cond(&c.test)?;
        let (p1, a) = self.apart(|s| s.expr(&c.consequent))?;
        let (p2, b) = self.apart(|s| s.expr(&c.alternate))?;
        let ty = if a.ty == b.ty { a.ty } else { Ty::Any };
        if p1.is_empty() && p2.is_empty() {
            return Ok(V::of(
                Expr::IfElse(Box::new(test), Box::new(a.e), Box::new(b.e)),
                ty,
            ));
        }
        let t = self.temp();
        let tv = Expr::name(&t);
        self.push(S::Local(vec![t], Vec::new()));
        let mut b1 = p1;
        b1.push(self.st(S::Assign(vec![tv.clone()], vec![a.e])));
        let mut b2 = p2;
        b2.push(self.st(S::Assign(vec![tv.clone()], vec![b.e])));
        self.push(S::If(
            vec![(self.line, test, Block::new(b1, 0))],
            Some((self.line, Block::new(b2, 0))),
        ));
        Ok(V::stable(tv, ty))
    }

    fn unary(&mut self, u: &UnaryExpression) -> R<V> {
        use UnaryOperator as U;
        match u.operator {
            U::LogicalNot => {
                let c = self.cond(&u.argument)?;
                return Ok(V::of(Expr::not(c), Ty::Bool));
            }
            U::Typeof => {
                if let Expression::Identifier(id) = &u.argument
                    && self.binding_of_ref(id).is_none()
                    && !GLOBALS.contains(&id.name.as_str())
                    && !matches!(id.name.as_str(), "undefined" | "NaN" | "Infinity")
                {
                    return Err(self.err(
                        id.span,
                        format!(
                            "`typeof` of the undeclared name `{}` is not supported",
                            id.name
                        ),
                    ));
                }
                let v = self.expr(&u.argument)?;
                return Ok(V::of(self.rcall("typeof", vec![v.e]), Ty::Str));
            }
            U::Delete => {
                let Some(m) = u.argument.without_parentheses().as_member_expression() else {
                    return Err(self.unsupported(u.span, "`delete` of anything but a property"));
                };
                let (o, k) = self.member_parts(m)?;
                return Ok(V::of(self.rcall("del", vec![o.e, k.e]), Ty::Bool));
            }
            U::Void => {
                let stmts = self.expr_stmt(&u.argument)?;
                self.pre.extend(stmts);
                return Ok(V::stable(Expr::Nil, Ty::Any));
            }
            _ => {}
        }
        if u.operator == U::UnaryNegation
            && let Expression::NumericLiteral(n) = &u.argument
        {
            return Ok(V::stable(Expr::Num(-n.value), Ty::Num));
        }
        let v = self.expr(&u.argument)?;
        Ok(match u.operator {
            U::UnaryNegation if v.ty == Ty::Num => V::of(Expr::Un("-", Box::new(v.e)), Ty::Num),
            U::UnaryNegation => V::of(self.rcall("neg", vec![v.e]), Ty::Num),
            U::UnaryPlus if v.ty == Ty::Num => v,
            U::UnaryPlus => V::of(self.rcall("pos", vec![v.e]), Ty::Num),
            U::BitwiseNot => V::of(self.rcall("bnot", vec![v.e]), Ty::Num),
            _ => unreachable!("handled above"),
        })
    }

    // ---------------------------------------------------------------- assignment

    fn assign_ident(&self, id: &IdentifierReference) -> R<(Bid, String)> {
        let Some(b) = self.binding_of_ref(id) else {
            return Err(self.err(
                id.span,
                format!("assignment to the undeclared variable `{}`", id.name),
            ));
        };
        let kind = self.an.binding(b).kind;
        if matches!(kind, BKind::Const | BKind::FnName) {
            return Err(self.err(id.span, format!("`{}` is a constant", id.name)));
        }
        Ok((b, self.bname(b)))
    }

    fn assign(&mut self, a: &AssignmentExpression, want: bool) -> R<V> {
        use AssignmentOperator as A;
        let logical = matches!(a.operator, A::LogicalAnd | A::LogicalOr | A::LogicalNullish);
        match &a.left {
            AssignmentTarget::AssignmentTargetIdentifier(id) => {
                let (b, name) = self.assign_ident(id)?;
                let cur = self.read_binding(b);
                let target = Expr::Name(name);
                if logical {
                    self.logical_assign(a.operator, cur, &a.right, |_, v| {
                        Ok(S::Assign(vec![target.clone()], vec![v]))
                    })?;
                } else if a.operator == A::Assign {
                    let v = self.expr(&a.right)?;
                    self.push(S::Assign(vec![target.clone()], vec![v.e]));
                } else {
                    let mut vals = vec![cur];
                    let r = self.seq(&mut vals, |s| s.expr(&a.right))?;
                    let cur = vals.pop().expect("value");
                    let v = self.arith(a.operator, cur, r);
                    self.push(S::Assign(vec![target.clone()], vec![v.e]));
                }
                Ok(self.read_binding(b))
            }
            AssignmentTarget::ArrayAssignmentTarget(_)
            | AssignmentTarget::ObjectAssignmentTarget(_) => {
                let v = self.expr(&a.right)?;
                let v = self.stable(v);
                self.assign_target(&a.left, v.clone())?;
                Ok(v)
            }
            t => {
                let Some(m) = t.as_member_expression() else {
                    return Err(self.unsupported(t.span(), "this assignment target"));
                };
                let (o, k) = self.member_parts(m)?;
                if a.operator == A::Assign {
                    let mut vals = vec![o, k];
                    let v = self.seq(&mut vals, |s| s.expr(&a.right))?;
                    let k = vals.pop().expect("key");
                    let o = vals.pop().expect("object");
                    let set = self.rcall("set", vec![o.e, k.e, v.e]);
                    if want {
                        return Ok(V::any(set));
                    }
                    self.push(S::Call(set));
                    return Ok(V::stable(Expr::Nil, Ty::Any));
                }
                let o = self.stable(o);
                let k = self.stable(k);
                let cur = V::any(self.rcall("get", vec![o.e.clone(), k.e.clone()]));
                if logical {
                    let cur = self.stable(cur);
                    let (oe, ke) = (o.e.clone(), k.e.clone());
                    let t = cur.e.clone();
                    self.logical_assign(a.operator, cur.clone(), &a.right, |s, v| {
                        let set = s.rcall("set", vec![oe.clone(), ke.clone(), v]);
                        Ok(S::Assign(vec![t.clone()], vec![set]))
                    })?;
                    return Ok(V::stable(cur.e, Ty::Any));
                }
                let mut vals = vec![cur];
                let r = self.seq(&mut vals, |s| s.expr(&a.right))?;
                let cur = vals.pop().expect("value");
                let v = self.arith(a.operator, cur, r);
                let set = self.rcall("set", vec![o.e, k.e, v.e]);
                if want {
                    let t = self.spill(set);
                    return Ok(V::stable(t, v.ty));
                }
                self.push(S::Call(set));
                Ok(V::stable(Expr::Nil, Ty::Any))
            }
        }
    }

    /// `x ||= v` / `&&=` / `??=`: `assign(v)` runs only when needed.
    fn logical_assign(
        &mut self,
        op: AssignmentOperator,
        cur: V,
        right: &Expression,
        assign: impl Fn(&mut Self, Expr) -> R<S>,
    ) -> R<()> {
        let test = match op {
            AssignmentOperator::LogicalAnd => self.truthy(cur),
            AssignmentOperator::LogicalOr => {
                let c = self.truthy(cur);
                Expr::not(c)
            }
            _ => {
                let cur = self.stable(cur);
                self.nullish(cur.e)
            }
        };
        let (pre, v) = self.apart(|s| s.expr(right))?;
        let mut body = pre;
        let st = assign(self, v.e)?;
        body.push(self.st(st));
        self.push(S::If(vec![(self.line, test, Block::new(body, 0))], None));
        Ok(())
    }

    fn update(&mut self, u: &UpdateExpression, want: bool) -> R<V> {
        let op = if u.operator == UpdateOperator::Increment {
            "+"
        } else {
            "-"
        };
        let post = want && !u.prefix;
        match &u.argument {
            SimpleAssignmentTarget::AssignmentTargetIdentifier(id) => {
                let (b, name) = self.assign_ident(id)?;
                let target = Expr::name(&name);
                let cur = if self.an.binding(b).number {
                    target.clone()
                } else {
                    self.rcall("tonum", vec![target.clone()])
                };
                if post {
                    let t = self.spill(cur);
                    self.push(S::Assign(
                        vec![target],
                        vec![Expr::bin(op, t.clone(), Expr::Num(1.0))],
                    ));
                    return Ok(V::stable(t, Ty::Num));
                }
                self.push(S::Assign(
                    vec![target.clone()],
                    vec![Expr::bin(op, cur, Expr::Num(1.0))],
                ));
                Ok(V::of(target, Ty::Num))
            }
            t => {
                let Some(m) = t.as_member_expression() else {
                    return Err(self.unsupported(t.span(), "this `++`/`--` target"));
                };
                let (o, k) = self.member_parts(m)?;
                let o = self.stable(o);
                let k = self.stable(k);
                let get = self.rcall("get", vec![o.e.clone(), k.e.clone()]);
                let cur = self.rcall("tonum", vec![get]);
                let t = self.spill(cur);
                let new = Expr::bin(op, t.clone(), Expr::Num(1.0));
                let set = self.rcall("set", vec![o.e, k.e, new.clone()]);
                self.push(S::Call(set));
                Ok(if post {
                    V::stable(t, Ty::Num)
                } else {
                    V::of(new, Ty::Num)
                })
            }
        }
    }

    /// Element `i` of an array being destructured (by index, not the iterator protocol).
    fn array_element(&mut self, s: &V, i: usize) -> V {
        V::any(self.rcall("get", vec![s.e.clone(), Expr::Num(i as f64)]))
    }

    /// The rest of an array being destructured after `n` elements: `s.slice(n)`.
    fn array_rest(&mut self, s: &V, n: usize) -> V {
        V::any(self.rcall(
            "invoke",
            vec![s.e.clone(), Expr::Str("slice".into()), Expr::Num(n as f64)],
        ))
    }

    /// Assigns `src` to a destructuring/loop target.
    fn assign_target(&mut self, t: &AssignmentTarget, src: V) -> R<()> {
        match t {
            AssignmentTarget::AssignmentTargetIdentifier(id) => {
                let (_, name) = self.assign_ident(id)?;
                self.push(S::Assign(vec![Expr::Name(name)], vec![src.e]));
            }
            AssignmentTarget::ArrayAssignmentTarget(a) => {
                let s = self.stable(src);
                for (i, el) in a.elements.iter().enumerate() {
                    if let Some(el) = el {
                        let get = self.array_element(&s, i);
                        self.target_maybe_default(el, get)?;
                    }
                }
                if let Some(r) = &a.rest {
                    let slice = self.array_rest(&s, a.elements.len());
                    self.assign_target(&r.target, slice)?;
                }
            }
            AssignmentTarget::ObjectAssignmentTarget(o) => {
                let s = self.stable(src);
                let mut keys = Vec::new();
                for p in &o.properties {
                    match p {
                        AssignmentTargetProperty::AssignmentTargetPropertyIdentifier(p) => {
                            let key = Expr::Str(p.binding.name.to_string());
                            keys.push(key.clone());
                            let get = self.rcall("get", vec![s.e.clone(), key]);
                            let (_, name) = self.assign_ident(&p.binding)?;
                            self.push(S::Assign(vec![Expr::name(&name)], vec![get]));
                            if let Some(init) = &p.init {
                                self.default_value(Expr::Name(name), init)?;
                            }
                        }
                        AssignmentTargetProperty::AssignmentTargetPropertyProperty(p) => {
                            let key = self.prop_key(&p.name, p.computed)?;
                            let key = self.stable(key);
                            keys.push(key.e.clone());
                            let get = self.rcall("get", vec![s.e.clone(), key.e]);
                            self.target_maybe_default(&p.binding, V::any(get))?;
                        }
                    }
                }
                if let Some(r) = &o.rest {
                    let rest = self.object_rest(&s.e, keys);
                    self.assign_target(&r.target, V::stable(rest, Ty::Any))?;
                }
            }
            t => {
                let Some(m) = t.as_member_expression() else {
                    return Err(self.unsupported(t.span(), "this assignment target"));
                };
                let (o, k) = self.member_parts(m)?;
                let set = self.rcall("set", vec![o.e, k.e, src.e]);
                self.push(S::Call(set));
            }
        }
        Ok(())
    }

    fn target_maybe_default(&mut self, t: &AssignmentTargetMaybeDefault, v: V) -> R<()> {
        match t {
            AssignmentTargetMaybeDefault::AssignmentTargetWithDefault(d) => {
                let tmp = self.spill(v.e);
                self.default_value(tmp.clone(), &d.init)?;
                self.assign_target(&d.binding, V::stable(tmp, Ty::Any))
            }
            t => match t.as_assignment_target() {
                Some(t) => self.assign_target(t, v),
                None => Err(self.unsupported(t.span(), "this assignment target")),
            },
        }
    }
}

impl<'s> Lowerer<'s> {
    // ---------------------------------------------------------------- members & calls

    /// Opens an optional-chain guard on `v`: the rest of the chain runs only
    /// when `v` is neither `undefined` nor `null`. Returns `v` (stable).
    fn open_optional(&mut self, v: V) -> V {
        let v = self.stable(v);
        let null = self.null();
        let cond = Expr::bin(
            "and",
            Expr::bin("~=", v.e.clone(), Expr::Nil),
            Expr::bin("~=", v.e.clone(), null),
        );
        let saved = std::mem::take(&mut self.pre);
        self.opens.push((saved, cond));
        v
    }

    fn chain(&mut self, c: &ChainExpression) -> R<V> {
        let r = self.temp();
        self.push(S::Local(vec![r.clone()], Vec::new()));
        let base = self.opens.len();
        let v = match &c.expression {
            ChainElement::CallExpression(call) => self.call(call),
            el => match el.as_member_expression() {
                Some(m) => self.member_get(m),
                None => Err(self.unsupported(c.span, "TypeScript syntax")),
            },
        }?;
        self.push(S::Assign(vec![Expr::name(&r)], vec![v.e]));
        while self.opens.len() > base {
            let (saved, cond) = self.opens.pop().expect("open guard");
            let inner = std::mem::replace(&mut self.pre, saved);
            self.push(S::If(vec![(self.line, cond, Block::new(inner, 0))], None));
        }
        Ok(V::stable(Expr::Name(r), Ty::Any))
    }

    /// The object and key of a member expression (object first; an optional
    /// link opens its guard).
    fn member_parts(&mut self, m: &MemberExpression) -> R<(V, V)> {
        let (object, optional) = match m {
            MemberExpression::StaticMemberExpression(s) => (&s.object, s.optional),
            MemberExpression::ComputedMemberExpression(c) => (&c.object, c.optional),
            MemberExpression::PrivateFieldExpression(p) => {
                return Err(self.err(p.span, "private names (`#x`) are not supported"));
            }
        };
        if let Expression::Super(s) = object {
            return Err(self.unsupported(s.span, "`super` here"));
        }
        let mut o = self.expr(object)?;
        if optional {
            o = self.open_optional(o);
        }
        let k = match m {
            MemberExpression::StaticMemberExpression(s) => {
                V::stable(Expr::Str(s.property.name.to_string()), Ty::Str)
            }
            MemberExpression::ComputedMemberExpression(c) => {
                let mut vals = vec![o];
                let k = self.seq(&mut vals, |s| s.expr(&c.expression))?;
                o = vals.pop().expect("object");
                k
            }
            MemberExpression::PrivateFieldExpression(_) => unreachable!(),
        };
        Ok((o, k))
    }

    fn super_key(&mut self, m: &MemberExpression) -> R<Option<Expr>> {
        let key = match m {
            MemberExpression::StaticMemberExpression(s)
                if matches!(s.object, Expression::Super(_)) =>
            {
                Expr::Str(s.property.name.to_string())
            }
            MemberExpression::ComputedMemberExpression(c)
                if matches!(c.object, Expression::Super(_)) =>
            {
                self.expr(&c.expression)?.e
            }
            _ => return Ok(None),
        };
        let Some(class) = self.f.class.clone() else {
            return Err(self.unsupported(m.span(), "`super` outside a class"));
        };
        let this = self.f.this.clone().unwrap_or(Expr::Nil);
        Ok(Some(self.rcall(
            "superget",
            vec![Expr::Name(class.name), this, key],
        )))
    }

    fn member_get(&mut self, m: &MemberExpression) -> R<V> {
        if let Some(get) = self.super_key(m)? {
            return Ok(V::any(get));
        }
        // `X.k` / `X[k]` read: X itself does not escape.
        let (object, optional) = match m {
            MemberExpression::StaticMemberExpression(s) => (&s.object, s.optional),
            MemberExpression::ComputedMemberExpression(c) => (&c.object, c.optional),
            MemberExpression::PrivateFieldExpression(p) => (&p.object, p.optional),
        };
        let saved = (self.member_object, self.routing_field.take());
        let name = static_member_name(m);
        if let (Expression::Identifier(id), false) = (object, optional) {
            let b = self.binding_of_ref(id);
            if b.is_some() && b == self.data_param {
                // `data.k`: a field read (a computed name lets `data` escape).
                if let Some(k) = name {
                    self.member_object = Some(id.span.start);
                    self.data_keys.insert(k.to_string());
                    if k == "routing" {
                        match &saved.1 {
                            Some((at, field)) if *at == m.span().start => {
                                if let Some(r) = &mut self.routing_keys {
                                    r.insert(field.clone());
                                }
                            }
                            _ => self.routing_keys = None,
                        }
                    }
                }
            } else {
                self.member_object = Some(id.span.start);
            }
        }
        // `data.routing.k`: tell the inner read which field it is for.
        if let (Some(k), false, Some(inner)) = (name, optional, object.as_member_expression())
            && static_member_name(inner) == Some("routing")
        {
            self.routing_field = Some((inner.span().start, k.to_string()));
        }
        let parts = self.member_parts(m);
        self.member_object = saved.0;
        self.routing_field = None;
        let (o, k) = parts?;
        Ok(V::any(self.rcall("get", vec![o.e, k.e])))
    }

    /// Arguments appended to `vals` in order; returns the argument expressions
    /// (a spread builds an array and passes it unpacked).
    fn args(&mut self, vals: &mut Vec<V>, args: &[Argument]) -> R<Vec<Expr>> {
        let start = vals.len();
        let spread_at = args
            .iter()
            .position(|a| matches!(a, Argument::SpreadElement(_)));
        let plain = spread_at.unwrap_or(args.len());
        for a in &args[..plain] {
            let e = a.as_expression().expect("plain argument");
            let v = self.seq(vals, |s| s.expr(e))?;
            vals.push(v);
        }
        let Some(at) = spread_at else {
            return Ok(vals.drain(start..).map(|v| v.e).collect());
        };
        // Spread: earlier values are fixed first, then an array is built.
        for v in vals.iter_mut() {
            if !v.stable {
                let e = std::mem::replace(&mut v.e, Expr::Nil);
                v.e = self.spill(e);
                v.stable = true;
            }
        }
        let mut prefix: Vec<Expr> = vals.drain(start..).map(|v| v.e).collect();
        let mut arr_args = vec![Expr::Num(prefix.len() as f64)];
        arr_args.append(&mut prefix);
        let arr = self.rcall("arr", arr_args);
        let t = self.spill(arr);
        for a in &args[at..] {
            match a {
                Argument::SpreadElement(s) => {
                    let v = self.expr(&s.argument)?;
                    let c = self.rcall("arrextend", vec![t.clone(), v.e]);
                    self.push(S::Call(c));
                }
                a => {
                    let e = a.as_expression().expect("argument");
                    let v = self.expr(e)?;
                    let c = self.rcall("arrpush", vec![t.clone(), v.e]);
                    self.push(S::Call(c));
                }
            }
        }
        let unpack = self.rt("unpack");
        Ok(vec![Expr::call(
            unpack,
            vec![
                t.clone(),
                Expr::Num(1.0),
                Expr::Index(Box::new(t), Box::new(Expr::Num(0.0))),
            ],
        )])
    }

    fn call(&mut self, c: &CallExpression) -> R<V> {
        let callee = c.callee.without_parentheses();
        if let Expression::Super(_) = callee {
            return self.super_call(c);
        }
        if let Some(m) = callee.as_member_expression() {
            if let Some(f) = self.super_key(m)? {
                // super.m(...): this stays the current `this`.
                let this = self.f.this.clone().unwrap_or(Expr::Nil);
                let mut vals = vec![V::any(f)];
                let args = self.args(&mut vals, &c.arguments)?;
                let f = vals.pop().expect("callee");
                let mut all = vec![f.e, this];
                all.extend(args);
                return Ok(V::any(self.rcall("call", all)));
            }
            let (o, k) = self.member_parts(m)?;
            if c.optional {
                // a.b?.(): the method may be missing.
                let o = self.stable(o);
                let k = self.stable(k);
                let f = V::any(self.rcall("get", vec![o.e.clone(), k.e]));
                let f = self.open_optional(f);
                let mut vals = Vec::new();
                let args = self.args(&mut vals, &c.arguments)?;
                let mut all = vec![f.e, o.e];
                all.extend(args);
                return Ok(V::any(self.rcall("call", all)));
            }
            // `Math.f(...)` on the global (frozen) Math: a number.
            let ty = match (m, &m.object()) {
                (MemberExpression::StaticMemberExpression(_), Expression::Identifier(id))
                    if id.name.as_str() == "Math" && self.binding_of_ref(id).is_none() =>
                {
                    Ty::Num
                }
                _ => Ty::Any,
            };
            let mut vals = vec![o, k];
            let args = self.args(&mut vals, &c.arguments)?;
            let k = vals.pop().expect("key");
            let o = vals.pop().expect("object");
            let mut all = vec![o.e, k.e];
            all.extend(args);
            return Ok(V::of(self.rcall("invoke", all), ty));
        }
        if let Expression::Identifier(id) = callee
            && self.binding_of_ref(id).is_none()
            && matches!(id.name.as_str(), "Function" | "eval")
        {
            return Err(self.unsupported(c.span, &format!("`{}`", id.name)));
        }
        let direct = matches!(callee, Expression::Identifier(_));
        let mut f = self.expr(callee)?;
        if c.optional {
            f = self.open_optional(f);
        }
        let mut vals = vec![f];
        let args = self.args(&mut vals, &c.arguments)?;
        let f = vals.pop().expect("callee");
        if direct {
            let mut all = vec![Expr::Nil];
            all.extend(args);
            return Ok(V::any(Expr::call(f.e, all)));
        }
        let mut all = vec![f.e, Expr::Nil];
        all.extend(args);
        Ok(V::any(self.rcall("call", all)))
    }

    fn super_call(&mut self, c: &CallExpression) -> R<V> {
        let Some(class) = self.f.class.clone() else {
            return Err(self.unsupported(c.span, "`super(…)` outside a constructor"));
        };
        if !class.derived {
            return Err(self.err(c.span, "`super(…)` in a class without `extends`"));
        }
        let mut vals = Vec::new();
        let args = self.args(&mut vals, &c.arguments)?;
        let mut all = vec![Expr::Name(class.name), Expr::name("this")];
        all.extend(args);
        let call = self.rcall("superctor", all);
        self.push(S::Call(call));
        if let Some(fields) = self.f.fields_after_super.clone() {
            self.pre.extend(fields);
        }
        Ok(V::stable(Expr::Nil, Ty::Any))
    }

    // ---------------------------------------------------------------- literals

    fn object(&mut self, o: &ObjectExpression) -> R<V> {
        // Static prefix: J.obj(keys, values…); the rest: J.set / J.objspread.
        let mut keys: Vec<String> = Vec::new();
        let mut vals: Vec<V> = Vec::new();
        let mut rest_from = o.properties.len();
        for (i, p) in o.properties.iter().enumerate() {
            let ObjectPropertyKind::ObjectProperty(p) = p else {
                rest_from = i;
                break;
            };
            self.check_property(p)?;
            let Some(k) = self.static_key(&p.key, p.computed)? else {
                rest_from = i;
                break;
            };
            if keys.contains(&k) || keys.len() >= 100 {
                rest_from = i;
                break;
            }
            keys.push(k);
            let v = self.seq(&mut vals, |s| s.prop_value(p))?;
            vals.push(v);
        }
        let shape = self.shape(keys);
        let mut all = vec![shape];
        all.extend(vals.into_iter().map(|v| v.e));
        let obj = self.rcall("obj", all);
        if rest_from == o.properties.len() {
            return Ok(V::of(obj, Ty::Any));
        }
        let t = self.spill(obj);
        for p in &o.properties[rest_from..] {
            match p {
                ObjectPropertyKind::SpreadProperty(s) => {
                    let v = self.expr(&s.argument)?;
                    let c = self.rcall("objspread", vec![t.clone(), v.e]);
                    self.push(S::Call(c));
                }
                ObjectPropertyKind::ObjectProperty(p) => {
                    self.check_property(p)?;
                    let k = self.prop_key(&p.key, p.computed)?;
                    let mut vals = vec![k];
                    let v = self.seq(&mut vals, |s| s.prop_value(p))?;
                    let k = vals.pop().expect("key");
                    let c = self.rcall("set", vec![t.clone(), k.e, v.e]);
                    self.push(S::Call(c));
                }
            }
        }
        Ok(V::stable(t, Ty::Any))
    }

    fn check_property(&self, p: &ObjectProperty) -> R<()> {
        if p.kind != PropertyKind::Init {
            return Err(self.err(
                p.span,
                "getters and setters in object literals are not supported (use a class)",
            ));
        }
        if !p.computed && !p.shorthand && !p.method && p.key.is_specific_static_name("__proto__") {
            return Err(self.unsupported(p.span, "`__proto__` in an object literal"));
        }
        Ok(())
    }

    fn prop_value(&mut self, p: &ObjectProperty) -> R<V> {
        if p.method
            && let Expression::FunctionExpression(f) = &p.value
        {
            return Ok(V::stable(self.function_of(f)?, Ty::Any));
        }
        self.expr(&p.value)
    }

    fn array(&mut self, a: &ArrayExpression) -> R<V> {
        let mut vals: Vec<V> = Vec::new();
        let mut rest_from = a.elements.len();
        for (i, el) in a.elements.iter().enumerate() {
            if matches!(el, ArrayExpressionElement::SpreadElement(_)) || i >= 100 {
                rest_from = i;
                break;
            }
            let v = match el {
                ArrayExpressionElement::Elision(_) => V::stable(Expr::Nil, Ty::Any),
                el => {
                    let e = el.as_expression().expect("element");
                    self.seq(&mut vals, |s| s.expr(e))?
                }
            };
            vals.push(v);
        }
        let mut all = vec![Expr::Num(vals.len() as f64)];
        all.extend(vals.into_iter().map(|v| v.e));
        let arr = self.rcall("arr", all);
        if rest_from == a.elements.len() {
            return Ok(V::of(arr, Ty::Any));
        }
        let t = self.spill(arr);
        for el in &a.elements[rest_from..] {
            let c = match el {
                ArrayExpressionElement::SpreadElement(s) => {
                    let v = self.expr(&s.argument)?;
                    self.rcall("arrextend", vec![t.clone(), v.e])
                }
                ArrayExpressionElement::Elision(_) => {
                    self.rcall("arrpush", vec![t.clone(), Expr::Nil])
                }
                el => {
                    let e = el.as_expression().expect("element");
                    let v = self.expr(e)?;
                    self.rcall("arrpush", vec![t.clone(), v.e])
                }
            };
            self.push(S::Call(c));
        }
        Ok(V::stable(t, Ty::Any))
    }
}

/// `if <flag> then <flag> = false else <rest> end`: a loop statement that is
/// skipped on the first pass (a `do…while` condition, a `for` update) and
/// runs on every later one.
fn first_pass_else(line: u32, flag: Expr, rest: Vec<Stmt>) -> Stmt {
    let clear = Stmt::new(line, S::Assign(vec![flag.clone()], vec![Expr::Bool(false)]));
    Stmt::new(
        line,
        S::If(
            vec![(line, flag, Block::new(vec![clear], 0))],
            Some((line, Block::new(rest, 0))),
        ),
    )
}
