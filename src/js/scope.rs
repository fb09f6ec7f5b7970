//! Scope analysis: the pass before lowering.
//!
//! Walks the whole program once with a scope stack and records, for every
//! identifier reference (keyed by its span start), the binding it resolves to,
//! and for every binding the facts lowering needs:
//!
//! * `captured`: read or written from a function nested in its own (per-iteration
//!   `let` copies in `for` loops are only made for captured bindings);
//! * `predeclare`: referenced (from a closure) before its declaration, so the
//!   Luau local must be declared at the start of the block;
//! * `early`: a function declaration that may be called before its position is
//!   reached (hoisting), so it is defined at the start of its block;
//! * `number`: a `let`/`const` that only ever holds numbers (every assignment is
//!   a numeric literal, arithmetic, `++`/`--`, or numbers combined with `+`),
//!   found as a greatest fixpoint over the assignments;
//! * `reassigned`: written after its declaration.
//!
//! A reference to a `let`/`const`/`class` before its declaration in the same
//! function (the temporal dead zone) is refused here.

use std::collections::HashMap;

use oxc_ast::ast::*;
use oxc_span::Span;

use super::JsError;

pub type Bid = u32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BKind {
    Var,
    Let,
    Const,
    Function,
    Param,
    Class,
    Catch,
    /// The name of a named function expression, inside it.
    FnName,
}

#[derive(Debug)]
pub struct Binding {
    pub name: String,
    pub kind: BKind,
    /// The function (id) declaring it.
    pub func: u32,
    pub captured: bool,
    pub reassigned: bool,
    pub predeclare: bool,
    pub early: bool,
    pub number: bool,
    /// Referenced at all (besides its declaration).
    pub used: bool,
    inited: bool,
    writes: Vec<Option<Vec<Bid>>>,
}

#[derive(Default)]
pub struct Analysis {
    pub bindings: Vec<Binding>,
    /// Identifier reference span start → binding.
    pub refs: HashMap<u32, Bid>,
    /// Binding identifier span start → binding.
    pub decls: HashMap<u32, Bid>,
}

impl Analysis {
    pub fn binding(&self, b: Bid) -> &Binding {
        &self.bindings[b as usize]
    }
}

#[derive(Default)]
struct Scope {
    names: HashMap<String, Bid>,
    /// Function declarations of this block and their statement positions.
    fns: Vec<(Bid, usize)>,
    cur_stmt: usize,
    cur_fn: Option<Bid>,
    stmt_refs: Vec<(usize, Bid)>,
    edges: Vec<(Bid, Bid)>,
}

pub fn analyse(file: &str, source: &str, program: &Program) -> Result<Analysis, JsError> {
    let mut a = Analyzer {
        file,
        source,
        out: Analysis::default(),
        scopes: Vec::new(),
        func: 0,
        funcs: 0,
    };
    a.scopes.push(Scope::default());
    a.declare_vars(&program.body)?;
    a.block_body(&program.body)?;
    a.pop_scope();
    a.number_fixpoint();
    Ok(a.out)
}

struct Analyzer<'s> {
    file: &'s str,
    source: &'s str,
    out: Analysis,
    scopes: Vec<Scope>,
    func: u32,
    funcs: u32,
}

type R<T> = Result<T, JsError>;

