//! Regular expressions for the JavaScript runtime, backed by the `regex` crate.
//!
//! JavaScript patterns are translated to `regex` syntax ([`translate`]) and run
//! with `regex::bytes` (linear time, so a script cannot write a catastrophic
//! pattern). Supported flags: `g`, `i`, `m`, `s`, `u`, `y` (`d` and `v` are
//! refused). Not supported (refused at compile time with a plain message):
//! backreferences (`\1`, `\k<name>`), lookahead `(?=…)`/`(?!…)`, lookbehind
//! `(?<=…)`/`(?<!…)`, octal escapes and lone surrogates.
//!
//! Deliberate approximations: `\b`/`\B` are ASCII word boundaries (as JS);
//! with the `m` flag `^`/`$` treat `\r` and `\n` as line ends but never match
//! between the two characters of a `\r\n` (JS does; `\u2028`/`\u2029` are not
//! line ends); `i` uses Unicode simple case folding.
//!
//! Host functions (registered into the runtime's `host` table):
//! * `re_new(source, flags)` → `handle, ngroups, names` (`names[i]` is the name
//!   of capture group `i`, for named groups only) or `nil, message`.
//! * `re_exec(handle, subject, start)` → `nil` or a list
//!   `{s0, e0, s1, e1, …}` of 0-based byte offsets (end exclusive) of the
//!   whole match and each group, `-1` for groups that did not participate. The
//!   search starts at byte `start`.
//!
//! Compiled regexes are cached per (source, flags), bounded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mlua::{AnyUserData, Lua, MultiValue, Table, UserData, Value};

/// A compiled JavaScript regular expression.
#[derive(Debug)]
struct Compiled {
    re: regex::bytes::Regex,
    /// Number of capture groups (without group 0).
    ngroups: usize,
    /// Name of each capture group (index 0 = group 1).
    names: Vec<Option<String>>,
}

/// The Luau handle of a compiled regex.
struct Handle(Arc<Compiled>);

impl UserData for Handle {}

/// Most compiled regexes kept; the cache is cleared when full.
const CACHE_MAX: usize = 256;
/// Compiled program size limit (bytes) for one regex.
const SIZE_LIMIT: usize = 4 << 20;

type Cache = Mutex<HashMap<(String, String), Arc<Compiled>>>;

fn cache() -> &'static Cache {
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Registers the regex helpers into the runtime's `host` table.
pub(crate) fn register(lua: &Lua, host: &Table) -> mlua::Result<()> {
    host.raw_set(
        "re_new",
        lua.create_function(|lua, (source, flags): (mlua::LuaString, mlua::LuaString)| {
            let source = source.to_string_lossy();
            let flags = flags.to_string_lossy();
            match compile_cached(&source, &flags) {
                Ok(c) => {
                    let names = lua.create_table()?;
                    for (i, n) in c.names.iter().enumerate() {
                        if let Some(n) = n {
                            names.raw_set(i + 1, n.as_str())?;
                        }
                    }
                    let ngroups = c.ngroups;
                    let ud = lua.create_userdata(Handle(c))?;
                    Ok(MultiValue::from_vec(vec![
                        Value::UserData(ud),
                        Value::Number(ngroups as f64),
                        Value::Table(names),
                    ]))
                }
                Err(msg) => Ok(MultiValue::from_vec(vec![
                    Value::Nil,
                    Value::String(lua.create_string(&msg)?),
                ])),
            }
        })?,
    )?;
    host.raw_set(
        "re_exec",
        lua.create_function(
            |lua, (handle, subject, start): (AnyUserData, mlua::LuaString, f64)| {
                let h = handle.borrow::<Handle>()?;
                let bytes = subject.as_bytes();
                if start.is_nan() || start < 0.0 || start > bytes.len() as f64 {
                    return Ok(Value::Nil);
                }
                let start = start as usize;
                let Some(caps) = h.0.re.captures_at(&bytes, start) else {
                    return Ok(Value::Nil);
                };
                let out = lua.create_table_with_capacity(2 * (h.0.ngroups + 1), 0)?;
                for i in 0..=h.0.ngroups {
                    let (s, e) = caps
                        .get(i)
                        .map_or((-1.0, -1.0), |m| (m.start() as f64, m.end() as f64));
                    out.raw_set(2 * i + 1, s)?;
                    out.raw_set(2 * i + 2, e)?;
                }
                Ok(Value::Table(out))
            },
        )?,
    )?;
    Ok(())
}

