//! Route files: CSV rows `prefix,carrier[,priority,weight]`.
//!
//! - `priority` (default 0): lower is tried first; `weight` (default 1): share among
//!   rows of the same prefix and priority (0 = only after all weighted rows).
//! - Blank lines and lines whose first non-blank character is `#` are ignored; so is
//!   a header row whose first field is `prefix` (only as the first data line).
//! - Fields are trimmed; a field may be double-quoted (`"#31",carrier-a` — the way to
//!   write a prefix that starts with `#`). One leading `+` of a prefix is stripped.
//! - Errors are `file:line:col: message` (1-based, column in bytes).
//!
//! The whole file is read into memory and split by hand: 1,000,000 rows parse in well
//! under a second, allocating only the prefix strings.

use std::collections::HashMap;
use std::path::Path;

use crate::config::ConfigError;
use crate::routing::prefix::check_prefix;

/// One parsed row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRoute {
    /// The prefix, without a leading `+`.
    pub prefix: String,
    /// Index of the carrier in the config.
    pub carrier: usize,
    /// Lower is tried first.
    pub priority: u32,
    /// Relative share among equal priorities.
    pub weight: u32,
    /// 1-based line of the row.
    pub line: usize,
    /// 1-based column of the carrier field.
    pub carrier_col: usize,
}

/// Reads and parses a route file. `carriers` maps carrier ids to indexes.
pub fn load_routes(
    path: &Path,
    carriers: &HashMap<&str, usize>,
) -> Result<Vec<CsvRoute>, ConfigError> {
    let data = std::fs::read(path).map_err(|e| ConfigError::read(path.display(), &e))?;
    parse_routes(&path.display().to_string(), &data, carriers)
}

/// Parses route-file contents; `file` names the file in errors.
pub fn parse_routes(
    file: &str,
    data: &[u8],
    carriers: &HashMap<&str, usize>,
) -> Result<Vec<CsvRoute>, ConfigError> {
    let err = |line: usize, col: usize, message: String| ConfigError::Csv {
        file: file.to_string(),
        line,
        col,
        message,
    };
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    // ~20 bytes per row is a fair guess for real route files.
    let mut out = Vec::with_capacity(data.len() / 20);
    let mut seen_data = false;
    let mut line_no = 0usize;
    let mut rest = data;
    while !rest.is_empty() {
        line_no += 1;
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let lead = line.iter().take_while(|b| is_blank(**b)).count();
        match line.get(lead) {
            None | Some(b'#') => continue,
            Some(_) => {}
        }

        let mut fields: [(&[u8], usize); 4] = [(&[], 0); 4];
        let mut n = 0;
        let mut pos = 0;
        loop {
            let (value, col, end) =
                split_field(line, pos).map_err(|(col, m)| err(line_no, col, m))?;
            if n == fields.len() {
                return Err(err(
                    line_no,
                    col,
                    "too many fields; expected prefix,carrier[,priority,weight]".to_string(),
                ));
            }
            fields[n] = (value, col);
            n += 1;
            match end {
                Some(comma) => pos = comma + 1,
                None => break,
            }
        }

        if !seen_data {
            seen_data = true;
            if fields[0].0.eq_ignore_ascii_case(b"prefix") {
                continue;
            }
        }
        if n < 2 {
            return Err(err(
                line_no,
                line.len() + 1,
                "missing carrier; expected prefix,carrier[,priority,weight]".to_string(),
            ));
        }

        let (raw_prefix, mut prefix_col) = fields[0];
        let prefix_bytes = match raw_prefix.strip_prefix(b"+") {
            Some(p) => {
                prefix_col += 1;
                p
            }
            None => raw_prefix,
        };
        let prefix = match std::str::from_utf8(prefix_bytes) {
            Ok(p) => p,
            Err(e) => {
                return Err(err(
                    line_no,
                    prefix_col + e.valid_up_to(),
                    "prefix is not valid UTF-8 text".to_string(),
                ));
            }
        };
        if let Err(e) = check_prefix(prefix) {
            let col = match &e {
                crate::routing::prefix::PrefixError::InvalidChar { prefix, pos, .. } => {
                    prefix_col
                        + prefix
                            .char_indices()
                            .nth(pos.saturating_sub(1))
                            .map_or(0, |(i, _)| i)
                }
                _ => prefix_col,
            };
            return Err(err(line_no, col, e.to_string()));
        }

        let (carrier_raw, carrier_col) = fields[1];
        let carrier = std::str::from_utf8(carrier_raw)
            .ok()
            .and_then(|id| carriers.get(id).copied());
        let Some(carrier) = carrier else {
            let shown = String::from_utf8_lossy(carrier_raw);
            let message = if carrier_raw.is_empty() {
                "missing carrier id".to_string()
            } else {
                format!("unknown carrier {shown:?} (define it in a [[carriers]] section)")
            };
            return Err(err(line_no, carrier_col, message));
        };

        let number = |idx: usize, default: u32, what: &str| -> Result<u32, ConfigError> {
            if idx >= n || fields[idx].0.is_empty() {
                return Ok(default);
            }
            let (raw, col) = fields[idx];
            parse_u32(raw).ok_or_else(|| {
                err(
                    line_no,
                    col,
                    format!(
                        "{what} {:?} is not a whole number in 0..=4294967295",
                        String::from_utf8_lossy(raw)
                    ),
                )
            })
        };
        let priority = number(2, 0, "priority")?;
        let weight = number(3, 1, "weight")?;

        out.push(CsvRoute {
            prefix: prefix.to_string(),
            carrier,
            priority,
            weight,
            line: line_no,
            carrier_col,
        });
    }
    Ok(out)
}

