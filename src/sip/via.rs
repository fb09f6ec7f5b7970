//! The Via header (RFC 3261 §20.42) with the parameters a proxy needs:
//! `branch`, `received`, `rport` (RFC 3581) and `maddr`.

use super::scan::{eq_ic, is_lws, is_token, parse_params, parse_port, trim};
use super::uri::split_hostport;

/// The RFC 3261 branch magic cookie.
pub const MAGIC_COOKIE: &[u8] = b"z9hG4bK";

/// One Via value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Via<'a> {
    pub protocol: &'a [u8],
    pub version: &'a [u8],
    /// Transport token as written (`UDP`, `TCP`, `TLS`, `SCTP`, anything).
    pub transport: &'a [u8],
    pub host: &'a [u8],
    pub port: Option<u16>,
    /// Raw parameter run starting at the first `;` (may be empty).
    pub params: &'a [u8],
    pub branch: Option<&'a [u8]>,
    pub received: Option<&'a [u8]>,
    /// `None`: no rport; `Some(None)`: `;rport` asked for; `Some(Some(p))`: filled in.
    pub rport: Option<Option<u16>>,
    pub maddr: Option<&'a [u8]>,
}

impl<'a> Via<'a> {
    /// Parses a single Via value (already split from a comma list).
    pub fn parse(value: &'a [u8]) -> Result<Via<'a>, &'static str> {
        let mut s = trim(value);
        let protocol = take_token(&mut s).ok_or("invalid Via protocol")?;
        expect_slash(&mut s)?;
        let version = take_token(&mut s).ok_or("invalid Via protocol version")?;
        expect_slash(&mut s)?;
        let transport = take_token(&mut s).ok_or("invalid Via transport")?;
        let ws = s.iter().take_while(|&&b| is_lws(b)).count();
        if ws == 0 {
            return Err("missing sent-by in Via");
        }
        s = &s[ws..];
        let end = s
            .iter()
            .position(|&b| b == b';' || is_lws(b))
            .unwrap_or(s.len());
        let (host, port) = split_hostport(&s[..end]).ok_or("invalid Via sent-by")?;
        let params = trim(&s[end..]);
        let mut via = Via {
            protocol,
            version,
            transport,
            host,
            port,
            params,
            branch: None,
            received: None,
            rport: None,
            maddr: None,
        };
        let mut bad_rport = false;
        parse_params(params, |p| {
            if eq_ic(p.name, b"branch") {
                via.branch = p.value;
            } else if eq_ic(p.name, b"received") {
                via.received = p.value;
            } else if eq_ic(p.name, b"rport") {
                via.rport = Some(match p.value {
                    None => None,
                    Some(v) => {
                        let port = parse_port(v);
                        bad_rport |= port.is_none();
                        port
                    }
                });
            } else if eq_ic(p.name, b"maddr") {
                via.maddr = p.value;
            }
        })?;
        if bad_rport {
            return Err("invalid rport in Via");
        }
        Ok(via)
    }

    /// True if the branch starts with the RFC 3261 magic cookie and has more after it.
    pub fn has_rfc3261_branch(&self) -> bool {
        matches!(self.branch, Some(b) if b.len() > MAGIC_COOKIE.len() && b.starts_with(MAGIC_COOKIE))
    }
}

fn take_token<'a>(s: &mut &'a [u8]) -> Option<&'a [u8]> {
    let n = s.iter().take_while(|&&b| is_token(b)).count();
    if n == 0 {
        return None;
    }
    let t = &s[..n];
    *s = &s[n..];
    Some(t)
}

fn expect_slash(s: &mut &[u8]) -> Result<(), &'static str> {
    let t = trim(s);
    match t.strip_prefix(b"/") {
        Some(rest) => {
            *s = trim(rest);
            Ok(())
        }
        None => Err("invalid Via sent-protocol"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_typical_and_folded() {
        let v = Via::parse(b"SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bK776asdhds;rport").unwrap();
        assert_eq!(v.transport, b"UDP");
        assert_eq!(v.host, b"203.0.113.7");
        assert_eq!(v.port, Some(5060));
        assert_eq!(v.branch, Some(&b"z9hG4bK776asdhds"[..]));
        assert_eq!(v.rport, Some(None));
        assert!(v.has_rfc3261_branch());
        let v = Via::parse(b"SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!(v.host, b"192.0.2.2");
        assert!(!v.has_rfc3261_branch());
        let v =
            Via::parse(b"SIP/2.0/TCP [2001:db8::9]:5070;received=2001:db8::1;rport=1234").unwrap();
        assert_eq!(v.host, b"[2001:db8::9]");
        assert_eq!(v.rport, Some(Some(1234)));
        let v = Via::parse(b"SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK").unwrap();
        assert!(!v.has_rfc3261_branch());
    }

    #[test]
    fn rejects_bad() {
        for bad in [
            &b"SIP/2.0/UDP 192.0.2.15;;"[..],
            b"SIP/2.0/UDP",
            b"SIP/2.0 192.0.2.1",
            b"SIP/2.0/UDP host:0",
            b"SIP/2.0/UDP host;rport=x",
            b"",
        ] {
            assert!(Via::parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