/// Checks at compile time that a regular expression literal (`source`, `flags`)
/// can be run; `Err` carries a plain message for the script author.
pub fn validate(source: &str, flags: &str) -> Result<(), String> {
    compile_cached(source, flags).map(|_| ())
}

fn compile_cached(source: &str, flags: &str) -> Result<Arc<Compiled>, String> {
    let key = (source.to_string(), flags.to_string());
    if let Ok(c) = cache().lock()
        && let Some(found) = c.get(&key)
    {
        return Ok(found.clone());
    }
    let compiled = Arc::new(compile(source, flags)?);
    if let Ok(mut c) = cache().lock() {
        if c.len() >= CACHE_MAX {
            c.clear();
        }
        c.insert(key, compiled.clone());
    }
    Ok(compiled)
}

fn compile(source: &str, flags: &str) -> Result<Compiled, String> {
    let t = translate(source, flags)?;
    let re = regex::bytes::RegexBuilder::new(&t.pattern)
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let reason = match e {
                regex::Error::CompiledTooBig(_) => "pattern too large".to_string(),
                regex::Error::Syntax(s) => last_line(&s),
                other => other.to_string(),
            };
            format!("Invalid regular expression: /{source}/{flags}: {reason}")
        })?;
    Ok(Compiled {
        re,
        ngroups: t.names.len(),
        names: t.names,
    })
}

/// The last non-empty line of a `regex` syntax error (its one-line reason).
fn last_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .trim_start_matches("error: ")
        .to_string()
}

/// A JavaScript pattern translated to `regex` syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    /// The `regex` crate pattern.
    pub pattern: String,
    /// Name of each capture group, in group order (group 1 first).
    pub names: Vec<Option<String>>,
}

/// JavaScript `\s` (WhiteSpace + LineTerminator), as the body of a class.
const WS: &str = r"\t\n\x0B\x0C\r\x20\xA0\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}";
const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";

#[derive(Clone, Copy, Default)]
struct Flags {
    i: bool,
    m: bool,
    s: bool,
    u: bool,
}

fn parse_flags(flags: &str) -> Result<Flags, String> {
    let mut f = Flags::default();
    let mut seen = String::new();
    for c in flags.chars() {
        if seen.contains(c) {
            return Err(format!(
                "Invalid flags supplied to RegExp constructor '{flags}'"
            ));
        }
        seen.push(c);
        match c {
            'g' | 'y' => {}
            'i' => f.i = true,
            'm' => f.m = true,
            's' => f.s = true,
            'u' => f.u = true,
            'd' | 'v' => {
                return Err(format!(
                    "regular expression: the '{c}' flag is not supported"
                ));
            }
            _ => {
                return Err(format!(
                    "Invalid flags supplied to RegExp constructor '{flags}'"
                ));
            }
        }
    }
    Ok(f)
}

/// Translates a JavaScript pattern (the text between the slashes) and flags to
/// `regex` syntax, or explains why it cannot be run.
pub fn translate(source: &str, flags: &str) -> Result<Translated, String> {
    let f = parse_flags(flags)?;
    let mut t = Tr {
        src: source,
        flags,
        c: source.chars().collect(),
        i: 0,
        f,
        out: String::new(),
        names: Vec::new(),
        depth: 0,
    };
    if f.i {
        t.out.push_str("(?i)");
    }
    if f.m {
        t.out.push_str("(?mR)");
    }
    t.pattern()?;
    Ok(Translated {
        pattern: t.out,
        names: t.names,
    })
}

/// One class atom: a single character or a class escape (`\d` …).
enum ClassAtom {
    Char(char),
    /// Text to put inside the enclosing `[...]`.
    Set(String),
}

struct Tr<'a> {
    src: &'a str,
    flags: &'a str,
    c: Vec<char>,
    i: usize,
    f: Flags,
    out: String,
    names: Vec<Option<String>>,
    depth: usize,
}

