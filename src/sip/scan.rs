//! Byte-level scanning helpers shared by the SIP parsers: LWS trimming,
//! character classes from RFC 3261 §25.1 and quote/bracket-aware splitting.

/// Linear white space as it can appear inside a (possibly folded) header value.
#[inline]
pub fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Character classes of RFC 3261 §25.1 as bits of one lookup table.
pub mod class {
    pub const TOKEN: u8 = 1;
    pub const UNRESERVED: u8 = 2;
    /// `user` (unreserved, escaped, user-unreserved).
    pub const USER: u8 = 4;
    /// `password`.
    pub const PASSWORD: u8 = 8;
    /// URI parameters (`paramchar` plus `;` and `=`).
    pub const PARAM: u8 = 16;
    /// URI headers (`hnv-unreserved`, unreserved, escaped, `=` and `&`).
    pub const HEADER: u8 = 32;
    /// Host names and IPv4 addresses.
    pub const HOST: u8 = 64;
}

static CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let alnum = b.is_ascii_alphanumeric();
        let mut c = 0;
        if alnum
            || matches!(
                b,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            )
        {
            c |= class::TOKEN;
        }
        let unreserved = alnum
            || matches!(
                b,
                b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
            );
        if unreserved {
            c |= class::UNRESERVED;
        }
        if unreserved
            || matches!(
                b,
                b'%' | b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/'
            )
        {
            c |= class::USER;
        }
        if unreserved || matches!(b, b'%' | b'&' | b'=' | b'+' | b'$' | b',') {
            c |= class::PASSWORD;
        }
        if unreserved
            || matches!(
                b,
                b'%' | b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$' | b'=' | b';'
            )
        {
            c |= class::PARAM;
        }
        if unreserved
            || matches!(
                b,
                b'%' | b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$' | b'=' | b'&'
            )
        {
            c |= class::HEADER;
        }
        if alnum || matches!(b, b'-' | b'.') {
            c |= class::HOST;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// True if `b` is in every class of `mask` (see [`class`]).
#[inline(always)]
pub fn is(b: u8, mask: u8) -> bool {
    CLASSES[usize::from(b)] & mask == mask
}

/// True if every byte of `s` is in the classes of `mask`.
#[inline]
pub fn all(s: &[u8], mask: u8) -> bool {
    s.iter().all(|&b| is(b, mask))
}

/// `token` characters (RFC 3261 §25.1).
#[inline(always)]
pub fn is_token(b: u8) -> bool {
    is(b, class::TOKEN)
}

/// `unreserved` characters (alphanum / mark).
#[inline(always)]
pub fn is_unreserved(b: u8) -> bool {
    is(b, class::UNRESERVED)
}

/// Trims LWS (including CR/LF of folded lines) from both ends.
#[inline]
pub fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_lws(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_lws(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// True if every byte is a token character and there is at least one.
pub fn is_token_str(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_token(b))
}

/// Case-insensitive ASCII comparison.
#[inline]
pub fn eq_ic(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Parses an unsigned decimal that must fit in `u32`; `None` on anything else.
pub fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(b - b'0');
        if v > u64::from(u32::MAX) {
            return None;
        }
    }
    Some(v as u32)
}

/// Parses a port number (1..=65535 digits, leading zeros allowed).
pub fn parse_port(s: &[u8]) -> Option<u16> {
    parse_u32(s).and_then(|v| u16::try_from(v).ok())
}

/// Finds the end of a quoted string that starts at `s[0] == b'"'`.
/// Returns the index just past the closing quote, honouring quoted-pairs.
pub fn quoted_end(s: &[u8]) -> Option<usize> {
    debug_assert_eq!(s.first(), Some(&b'"'));
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Splits a header value on top-level commas (outside quotes and `<...>`).
/// Elements are LWS-trimmed; an empty element is returned as an empty slice
/// so callers can reject `,,`. An unterminated quote makes the rest one element.
pub struct CommaSplit<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> CommaSplit<'a> {
    pub fn new(s: &'a [u8]) -> Self {
        CommaSplit { rest: Some(s) }
    }
}

impl<'a> Iterator for CommaSplit<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let s = self.rest?;
        if memchr::memchr(b',', s).is_none() {
            // The common case: one value on the line.
            self.rest = None;
            return Some(trim(s));
        }
        let mut i = 0;
        let mut in_angle = false;
        while i < s.len() {
            match s[i] {
                b'"' => match quoted_end(&s[i..]) {
                    Some(n) => i += n,
                    None => i = s.len(),
                },
                b'<' => {
                    in_angle = true;
                    i += 1;
                }
                b'>' => {
                    in_angle = false;
                    i += 1;
                }
                b',' if !in_angle => {
                    self.rest = Some(&s[i + 1..]);
                    return Some(trim(&s[..i]));
                }
                _ => i += 1,
            }
        }
        self.rest = None;
        Some(trim(s))
    }
}

