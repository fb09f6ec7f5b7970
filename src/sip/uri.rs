//! URIs: `sip:`/`sips:` (RFC 3261 §19.1, §25.1), `tel:` (RFC 3966) and any other
//! absolute URI scheme as an opaque value. Zero-copy: every part borrows the input.

use super::scan::{all, class, is, is_lws};

/// The URI scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Sip,
    Sips,
    Tel,
    /// Any other syntactically valid scheme (`http:`, `urn:`, `soap.beep:` ...).
    Other,
}

/// A parsed URI. Parts are raw (still percent-escaped, as written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uri<'a> {
    pub raw: &'a [u8],
    pub scheme: Scheme,
    /// The scheme as written, without the colon.
    pub scheme_raw: &'a [u8],
    /// `sip`/`sips`: the user part; `tel`: the telephone number.
    pub user: Option<&'a [u8]>,
    pub password: Option<&'a [u8]>,
    /// `sip`/`sips`: host, IPv6 references keep their brackets. Empty otherwise.
    pub host: &'a [u8],
    pub port: Option<u16>,
    /// Raw `;name=value` run (may be empty).
    pub params: &'a [u8],
    /// Raw `name=value&...` after `?`, if present.
    pub headers: Option<&'a [u8]>,
}

/// Why a URI did not parse.
pub type UriError = &'static str;

impl<'a> Uri<'a> {
    /// Parses an absolute URI. `raw` must already be stripped of `<>` and LWS.
    pub fn parse(raw: &'a [u8]) -> Result<Uri<'a>, UriError> {
        let colon = scheme_end(raw).ok_or("missing or invalid URI scheme")?;
        let scheme_raw = &raw[..colon];
        let rest = &raw[colon + 1..];
        let scheme = if scheme_raw.eq_ignore_ascii_case(b"sip") {
            Scheme::Sip
        } else if scheme_raw.eq_ignore_ascii_case(b"sips") {
            Scheme::Sips
        } else if scheme_raw.eq_ignore_ascii_case(b"tel") {
            Scheme::Tel
        } else {
            Scheme::Other
        };
        let mut uri = Uri {
            raw,
            scheme,
            scheme_raw,
            user: None,
            password: None,
            host: b"",
            port: None,
            params: b"",
            headers: None,
        };
        match scheme {
            Scheme::Sip | Scheme::Sips => parse_sip(rest, &mut uri)?,
            Scheme::Tel => parse_tel(rest, &mut uri)?,
            Scheme::Other => {
                if rest.is_empty() || rest.iter().any(|&b| is_lws(b) || is_bad_opaque(b)) {
                    return Err("invalid characters in URI");
                }
            }
        }
        Ok(uri)
    }

    /// True for `sip:`, `sips:` and `tel:` — the schemes sipforge can route.
    pub fn is_routable(&self) -> bool {
        self.scheme != Scheme::Other
    }

    /// Looks up a URI parameter by case-insensitive name.
    pub fn param(&self, name: &[u8]) -> Option<Option<&'a [u8]>> {
        self.params.split(|&b| b == b';').skip(1).find_map(|p| {
            match p.iter().position(|&b| b == b'=') {
                Some(eq) if p[..eq].eq_ignore_ascii_case(name) => Some(Some(&p[eq + 1..])),
                None if p.eq_ignore_ascii_case(name) => Some(None),
                _ => None,
            }
        })
    }
}

fn is_bad_opaque(b: u8) -> bool {
    matches!(b, b'<' | b'>' | b'"') || b < 0x21 || b == 0x7f
}

/// Index of the ':' that ends a valid scheme, if any.
fn scheme_end(raw: &[u8]) -> Option<usize> {
    if !raw.first()?.is_ascii_alphabetic() {
        return None;
    }
    for (i, &b) in raw.iter().enumerate().skip(1) {
        match b {
            b':' => return Some(i),
            b if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.') => {}
            _ => return None,
        }
    }
    None
}

/// One pass over a URI part: every byte in `mask`'s classes, and every `%`
/// followed by two hex digits.
fn valid_part(s: &[u8], mask: u8) -> bool {
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if !is(b, mask) {
            return false;
        }
        if b == b'%' {
            match s.get(i + 1..i + 3) {
                Some([h, l]) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => i += 3,
                _ => return false,
            }
        } else {
            i += 1;
        }
    }
    true
}

/// Position of `b` in a short slice (cheaper than memchr's dispatch for URIs).
#[inline]
fn find(s: &[u8], b: u8) -> Option<usize> {
    s.iter().position(|&c| c == b)
}

