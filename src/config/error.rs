//! Configuration errors and the helpers that point them at a file position.
//!
//! Every [`ConfigError`] displays as one line a user can act on:
//! `<file>:<line>:<col>: <key.path[0].sub>: <message>` for the TOML file (line and
//! column omitted when unknown, key path omitted for pure syntax errors),
//! `<csvfile>:<line>:<col>: <message>` for route files, and
//! `cannot read <path>: <reason>` for unreadable files.

use std::fmt;
use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// A key path inside the config file, e.g. `customers[0].sources[1]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(Vec<PathSeg>);

/// One step of a [`KeyPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

impl KeyPath {
    /// The empty path (the document root).
    pub fn root() -> KeyPath {
        KeyPath(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, k: &str) -> KeyPath {
        let mut p = self.clone();
        p.0.push(PathSeg::Key(k.to_string()));
        p
    }

    /// This path extended by an array index.
    pub fn index(&self, i: usize) -> KeyPath {
        let mut p = self.clone();
        p.0.push(PathSeg::Index(i));
        p
    }

    /// The steps of the path.
    pub fn segments(&self) -> &[PathSeg] {
        &self.0
    }

    /// Whether this is the root path.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Converts a `serde_path_to_error` path.
    pub(crate) fn from_serde(path: &serde_path_to_error::Path) -> KeyPath {
        use serde_path_to_error::Segment;
        let mut p = KeyPath::root();
        for seg in path.iter() {
            match seg {
                Segment::Seq { index } => p.0.push(PathSeg::Index(*index)),
                Segment::Map { key } => p.0.push(PathSeg::Key(key.clone())),
                Segment::Enum { variant } => p.0.push(PathSeg::Key(variant.clone())),
                Segment::Unknown => {}
            }
        }
        p
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.0 {
            match seg {
                PathSeg::Index(i) => write!(f, "[{i}]")?,
                PathSeg::Key(k) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    let bare = !k.is_empty()
                        && k.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                    if bare {
                        f.write_str(k)?;
                    } else {
                        write!(f, "{k:?}")?;
                    }
                }
            }
            first = false;
        }
        Ok(())
    }
}

/// Why the configuration (or a route file it references) cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The path as given.
        path: String,
        /// The OS reason, e.g. `No such file or directory`.
        reason: String,
    },
    /// The TOML file is malformed or a value in it is invalid.
    #[error("{}", format_invalid(file, *position, key, message))]
    Invalid {
        /// The config file path, or `<embedded default>`.
        file: String,
        /// 1-based line and column, when known.
        position: Option<(usize, usize)>,
        /// The key path, e.g. `customers[0].sources[1]`; empty for syntax errors.
        key: String,
        /// Plain explanation.
        message: String,
    },
    /// A route CSV file has a bad row.
    #[error("{file}:{line}:{col}: {message}")]
    Csv {
        /// The CSV file path as configured.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column (bytes).
        col: usize,
        /// Plain explanation.
        message: String,
    },
}

fn format_invalid(
    file: &str,
    position: Option<(usize, usize)>,
    key: &str,
    message: &str,
) -> String {
    let mut s = String::with_capacity(file.len() + key.len() + message.len() + 16);
    s.push_str(file);
    if let Some((line, col)) = position {
        s.push_str(&format!(":{line}:{col}"));
    }
    s.push_str(": ");
    if !key.is_empty() {
        s.push_str(key);
        s.push_str(": ");
    }
    s.push_str(message);
    s
}

impl ConfigError {
    /// A read error, with the OS error rendered without its `(os error N)` suffix.
    pub fn read(path: impl fmt::Display, err: &std::io::Error) -> ConfigError {
        let mut reason = err.to_string();
        if let Some(i) = reason.find(" (os error ") {
            reason.truncate(i);
        }
        ConfigError::Read {
            path: path.to_string(),
            reason,
        }
    }
}

/// Collapses a possibly multi-line message into one line.
pub(crate) fn one_line(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    for (i, part) in msg
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(part);
    }
    out
}

/// 1-based (line, column in characters) of byte offset `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..offset].chars().count() + 1;
    (line, col)
}

/// The span of the deepest element of `path` that exists in the TOML `text`
/// (the value itself when the whole path exists), and whether the whole path was
/// found. `None` if the text does not parse.
pub(crate) fn locate(text: &str, path: &KeyPath) -> Option<(Range<usize>, bool)> {
    let root = DeTable::parse(text).ok()?;
    let mut found = 0;
    let mut best = None;
    let root = DeValue::Table(root.into_inner());
    let mut current = &root;
    for seg in path.segments() {
        let next = match seg {
            PathSeg::Key(k) => current.as_table().and_then(|t| {
                t.iter()
                    .find(|(key, _)| key.get_ref() == k)
                    .map(|(key, value)| (Some(key.span()), value))
            }),
            PathSeg::Index(i) => current
                .as_array()
                .and_then(|a| a.get(*i))
                .map(|value| (None, value)),
        };
        let Some((key_span, value)) = next else { break };
        // Point at the value; a table written as a `[header]` section may have an
        // empty value span, so fall back to its key.
        let span = value.span();
        best = Some(match key_span {
            Some(k) if span.is_empty() => k,
            _ => span,
        });
        current = value.get_ref();
        found += 1;
    }
    best.map(|span| (span, found == path.segments().len()))
}