impl Tr<'_> {
    fn peek(&self, k: usize) -> Option<char> {
        self.c.get(self.i + k).copied()
    }

    fn invalid(&self, reason: &str) -> String {
        format!(
            "Invalid regular expression: /{}/{}: {reason}",
            self.src, self.flags
        )
    }

    fn unsupported(what: &str) -> String {
        format!("regular expression: {what} is not supported")
    }

    fn pattern(&mut self) -> Result<(), String> {
        while let Some(c) = self.peek(0) {
            self.i += 1;
            match c {
                '\\' => self.escape()?,
                '(' => self.group()?,
                ')' => {
                    if self.depth == 0 {
                        return Err(self.invalid("Unmatched ')'"));
                    }
                    self.depth -= 1;
                    self.out.push(')');
                }
                '[' => self.class()?,
                '.' => {
                    if self.f.s {
                        self.out.push_str("(?s:.)");
                    } else {
                        self.out.push_str(r"[^\n\r\x{2028}\x{2029}]");
                    }
                }
                '^' | '$' | '|' | '*' | '+' | '?' => self.out.push(c),
                '{' => {
                    if let Some(q) = self.quantifier() {
                        self.out.push_str(&q);
                    } else if self.f.u {
                        return Err(self.invalid("Lone quantifier brackets"));
                    } else {
                        push_lit(&mut self.out, '{');
                    }
                }
                '}' | ']' => {
                    if self.f.u {
                        return Err(self.invalid("Lone quantifier brackets"));
                    }
                    push_lit(&mut self.out, c);
                }
                _ => push_lit(&mut self.out, c),
            }
        }
        if self.depth > 0 {
            return Err(self.invalid("Unterminated group"));
        }
        Ok(())
    }

    /// `{n}`, `{n,}`, `{n,m}` after the `{` (consumed on success).
    fn quantifier(&mut self) -> Option<String> {
        let mut j = self.i;
        let digits = |j: &mut usize| {
            let s = *j;
            while self.c.get(*j).is_some_and(|c| c.is_ascii_digit()) {
                *j += 1;
            }
            *j > s
        };
        if !digits(&mut j) {
            return None;
        }
        if self.c.get(j) == Some(&',') {
            j += 1;
            digits(&mut j);
        }
        if self.c.get(j) != Some(&'}') {
            return None;
        }
        let body: String = self.c[self.i..j].iter().collect();
        self.i = j + 1;
        Some(format!("{{{body}}}"))
    }

    fn group(&mut self) -> Result<(), String> {
        if self.peek(0) == Some('?') {
            match (self.peek(1), self.peek(2)) {
                (Some(':'), _) => {
                    self.i += 2;
                    self.out.push_str("(?:");
                }
                (Some('='), _) => return Err(Self::unsupported("lookahead (?=…)")),
                (Some('!'), _) => return Err(Self::unsupported("negative lookahead (?!…)")),
                (Some('<'), Some('=')) => return Err(Self::unsupported("lookbehind (?<=…)")),
                (Some('<'), Some('!')) => {
                    return Err(Self::unsupported("negative lookbehind (?<!…)"));
                }
                (Some('<'), _) => {
                    self.i += 2;
                    let mut name = String::new();
                    loop {
                        match self.peek(0) {
                            Some('>') => break,
                            Some(c) if c == '$' || c == '_' || c.is_alphanumeric() => {
                                if name.is_empty() && c.is_numeric() {
                                    return Err(self.invalid("Invalid capture group name"));
                                }
                                name.push(c);
                                self.i += 1;
                            }
                            _ => return Err(self.invalid("Invalid capture group name")),
                        }
                    }
                    self.i += 1;
                    if name.is_empty() {
                        return Err(self.invalid("Invalid capture group name"));
                    }
                    if self
                        .names
                        .iter()
                        .any(|n| n.as_deref() == Some(name.as_str()))
                    {
                        return Err(self.invalid("Duplicate capture group name"));
                    }
                    self.names.push(Some(name));
                    self.out.push('(');
                }
                _ => return Err(self.invalid("Invalid group")),
            }
        } else {
            self.names.push(None);
            self.out.push('(');
        }
        self.depth += 1;
        Ok(())
    }

    /// An escape outside a class (after the `\`).
    fn escape(&mut self) -> Result<(), String> {
        let Some(c) = self.peek(0) else {
            return Err(self.invalid("\\ at end of pattern"));
        };
        match c {
            'b' => {
                self.i += 1;
                self.out.push_str(r"(?-u:\b)");
            }
            'B' => {
                self.i += 1;
                self.out.push_str(r"(?-u:\B)");
            }
            'd' | 'D' | 'w' | 'W' | 's' | 'S' => {
                self.i += 1;
                let (body, neg) = class_escape(c);
                let caret = if neg { "^" } else { "" };
                self.out.push_str(&format!("(?-i:[{caret}{body}])"));
            }
            '1'..='9' => return Err(Self::unsupported("a backreference (\\1)")),
            'k' if self.peek(1) == Some('<') && (self.f.u || self.has_named_groups()) => {
                return Err(Self::unsupported("a named backreference (\\k<name>)"));
            }
            'p' | 'P' if self.f.u => {
                self.i += 1;
                if self.peek(0) != Some('{') {
                    return Err(self.invalid("Invalid property name"));
                }
                let mut body = String::new();
                loop {
                    self.i += 1;
                    match self.peek(0) {
                        Some('}') => break,
                        Some(ch) if ch.is_ascii_alphanumeric() || ch == '_' || ch == '=' => {
                            body.push(ch)
                        }
                        _ => return Err(self.invalid("Invalid property name")),
                    }
                }
                self.i += 1;
                self.out.push_str(&format!("\\{c}{{{body}}}"));
            }
            _ => {
                let ch = self.char_escape()?;
                push_lit(&mut self.out, ch);
            }
        }
        Ok(())
    }

    fn has_named_groups(&self) -> bool {
        self.src.contains("(?<")
    }

    /// A character escape (after the `\`, at the escape letter): consumes it
    /// and returns the character it stands for.
    fn char_escape(&mut self) -> Result<char, String> {
        let Some(c) = self.peek(0) else {
            return Err(self.invalid("\\ at end of pattern"));
        };
        self.i += 1;
        Ok(match c {
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            'f' => '\u{c}',
            '0' => {
                if self.peek(0).is_some_and(|d| d.is_ascii_digit()) {
                    return Err(Self::unsupported("an octal escape"));
                }
                '\0'
            }
            '1'..='9' => return Err(Self::unsupported("an octal escape")),
            'c' => match self.peek(0) {
                Some(l) if l.is_ascii_alphabetic() => {
                    self.i += 1;
                    char::from((l as u8) % 32)
                }
                _ => {
                    if self.f.u {
                        return Err(self.invalid("Invalid unicode escape"));
                    }
                    self.i -= 1;
                    '\\'
                }
            },
            'x' => match self.hex(2) {
                Some(v) => char::from_u32(v).unwrap_or('x'),
                None if self.f.u => return Err(self.invalid("Invalid escape")),
                None => 'x',
            },
            'u' => self.unicode_escape()?,
            _ => {
                if self.f.u && c.is_ascii_alphanumeric() {
                    return Err(self.invalid("Invalid escape"));
                }
                c
            }
        })
    }

    /// `n` hex digits at the cursor (consumed on success).
    fn hex(&mut self, n: usize) -> Option<u32> {
        let s: String = self.c.get(self.i..self.i + n)?.iter().collect();
        if !s.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let v = u32::from_str_radix(&s, 16).ok()?;
        self.i += n;
        Some(v)
    }

    /// After `\u`: `HHHH` (surrogate pairs combined) or, with `u`, `{H…}`.
    fn unicode_escape(&mut self) -> Result<char, String> {
        if self.f.u && self.peek(0) == Some('{') {
            let close = self.c[self.i..].iter().position(|&c| c == '}');
            let Some(close) = close else {
                return Err(self.invalid("Invalid Unicode escape"));
            };
            let s: String = self.c[self.i + 1..self.i + close].iter().collect();
            let v = u32::from_str_radix(&s, 16)
                .ok()
                .filter(|_| !s.is_empty())
                .ok_or_else(|| self.invalid("Invalid Unicode escape"))?;
            self.i += close + 1;
            return char::from_u32(v).ok_or_else(|| {
                if (0xD800..0xE000).contains(&v) {
                    Self::unsupported("a lone surrogate escape")
                } else {
                    self.invalid("Invalid Unicode escape")
                }
            });
        }
        let Some(v) = self.hex(4) else {
            if self.f.u {
                return Err(self.invalid("Invalid Unicode escape"));
            }
            return Ok('u');
        };
        if (0xD800..0xDC00).contains(&v) && self.peek(0) == Some('\\') && self.peek(1) == Some('u')
        {
            let save = self.i;
            self.i += 2;
            if let Some(lo) = self.hex(4)
                && (0xDC00..0xE000).contains(&lo)
            {
                let cp = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                if let Some(ch) = char::from_u32(cp) {
                    return Ok(ch);
                }
            }
            self.i = save;
        }
        char::from_u32(v).ok_or_else(|| Self::unsupported("a lone surrogate escape"))
    }

    /// A character class (after the `[`).
    fn class(&mut self) -> Result<(), String> {
        let neg = self.peek(0) == Some('^');
        if neg {
            self.i += 1;
        }
        if self.peek(0) == Some(']') {
            self.i += 1;
            // `[]` matches nothing, `[^]` any character.
            self.out
                .push_str(if neg { "(?s:.)" } else { r"[^\x00-\x{10FFFF}]" });
            return Ok(());
        }
        let mut body = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(self.invalid("Unterminated character class"));
            };
            if c == ']' {
                self.i += 1;
                break;
            }
            let a = self.class_atom()?;
            if self.peek(0) == Some('-') && self.peek(1).is_some_and(|n| n != ']') {
                self.i += 1;
                let b = self.class_atom()?;
                match (a, b) {
                    (ClassAtom::Char(lo), ClassAtom::Char(hi)) => {
                        if lo > hi {
                            return Err(self.invalid("Range out of order in character class"));
                        }
                        push_class_lit(&mut body, lo);
                        body.push('-');
                        push_class_lit(&mut body, hi);
                    }
                    (a, b) => {
                        if self.f.u {
                            return Err(self.invalid("Invalid character class"));
                        }
                        push_atom(&mut body, a);
                        push_class_lit(&mut body, '-');
                        push_atom(&mut body, b);
                    }
                }
            } else {
                push_atom(&mut body, a);
            }
        }
        self.out.push('[');
        if neg {
            self.out.push('^');
        }
        self.out.push_str(&body);
        self.out.push(']');
        Ok(())
    }

    fn class_atom(&mut self) -> Result<ClassAtom, String> {
        let c = self
            .peek(0)
            .ok_or_else(|| self.invalid("Unterminated character class"))?;
        self.i += 1;
        if c != '\\' {
            return Ok(ClassAtom::Char(c));
        }
        let Some(e) = self.peek(0) else {
            return Err(self.invalid("\\ at end of pattern"));
        };
        match e {
            'd' | 'D' | 'w' | 'W' | 's' | 'S' => {
                self.i += 1;
                let (body, neg) = class_escape(e);
                Ok(ClassAtom::Set(if neg {
                    format!("[^{body}]")
                } else {
                    body.to_string()
                }))
            }
            'b' => {
                self.i += 1;
                Ok(ClassAtom::Char('\u{8}'))
            }
            '-' => {
                self.i += 1;
                Ok(ClassAtom::Char('-'))
            }
            'p' | 'P' if self.f.u => {
                let save = self.out.len();
                self.escape()?;
                let text = self.out.split_off(save);
                Ok(ClassAtom::Set(text))
            }
            'k' if self.f.u => Err(Self::unsupported("a named backreference (\\k<name>)")),
            _ => Ok(ClassAtom::Char(self.char_escape()?)),
        }
    }
}

