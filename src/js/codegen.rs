//! Prints the Luau IR ([`super::ir`]) as Luau source, line-aligned.
//!
//! The writer only ever moves forward: before a statement it emits newlines
//! until the output reaches the statement's JavaScript line, otherwise the
//! statement continues the current line (after a space). Code for JS line N is
//! therefore on Luau line N whenever the IR keeps source order, and several
//! statements may share a line. Block closers (`end`, `else`) go to their own
//! recorded line when it is still ahead. Codegen also enforces Luau's limit of
//! 200 active locals per function.

use std::fmt::Write as _;

use super::ir::{Block, Expr, Func, S, Stmt};

/// Luau allows 200 locals per function; the last few are kept for the compiler.
const MAX_LOCALS: usize = 195;

/// A codegen failure: (JS line, message).
pub type GenError = (u32, String);

pub struct Writer {
    out: String,
    line: u32,
    indent: usize,
    line_start: bool,
    /// Active local counts: one entry per open function, one counter per block.
    locals: Vec<Vec<usize>>,
}

impl Writer {
    /// A writer positioned on line 1.
    pub fn new() -> Writer {
        Writer {
            out: String::with_capacity(4096),
            line: 1,
            indent: 0,
            line_start: true,
            locals: vec![vec![0]],
        }
    }

    pub fn finish(self) -> String {
        let mut out = self.out;
        out.push('\n');
        out
    }

    /// Raw text on the current line (chunk header and trailer).
    pub fn raw(&mut self, text: &str) {
        self.sep();
        self.out.push_str(text);
    }

    fn sep(&mut self) {
        if self.line_start {
            for _ in 0..self.indent {
                self.out.push_str("  ");
            }
            self.line_start = false;
        } else {
            self.out.push(' ');
        }
    }

    /// Moves to `line` if it is ahead.
    pub fn goto(&mut self, line: u32) {
        while self.line < line {
            self.out.push('\n');
            self.line += 1;
            self.line_start = true;
        }
    }

    fn word(&mut self, line: u32, w: &str) {
        self.goto(line);
        self.sep();
        self.out.push_str(w);
    }

    fn add_locals(&mut self, n: usize, line: u32) -> Result<(), GenError> {
        let f = self.locals.last_mut().expect("function");
        *f.last_mut().expect("block") += n;
        let total: usize = f.iter().sum();
        if total > MAX_LOCALS {
            return Err((
                line,
                format!(
                    "this function needs more than {MAX_LOCALS} local variables (a Luau limit); split it into smaller functions"
                ),
            ));
        }
        Ok(())
    }

    pub fn block(&mut self, b: &Block) -> Result<(), GenError> {
        self.locals.last_mut().expect("function").push(0);
        self.indent += 1;
        let n = b.stmts.len();
        for (i, s) in b.stmts.iter().enumerate() {
            self.stmt(s, i + 1 == n)?;
        }
        self.indent -= 1;
        self.locals.last_mut().expect("function").pop();
        self.goto(b.end_line);
        Ok(())
    }