/// A `;name[=value]` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    pub name: &'a [u8],
    pub value: Option<&'a [u8]>,
}

/// Parses a run of header parameters `*( SEMI name [EQUAL value] )` where the
/// input starts at the first `;` (or is empty). Values may be quoted strings;
/// LWS is allowed around `;` and `=`. Returns an error message on an empty
/// parameter name (`;;`) or an unterminated quote.
pub fn parse_params<'a>(
    mut s: &'a [u8],
    mut each: impl FnMut(Param<'a>),
) -> Result<(), &'static str> {
    s = trim(s);
    while !s.is_empty() {
        if s[0] != b';' {
            return Err("unexpected characters after value");
        }
        s = trim(&s[1..]);
        let name_end = s.iter().position(|&b| !is_token(b)).unwrap_or(s.len());
        if name_end == 0 {
            return Err("empty parameter");
        }
        let name = &s[..name_end];
        s = trim(&s[name_end..]);
        let mut value = None;
        if let Some(rest) = s.strip_prefix(b"=") {
            let rest = trim(rest);
            if rest.first() == Some(&b'"') {
                let end = quoted_end(rest).ok_or("unterminated quoted string")?;
                value = Some(&rest[..end]);
                s = trim(&rest[end..]);
            } else {
                let end = rest
                    .iter()
                    .position(|&b| b == b';' || is_lws(b))
                    .unwrap_or(rest.len());
                if end == 0 {
                    return Err("empty parameter value");
                }
                value = Some(&rest[..end]);
                s = trim(&rest[end..]);
            }
        }
        each(Param { name, value });
    }
    Ok(())
}

/// Looks up one parameter by case-insensitive name in a raw `;a=b;c` run.
/// Assumes the run was validated by [`parse_params`] before.
pub fn find_param<'a>(params: &'a [u8], name: &[u8]) -> Option<Option<&'a [u8]>> {
    let mut found = None;
    let _ = parse_params(params, |p| {
        if found.is_none() && eq_ic(p.name, name) {
            found = Some(p.value);
        }
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_folded_whitespace() {
        assert_eq!(trim(b" \r\n\t abc \r\n "), b"abc");
        assert_eq!(trim(b"   "), b"");
    }

    #[test]
    fn splits_on_top_level_commas_only() {
        let v: Vec<_> = CommaSplit::new(b"\"a, b\" <sip:x@y>, <sip:c,d@e>,,z").collect();
        assert_eq!(
            v,
            vec![&b"\"a, b\" <sip:x@y>"[..], b"<sip:c,d@e>", b"", b"z"]
        );
    }

    #[test]
    fn params_with_lws_and_quotes() {
        let mut got = Vec::new();
        parse_params(b" ;   tag    = 19n ; x=\"a;b\";lr", |p| got.push(p)).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].value, Some(&b"19n"[..]));
        assert_eq!(got[1].value, Some(&b"\"a;b\""[..]));
        assert_eq!(got[2].value, None);
        assert!(parse_params(b";;", |_| {}).is_err());
        assert_eq!(find_param(b";branch=z9;rport", b"RPORT"), Some(None));
    }

    #[test]
    fn u32_bounds() {
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32(b"4294967296"), None);
        assert_eq!(parse_u32(b"36893488147419103232"), None);
        assert_eq!(parse_u32(b"0009"), Some(9));
        assert_eq!(parse_u32(b"-1"), None);
    }
}
