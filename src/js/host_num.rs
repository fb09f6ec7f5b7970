//! Number formatting and parsing helpers for the JavaScript runtime (Rust side).
//!
//! Registered into the runtime's `host` table: `numstr(n)` (JS
//! `Number.prototype.toString()`), `radixstr(n, radix)`, `tofixed(n, digits)`,
//! `toprecision(n, p)`, `toexponential(n, d|nil)` and `strtod(s)` (JS
//! `StringToNumber`). Digits come from Rust's shortest round-trip formatting
//! (`{:e}`) or from the exact decimal expansion of the double (`{:.1100}`),
//! rounded half-up as the ECMAScript algorithms specify.

use mlua::{Lua, LuaString, Table};

/// Registers the number helpers into the runtime's `host` table.
pub(crate) fn register(lua: &Lua, host: &Table) -> mlua::Result<()> {
    host.raw_set("numstr", lua.create_function(|_, n: f64| Ok(numstr(n)))?)?;
    host.raw_set(
        "radixstr",
        lua.create_function(|_, (n, r): (f64, u32)| Ok(radixstr(n, r)))?,
    )?;
    host.raw_set(
        "tofixed",
        lua.create_function(|_, (n, d): (f64, u32)| Ok(tofixed(n, d)))?,
    )?;
    host.raw_set(
        "toprecision",
        lua.create_function(|_, (n, p): (f64, u32)| Ok(toprecision(n, p)))?,
    )?;
    host.raw_set(
        "toexponential",
        lua.create_function(|_, (n, d): (f64, Option<u32>)| Ok(toexponential(n, d)))?,
    )?;
    host.raw_set(
        "strtod",
        lua.create_function(|_, s: LuaString| Ok(strtod(&s.to_string_lossy())))?,
    )?;
    Ok(())
}