    /// Statements of the chunk's top level (no indentation change).
    pub fn top(&mut self, stmts: &[Stmt]) -> Result<(), GenError> {
        let n = stmts.len();
        for (i, s) in stmts.iter().enumerate() {
            self.stmt(s, i + 1 == n)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt, last: bool) -> Result<(), GenError> {
        self.goto(s.line);
        match &s.kind {
            S::Local(names, values) => {
                self.sep();
                self.out.push_str("local ");
                self.out.push_str(&names.join(", "));
                if !values.is_empty() {
                    self.out.push_str(" = ");
                    self.list(values)?;
                }
                self.add_locals(names.len(), s.line)?;
            }
            S::Assign(targets, values) => {
                self.sep();
                if targets.first().is_some_and(starts_with_paren) {
                    self.out.push(';');
                }
                self.list(targets)?;
                self.out.push_str(" = ");
                self.list(values)?;
            }
            S::Call(e) => {
                self.sep();
                if starts_with_paren(e) {
                    // `(f)(x)` as a statement would continue the previous
                    // statement on the line, and Luau has no empty statement
                    // to separate it at the start of a block.
                    self.out.push_str("do local _ = ");
                    self.expr(e)?;
                    self.out.push_str(" end");
                } else {
                    self.expr(e)?;
                }
            }
            S::Do(b) => {
                self.word(s.line, "do");
                self.block(b)?;
                self.word(b.end_line, "end");
            }
            S::If(arms, els) => {
                let mut last_end = 0;
                for (i, (line, cond, body)) in arms.iter().enumerate() {
                    self.word(*line, if i == 0 { "if" } else { "elseif" });
                    self.out.push(' ');
                    self.expr(cond)?;
                    self.out.push_str(" then");
                    self.block(body)?;
                    last_end = body.end_line;
                }
                if let Some((line, body)) = els {
                    self.word(*line, "else");
                    self.block(body)?;
                    last_end = body.end_line;
                }
                self.word(last_end, "end");
            }
            S::While(cond, body) => {
                self.word(s.line, "while ");
                self.expr(cond)?;
                self.out.push_str(" do");
                self.block(body)?;
                self.word(body.end_line, "end");
            }
            S::Repeat(body, cond) => {
                self.word(s.line, "repeat");
                self.block(body)?;
                self.word(body.end_line, "until ");
                self.expr(cond)?;
            }
            S::ForIn(names, exprs, body) => {
                self.word(s.line, "for ");
                self.out.push_str(&names.join(", "));
                self.out.push_str(" in ");
                self.list(exprs)?;
                self.out.push_str(" do");
                self.add_locals(0, s.line)?;
                self.locals
                    .last_mut()
                    .expect("function")
                    .push(names.len() + 3);
                self.block(body)?;
                self.locals.last_mut().expect("function").pop();
                self.word(body.end_line, "end");
            }
            S::LocalFunction(name, f) => {
                self.add_locals(1, s.line)?;
                self.word(s.line, "local function ");
                self.out.push_str(name);
                self.func_rest(f, s.line)?;
            }
            S::Return(values) => {
                self.sep();
                if !last {
                    self.out.push_str("do ");
                }
                self.out.push_str("return");
                if !values.is_empty() {
                    self.out.push(' ');
                    self.list(values)?;
                }
                if !last {
                    self.out.push_str(" end");
                }
            }
            S::Break | S::Continue => {
                let w = if s.kind == S::Break {
                    "break"
                } else {
                    "continue"
                };
                self.sep();
                if last {
                    self.out.push_str(w);
                } else {
                    let _ = write!(self.out, "do {w} end");
                }
            }
        }
        Ok(())
    }

    fn func_rest(&mut self, f: &Func, line: u32) -> Result<(), GenError> {
        self.out.push('(');
        self.out.push_str(&f.params.join(", "));
        if f.vararg {
            if !f.params.is_empty() {
                self.out.push_str(", ");
            }
            self.out.push_str("...");
        }
        self.out.push(')');
        self.locals.push(vec![f.params.len()]);
        if f.params.len() > MAX_LOCALS {
            return Err((line, "too many parameters".to_string()));
        }
        self.block(&f.body)?;
        self.locals.pop();
        self.word(f.body.end_line, "end");
        Ok(())
    }

    fn list(&mut self, es: &[Expr]) -> Result<(), GenError> {
        for (i, e) in es.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.expr(e)?;
        }
        Ok(())
    }

    /// An operand of a binary/unary operator: parenthesised unless atomic.
    fn operand(&mut self, e: &Expr) -> Result<(), GenError> {
        let atomic = match e {
            Expr::Num(n) => !(n.is_sign_negative() || n.is_nan() || n.is_infinite()),
            Expr::Bin(..) | Expr::Un(..) | Expr::IfElse(..) | Expr::Func(..) => false,
            _ => true,
        };
        if atomic {
            self.expr(e)
        } else {
            self.out.push('(');
            self.expr(e)?;
            self.out.push(')');
            Ok(())
        }
    }