impl Analyzer<'_> {
    fn err(&self, span: Span, message: impl std::fmt::Display) -> JsError {
        JsError::at(self.file, self.source, span.start, message)
    }

    fn declare(&mut self, id: &BindingIdentifier, kind: BKind) -> R<Bid> {
        let name = id.name.as_str();
        let scope = self.scopes.last_mut().expect("scope");
        if let Some(&b) = scope.names.get(name) {
            let prev = self.out.bindings[b as usize].kind;
            // `var x` twice, or a var that repeats a parameter, is legal JS.
            if (kind == BKind::Var && matches!(prev, BKind::Var | BKind::Param))
                || (kind == BKind::Param && prev == BKind::Param)
            {
                self.out.decls.insert(id.span.start, b);
                return Ok(b);
            }
            return Err(self.err(id.span, format!("`{name}` is declared twice")));
        }
        let b = self.out.bindings.len() as Bid;
        self.out.bindings.push(Binding {
            name: name.to_string(),
            kind,
            func: self.func,
            captured: false,
            reassigned: false,
            predeclare: false,
            early: false,
            number: false,
            used: false,
            inited: matches!(kind, BKind::Var | BKind::Param | BKind::FnName),
            writes: Vec::new(),
        });
        scope.names.insert(name.to_string(), b);
        self.out.decls.insert(id.span.start, b);
        Ok(b)
    }

    fn decl_id(&self, id: &BindingIdentifier) -> Option<Bid> {
        self.out.decls.get(&id.span.start).copied()
    }

    fn init(&mut self, b: Bid) {
        self.out.bindings[b as usize].inited = true;
    }

    fn write_init(&mut self, b: Bid, deps: Option<Vec<Bid>>) {
        self.out.bindings[b as usize].writes.push(deps);
    }

    /// Resolves a reference; `write` carries the type dependencies of the value
    /// written (`Some(None)`: not provably a number).
    fn resolve(&mut self, id: &IdentifierReference, write: Option<Option<Vec<Bid>>>) -> R<()> {
        let name = id.name.as_str();
        let Some((si, b)) = self
            .scopes
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, s)| s.names.get(name).map(|&b| (i, b)))
        else {
            return Ok(());
        };
        self.out.refs.insert(id.span.start, b);
        let func = self.func;
        let binding = &mut self.out.bindings[b as usize];
        binding.used = true;
        if binding.func != func {
            binding.captured = true;
        }
        if !binding.inited {
            if binding.kind == BKind::Function || binding.func != func {
                binding.predeclare = true;
            } else {
                return Err(self.err(id.span, format!("`{name}` is used before its declaration")));
            }
        }
        if let Some(deps) = write {
            binding.reassigned = true;
            binding.writes.push(deps);
        }
        if binding.kind == BKind::Function {
            let scope = &mut self.scopes[si];
            scope.stmt_refs.push((scope.cur_stmt, b));
            if let Some(g) = scope.cur_fn
                && g != b
            {
                scope.edges.push((g, b));
            }
        }
        Ok(())
    }

    fn pop_scope(&mut self) {
        let scope = self.scopes.pop().expect("scope");
        if scope.fns.is_empty() {
            return;
        }
        let pos: HashMap<Bid, usize> = scope.fns.iter().copied().collect();
        let mut by_stmt: HashMap<usize, Vec<Bid>> = HashMap::new();
        for &(i, b) in &scope.stmt_refs {
            by_stmt.entry(i).or_default().push(b);
        }
        for (i, refs) in by_stmt {
            // References made inside a function declaration only run when it is called.
            if scope.fns.iter().any(|&(_, p)| p == i) {
                continue;
            }
            let mut seen: Vec<Bid> = Vec::new();
            let mut todo = refs;
            while let Some(f) = todo.pop() {
                if seen.contains(&f) {
                    continue;
                }
                seen.push(f);
                if pos.get(&f).is_some_and(|&p| p > i) {
                    let binding = &mut self.out.bindings[f as usize];
                    binding.early = true;
                    binding.predeclare = true;
                }
                for &(g, h) in &scope.edges {
                    if g == f {
                        todo.push(h);
                    }
                }
            }
        }
    }

    fn number_fixpoint(&mut self) {
        for b in &mut self.out.bindings {
            b.number = matches!(b.kind, BKind::Let | BKind::Const)
                && !b.writes.is_empty()
                && b.writes.iter().all(Option::is_some);
        }
        loop {
            let mut changed = false;
            for i in 0..self.out.bindings.len() {
                if !self.out.bindings[i].number {
                    continue;
                }
                let ok = self.out.bindings[i].writes.iter().all(|w| {
                    w.as_ref().is_some_and(|deps| {
                        deps.iter().all(|&d| self.out.bindings[d as usize].number)
                    })
                });
                if !ok {
                    self.out.bindings[i].number = false;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    // ---------------------------------------------------------------- types

    /// A call of a method of the global `Math` (read-only: every method
    /// returns a number or throws).
    fn is_math_call(&self, c: &CallExpression) -> bool {
        !c.optional
            && matches!(
                c.callee.without_parentheses(),
                Expression::StaticMemberExpression(m)
                    if !m.optional
                        && matches!(&m.object, Expression::Identifier(id)
                            if id.name.as_str() == "Math" && !self.out.refs.contains_key(&id.span.start))
            )
    }

    /// `Some(deps)`: the value is a number when every binding in `deps` is.
    fn ty(&self, e: &Expression) -> Option<Vec<Bid>> {
        match e {
            Expression::NumericLiteral(_) => Some(Vec::new()),
            Expression::Identifier(id) => match self.out.refs.get(&id.span.start) {
                Some(&b) => Some(vec![b]),
                None if matches!(id.name.as_str(), "NaN" | "Infinity") => Some(Vec::new()),
                None => None,
            },
            Expression::UnaryExpression(u) => match u.operator {
                UnaryOperator::UnaryNegation
                | UnaryOperator::UnaryPlus
                | UnaryOperator::BitwiseNot => Some(Vec::new()),
                _ => None,
            },
            Expression::UpdateExpression(_) => Some(Vec::new()),
            Expression::BinaryExpression(b) => match b.operator {
                BinaryOperator::Addition => {
                    let mut l = self.ty(&b.left)?;
                    l.extend(self.ty(&b.right)?);
                    Some(l)
                }
                op if op.is_arithmetic() || op.is_bitwise() => Some(Vec::new()),
                _ => None,
            },
            Expression::ParenthesizedExpression(p) => self.ty(&p.expression),
            Expression::SequenceExpression(s) => s.expressions.last().and_then(|e| self.ty(e)),
            Expression::ConditionalExpression(c) => {
                let mut l = self.ty(&c.consequent)?;
                l.extend(self.ty(&c.alternate)?);
                Some(l)
            }
            // `Math.f(...)` (the global, frozen): always a number.
            Expression::CallExpression(c) if self.is_math_call(c) => Some(Vec::new()),
            Expression::AssignmentExpression(a) => match a.operator {
                AssignmentOperator::Assign => self.ty(&a.right),
                AssignmentOperator::Addition
                | AssignmentOperator::LogicalAnd
                | AssignmentOperator::LogicalOr
                | AssignmentOperator::LogicalNullish => None,
                _ => Some(Vec::new()),
            },
            _ => None,
        }
    }

    // ---------------------------------------------------------------- declarations

    fn pattern_names<'b>(p: &'b BindingPattern<'b>, out: &mut Vec<&'b BindingIdentifier<'b>>) {
        match p {
            BindingPattern::BindingIdentifier(id) => out.push(id),
            BindingPattern::AssignmentPattern(a) => Self::pattern_names(&a.left, out),
            BindingPattern::ObjectPattern(o) => {
                for p in &o.properties {
                    Self::pattern_names(&p.value, out);
                }
                if let Some(r) = &o.rest {
                    Self::pattern_names(&r.argument, out);
                }
            }
            BindingPattern::ArrayPattern(a) => {
                for p in a.elements.iter().flatten() {
                    Self::pattern_names(p, out);
                }
                if let Some(r) = &a.rest {
                    Self::pattern_names(&r.argument, out);
                }
            }
        }
    }

    /// Declares every `var` of a function body (not inside nested functions).
    fn declare_vars(&mut self, stmts: &[Statement]) -> R<()> {
        for s in stmts {
            self.declare_vars_stmt(s)?;
        }
        Ok(())
    }

    fn declare_vars_decl(&mut self, v: &VariableDeclaration) -> R<()> {
        if v.kind == VariableDeclarationKind::Var {
            for d in &v.declarations {
                let mut ids = Vec::new();
                Self::pattern_names(&d.id, &mut ids);
                for id in ids {
                    self.declare(id, BKind::Var)?;
                }
            }
        }
        Ok(())
    }

    fn declare_vars_stmt(&mut self, s: &Statement) -> R<()> {
        match s {
            Statement::VariableDeclaration(v) => self.declare_vars_decl(v)?,
            Statement::BlockStatement(b) => self.declare_vars(&b.body)?,
            Statement::IfStatement(i) => {
                self.declare_vars_stmt(&i.consequent)?;
                if let Some(a) = &i.alternate {
                    self.declare_vars_stmt(a)?;
                }
            }
            Statement::ForStatement(f) => {
                if let Some(ForStatementInit::VariableDeclaration(v)) = &f.init {
                    self.declare_vars_decl(v)?;
                }
                self.declare_vars_stmt(&f.body)?;
            }
            Statement::ForInStatement(f) => {
                if let ForStatementLeft::VariableDeclaration(v) = &f.left {
                    self.declare_vars_decl(v)?;
                }
                self.declare_vars_stmt(&f.body)?;
            }
            Statement::ForOfStatement(f) => {
                if let ForStatementLeft::VariableDeclaration(v) = &f.left {
                    self.declare_vars_decl(v)?;
                }
                self.declare_vars_stmt(&f.body)?;
            }
            Statement::WhileStatement(w) => self.declare_vars_stmt(&w.body)?,
            Statement::DoWhileStatement(w) => self.declare_vars_stmt(&w.body)?,
            Statement::LabeledStatement(l) => self.declare_vars_stmt(&l.body)?,
            Statement::SwitchStatement(sw) => {
                for c in &sw.cases {
                    self.declare_vars(&c.consequent)?;
                }
            }
            Statement::TryStatement(t) => {
                self.declare_vars(&t.block.body)?;
                if let Some(h) = &t.handler {
                    self.declare_vars(&h.body.body)?;
                }
                if let Some(f) = &t.finalizer {
                    self.declare_vars(&f.body)?;
                }
            }
            Statement::ExportDeclaration(e) => {
                if let Declaration::VariableDeclaration(v) = &e.declaration {
                    self.declare_vars_decl(v)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The lexical declaration a statement makes in its block, if any.
    fn lexical<'b>(s: &'b Statement<'b>) -> Option<&'b Declaration<'b>> {
        match s {
            Statement::ExportDeclaration(e) => Some(&e.declaration),
            Statement::ExportDefaultDeclaration(_) => None,
            s => s.as_declaration(),
        }
    }

    fn declare_lexical(&mut self, stmts: &[Statement]) -> R<()> {
        for (i, s) in stmts.iter().enumerate() {
            let func = match s {
                Statement::ExportDefaultDeclaration(e) => match &e.declaration {
                    ExportDefaultDeclarationKind::FunctionDeclaration(f) => Some(f),
                    _ => None,
                },
                _ => None,
            };
            if let Some(f) = func {
                if let Some(id) = &f.id {
                    let b = self.declare(id, BKind::Function)?;
                    self.scopes.last_mut().expect("scope").fns.push((b, i));
                }
                continue;
            }
            match Self::lexical(s) {
                Some(Declaration::VariableDeclaration(v))
                    if v.kind != VariableDeclarationKind::Var =>
                {
                    let kind = if v.kind == VariableDeclarationKind::Const {
                        BKind::Const
                    } else {
                        BKind::Let
                    };
                    for d in &v.declarations {
                        let mut ids = Vec::new();
                        Self::pattern_names(&d.id, &mut ids);
                        for id in ids {
                            self.declare(id, kind)?;
                        }
                    }
                }
                Some(Declaration::FunctionDeclaration(f)) => {
                    if let Some(id) = &f.id {
                        let b = self.declare(id, BKind::Function)?;
                        self.scopes.last_mut().expect("scope").fns.push((b, i));
                    }
                }
                Some(Declaration::ClassDeclaration(c)) => {
                    if let Some(id) = &c.id {
                        self.declare(id, BKind::Class)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A block's statements in the current scope.
    fn block_body(&mut self, stmts: &[Statement]) -> R<()> {
        self.declare_lexical(stmts)?;
        for (i, s) in stmts.iter().enumerate() {
            let scope = self.scopes.last_mut().expect("scope");
            scope.cur_stmt = i;
            scope.cur_fn = scope.fns.iter().find(|&&(_, p)| p == i).map(|&(b, _)| b);
            if let Some(b) = scope.cur_fn {
                self.init(b);
            }
            self.stmt(s)?;
        }
        let scope = self.scopes.last_mut().expect("scope");
        scope.cur_fn = None;
        scope.cur_stmt = usize::MAX;
        Ok(())
    }

    fn push_scope(&mut self) {
        self.scopes.push(Scope::default());
    }

    fn block(&mut self, stmts: &[Statement]) -> R<()> {
        self.push_scope();
        self.block_body(stmts)?;
        self.pop_scope();
        Ok(())
    }

    // ---------------------------------------------------------------- statements

    fn stmt(&mut self, s: &Statement) -> R<()> {
        match s {
            Statement::BlockStatement(b) => self.block(&b.body)?,
            Statement::ExpressionStatement(e) => self.expr(&e.expression)?,
            Statement::VariableDeclaration(v) => self.var_decl(v)?,
            Statement::FunctionDeclaration(f) => self.function(f, None)?,
            Statement::ClassDeclaration(c) => self.class(c)?,
            Statement::ExportDeclaration(e) => self.stmt(e.declaration.as_statement())?,
            Statement::ExportDefaultDeclaration(e) => match &e.declaration {
                ExportDefaultDeclarationKind::FunctionDeclaration(f) => self.function(f, None)?,
                ExportDefaultDeclarationKind::ClassDeclaration(c) => self.class(c)?,
                d => {
                    if let Some(e) = d.as_expression() {
                        self.expr(e)?;
                    }
                }
            },
            Statement::IfStatement(i) => {
                self.expr(&i.test)?;
                self.sub_stmt(&i.consequent)?;
                if let Some(a) = &i.alternate {
                    self.sub_stmt(a)?;
                }
            }
            Statement::ReturnStatement(r) => {
                if let Some(e) = &r.argument {
                    self.expr(e)?;
                }
            }
            Statement::ThrowStatement(t) => self.expr(&t.argument)?,
            Statement::WhileStatement(w) => {
                self.expr(&w.test)?;
                self.sub_stmt(&w.body)?;
            }
            Statement::DoWhileStatement(w) => {
                self.sub_stmt(&w.body)?;
                self.expr(&w.test)?;
            }
            Statement::ForStatement(f) => {
                self.push_scope();
                match &f.init {
                    Some(ForStatementInit::VariableDeclaration(v)) => {
                        self.declare_head(v)?;
                        self.var_decl(v)?;
                    }
                    Some(init) => {
                        if let Some(e) = init.as_expression() {
                            self.expr(e)?;
                        }
                    }
                    None => {}
                }
                if let Some(t) = &f.test {
                    self.expr(t)?;
                }
                if let Some(u) = &f.update {
                    self.expr(u)?;
                }
                self.sub_stmt(&f.body)?;
                self.pop_scope();
            }
            Statement::ForInStatement(f) => self.for_each(&f.left, &f.right, &f.body)?,
            Statement::ForOfStatement(f) => self.for_each(&f.left, &f.right, &f.body)?,
            Statement::LabeledStatement(l) => self.stmt(&l.body)?,
            Statement::SwitchStatement(sw) => {
                self.expr(&sw.discriminant)?;
                self.push_scope();
                // One scope for all cases: declare the lexical names of every case.
                let all: Vec<&Statement> =
                    sw.cases.iter().flat_map(|c| c.consequent.iter()).collect();
                let mut i = 0;
                for c in &sw.cases {
                    self.declare_lexical_offset(&c.consequent, i)?;
                    i += c.consequent.len();
                }
                let mut i = 0;
                for c in &sw.cases {
                    if let Some(t) = &c.test {
                        self.expr(t)?;
                    }
                    for s in &c.consequent {
                        let scope = self.scopes.last_mut().expect("scope");
                        scope.cur_stmt = i;
                        scope.cur_fn = scope.fns.iter().find(|&&(_, p)| p == i).map(|&(b, _)| b);
                        if let Some(b) = scope.cur_fn {
                            self.init(b);
                        }
                        self.stmt(s)?;
                        i += 1;
                    }
                }
                let _ = all;
                self.pop_scope();
            }
            Statement::TryStatement(t) => {
                self.block(&t.block.body)?;
                if let Some(h) = &t.handler {
                    self.push_scope();
                    if let Some(p) = &h.param {
                        self.pattern_exprs(&p.pattern)?;
                        self.declare_pattern(&p.pattern, BKind::Catch, None)?;
                    }
                    self.block(&h.body.body)?;
                    self.pop_scope();
                }
                if let Some(f) = &t.finalizer {
                    self.block(&f.body)?;
                }
            }
            Statement::WithStatement(w) => {
                self.expr(&w.object)?;
                self.sub_stmt(&w.body)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn declare_lexical_offset(&mut self, stmts: &[Statement], offset: usize) -> R<()> {
        let before = self.scopes.last().expect("scope").fns.len();
        self.declare_lexical(stmts)?;
        for f in &mut self.scopes.last_mut().expect("scope").fns[before..] {
            f.1 += offset;
        }
        Ok(())
    }

    /// The body of `if`/loops: a block scope of its own.
    fn sub_stmt(&mut self, s: &Statement) -> R<()> {
        match s {
            Statement::BlockStatement(b) => self.block(&b.body),
            s => self.block(std::slice::from_ref(s)),
        }
    }

    /// `let`/`const` of a `for` head, declared in the loop's own scope.
    fn declare_head(&mut self, v: &VariableDeclaration) -> R<()> {
        if v.kind != VariableDeclarationKind::Var {
            let kind = if v.kind == VariableDeclarationKind::Const {
                BKind::Const
            } else {
                BKind::Let
            };
            for d in &v.declarations {
                let mut ids = Vec::new();
                Self::pattern_names(&d.id, &mut ids);
                for id in ids {
                    self.declare(id, kind)?;
                }
            }
        }
        Ok(())
    }

    fn for_each(&mut self, left: &ForStatementLeft, right: &Expression, body: &Statement) -> R<()> {
        self.push_scope();
        self.expr(right)?;
        match left {
            ForStatementLeft::VariableDeclaration(v) => {
                self.declare_head(v)?;
                for d in &v.declarations {
                    self.pattern_exprs(&d.id)?;
                    let mut ids = Vec::new();
                    Self::pattern_names(&d.id, &mut ids);
                    for id in ids {
                        if let Some(b) = self.decl_id(id) {
                            self.init(b);
                            self.write_init(b, None);
                        }
                    }
                }
            }
            t => {
                if let Some(t) = t.as_assignment_target() {
                    self.target(t, None)?;
                }
            }
        }
        self.sub_stmt(body)?;
        self.pop_scope();
        Ok(())
    }

    fn var_decl(&mut self, v: &VariableDeclaration) -> R<()> {
        for d in &v.declarations {
            // JS order: the initialiser, then the pattern left to right (a
            // default may read the bindings before it).
            let deps = match &d.init {
                Some(e) => {
                    self.expr(e)?;
                    self.ty(e)
                }
                None => None,
            };
            self.pattern_exprs(&d.id)?;
            let simple = matches!(d.id, BindingPattern::BindingIdentifier(_));
            let mut ids = Vec::new();
            Self::pattern_names(&d.id, &mut ids);
            for id in ids {
                if let Some(b) = self.decl_id(id) {
                    self.init(b);
                    if v.kind == VariableDeclarationKind::Var {
                        if d.init.is_some() {
                            let binding = &mut self.out.bindings[b as usize];
                            binding.reassigned = true;
                            binding.writes.push(None);
                        }
                    } else if d.init.is_some() || v.kind == VariableDeclarationKind::Let {
                        self.write_init(b, if simple { deps.clone() } else { None });
                    }
                }
            }
        }
        Ok(())
    }

    /// Default values and computed keys inside a binding pattern, in
    /// evaluation order; each name counts as initialised once its part of the
    /// pattern is done (so `{ x = 5, y = x * 2 }` reads `x`, `{ x = x }` cannot).
    fn pattern_exprs(&mut self, p: &BindingPattern) -> R<()> {
        match p {
            BindingPattern::BindingIdentifier(id) => {
                if let Some(b) = self.decl_id(id) {
                    self.init(b);
                }
            }
            BindingPattern::AssignmentPattern(a) => {
                self.expr(&a.right)?;
                self.pattern_exprs(&a.left)?;
            }
            BindingPattern::ObjectPattern(o) => {
                for prop in &o.properties {
                    if let Some(e) = prop.key.as_expression()
                        && prop.computed
                    {
                        self.expr(e)?;
                    }
                    self.pattern_exprs(&prop.value)?;
                }
                if let Some(r) = &o.rest {
                    self.pattern_exprs(&r.argument)?;
                }
            }
            BindingPattern::ArrayPattern(a) => {
                for p in a.elements.iter().flatten() {
                    self.pattern_exprs(p)?;
                }
                if let Some(r) = &a.rest {
                    self.pattern_exprs(&r.argument)?;
                }
            }
        }
        Ok(())
    }

    fn declare_pattern(
        &mut self,
        p: &BindingPattern,
        kind: BKind,
        deps: Option<Vec<Bid>>,
    ) -> R<()> {
        let mut ids = Vec::new();
        Self::pattern_names(p, &mut ids);
        for id in ids {
            let b = self.declare(id, kind)?;
            self.init(b);
            self.write_init(b, deps.clone());
        }
        Ok(())
    }

    // ---------------------------------------------------------------- functions

    fn function(&mut self, f: &Function, name_scope: Option<&BindingIdentifier>) -> R<()> {
        let saved = self.func;
        self.funcs += 1;
        self.func = self.funcs;
        if let Some(id) = name_scope {
            self.push_scope();
            self.declare(id, BKind::FnName)?;
        }
        self.push_scope();
        self.params(&f.params)?;
        if let Some(body) = &f.body {
            self.declare_vars(&body.statements)?;
            self.block_body(&body.statements)?;
        }
        self.pop_scope();
        if name_scope.is_some() {
            self.pop_scope();
        }
        self.func = saved;
        Ok(())
    }

    fn params(&mut self, params: &FormalParameters) -> R<()> {
        for p in &params.items {
            self.pattern_exprs(&p.pattern)?;
            if let Some(init) = &p.initializer {
                self.expr(init)?;
            }
            self.declare_pattern(&p.pattern, BKind::Param, None)?;
        }
        if let Some(r) = &params.rest {
            self.pattern_exprs(&r.rest.argument)?;
            self.declare_pattern(&r.rest.argument, BKind::Param, None)?;
        }
        Ok(())
    }

    fn arrow(&mut self, f: &ArrowFunctionExpression) -> R<()> {
        let saved = self.func;
        self.funcs += 1;
        self.func = self.funcs;
        self.push_scope();
        self.params(&f.params)?;
        match &f.body {
            ArrowFunctionBody::FunctionBody(body) => {
                self.declare_vars(&body.statements)?;
                self.block_body(&body.statements)?;
            }
            body => {
                if let Some(e) = body.as_expression() {
                    self.expr(e)?;
                }
            }
        }
        self.pop_scope();
        self.func = saved;
        Ok(())
    }

    fn class(&mut self, c: &Class) -> R<()> {
        if let Some(h) = &c.heritage {
            self.expr(&h.expression)?;
        }
        let decl = c.r#type == ClassType::ClassDeclaration;
        if !decl && let Some(id) = &c.id {
            self.push_scope();
            self.declare(id, BKind::FnName)?;
        }
        for el in &c.body.body {
            match el {
                ClassElement::MethodDefinition(m) => {
                    if m.computed
                        && let Some(e) = m.key.as_expression()
                    {
                        self.expr(e)?;
                    }
                    self.function(&m.value, None)?;
                }
                ClassElement::PropertyDefinition(p) => {
                    if p.computed
                        && let Some(e) = p.key.as_expression()
                    {
                        self.expr(e)?;
                    }
                    if let Some(v) = &p.value {
                        // Field initialisers run as part of the constructor.
                        let saved = self.func;
                        self.funcs += 1;
                        self.func = self.funcs;
                        self.expr(v)?;
                        self.func = saved;
                    }
                }
                ClassElement::StaticBlock(b) => {
                    let saved = self.func;
                    self.funcs += 1;
                    self.func = self.funcs;
                    self.block(&b.body)?;
                    self.func = saved;
                }
                _ => {}
            }
        }
        if !decl && c.id.is_some() {
            self.pop_scope();
        }
        if decl
            && let Some(id) = &c.id
            && let Some(b) = self.decl_id(id)
        {
            self.init(b);
            self.write_init(b, None);
        }
        Ok(())
    }

    // ---------------------------------------------------------------- expressions

    fn exprs(&mut self, es: &[Expression]) -> R<()> {
        for e in es {
            self.expr(e)?;
        }
        Ok(())
    }

    fn args(&mut self, args: &[Argument]) -> R<()> {
        for a in args {
            match a {
                Argument::SpreadElement(s) => self.expr(&s.argument)?,
                a => {
                    if let Some(e) = a.as_expression() {
                        self.expr(e)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn member(&mut self, m: &MemberExpression) -> R<()> {
        match m {
            MemberExpression::ComputedMemberExpression(c) => {
                self.expr(&c.object)?;
                self.expr(&c.expression)
            }
            MemberExpression::StaticMemberExpression(s) => self.expr(&s.object),
            MemberExpression::PrivateFieldExpression(p) => self.expr(&p.object),
        }
    }

    fn expr(&mut self, e: &Expression) -> R<()> {
        match e {
            Expression::Identifier(id) => self.resolve(id, None)?,
            Expression::TemplateLiteral(t) => self.exprs(&t.expressions)?,
            Expression::TaggedTemplateExpression(t) => {
                self.expr(&t.tag)?;
                self.exprs(&t.quasi.expressions)?;
            }
            Expression::ArrayExpression(a) => {
                for el in &a.elements {
                    match el {
                        ArrayExpressionElement::SpreadElement(s) => self.expr(&s.argument)?,
                        ArrayExpressionElement::Elision(_) => {}
                        el => {
                            if let Some(e) = el.as_expression() {
                                self.expr(e)?;
                            }
                        }
                    }
                }
            }
            Expression::ObjectExpression(o) => {
                for p in &o.properties {
                    match p {
                        ObjectPropertyKind::ObjectProperty(p) => {
                            if p.computed
                                && let Some(k) = p.key.as_expression()
                            {
                                self.expr(k)?;
                            }
                            self.expr(&p.value)?;
                        }
                        ObjectPropertyKind::SpreadProperty(s) => self.expr(&s.argument)?,
                    }
                }
            }
            Expression::FunctionExpression(f) => {
                // The name is only bound inside the function.
                self.function(f, f.id.as_ref())?;
            }
            Expression::ArrowFunctionExpression(f) => self.arrow(f)?,
            Expression::ClassExpression(c) => self.class(c)?,
            Expression::AssignmentExpression(a) => {
                self.expr(&a.right)?;
                let deps = match a.operator {
                    AssignmentOperator::Assign => self.ty(&a.right),
                    AssignmentOperator::Addition
                    | AssignmentOperator::LogicalAnd
                    | AssignmentOperator::LogicalOr
                    | AssignmentOperator::LogicalNullish => {
                        let own = match &a.left {
                            AssignmentTarget::AssignmentTargetIdentifier(id) => {
                                self.resolve(id, None)?;
                                self.out.refs.get(&id.span.start).copied()
                            }
                            _ => None,
                        };
                        match (own, self.ty(&a.right)) {
                            (Some(b), Some(mut deps))
                                if a.operator == AssignmentOperator::Addition =>
                            {
                                deps.push(b);
                                Some(deps)
                            }
                            _ => None,
                        }
                    }
                    _ => Some(Vec::new()),
                };
                self.target(&a.left, deps)?;
            }
            Expression::AwaitExpression(a) => self.expr(&a.argument)?,
            Expression::BinaryExpression(b) => {
                self.expr(&b.left)?;
                self.expr(&b.right)?;
            }
            Expression::LogicalExpression(l) => {
                self.expr(&l.left)?;
                self.expr(&l.right)?;
            }
            Expression::ConditionalExpression(c) => {
                self.expr(&c.test)?;
                self.expr(&c.consequent)?;
                self.expr(&c.alternate)?;
            }
            Expression::UnaryExpression(u) => self.expr(&u.argument)?,
            Expression::UpdateExpression(u) => match &u.argument {
                SimpleAssignmentTarget::AssignmentTargetIdentifier(id) => {
                    self.resolve(id, Some(Some(Vec::new())))?
                }
                t => {
                    if let Some(m) = t.as_member_expression() {
                        self.member(m)?;
                    }
                }
            },
            Expression::SequenceExpression(s) => self.exprs(&s.expressions)?,
            Expression::ParenthesizedExpression(p) => self.expr(&p.expression)?,
            Expression::ChainExpression(c) => match &c.expression {
                ChainElement::CallExpression(call) => {
                    self.expr(&call.callee)?;
                    self.args(&call.arguments)?;
                }
                el => {
                    if let Some(m) = el.as_member_expression() {
                        self.member(m)?;
                    }
                }
            },
            Expression::CallExpression(c) => {
                self.expr(&c.callee)?;
                self.args(&c.arguments)?;
            }
            Expression::NewExpression(n) => {
                self.expr(&n.callee)?;
                self.args(&n.arguments)?;
            }
            Expression::YieldExpression(y) => {
                if let Some(a) = &y.argument {
                    self.expr(a)?;
                }
            }
            Expression::ImportExpression(i) => self.expr(&i.source)?,
            Expression::PrivateInExpression(p) => self.expr(&p.right)?,
            e => {
                if let Some(m) = e.as_member_expression() {
                    self.member(m)?;
                }
            }
        }
        Ok(())
    }

    fn target(&mut self, t: &AssignmentTarget, deps: Option<Vec<Bid>>) -> R<()> {
        match t {
            AssignmentTarget::AssignmentTargetIdentifier(id) => self.resolve(id, Some(deps))?,
            AssignmentTarget::ArrayAssignmentTarget(a) => {
                for el in a.elements.iter().flatten() {
                    self.target_maybe_default(el)?;
                }
                if let Some(r) = &a.rest {
                    self.target(&r.target, None)?;
                }
            }
            AssignmentTarget::ObjectAssignmentTarget(o) => {
                for p in &o.properties {
                    match p {
                        AssignmentTargetProperty::AssignmentTargetPropertyIdentifier(p) => {
                            if let Some(init) = &p.init {
                                self.expr(init)?;
                            }
                            self.resolve(&p.binding, Some(None))?;
                        }
                        AssignmentTargetProperty::AssignmentTargetPropertyProperty(p) => {
                            if p.computed
                                && let Some(k) = p.name.as_expression()
                            {
                                self.expr(k)?;
                            }
                            self.target_maybe_default(&p.binding)?;
                        }
                    }
                }
                if let Some(r) = &o.rest {
                    self.target(&r.target, None)?;
                }
            }
            t => {
                if let Some(m) = t.as_member_expression() {
                    self.member(m)?;
                }
            }
        }
        Ok(())
    }

    fn target_maybe_default(&mut self, t: &AssignmentTargetMaybeDefault) -> R<()> {
        match t {
            AssignmentTargetMaybeDefault::AssignmentTargetWithDefault(d) => {
                self.expr(&d.init)?;
                self.target(&d.binding, None)
            }
            t => match t.as_assignment_target() {
                Some(t) => self.target(t, None),
                None => Ok(()),
            },
        }
    }
}