/// `NaN`, `Infinity`, `-Infinity` or `None` for finite numbers.
fn special(n: f64) -> Option<String> {
    if n.is_nan() {
        Some("NaN".into())
    } else if n.is_infinite() {
        Some(if n > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else {
        None
    }
}

/// Shortest round-trip digits of `x > 0` and the decimal point position
/// (`x = 0.d1d2… × 10^point`).
fn shortest(x: f64) -> (Vec<u8>, i32) {
    let s = format!("{x:e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    let e: i32 = exp.parse().unwrap_or(0);
    (digits, e + 1)
}

/// Exact decimal digits of `x > 0` (no leading/trailing zeros) and the point
/// position as in [`shortest`].
fn exact(x: f64) -> (Vec<u8>, i32) {
    let s = format!("{x:.1100}");
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    let mut point = int.len() as i32;
    let lead = digits.iter().take_while(|&&d| d == b'0').count();
    digits.drain(..lead);
    point -= lead as i32;
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits.is_empty() {
        return (vec![b'0'], 1);
    }
    (digits, point)
}

/// Rounds `digits` (point position `point`) half-up to `keep` digits; returns
/// exactly `keep.max(0)` digits and the new point position.
fn round_to(mut digits: Vec<u8>, mut point: i32, keep: i32) -> (Vec<u8>, i32) {
    if keep < 0 {
        return (Vec::new(), point);
    }
    let keep = keep as usize;
    if digits.len() <= keep {
        digits.resize(keep, b'0');
        return (digits, point);
    }
    let up = digits[keep] >= b'5';
    digits.truncate(keep);
    if up {
        let mut i = keep;
        loop {
            if i == 0 {
                digits.insert(0, b'1');
                digits.truncate(keep.max(1));
                point += 1;
                break;
            }
            i -= 1;
            if digits[i] == b'9' {
                digits[i] = b'0';
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    (digits, point)
}

fn digits_str(d: &[u8]) -> String {
    String::from_utf8_lossy(d).into_owned()
}

/// Exponent suffix `e+N` / `e-N` for a point position.
fn exp_suffix(point: i32) -> String {
    let e = point - 1;
    if e < 0 {
        format!("e-{}", -e)
    } else {
        format!("e+{e}")
    }
}

/// `d.ddd` + exponent suffix.
fn exp_form(digits: &[u8], point: i32) -> String {
    let mut s = String::new();
    s.push(digits[0] as char);
    if digits.len() > 1 {
        s.push('.');
        s.push_str(&digits_str(&digits[1..]));
    }
    s.push_str(&exp_suffix(point));
    s
}

/// JavaScript `Number.prototype.toString()` (radix 10).
pub fn numstr(n: f64) -> String {
    if let Some(s) = special(n) {
        return s;
    }
    if n == 0.0 {
        return "0".into();
    }
    let sign = if n < 0.0 { "-" } else { "" };
    let (digits, p) = shortest(n.abs());
    let k = digits.len() as i32;
    let body = if k <= p && p <= 21 {
        let mut s = digits_str(&digits);
        s.push_str(&"0".repeat((p - k) as usize));
        s
    } else if 0 < p && p <= 21 {
        let (a, b) = digits.split_at(p as usize);
        format!("{}.{}", digits_str(a), digits_str(b))
    } else if -6 < p && p <= 0 {
        format!("0.{}{}", "0".repeat((-p) as usize), digits_str(&digits))
    } else {
        exp_form(&digits, p)
    };
    format!("{sign}{body}")
}

/// JavaScript `Number.prototype.toString(radix)` for radix 2..=36 (V8's
/// algorithm: fraction digits up to the double's precision).
pub fn radixstr(n: f64, radix: u32) -> String {
    if !(2..=36).contains(&radix) || radix == 10 {
        return numstr(n);
    }
    if let Some(s) = special(n) {
        return s;
    }
    if n == 0.0 {
        return "0".into();
    }
    const CHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let r = f64::from(radix);
    let negative = n < 0.0;
    let value = n.abs();
    let mut integer = value.floor();
    let mut fraction = value - integer;
    let next = f64::from_bits(value.to_bits() + 1);
    let mut delta = (0.5 * (next - value)).max(f64::from_bits(1));
    let mut frac: Vec<u8> = Vec::new();
    if fraction >= delta {
        loop {
            fraction *= r;
            delta *= r;
            let digit = fraction as usize;
            frac.push(CHARS[digit]);
            fraction -= digit as f64;
            if (fraction > 0.5 || (fraction == 0.5 && digit & 1 == 1)) && fraction + delta > 1.0 {
                // round up, propagating the carry
                loop {
                    match frac.pop() {
                        None => {
                            integer += 1.0;
                            break;
                        }
                        Some(c) => {
                            let d = if c > b'9' {
                                (c - b'a' + 10) as u32
                            } else {
                                (c - b'0') as u32
                            };
                            if d + 1 < radix {
                                frac.push(CHARS[(d + 1) as usize]);
                                break;
                            }
                        }
                    }
                }
                break;
            }
            if fraction < delta {
                break;
            }
        }
    }
    let mut int: Vec<u8> = Vec::new();
    // digits below the double's precision are zeros
    while integer / r >= 9007199254740992.0 {
        integer /= r;
        int.push(b'0');
    }
    loop {
        let rem = integer % r;
        int.push(CHARS[rem as usize]);
        integer = (integer - rem) / r;
        if integer <= 0.0 {
            break;
        }
    }
    if negative {
        int.push(b'-');
    }
    int.reverse();
    let mut s = digits_str(&int);
    if !frac.is_empty() {
        s.push('.');
        s.push_str(&digits_str(&frac));
    }
    s
}

/// JavaScript `Number.prototype.toFixed(digits)` (digits 0..=100).
pub fn tofixed(n: f64, f: u32) -> String {
    if let Some(s) = special(n) {
        return s;
    }
    if n.abs() >= 1e21 {
        return numstr(n);
    }
    let f = f.min(100) as i32;
    let sign = if n < 0.0 { "-" } else { "" };
    let x = n.abs();
    let (digits, point) = if x == 0.0 {
        (vec![b'0'], 1)
    } else {
        let (d, p) = exact(x);
        let keep = p + f;
        if keep < 0 {
            (vec![b'0'], 1)
        } else if keep == 0 {
            // only the rounding digit: 0.00x
            if d[0] >= b'5' {
                (vec![b'1'], p + 1)
            } else {
                (vec![b'0'], 1)
            }
        } else {
            round_to(d, p, keep)
        }
    };
    // integer part: digits[..point], zero-padded
    let mut int = String::new();
    let mut fr = String::new();
    for i in 0..(point.max(1) + f) {
        let pos = i - (point.max(1) - point); // index into digits
        let d = if pos >= 0 && (pos as usize) < digits.len() {
            digits[pos as usize] as char
        } else {
            '0'
        };
        if i < point.max(1) {
            int.push(d);
        } else {
            fr.push(d);
        }
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    if f == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{fr}")
    }
}

/// JavaScript `Number.prototype.toPrecision(p)` (p 1..=100).
pub fn toprecision(n: f64, p: u32) -> String {
    if let Some(s) = special(n) {
        return s;
    }
    let p = p.clamp(1, 100) as i32;
    let sign = if n < 0.0 { "-" } else { "" };
    let x = n.abs();
    let (digits, point) = if x == 0.0 {
        (vec![b'0'; p as usize], 1)
    } else {
        let (d, pt) = exact(x);
        round_to(d, pt, p)
    };
    let e = point - 1;
    let body = if e < -6 || e >= p {
        exp_form(&digits, point)
    } else if point <= 0 {
        format!("0.{}{}", "0".repeat((-point) as usize), digits_str(&digits))
    } else if point >= p {
        digits_str(&digits)
    } else {
        let (a, b) = digits.split_at(point as usize);
        format!("{}.{}", digits_str(a), digits_str(b))
    };
    format!("{sign}{body}")
}

/// JavaScript `Number.prototype.toExponential(d)`; `None`: as many digits as needed.
pub fn toexponential(n: f64, d: Option<u32>) -> String {
    if let Some(s) = special(n) {
        return s;
    }
    let sign = if n < 0.0 { "-" } else { "" };
    let x = n.abs();
    let (digits, point) = match d {
        _ if x == 0.0 => (vec![b'0'; d.unwrap_or(0) as usize + 1], 1),
        None => shortest(x),
        Some(d) => {
            let (dg, pt) = exact(x);
            round_to(dg, pt, d.min(100) as i32 + 1)
        }
    };
    format!("{sign}{}", exp_form(&digits, point))
}

/// JavaScript whitespace and line terminators (`String.prototype.trim`'s set).
pub fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\u{9}' | '\u{a}' | '\u{b}' | '\u{c}' | '\u{d}' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

fn radix_int(digits: &str, radix: u32) -> f64 {
    if digits.is_empty() {
        return f64::NAN;
    }
    let mut v = 0.0f64;
    for c in digits.chars() {
        match c.to_digit(radix) {
            Some(d) => v = v * f64::from(radix) + f64::from(d),
            None => return f64::NAN,
        }
    }
    v
}

/// JavaScript `StringToNumber` (`Number("…")`, unary `+`, `==` with numbers).
pub fn strtod(s: &str) -> f64 {
    let t = s.trim_matches(is_js_space);
    if t.is_empty() {
        return 0.0;
    }
    let b = t.as_bytes();
    if b.len() > 2 && b[0] == b'0' {
        match b[1] {
            b'x' | b'X' => return radix_int(&t[2..], 16),
            b'o' | b'O' => return radix_int(&t[2..], 8),
            b'b' | b'B' => return radix_int(&t[2..], 2),
            _ => {}
        }
    }
    let (neg, body) = match b[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let v = if body == "Infinity" {
        f64::INFINITY
    } else if decimal_literal(body) {
        body.parse::<f64>().unwrap_or(f64::NAN)
    } else {
        f64::NAN
    };
    if neg { -v } else { v }
}

/// `digits [. digits] [e[+-]digits]` or `. digits [exponent]` (StrUnsignedDecimalLiteral).
fn decimal_literal(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let int = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int;
    let mut frac = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        frac = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac;
    }
    if int + frac == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let e = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if e == 0 {
            return false;
        }
        i += e;
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from Node.js 20 (`node -e 'console.log(String(x))'` etc.).
    #[test]
    fn numstr_matches_node() {
        let cases: &[(f64, &str)] = &[
            (0.1 + 0.2, "0.30000000000000004"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123e-20, "1.23e-18"),
            (-0.0, "0"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
            (9007199254740992.0, "9007199254740992"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (0.000001, "0.000001"),
            (-1234.5678, "-1234.5678"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (123456789012345680000.0, "123456789012345680000"),
        ];
        for (n, want) in cases {
            assert_eq!(numstr(*n), *want, "{n}");
        }
    }

    #[test]
    fn radixstr_matches_node() {
        let cases: &[(f64, u32, &str)] = &[
            (255.0, 16, "ff"),
            (-255.0, 2, "-11111111"),
            (0.5, 2, "0.1"),
            (
                0.1,
                2,
                "0.0001100110011001100110011001100110011001100110011001101",
            ),
            (3.75, 16, "3.c"),
            (1e21, 36, "5v1j4f4ds7c000"),
            (35.0, 36, "z"),
            (0.1, 3, "0.0022002200220022002200220022002201"),
        ];
        for (n, r, want) in cases {
            assert_eq!(radixstr(*n, *r), *want, "{n} radix {r}");
        }
    }

    #[test]
    fn tofixed_matches_node() {
        let cases: &[(f64, u32, &str)] = &[
            (1.005, 2, "1.00"),
            (1.25, 1, "1.3"),
            (1.35, 1, "1.4"),
            (0.5, 0, "1"),
            (2.5, 0, "3"),
            (-2.5, 0, "-3"),
            (123.456, 0, "123"),
            (0.000001, 2, "0.00"),
            (-0.0001, 2, "-0.00"),
            (1e21, 2, "1e+21"),
            (12345.6789, 3, "12345.679"),
            (0.07, 1, "0.1"),
            (0.004, 2, "0.00"),
            (0.005, 2, "0.01"),
            (99.995, 2, "100.00"),
            (42.0, 5, "42.00000"),
        ];
        for (n, d, want) in cases {
            assert_eq!(tofixed(*n, *d), *want, "{n}.toFixed({d})");
        }
    }

    #[test]
    fn toprecision_matches_node() {
        let cases: &[(f64, u32, &str)] = &[
            (123.456, 4, "123.5"),
            (0.000123, 2, "0.00012"),
            (123456.0, 2, "1.2e+5"),
            (1e-7, 3, "1.00e-7"),
            (0.0, 3, "0.00"),
            (99.99, 3, "100"),
            (-1.5, 1, "-2"),
            (1.45, 2, "1.4"),
            (5e-7, 1, "5e-7"),
            (123.0, 3, "123"),
        ];
        for (n, p, want) in cases {
            assert_eq!(toprecision(*n, *p), *want, "{n}.toPrecision({p})");
        }
    }

    #[test]
    fn toexponential_matches_node() {
        let cases: &[(f64, Option<u32>, &str)] = &[
            (123456.0, Some(2), "1.23e+5"),
            (123456.0, None, "1.23456e+5"),
            (0.0, None, "0e+0"),
            (0.0, Some(2), "0.00e+0"),
            (-0.00015, Some(1), "-1.5e-4"),
            (1.0, None, "1e+0"),
            (9.99, Some(1), "1.0e+1"),
        ];
        for (n, d, want) in cases {
            assert_eq!(toexponential(*n, *d), *want, "{n}.toExponential({d:?})");
        }
    }

    #[test]
    fn strtod_matches_node() {
        let cases: &[(&str, f64)] = &[
            ("", 0.0),
            ("  12  ", 12.0),
            ("0x1F", 31.0),
            ("0b101", 5.0),
            ("0o17", 15.0),
            ("Infinity", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("1e3", 1000.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("-.5e-1", -0.05),
            ("\u{a0}\n7\u{feff}", 7.0),
            ("+42", 42.0),
        ];
        for (s, want) in cases {
            assert_eq!(strtod(s), *want, "{s:?}");
        }
        for s in [
            "12px", "0x", "inf", "nan", "1e", "-0x10", "1_000", "e5", ".", "infinity", "0b2",
        ] {
            assert!(strtod(s).is_nan(), "{s:?}");
        }
        assert!(strtod("-0").is_sign_negative());
    }
}
