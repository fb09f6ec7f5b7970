//! AST → Luau, with scope checking. See the module docs of [`crate::js`].

use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;

use oxc_allocator::Allocator;
use oxc_ast::ast::*;
use oxc_parser::Parser;
use oxc_span::{GetSpan, SourceType, Span};

use super::{JsError, prelude};

type R<T> = Result<T, JsError>;

pub(super) fn transpile(file: &str, source: &str) -> R<String> {
    let allocator = Allocator::default();
    let ret = Parser::new(&allocator, source, SourceType::unambiguous()).parse();
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
    let mut t = Translator {
        file,
        source,
        out: String::new(),
        indent: 0,
        scopes: Vec::new(),
        used: BTreeSet::new(),
        top_level: true,
    };
    t.program(&ret.program)?;
    let used: Vec<&str> = t.used.iter().copied().collect();
    let mut lua = prelude::prelude(&used);
    lua.push_str(&t.out);
    Ok(lua)
}

/// Luau reserved words and the globals emitted code relies on: user
/// identifiers with these names are renamed.
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
    "_G",
    "_VERSION",
    "assert",
    "bit32",
    "buffer",
    "coroutine",
    "error",
    "gcinfo",
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

/// The Luau name of JavaScript identifier `name` (`main` stays `main`).
pub(crate) fn lua_name(name: &str) -> String {
    let plain = name.bytes().next().is_some_and(|b| !b.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.starts_with("__js")
        && !LUA_RESERVED.contains(&name);
    if plain {
        return name.to_string();
    }
    // Injective: `_` → `__`, any other non-alphanumeric byte → `_xHH`.
    let mut s = String::from("__js_v_");
    for b in name.bytes() {
        match b {
            b'_' => s.push_str("__"),
            b if b.is_ascii_alphanumeric() => s.push(b as char),
            b => {
                let _ = write!(s, "_x{b:02X}");
            }
        }
    }
    s
}

/// A Luau string literal with the same bytes as `s` (UTF-8).
fn lua_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for b in s.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            b => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out.push('"');
    out
}

/// A Luau numeric expression equal to `n` (shortest round-trip digits).
fn lua_number(n: f64) -> String {
    if n.is_nan() {
        "(0 / 0)".to_string()
    } else if n.is_infinite() {
        if n > 0.0 { "math.huge" } else { "(-math.huge)" }.to_string()
    } else if n == n.trunc() && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n:?}")
    }
}

struct Scope {
    /// Every name the block declares (collected before translating it).
    declared: HashSet<String>,
    /// Names whose declaration has been reached (or hoisted).
    ready: HashSet<String>,
    /// A function body (or the top level): `var`s land here.
    function: bool,
}

struct Translator<'s> {
    file: &'s str,
    source: &'s str,
    out: String,
    indent: usize,
    scopes: Vec<Scope>,
    used: BTreeSet<&'static str>,
    top_level: bool,
}

/// The kind of expression a Luau expression produces, to skip `__js_truthy`.
#[derive(PartialEq)]
enum Kind {
    Boolean,
    Any,
}

impl<'s> Translator<'s> {
    fn err(&self, span: Span, message: impl std::fmt::Display) -> JsError {
        JsError::at(self.file, self.source, span.start, message)
    }

    fn unsupported(&self, span: Span, what: &str) -> JsError {
        self.err(span, format!("{what} is not supported yet"))
    }

