//! `name-addr` / `addr-spec` values of From, To, Contact, Route and Record-Route
//! (RFC 3261 §20.10, §25.1), with their header parameters (`tag`, `expires`, ...).

use super::scan::{eq_ic, is_lws, is_token, parse_params, quoted_end, trim};
use super::uri::Uri;

/// A parsed `[display-name] <uri> *(;param)` or `uri *(;param)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// Display name as written (quotes included when quoted).
    pub display: Option<&'a [u8]>,
    pub uri: Uri<'a>,
    /// Whether the URI was enclosed in `<>`.
    pub bracketed: bool,
    /// Raw header-parameter run (`;tag=abc;expires=60`), possibly empty.
    pub params: &'a [u8],
}

impl<'a> NameAddr<'a> {
    /// Parses one value (already split from a list for Contact/Route).
    pub fn parse(value: &'a [u8]) -> Result<NameAddr<'a>, &'static str> {
        let s = trim(value);
        if s.is_empty() {
            return Err("empty address");
        }
        let mut display = None;
        let lt = if s[0] == b'"' {
            let end = quoted_end(s).ok_or("unterminated quoted display name")?;
            display = Some(&s[..end]);
            let after = &s[end..];
            let skip = after.iter().take_while(|&&b| is_lws(b)).count();
            if after.get(skip) != Some(&b'<') {
                return Err("display name not followed by <URI>");
            }
            Some(end + skip)
        } else {
            match s.iter().position(|&b| b == b'<') {
                Some(lt) => {
                    let dn = trim(&s[..lt]);
                    if !dn.is_empty() {
                        if !dn.iter().all(|&b| is_token(b) || is_lws(b)) {
                            return Err("display name must be a quoted string or tokens");
                        }
                        display = Some(dn);
                    }
                    Some(lt)
                }
                None => None,
            }
        };
        match lt {
            Some(lt) => {
                let inner_and_rest = &s[lt + 1..];
                let gt = inner_and_rest
                    .iter()
                    .position(|&b| b == b'>')
                    .ok_or("missing '>' after URI")?;
                let inner = &inner_and_rest[..gt];
                if inner.iter().any(|&b| is_lws(b)) {
                    return Err("whitespace inside <URI>");
                }
                let uri = Uri::parse(inner)?;
                let params = &inner_and_rest[gt + 1..];
                parse_params(params, |_| {})?;
                Ok(NameAddr {
                    display,
                    uri,
                    bracketed: true,
                    params: trim(params),
                })
            }
            None => {
                // addr-spec form: the URI ends at the first ';' (those are header
                // parameters) and may not carry '?', ',' or LWS (RFC 3261 §20).
                let end = s
                    .iter()
                    .position(|&b| b == b';' || is_lws(b))
                    .unwrap_or(s.len());
                let raw_uri = &s[..end];
                if raw_uri.iter().any(|&b| b == b'?' || b == b',') {
                    return Err("URI with headers or commas must be enclosed in <>");
                }
                let uri = Uri::parse(raw_uri)?;
                let params = &s[end..];
                parse_params(params, |_| {})?;
                Ok(NameAddr {
                    display: None,
                    uri,
                    bracketed: false,
                    params: trim(params),
                })
            }
        }
    }

    /// A header parameter by case-insensitive name: `Some(None)` if present without value.
    pub fn param(&self, name: &[u8]) -> Option<Option<&'a [u8]>> {
        let mut found = None;
        let _ = parse_params(self.params, |p| {
            if found.is_none() && eq_ic(p.name, name) {
                found = Some(p.value);
            }
        });
        found
    }

    /// The `tag` parameter value, if any.
    pub fn tag(&self) -> Option<&'a [u8]> {
        self.param(b"tag").flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let a = NameAddr::parse(
            b"\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8",
        )
        .unwrap();
        assert_eq!(a.display, Some(&b"\"J Rosenberg \\\\\\\"\""[..]));
        assert_eq!(a.tag(), Some(&b"98asjd8"[..]));
        let a = NameAddr::parse(b"sip:caller@example.net;tag=134161461246").unwrap();
        assert!(!a.bracketed);
        assert_eq!(a.uri.host, b"example.net");
        assert_eq!(a.tag(), Some(&b"134161461246"[..]));
        let a = NameAddr::parse(b"caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(a.display, Some(&b"caller"[..]));
        let a = NameAddr::parse(b"sip:+19725552222@gw1.example.net;unknownparam").unwrap();
        assert_eq!(a.param(b"unknownparam"), Some(None));
        assert_eq!(a.uri.params, b"");
        let a = NameAddr::parse(b"<sip:+19725552222@gw1.example.net;unknownparam>").unwrap();
        assert_eq!(a.uri.param(b"unknownparam"), Some(None));
        assert!(NameAddr::parse(b"isbn:2983792873").is_ok());
        assert!(NameAddr::parse(b"<name:John_Smith>").is_ok());
        assert!(NameAddr::parse(b"A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe").is_ok());
    }

    #[test]
    fn rfc4475_bad_addresses() {
        for bad in [
            &b"\"Mr. J. User <sip:j.user@example.com>"[..],
            b"\"Watson, Thomas\" < sip:t.watson@example.org >",
            b"Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            b"sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            b"\"Joe\" <sip:joe@example.org>;;;;",
            b"<sip:x@y",
        ] {
            assert!(
                NameAddr::parse(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