#[inline]
fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Splits the field starting at byte `pos` of `line`: returns the trimmed (unquoted)
/// value, its 1-based column, and the index of the terminating comma (None at end of
/// line). Errors carry a 1-based column.
#[allow(clippy::type_complexity)]
fn split_field(line: &[u8], pos: usize) -> Result<(&[u8], usize, Option<usize>), (usize, String)> {
    let mut start = pos;
    while start < line.len() && is_blank(line[start]) {
        start += 1;
    }
    if line.get(start) == Some(&b'"') {
        let inner = start + 1;
        let Some(close) = memchr::memchr(b'"', &line[inner..]).map(|i| inner + i) else {
            return Err((start + 1, "unterminated quoted field".to_string()));
        };
        let mut after = close + 1;
        while after < line.len() && is_blank(line[after]) {
            after += 1;
        }
        return match line.get(after) {
            None => Ok((&line[inner..close], inner + 1, None)),
            Some(b',') => Ok((&line[inner..close], inner + 1, Some(after))),
            Some(_) => Err((
                after + 1,
                "unexpected character after a quoted field (expected ',')".to_string(),
            )),
        };
    }
    let comma = memchr::memchr(b',', &line[start..]).map(|i| start + i);
    let mut end = comma.unwrap_or(line.len());
    while end > start && is_blank(line[end - 1]) {
        end -= 1;
    }
    Ok((&line[start..end], start + 1, comma))
}

/// Parses a non-negative decimal `u32` (digits only).
fn parse_u32(raw: &[u8]) -> Option<u32> {
    if raw.is_empty() || raw.len() > 10 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in raw {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(b - b'0');
    }
    u32::try_from(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn carriers() -> HashMap<&'static str, usize> {
        HashMap::from([("carrier-a", 0), ("carrier-b", 1), ("c.c", 2)])
    }

    fn parse(text: &str) -> Result<Vec<CsvRoute>, ConfigError> {
        parse_routes("routes.csv", text.as_bytes(), &carriers())
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn rows_defaults_comments_header() {
        let text = "\u{feff}prefix,carrier,priority,weight\r\n\
                    # comment\n\
                    \n\
                    \x20 1 , carrier-a \n\
                    +44,carrier-b,5\n\
                    4420,c.c,2,30\n\
                    \"#31\",carrier-a,,7\n\
                    49,carrier-b,,\n\
                    \x20  # indented comment\n\
                    *99,carrier-a";
        let rows = parse(text).unwrap();
        let got: Vec<(&str, usize, u32, u32, usize)> = rows
            .iter()
            .map(|r| (r.prefix.as_str(), r.carrier, r.priority, r.weight, r.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("1", 0, 0, 1, 4),
                ("44", 1, 5, 1, 5),
                ("4420", 2, 2, 30, 6),
                ("#31", 0, 0, 7, 7),
                ("49", 1, 0, 1, 8),
                ("*99", 0, 0, 1, 10),
            ]
        );
        assert_eq!(rows[0].carrier_col, 7);
    }

    #[test]
    fn header_only_as_first_data_line() {
        assert!(parse("prefix,carrier\n").unwrap().is_empty());
        assert!(parse("").unwrap().is_empty());
        assert!(parse("# only comments\n\n").unwrap().is_empty());
        let e = err("1,carrier-a\nprefix,carrier\n");
        assert!(
            e.starts_with("routes.csv:2:1: prefix \"prefix\" contains 'p'"),
            "{e}"
        );
    }

    #[test]
    fn errors_have_line_and_column() {
        let cases = [
            (
                "1,carrier-x\n",
                "routes.csv:1:3: unknown carrier \"carrier-x\"",
            ),
            ("1\n", "routes.csv:1:2: missing carrier"),
            ("1,\n", "routes.csv:1:3: missing carrier id"),
            (
                "12a4,carrier-a\n",
                "routes.csv:1:3: prefix \"12a4\" contains 'a'",
            ),
            ("+,carrier-a\n", "routes.csv:1:2: prefix is empty"),
            (",carrier-a\n", "routes.csv:1:1: prefix is empty"),
            (
                "# c\n1,carrier-a,x\n",
                "routes.csv:2:13: priority \"x\" is not a whole number",
            ),
            ("1,carrier-a,1,-2\n", "routes.csv:1:15: weight \"-2\""),
            ("1,carrier-a,99999999999\n", "routes.csv:1:13: priority"),
            ("1,carrier-a,1,2,3\n", "routes.csv:1:17: too many fields"),
            (
                "\"1,carrier-a\n",
                "routes.csv:1:1: unterminated quoted field",
            ),
            ("\"1\"x,carrier-a\n", "routes.csv:1:4: unexpected character"),
            (
                "1\u{e9},carrier-a\n",
                "routes.csv:1:2: prefix \"1\u{e9}\" contains",
            ),
        ];
        for (text, want) in cases {
            let e = err(text);
            assert!(e.starts_with(want), "{text:?}: {e}");
        }
        // Invalid UTF-8 in a prefix.
        let e = parse_routes("r.csv", b"1\xff,carrier-a\n", &carriers()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("r.csv:1:2: prefix is not valid UTF-8"),
            "{e}"
        );
    }

    #[test]
    fn missing_file() {
        let e = load_routes(Path::new("/nonexistent/x.csv"), &carriers()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot read /nonexistent/x.csv: No such file or directory"
        );
    }
}