    fn line(&mut self, text: &str) {
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn helper(&mut self, name: &'static str) -> &'static str {
        self.used.insert(name);
        name
    }

    // ---- scopes ----

    /// Pushes a scope declaring `names` (checked for duplicates).
    fn push_scope(&mut self, names: Vec<(String, Span)>, function: bool) -> R<()> {
        let mut declared = HashSet::new();
        for (n, span) in names {
            if !declared.insert(n.clone()) {
                return Err(self.err(span, format!("`{n}` is declared twice")));
            }
        }
        self.scopes.push(Scope {
            declared,
            ready: HashSet::new(),
            function,
        });
        Ok(())
    }

    fn mark_ready(&mut self, name: &str) {
        if let Some(s) = self.scopes.last_mut() {
            s.ready.insert(name.to_string());
        }
    }

    /// Resolves a reference: `Ok(true)` if bound, `Ok(false)` if free.
    fn resolve(&self, name: &str, span: Span) -> R<bool> {
        for s in self.scopes.iter().rev() {
            if s.declared.contains(name) {
                if s.ready.contains(name) {
                    return Ok(true);
                }
                return Err(self.err(span, format!("`{name}` is used before its declaration")));
            }
        }
        Ok(false)
    }

    // ---- declarations collected ahead of a block ----

    /// Lexical names (`let`, `const`, function declarations) of a statement list.
    fn lexical_names(&self, stmts: &[Statement]) -> R<Vec<(String, Span)>> {
        let mut names = Vec::new();
        for s in stmts {
            let s = match s {
                Statement::ExportDeclaration(e) => match &e.declaration {
                    Declaration::FunctionDeclaration(f) => {
                        if let Some(id) = &f.id {
                            names.push((id.name.to_string(), id.span));
                        }
                        continue;
                    }
                    _ => continue,
                },
                s => s,
            };
            match s {
                Statement::VariableDeclaration(v) if v.kind != VariableDeclarationKind::Var => {
                    for d in &v.declarations {
                        let id = self.binding_ident(&d.id)?;
                        names.push((id.name.to_string(), id.span));
                    }
                }
                Statement::FunctionDeclaration(f) => {
                    if let Some(id) = &f.id {
                        names.push((id.name.to_string(), id.span));
                    }
                }
                _ => {}
            }
        }
        Ok(names)
    }

    /// `var` names anywhere in a function body (not inside nested functions).
    fn var_names(&self, stmts: &[Statement], names: &mut Vec<(String, Span)>) -> R<()> {
        for s in stmts {
            match s {
                Statement::VariableDeclaration(v) if v.kind == VariableDeclarationKind::Var => {
                    for d in &v.declarations {
                        let id = self.binding_ident(&d.id)?;
                        if !names.iter().any(|(n, _)| n == id.name.as_str()) {
                            names.push((id.name.to_string(), id.span));
                        }
                    }
                }
                Statement::BlockStatement(b) => self.var_names(&b.body, names)?,
                Statement::IfStatement(i) => {
                    self.var_names(std::slice::from_ref(&i.consequent), names)?;
                    if let Some(a) = &i.alternate {
                        self.var_names(std::slice::from_ref(a), names)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn binding_ident<'b>(&self, p: &'b BindingPattern<'_>) -> R<&'b BindingIdentifier<'b>> {
        match p {
            BindingPattern::BindingIdentifier(id) => Ok(id),
            BindingPattern::AssignmentPattern(_) => {
                Err(self.unsupported(p.span(), "a default value here"))
            }
            _ => Err(self.unsupported(p.span(), "destructuring")),
        }
    }

    // ---- program ----

    fn program(&mut self, program: &Program) -> R<()> {
        let mut names = self.lexical_names(&program.body)?;
        let mut vars = Vec::new();
        self.var_names(&program.body, &mut vars)?;
        for (n, span) in vars {
            if names.iter().any(|(m, _)| *m == n) {
                return Err(self.err(span, format!("`{n}` is declared twice")));
            }
            names.push((n, span));
        }
        // Every top-level binding except the global `main` is a chunk local,
        // declared up front so functions (hoisted) can see later declarations.
        let locals: Vec<String> = names
            .iter()
            .filter(|(n, _)| n != "main")
            .map(|(n, _)| lua_name(n))
            .collect();
        self.push_scope(names, true)?;
        if !locals.is_empty() {
            self.line(&format!("local {}", locals.join(", ")));
        }
        // Function declarations are hoisted: they are ready from the start and
        // emitted first.
        let mut functions = Vec::new();
        for s in &program.body {
            match s {
                Statement::FunctionDeclaration(f) => functions.push(&**f),
                Statement::ExportDeclaration(e) => match &e.declaration {
                    Declaration::FunctionDeclaration(f) => functions.push(&**f),
                    _ => return Err(self.unsupported(e.span, "this export")),
                },
                _ => {}
            }
        }
        for f in &functions {
            if let Some(id) = &f.id {
                self.mark_ready(id.name.as_str());
            }
        }
        for s in &program.body {
            match s {
                Statement::VariableDeclaration(v) => self.var_decl(v, true)?,
                Statement::FunctionDeclaration(_) | Statement::ExportDeclaration(_) => {}
                Statement::EmptyStatement(_) => {}
                s => return Err(self.unsupported(s.span(), "this statement at the top level")),
            }
        }
        for f in functions {
            self.function(f)?;
        }
        self.scopes.pop();
        Ok(())
    }

    fn function(&mut self, f: &Function) -> R<()> {
        if f.generator {
            return Err(self.unsupported(f.span, "a generator function"));
        }
        if f.r#async {
            return Err(self.unsupported(f.span, "an async function"));
        }
        let Some(id) = &f.id else {
            return Err(self.unsupported(f.span, "an anonymous function"));
        };
        if let Some(rest) = &f.params.rest {
            return Err(self.unsupported(rest.span, "a rest parameter"));
        }
        let mut params = Vec::new();
        for p in &f.params.items {
            if p.initializer.is_some() {
                return Err(self.unsupported(p.span, "a default parameter"));
            }
            let pid = self.binding_ident(&p.pattern)?;
            params.push((pid.name.to_string(), pid.span));
        }
        let Some(body) = &f.body else {
            return Err(self.unsupported(f.span, "a function without a body"));
        };
        let mut vars = Vec::new();
        self.var_names(&body.statements, &mut vars)?;
        let mut names = params.clone();
        for (n, span) in vars {
            if names.iter().any(|(m, _)| *m == n) {
                return Err(self.err(span, format!("`{n}` is declared twice")));
            }
            names.push((n, span));
        }
        let var_locals: Vec<String> = names[params.len()..]
            .iter()
            .map(|(n, _)| lua_name(n))
            .collect();
        let param_list: Vec<String> = params.iter().map(|(n, _)| lua_name(n)).collect();
        let name = if id.name.as_str() == "main" {
            "main".to_string()
        } else {
            lua_name(id.name.as_str())
        };
        self.line(&format!("function {name}({})", param_list.join(", ")));
        self.indent += 1;
        let was_top = std::mem::replace(&mut self.top_level, false);
        self.push_scope(names.clone(), true)?;
        for (n, _) in &names {
            self.mark_ready(n);
        }
        if !var_locals.is_empty() {
            self.line(&format!("local {}", var_locals.join(", ")));
        }
        self.block_body(&body.statements)?;
        self.scopes.pop();
        self.top_level = was_top;
        self.indent -= 1;
        self.line("end");
        Ok(())
    }

    /// Statements of a block whose lexical scope was not pushed yet.
    fn block(&mut self, stmts: &[Statement]) -> R<()> {
        let names = self.lexical_names(stmts)?;
        self.push_scope(names, false)?;
        self.block_body(stmts)?;
        self.scopes.pop();
        Ok(())
    }

    fn block_body(&mut self, stmts: &[Statement]) -> R<()> {
        // A function scope also takes this body's lexical names (a plain
        // block's were collected by `block`).
        if self.scopes.last().is_some_and(|s| s.function) {
            let names = self.lexical_names(stmts)?;
            let scope = self.scopes.last_mut().expect("scope");
            for (n, span) in names {
                if !scope.declared.insert(n.clone()) {
                    return Err(self.err(span, format!("`{n}` is declared twice")));
                }
            }
        }
        for (i, s) in stmts.iter().enumerate() {
            let last = i + 1 == stmts.len();
            self.statement(s, last)?;
        }
        Ok(())
    }

    fn statement(&mut self, s: &Statement, last: bool) -> R<()> {
        match s {
            Statement::VariableDeclaration(v) => self.var_decl(v, false),
            Statement::EmptyStatement(_) => Ok(()),
            Statement::BlockStatement(b) => {
                self.line("do");
                self.indent += 1;
                self.block(&b.body)?;
                self.indent -= 1;
                self.line("end");
                Ok(())
            }
            Statement::ReturnStatement(r) => {
                let value = match &r.argument {
                    Some(e) => format!(" {}", self.expr(e)?.0),
                    None => String::new(),
                };
                if last {
                    self.line(&format!("return{value}"));
                } else {
                    self.line(&format!("do return{value} end"));
                }
                Ok(())
            }
            Statement::IfStatement(i) => {
                let cond = self.condition(&i.test)?;
                self.line(&format!("if {cond} then"));
                self.if_rest(i)
            }
            Statement::ThrowStatement(t) => self.throw(t),
            Statement::ExpressionStatement(e) => match &e.expression {
                Expression::CallExpression(c) => {
                    let call = self.call(c)?;
                    self.line(&call);
                    Ok(())
                }
                other => Err(self.unsupported(other.span(), "this expression statement")),
            },
            Statement::FunctionDeclaration(f) => {
                Err(self.unsupported(f.span, "a nested function declaration"))
            }
            other => Err(self.unsupported(other.span(), statement_name(other))),
        }
    }

    /// The branches of an `if` whose `if COND then` line was written.
    fn if_rest(&mut self, i: &IfStatement) -> R<()> {
        self.indent += 1;
        self.branch(&i.consequent)?;
        self.indent -= 1;
        match &i.alternate {
            None => self.line("end"),
            Some(Statement::IfStatement(next)) => {
                let cond = self.condition(&next.test)?;
                self.line(&format!("elseif {cond} then"));
                return self.if_rest(next);
            }
            Some(alt) => {
                self.line("else");
                self.indent += 1;
                self.branch(alt)?;
                self.indent -= 1;
                self.line("end");
            }
        }
        Ok(())
    }

    /// One branch of an `if`: its own block scope.
    fn branch(&mut self, s: &Statement) -> R<()> {
        match s {
            Statement::BlockStatement(b) => self.block(&b.body),
            Statement::VariableDeclaration(v) => {
                Err(self.unsupported(v.span, "a declaration as the body of `if`"))
            }
            s => self.block(std::slice::from_ref(s)),
        }
    }

    fn var_decl(&mut self, v: &VariableDeclaration, top: bool) -> R<()> {
        if matches!(
            v.kind,
            VariableDeclarationKind::Using | VariableDeclarationKind::AwaitUsing
        ) {
            return Err(self.unsupported(v.span, "`using`"));
        }
        for d in &v.declarations {
            let id = self.binding_ident(&d.id)?;
            let name = lua_name(id.name.as_str());
            if v.kind == VariableDeclarationKind::Const && d.init.is_none() {
                return Err(self.err(d.span, "a `const` needs an initial value"));
            }
            let value = match &d.init {
                Some(e) => Some(self.expr(e)?.0),
                None => None,
            };
            // `var` and top-level names were declared up front: assign.
            let predeclared = top || v.kind == VariableDeclarationKind::Var;
            match (predeclared, value) {
                (true, Some(value)) => self.line(&format!("{name} = {value}")),
                (true, None) => {
                    // `var x;` keeps the current value; `let x;` at top level is undefined.
                    if v.kind != VariableDeclarationKind::Var {
                        self.line(&format!("{name} = nil"));
                    }
                }
                (false, Some(value)) => self.line(&format!("local {name} = {value}")),
                (false, None) => self.line(&format!("local {name}")),
            }
            self.mark_ready(id.name.as_str());
        }
        Ok(())
    }

    fn throw(&mut self, t: &ThrowStatement) -> R<()> {
        if let Expression::NewExpression(n) = &t.argument
            && let Expression::Identifier(callee) = &n.callee
            && callee.name.as_str() == "Error"
            && !self.resolve("Error", callee.span)?
            && n.arguments.len() == 1
            && let Some(arg) = n.arguments[0].as_expression()
            && let Some(message) = self.literal_string(arg)?
        {
            self.line(&format!("error({}, 0)", lua_string(&message)));
            return Ok(());
        }
        Err(self.unsupported(
            t.span,
            "`throw` of anything but `new Error('<literal string>')`",
        ))
    }

    /// The value of a string literal or an expression-free template literal.
    fn literal_string(&self, e: &Expression) -> R<Option<String>> {
        Ok(match e {
            Expression::StringLiteral(s) => Some(self.string_value(s)?),
            Expression::TemplateLiteral(t) if t.expressions.is_empty() => {
                Some(self.template_value(t)?)
            }
            Expression::ParenthesizedExpression(p) => self.literal_string(&p.expression)?,
            _ => None,
        })
    }

    fn string_value(&self, s: &StringLiteral) -> R<String> {
        if s.lone_surrogates {
            return Err(self.unsupported(s.span, "a string with a lone surrogate"));
        }
        Ok(s.value.to_string())
    }

    fn template_value(&self, t: &TemplateLiteral) -> R<String> {
        let mut out = String::new();
        for q in &t.quasis {
            if q.lone_surrogates {
                return Err(self.unsupported(q.span, "a string with a lone surrogate"));
            }
            match &q.value.cooked {
                Some(c) => out.push_str(c),
                None => return Err(self.err(q.span, "invalid escape in a template literal")),
            }
        }
        Ok(out)
    }

    /// A condition as a Luau boolean expression.
    fn condition(&mut self, e: &Expression) -> R<String> {
        let (code, kind) = self.expr(e)?;
        Ok(match kind {
            Kind::Boolean => code,
            Kind::Any => format!("{}({code})", self.helper("__js_truthy")),
        })
    }

    fn call(&mut self, c: &CallExpression) -> R<String> {
        if c.optional {
            return Err(self.unsupported(c.span, "optional chaining"));
        }
        if self.top_level {
            return Err(self.unsupported(c.span, "a call at the top level"));
        }
        let Expression::Identifier(callee) = &c.callee else {
            return Err(self.unsupported(c.callee.span(), "calling anything but a named function"));
        };
        let callee = self.ident(callee)?;
        let mut args = Vec::new();
        for (i, a) in c.arguments.iter().enumerate() {
            let Some(e) = a.as_expression() else {
                return Err(self.unsupported(a.span(), "spread arguments"));
            };
            let (code, _) = self.expr(e)?;
            // A call in the last position would pass on every value it returns.
            if i + 1 == c.arguments.len() && matches!(e, Expression::CallExpression(_)) {
                args.push(format!("({code})"));
            } else {
                args.push(code);
            }
        }
        Ok(format!("{callee}({})", args.join(", ")))
    }

    fn expr(&mut self, e: &Expression) -> R<(String, Kind)> {
        Ok(match e {
            Expression::BooleanLiteral(b) => (b.value.to_string(), Kind::Boolean),
            Expression::NullLiteral(_) => (self.helper("__js_null").to_string(), Kind::Any),
            Expression::NumericLiteral(n) => (lua_number(n.value), Kind::Any),
            Expression::StringLiteral(s) => (lua_string(&self.string_value(s)?), Kind::Any),
            Expression::TemplateLiteral(t) => {
                if !t.expressions.is_empty() {
                    return Err(self.unsupported(t.span, "a template literal with `${}`"));
                }
                (lua_string(&self.template_value(t)?), Kind::Any)
            }
            Expression::Identifier(id) => (self.ident(id)?, Kind::Any),
            Expression::ParenthesizedExpression(p) => {
                let (code, kind) = self.expr(&p.expression)?;
                (format!("({code})"), kind)
            }
            Expression::StaticMemberExpression(m) => {
                if m.optional {
                    return Err(self.unsupported(m.span, "optional chaining"));
                }
                let (object, _) = self.expr(&m.object)?;
                let get = self.helper("__js_get");
                (
                    format!("{get}({object}, {})", lua_string(m.property.name.as_str())),
                    Kind::Any,
                )
            }
            Expression::ComputedMemberExpression(m) => {
                if m.optional {
                    return Err(self.unsupported(m.span, "optional chaining"));
                }
                let (object, _) = self.expr(&m.object)?;
                let (key, _) = self.expr(&m.expression)?;
                let get = self.helper("__js_get");
                (format!("{get}({object}, {key})"), Kind::Any)
            }
            Expression::CallExpression(c) => (self.call(c)?, Kind::Any),
            Expression::BinaryExpression(b) => {
                let (l, _) = self.expr(&b.left)?;
                let (r, _) = self.expr(&b.right)?;
                match b.operator {
                    BinaryOperator::StrictEquality => (format!("{l} == {r}"), Kind::Boolean),
                    BinaryOperator::StrictInequality => (format!("{l} ~= {r}"), Kind::Boolean),
                    BinaryOperator::Addition => {
                        (format!("{}({l}, {r})", self.helper("__js_add")), Kind::Any)
                    }
                    op => {
                        return Err(
                            self.unsupported(b.span, &format!("the `{}` operator", op.as_str()))
                        );
                    }
                }
            }
            other => return Err(self.unsupported(other.span(), expression_name(other))),
        })
    }

    fn ident(&self, id: &IdentifierReference) -> R<String> {
        let name = id.name.as_str();
        if self.resolve(name, id.span)? {
            return Ok(if name == "main" && self.is_global_main() {
                "main".to_string()
            } else {
                lua_name(name)
            });
        }
        Ok(match name {
            "undefined" => "nil",
            "NaN" => "(0 / 0)",
            "Infinity" => "math.huge",
            _ => {
                return Err(self.err(
                    id.span,
                    format!("`{name}` is not defined or not supported yet"),
                ));
            }
        }
        .to_string())
    }

    fn is_global_main(&self) -> bool {
        // `main` resolves to the top-level declaration (no inner shadowing).
        !self
            .scopes
            .iter()
            .skip(1)
            .any(|s| s.declared.contains("main"))
    }
}

fn statement_name(s: &Statement) -> &'static str {
    match s {
        Statement::BreakStatement(_) => "`break`",
        Statement::ContinueStatement(_) => "`continue`",
        Statement::DebuggerStatement(_) => "`debugger`",
        Statement::DoWhileStatement(_) => "`do…while`",
        Statement::ForInStatement(_) => "`for…in`",
        Statement::ForOfStatement(_) => "`for…of`",
        Statement::ForStatement(_) => "`for`",
        Statement::LabeledStatement(_) => "a labeled statement",
        Statement::SwitchStatement(_) => "`switch`",
        Statement::TryStatement(_) => "`try`",
        Statement::WhileStatement(_) => "`while`",
        Statement::WithStatement(_) => "`with`",
        Statement::ClassDeclaration(_) => "a class",
        Statement::ImportDeclaration(_) => "`import`",
        _ => "this statement",
    }
}

fn expression_name(e: &Expression) -> &'static str {
    match e {
        Expression::BigIntLiteral(_) => "a BigInt",
        Expression::RegExpLiteral(_) => "a regular expression",
        Expression::ArrayExpression(_) => "an array literal",
        Expression::ObjectExpression(_) => "an object literal",
        Expression::ArrowFunctionExpression(_) => "an arrow function",
        Expression::FunctionExpression(_) => "a function expression",
        Expression::AssignmentExpression(_) => "assignment",
        Expression::AwaitExpression(_) => "`await`",
        Expression::ChainExpression(_) => "optional chaining",
        Expression::ClassExpression(_) => "a class",
        Expression::ConditionalExpression(_) => "the `?:` operator",
        Expression::LogicalExpression(_) => "`&&`, `||` and `??`",
        Expression::NewExpression(_) => "`new`",
        Expression::SequenceExpression(_) => "the comma operator",
        Expression::TaggedTemplateExpression(_) => "a tagged template",
        Expression::ThisExpression(_) => "`this`",
        Expression::UnaryExpression(_) => "unary operators",
        Expression::UpdateExpression(_) => "`++`/`--`",
        Expression::YieldExpression(_) => "`yield`",
        Expression::Super(_) => "`super`",
        Expression::ImportExpression(_) => "`import()`",
        _ => "this expression",
    }
}