    fn expr(&mut self, e: &Expr) -> Result<(), GenError> {
        match e {
            Expr::Nil => self.out.push_str("nil"),
            Expr::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Expr::Num(n) => self.out.push_str(&number(*n)),
            Expr::Str(s) => string(&mut self.out, s),
            Expr::Name(n) => self.out.push_str(n),
            Expr::Index(a, b) => {
                self.prefix(a)?;
                self.out.push('[');
                self.expr(b)?;
                self.out.push(']');
            }
            Expr::Call(f, args) => {
                self.prefix(f)?;
                self.out.push('(');
                self.list(args)?;
                self.out.push(')');
            }
            Expr::Bin(op, a, b) => {
                self.operand(a)?;
                let _ = write!(self.out, " {op} ");
                self.operand(b)?;
            }
            Expr::Un(op, a) => {
                self.out.push_str(op);
                if *op == "not" {
                    self.out.push(' ');
                }
                self.operand(a)?;
            }
            Expr::IfElse(c, a, b) => {
                self.out.push_str("if ");
                self.expr(c)?;
                self.out.push_str(" then ");
                self.expr(a)?;
                self.out.push_str(" else ");
                self.expr(b)?;
            }
            Expr::Func(f) => {
                self.out.push_str("function");
                self.func_rest(f, self.line)?;
            }
            Expr::Table(items) => {
                self.out.push('{');
                self.list(items)?;
                self.out.push('}');
            }
            Expr::Record(fields) => {
                self.out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.out.push_str(k);
                    self.out.push_str(" = ");
                    self.expr(v)?;
                }
                self.out.push('}');
            }
            Expr::Vararg => self.out.push_str("..."),
            Expr::Paren(a) => {
                self.out.push('(');
                self.expr(a)?;
                self.out.push(')');
            }
        }
        Ok(())
    }

    /// The callee/object of a call or index: names, calls and indexes print as
    /// is, anything else in parentheses.
    fn prefix(&mut self, e: &Expr) -> Result<(), GenError> {
        match e {
            Expr::Name(_) | Expr::Index(..) | Expr::Call(..) | Expr::Paren(_) => self.expr(e),
            _ => {
                self.out.push('(');
                self.expr(e)?;
                self.out.push(')');
                Ok(())
            }
        }
    }
}

impl Default for Writer {
    fn default() -> Self {
        Writer::new()
    }
}

/// Appends a single-line expression (the chunk trailer).
pub fn expr_to(out: &mut String, e: &Expr) {
    let mut w = Writer::new();
    let _ = w.expr(e);
    out.push_str(&w.out);
}

fn starts_with_paren(e: &Expr) -> bool {
    match e {
        Expr::Paren(_) => true,
        Expr::Index(a, _) | Expr::Call(a, _) => {
            !matches!(**a, Expr::Name(_) | Expr::Index(..) | Expr::Call(..)) || starts_with_paren(a)
        }
        _ => false,
    }
}

/// A Luau numeric expression equal to `n` (shortest round-trip digits).
pub fn number(n: f64) -> String {
    if n.is_nan() {
        "(0 / 0)".to_string()
    } else if n.is_infinite() {
        if n > 0.0 { "math.huge" } else { "-math.huge" }.to_string()
    } else if n == 0.0 && n.is_sign_negative() {
        "-0".to_string()
    } else if n == n.trunc() && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n:?}")
    }
}

/// Appends a Luau string literal with the same bytes as `s`.
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\{:03}", c as u32);
            }
            // Line and paragraph separators stay escaped so editors agree on lines.
            '\u{2028}' | '\u{2029}' | '\u{85}' => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\{b:03}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