/// The class body for `\d`, `\w`, `\s` (and whether the escape negates it).
fn class_escape(c: char) -> (&'static str, bool) {
    match c {
        'd' => (DIGIT, false),
        'D' => (DIGIT, true),
        'w' => (WORD, false),
        'W' => (WORD, true),
        's' => (WS, false),
        _ => (WS, true),
    }
}

fn push_atom(body: &mut String, a: ClassAtom) {
    match a {
        ClassAtom::Char(c) => push_class_lit(body, c),
        ClassAtom::Set(s) => body.push_str(&s),
    }
}

/// A literal character outside a class.
fn push_lit(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || (!c.is_ascii() && !c.is_whitespace()) {
        out.push(c);
    } else if c.is_ascii_punctuation() && c != '<' && c != '>' {
        out.push('\\');
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", c as u32));
    }
}

/// A literal character inside a class.
fn push_class_lit(out: &mut String, c: char) {
    push_lit(out, c);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(src: &str, flags: &str) -> String {
        translate(src, flags).unwrap().pattern
    }

    fn is_match(src: &str, flags: &str, subject: &str) -> bool {
        compile(src, flags).unwrap().re.is_match(subject.as_bytes())
    }

    fn find(src: &str, flags: &str, subject: &str) -> Option<String> {
        let c = compile(src, flags).unwrap();
        c.re.find(subject.as_bytes())
            .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
    }

    #[test]
    fn translates_classes_and_escapes() {
        assert_eq!(tr(r"\d+", ""), "(?-i:[0-9])+");
        assert_eq!(tr(r"a\/b", ""), r"a\/b");
        assert_eq!(tr("a.b", "s"), "a(?s:.)b");
        assert_eq!(tr("^a$", "m"), "(?mR)^a$");
        assert_eq!(tr("x", "i"), "(?i)x");
        assert_eq!(tr(r"[\d.-]", ""), r"[0-9\.\-]");
        assert_eq!(tr("[^]", ""), "(?s:.)");
        assert_eq!(
            tr(r"(?<year>\d{4})", "").replace("(?-i:[0-9])", "D"),
            "(D{4})"
        );
    }

    #[test]
    fn group_names_in_order() {
        let t = translate(r"(a)(?<x>b)(?:c)(?<y>d)", "").unwrap();
        assert_eq!(t.names, vec![None, Some("x".into()), Some("y".into())]);
    }

    #[test]
    fn refuses_what_regex_cannot_do() {
        for (src, needle) in [
            (r"(a)\1", "backreference"),
            ("a(?=b)", "lookahead"),
            ("a(?!b)", "negative lookahead"),
            ("(?<=a)b", "lookbehind"),
            ("(?<!a)b", "negative lookbehind"),
            (r"(?<n>a)\k<n>", "named backreference"),
        ] {
            let e = validate(src, "").unwrap_err();
            assert!(
                e.contains(needle) && e.contains("not supported"),
                "{src}: {e}"
            );
        }
        assert!(validate("a", "x").unwrap_err().contains("Invalid flags"));
        assert!(validate("a", "gg").unwrap_err().contains("Invalid flags"));
        assert!(validate("a", "d").unwrap_err().contains("not supported"));
        assert!(
            validate("[z-a]", "")
                .unwrap_err()
                .contains("Range out of order")
        );
        assert!(
            validate("(a", "")
                .unwrap_err()
                .contains("Invalid regular expression")
        );
        assert!(
            validate("a)", "")
                .unwrap_err()
                .contains("Invalid regular expression")
        );
        assert!(validate("*a", "").is_err());
        assert!(validate("gimsuy", "gimsuy").is_ok());
    }

    #[test]
    fn js_semantics() {
        // `.` does not match line terminators without `s`.
        assert!(!is_match("^a.b$", "", "a\nb"));
        assert!(is_match("^a.b$", "s", "a\nb"));
        // `$` without `m` is the end of input only.
        assert!(!is_match("a$", "", "a\n"));
        assert!(is_match("^b$", "m", "a\r\nb\r\nc"));
        // `\w` and `\d` are ASCII, `\s` includes NBSP and BOM.
        assert!(!is_match(r"\w", "", "é"));
        assert!(!is_match(r"\d", "", "٣"));
        assert!(is_match(r"^\s+$", "", "\u{a0}\u{feff}\t"));
        assert!(!is_match(r"\s", "", "\u{85}"));
        // `\b` is an ASCII word boundary.
        assert_eq!(find(r"\bfoo\b", "", "a foo."), Some("foo".into()));
        assert!(!is_match(r"\bé", "", " é"));
        // Literal braces when not a quantifier, as in non-unicode JS.
        assert_eq!(find("a{", "", "xa{"), Some("a{".into()));
        assert_eq!(find("a{2}", "", "aaa"), Some("aa".into()));
        assert_eq!(find("a{1,}?", "", "aaa"), Some("a".into()));
        // `[]` never matches, `[^]` matches newlines.
        assert!(!is_match("[]", "", "abc"));
        assert!(is_match("^[^]$", "", "\n"));
        // Escapes.
        assert!(is_match(r"^\x41\u0042\u{43}$", "u", "ABC"));
        assert!(is_match(r"^\uD83D\uDE00$", "", "😀"));
        assert!(is_match(r"^\cJ$", "", "\n"));
        assert!(is_match(r"^[\b]$", "", "\u{8}"));
        assert!(is_match(r"^[a&&b~~c]+$", "", "&~"));
        assert!(is_match(r"^[\w-]+$", "", "a-b_c"));
        assert!(is_match(r"^\p{L}+$", "u", "héllo"));
        // Case-insensitive, and `\w` does not fold to the Kelvin sign.
        assert!(is_match("^abc$", "i", "AbC"));
        assert!(!is_match(r"^\w$", "i", "\u{212A}"));
    }
}