fn parse_sip<'a>(rest: &'a [u8], uri: &mut Uri<'a>) -> Result<(), UriError> {
    let mut hostpart = rest;
    if let Some(at) = find(rest, b'@') {
        let userinfo = &rest[..at];
        hostpart = &rest[at + 1..];
        let (user, password) = match find(userinfo, b':') {
            Some(c) => (&userinfo[..c], Some(&userinfo[c + 1..])),
            None => (userinfo, None),
        };
        if user.is_empty() || !valid_part(user, class::USER) {
            return Err("invalid user part in URI");
        }
        if let Some(pw) = password
            && !valid_part(pw, class::PASSWORD)
        {
            return Err("invalid password in URI");
        }
        uri.user = Some(user);
        uri.password = password;
    }
    // host[:port] runs up to ';' or '?'.
    let hp_end = hostpart
        .iter()
        .position(|&b| b == b';' || b == b'?')
        .unwrap_or(hostpart.len());
    let (host, port) = split_hostport(&hostpart[..hp_end]).ok_or("invalid host or port in URI")?;
    uri.host = host;
    uri.port = port;
    let tail = &hostpart[hp_end..];
    let (params, headers) = match find(tail, b'?') {
        Some(q) => (&tail[..q], Some(&tail[q + 1..])),
        None => (tail, None),
    };
    if !valid_part(params, class::PARAM)
        || params.windows(2).any(|w| w == b";;")
        || params.ends_with(b";")
    {
        return Err("invalid URI parameters");
    }
    if let Some(h) = headers
        && (h.is_empty() || !valid_part(h, class::HEADER))
    {
        return Err("invalid URI headers");
    }
    uri.params = params;
    uri.headers = headers;
    Ok(())
}

/// Splits and validates `host[:port]`; IPv6 references keep their brackets.
pub fn split_hostport(hp: &[u8]) -> Option<(&[u8], Option<u16>)> {
    let (host, port) = if hp.first() == Some(&b'[') {
        let close = find(hp, b']')?;
        let host = &hp[..=close];
        let inner = &host[1..host.len() - 1];
        if inner.is_empty()
            || !inner
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return None;
        }
        match &hp[close + 1..] {
            [] => (host, None),
            [b':', port @ ..] => (host, Some(port)),
            _ => return None,
        }
    } else {
        match find(hp, b':') {
            Some(c) => (&hp[..c], Some(&hp[c + 1..])),
            None => (hp, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    if host[0] != b'[' && !all(host, class::HOST) {
        return None;
    }
    let port = match port {
        Some(p) => Some(super::scan::parse_port(p).filter(|&p| p != 0)?),
        None => None,
    };
    Some((host, port))
}

fn parse_tel<'a>(rest: &'a [u8], uri: &mut Uri<'a>) -> Result<(), UriError> {
    let end = find(rest, b';').unwrap_or(rest.len());
    let number = &rest[..end];
    let digits = number.strip_prefix(b"+").unwrap_or(number);
    if digits.is_empty()
        || !digits
            .iter()
            .all(|&b| b.is_ascii_hexdigit() || matches!(b, b'*' | b'#' | b'-' | b'.' | b'(' | b')'))
    {
        return Err("invalid telephone number in tel: URI");
    }
    let params = &rest[end..];
    if !all(params, class::PARAM) {
        return Err("invalid tel: URI parameters");
    }
    uri.user = Some(number);
    uri.params = params;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Uri<'_> {
        Uri::parse(s.as_bytes()).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn sip_uri_parts() {
        let u = ok("sip:+15551234567@10.0.0.1:5070;user=phone;transport=tcp");
        assert_eq!(u.scheme, Scheme::Sip);
        assert_eq!(u.user, Some(&b"+15551234567"[..]));
        assert_eq!(u.host, b"10.0.0.1");
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.param(b"Transport"), Some(Some(&b"tcp"[..])));
        assert_eq!(u.param(b"lr"), None);
    }

    #[test]
    fn ipv6_and_tel_and_others() {
        let u = ok("sips:alice@[2001:db8::1]:5061;lr");
        assert_eq!(u.host, b"[2001:db8::1]");
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.param(b"lr"), Some(None));
        let t = ok("tel:+1-201-555-0123;phone-context=example.com");
        assert_eq!(t.scheme, Scheme::Tel);
        assert_eq!(t.user, Some(&b"+1-201-555-0123"[..]));
        assert_eq!(ok("soap.beep://192.0.2.103:3002").scheme, Scheme::Other);
        assert_eq!(ok("isbn:2983792873").scheme, Scheme::Other);
    }

    #[test]
    fn rfc4475_uris() {
        // intmeth: the user part may hold ? , ; / and a password.
        let u = ok(
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
        );
        assert_eq!(u.host, b"example.com");
        assert!(u.password.is_some());
        // semiuri: user part `user;par=u%40example.net`.
        let u = ok("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user, Some(&b"user;par=u%40example.net"[..]));
        // escruri: headers are parsed (the validator rejects them in a R-URI).
        let u = ok("sip:user@example.com?Route=%3Csip:example.com%3E");
        assert_eq!(u.headers, Some(&b"Route=%3Csip:example.com%3E"[..]));
        let u = ok("sip:null-%00-null@example.com");
        assert_eq!(u.user, Some(&b"null-%00-null"[..]));
    }

    #[test]
    fn rejects_bad_uris() {
        for bad in [
            "<sip:user@example.com>",
            "sip:user@example.com; lr",
            "sip:",
            "sip:user@",
            "sip:user@host:99999",
            "sip:user@[::1",
            "sip:us er@host",
            "sip:a@b;;lr",
            "sip:a%4@b",
            "1sip:x",
            "tel:",
            "http:",
        ] {
            assert!(Uri::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
