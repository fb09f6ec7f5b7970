//! The Luau IR the lowering produces and the codegen prints.
//!
//! A deliberately small subset of Luau: every statement carries the JavaScript
//! line it comes from so that [`super::codegen`] can print it on that line.
//! Names are final Luau names (user identifiers already renamed).

/// A Luau expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Nil,
    Bool(bool),
    Num(f64),
    /// A string literal (printed with escapes; UTF-8 kept as is).
    Str(String),
    /// A local, an upvalue, or a Luau global the output relies on (`math.fmod`).
    Name(String),
    /// `a[b]`.
    Index(Box<Expr>, Box<Expr>),
    /// `f(args)`.
    Call(Box<Expr>, Vec<Expr>),
    /// `a op b` (`+ - * / % ^ .. == ~= < <= > >= and or`).
    Bin(&'static str, Box<Expr>, Box<Expr>),
    /// `op a` (`not`, `-`, `#`).
    Un(&'static str, Box<Expr>),
    /// `if c then a else b`.
    IfElse(Box<Expr>, Box<Expr>, Box<Expr>),
    Func(Box<Func>),
    /// `{a, b, c}` (array part only).
    Table(Vec<Expr>),
    /// `{k = v, ...}` with Luau-name keys.
    Record(Vec<(String, Expr)>),
    /// `...`
    Vararg,
    /// `(e)`: truncates a multi-value expression to one value.
    Paren(Box<Expr>),
}

impl Expr {
    pub fn name(s: impl Into<String>) -> Expr {
        Expr::Name(s.into())
    }

    pub fn call(f: Expr, args: Vec<Expr>) -> Expr {
        Expr::Call(Box::new(f), args)
    }

    pub fn bin(op: &'static str, a: Expr, b: Expr) -> Expr {
        Expr::Bin(op, Box::new(a), Box::new(b))
    }

    pub fn not(a: Expr) -> Expr {
        match a {
            Expr::Bool(b) => Expr::Bool(!b),
            a => Expr::Un("not", Box::new(a)),
        }
    }
}

/// A Luau function.
#[derive(Debug, Clone, PartialEq)]
pub struct Func {
    pub params: Vec<String>,
    pub vararg: bool,
    pub body: Block,
}

/// A statement list; `end_line` is where its closing `end` goes (if later).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub end_line: u32,
}

impl Block {
    pub fn new(stmts: Vec<Stmt>, end_line: u32) -> Block {
        Block { stmts, end_line }
    }
}

/// A Luau statement on JavaScript line `line`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub line: u32,
    pub kind: S,
}

impl Stmt {
    pub fn new(line: u32, kind: S) -> Stmt {
        Stmt { line, kind }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum S {
    /// `local a, b = x, y` (no values: `local a, b`).
    Local(Vec<String>, Vec<Expr>),
    /// `a, b = x, y`.
    Assign(Vec<Expr>, Vec<Expr>),
    /// A call as a statement.
    Call(Expr),
    Do(Block),
    /// `if c1 then b1 elseif c2 then b2 else b3 end`; arms carry their line.
    If(Vec<(u32, Expr, Block)>, Option<(u32, Block)>),
    While(Expr, Block),
    /// `repeat body until cond`.
    Repeat(Block, Expr),
    /// `for a, b in exprs do body end`.
    ForIn(Vec<String>, Vec<Expr>, Block),
    /// `local function name(...) ... end`.
    LocalFunction(String, Func),
    Return(Vec<Expr>),
    Break,
    Continue,
}
