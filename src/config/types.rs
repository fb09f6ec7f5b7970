//! Value types that appear as strings in the config file: carrier gateways
//! (`host[:port][;transport=udp|tcp]`), source CIDRs and SIP statuses (`NNN Reason`).
//!
//! Each type parses with [`std::str::FromStr`] (the error is a plain one-line message
//! without the key path; the config loader adds file, line and key) and deserializes
//! from a TOML string through the same parser.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::de::{Deserialize, Deserializer, Error as _};

use crate::transport::Transport;

/// Deserializes any `FromStr<Err = String>` type from a TOML string.
fn deserialize_via_from_str<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = String>,
{
    let s = String::deserialize(d)?;
    s.parse().map_err(D::Error::custom)
}

// ---------------------------------------------------------------------------
// Gateway
// ---------------------------------------------------------------------------

/// Default SIP port for gateways written without one.
pub const DEFAULT_SIP_PORT: u16 = 5060;

/// One carrier gateway: `host[:port][;transport=udp|tcp]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Gateway {
    /// The host as written: an IPv4 address, a bracketed IPv6 address (`[2001:db8::1]`)
    /// or a DNS name.
    pub host: String,
    /// The port; 5060 when not written.
    pub port: u16,
    /// The transport; UDP when not written.
    pub transport: Transport,
}

impl Gateway {
    /// `host:port`, e.g. `198.51.100.10:5060` or `[2001:db8::1]:5060`.
    pub fn hostport(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

impl fmt::Display for Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)?;
        if self.transport != Transport::Udp {
            write!(f, ";transport={}", self.transport)?;
        }
        Ok(())
    }
}

impl FromStr for Gateway {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("gateway is empty; expected host[:port][;transport=udp|tcp]".into());
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "gateway {s:?} contains whitespace or control characters"
            ));
        }
        let (hostport, params) = match s.split_once(';') {
            Some((hp, p)) => (hp, Some(p)),
            None => (s, None),
        };

        let mut transport = None;
        if let Some(params) = params {
            for param in params.split(';') {
                let (name, value) = param.split_once('=').unwrap_or((param, ""));
                if !name.eq_ignore_ascii_case("transport") {
                    return Err(format!(
                        "gateway {s:?}: unknown parameter {name:?}; only ;transport=udp|tcp is supported"
                    ));
                }
                if transport.is_some() {
                    return Err(format!("gateway {s:?}: transport is given twice"));
                }
                transport = Some(Transport::parse(value).ok_or_else(|| {
                    format!(
                        "gateway {s:?}: unsupported transport {value:?}; sipforge speaks udp and tcp"
                    )
                })?);
            }
        }

        let (host, port) = split_host_port(s, hostport)?;
        Ok(Gateway {
            host: host.to_string(),
            port: port.unwrap_or(DEFAULT_SIP_PORT),
            transport: transport.unwrap_or(Transport::Udp),
        })
    }
}

/// Splits `host[:port]`, validating both parts. `whole` is only used in messages.
fn split_host_port<'a>(whole: &str, hostport: &'a str) -> Result<(&'a str, Option<u16>), String> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return Err(format!("gateway {whole:?}: missing ']' after IPv6 address"));
        };
        let inner = &rest[..end];
        if inner.parse::<Ipv6Addr>().is_err() {
            return Err(format!(
                "gateway {whole:?}: [{inner}] is not a valid IPv6 address"
            ));
        }
        let host = &hostport[..end + 2];
        let after = &rest[end + 1..];
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(p) => Some(p),
                None => {
                    return Err(format!(
                        "gateway {whole:?}: unexpected {after:?} after the IPv6 address"
                    ));
                }
            },
        };
        (host, port)
    } else {
        match hostport.matches(':').count() {
            0 => (hostport, None),
            1 => {
                let (h, p) = hostport.split_once(':').unwrap_or((hostport, ""));
                (h, Some(p))
            }
            _ => {
                return Err(format!(
                    "gateway {whole:?}: IPv6 addresses must be written in brackets, e.g. [2001:db8::1]:5060"
                ));
            }
        }
    };

    if !host.starts_with('[') {
        validate_host_name(whole, host)?;
    }
    let port =
        match port {
            None => None,
            Some(p) => Some(parse_port(p).ok_or_else(|| {
                format!("gateway {whole:?}: port {p:?} is not a number in 1..65535")
            })?),
        };
    Ok((host, port))
}

fn parse_port(p: &str) -> Option<u16> {
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match p.parse::<u16>() {
        Ok(0) | Err(_) => None,
        Ok(n) => Some(n),
    }
}

/// An IPv4 address or a DNS name (labels of letters, digits and '-').
fn validate_host_name(whole: &str, host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err(format!("gateway {whole:?}: host is empty"));
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return if host.parse::<Ipv4Addr>().is_ok() {
            Ok(())
        } else {
            Err(format!(
                "gateway {whole:?}: {host:?} is not a valid IPv4 address"
            ))
        };
    }
    if host.len() > 253 {
        return Err(format!(
            "gateway {whole:?}: host name is longer than 253 characters"
        ));
    }
    for label in host.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return Err(format!(
                "gateway {whole:?}: {host:?} is not a valid IPv4 address or DNS name"
            ));
        }
    }
    Ok(())
}

impl<'de> Deserialize<'de> for Gateway {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_via_from_str(d)
    }
}

// ---------------------------------------------------------------------------
// Cidr
// ---------------------------------------------------------------------------

/// An IPv4 or IPv6 network: `a.b.c.d/n`, `v6addr/n`, or a bare address (a single host).
///
/// Parsing rejects networks with host bits set (`203.0.113.7/24`), naming the network
/// that was probably meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// The network address (host bits are zero).
    pub addr: IpAddr,
    /// Prefix length: 0..=32 for IPv4, 0..=128 for IPv6.
    pub prefix_len: u8,
}

impl Cidr {
    /// Builds a CIDR, masking off host bits. `prefix_len` is clamped to the family's width.
    pub fn new_masked(addr: IpAddr, prefix_len: u8) -> Cidr {
        let prefix_len = prefix_len.min(family_bits(addr));
        Cidr {
            addr: mask(addr, prefix_len),
            prefix_len,
        }
    }

    /// The same network with IPv4-mapped IPv6 (`::ffff:a.b.c.d/n`, n >= 96) expressed as
    /// IPv4 (`a.b.c.d/(n-96)`); every other network unchanged.
    pub fn canonical(self) -> Cidr {
        if let IpAddr::V6(v6) = self.addr
            && self.prefix_len >= 96
            && let Some(v4) = v6.to_ipv4_mapped()
        {
            return Cidr {
                addr: IpAddr::V4(v4),
                prefix_len: self.prefix_len - 96,
            };
        }
        self
    }

    /// Whether `ip` is inside this network (same family only; see [`Cidr::canonical`]).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(ip, self.prefix_len) == self.addr
            }
            _ => false,
        }
    }
}

/// Number of address bits of the address family.
pub(crate) fn family_bits(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// Zeroes the host bits of `addr` beyond `prefix_len`.
pub(crate) fn mask(addr: IpAddr, prefix_len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(mask_v4(u32::from(a), prefix_len))),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(mask_v6(u128::from(a), prefix_len))),
    }
}

/// Keeps the top `prefix_len` bits (0..=32) of `bits`.
pub(crate) fn mask_v4(bits: u32, prefix_len: u8) -> u32 {
    match prefix_len {
        0 => 0,
        n if n >= 32 => bits,
        n => bits & (u32::MAX << (32 - u32::from(n))),
    }
}

/// Keeps the top `prefix_len` bits (0..=128) of `bits`.
pub(crate) fn mask_v6(bits: u128, prefix_len: u8) -> u128 {
    match prefix_len {
        0 => 0,
        n if n >= 128 => bits,
        n => bits & (u128::MAX << (128 - u32::from(n))),
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr_s, len_s) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr_s.parse().map_err(|_| {
            format!(
                "{s:?} is not an IP address or CIDR (expected e.g. 203.0.113.0/24 or 2001:db8::/32)"
            )
        })?;
        let max = family_bits(addr);
        let prefix_len = match len_s {
            None => max,
            Some(l) => {
                let n = if !l.is_empty() && l.len() <= 3 && l.bytes().all(|b| b.is_ascii_digit()) {
                    l.parse::<u8>().ok()
                } else {
                    None
                };
                match n {
                    Some(n) if n <= max => n,
                    _ => {
                        return Err(format!(
                            "{s:?}: prefix length must be a number in 0..={max}"
                        ));
                    }
                }
            }
        };
        let cidr = Cidr::new_masked(addr, prefix_len);
        if cidr.addr != addr {
            return Err(format!(
                "{s:?} has host bits set; did you mean {cidr}? (or {addr}/{max} for the single host)"
            ));
        }
        Ok(cidr)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_via_from_str(d)
    }
}

// ---------------------------------------------------------------------------
// SipStatus
// ---------------------------------------------------------------------------

/// A final SIP status used as a configured answer: `"NNN Reason phrase"`, NNN in 300..=699.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SipStatus {
    /// Status code, 300..=699.
    pub code: u16,
    /// Reason phrase: non-empty, no control characters (so no CR/LF).
    pub reason: String,
}

impl SipStatus {
    /// Builds a status from its parts (not validated; use `parse` for user input).
    pub fn new(code: u16, reason: impl Into<String>) -> SipStatus {
        SipStatus {
            code,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for SipStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.reason)
    }
}

impl FromStr for SipStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{s:?} is not a SIP status; expected \"NNN Reason phrase\" with NNN in 300..699, e.g. \"503 Service Unavailable\""
            )
        };
        let b = s.as_bytes();
        if b.len() < 5 || !b[..3].iter().all(u8::is_ascii_digit) || b[3] != b' ' {
            return Err(bad());
        }
        let code: u16 = s[..3].parse().map_err(|_| bad())?;
        if !(300..=699).contains(&code) {
            return Err(format!(
                "{s:?}: status code {code} is outside 300..699 (only final non-2xx answers can be configured)"
            ));
        }
        let reason = s[4..].trim();
        if reason.is_empty() {
            return Err(bad());
        }
        if reason.chars().any(char::is_control) {
            return Err(format!(
                "{s:?}: the reason phrase must not contain control characters (CR, LF, tab, ...)"
            ));
        }
        Ok(SipStatus {
            code,
            reason: reason.to_string(),
        })
    }
}

impl<'de> Deserialize<'de> for SipStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_via_from_str(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_forms() {
        let g: Gateway = "198.51.100.10".parse().unwrap();
        assert_eq!(g.host, "198.51.100.10");
        assert_eq!(g.port, 5060);
        assert_eq!(g.transport, Transport::Udp);
        assert_eq!(g.hostport(), "198.51.100.10:5060");

        let g: Gateway = "198.51.100.11:5080;transport=tcp".parse().unwrap();
        assert_eq!((g.port, g.transport), (5080, Transport::Tcp));
        assert_eq!(g.to_string(), "198.51.100.11:5080;transport=tcp");

        let g: Gateway = "[2001:db8::1]".parse().unwrap();
        assert_eq!(g.host, "[2001:db8::1]");
        assert_eq!(g.hostport(), "[2001:db8::1]:5060");

        let g: Gateway = "[2001:db8::1]:5070;TRANSPORT=UDP".parse().unwrap();
        assert_eq!(g.hostport(), "[2001:db8::1]:5070");

        let g: Gateway = "sbc-1.carrier.example:5061".parse().unwrap();
        assert_eq!(g.host, "sbc-1.carrier.example");
        assert_eq!(g.port, 5061);
    }

    #[test]
    fn gateway_errors() {
        let cases = [
            ("", "empty"),
            ("1.2.3.4;transport=tls", "unsupported transport \"tls\""),
            ("1.2.3.4;lr", "unknown parameter \"lr\""),
            ("1.2.3.4;transport=udp;transport=tcp", "twice"),
            ("1.2.3.4:0", "port \"0\""),
            ("1.2.3.4:70000", "port \"70000\""),
            ("1.2.3.4:", "port \"\""),
            ("2001:db8::1", "brackets"),
            ("[2001:db8::1", "missing ']'"),
            ("[zz::1]:5060", "not a valid IPv6"),
            ("[::1]x", "unexpected"),
            ("999.1.1.1", "not a valid IPv4"),
            ("bad_host", "not a valid IPv4 address or DNS name"),
            ("-x.example", "DNS name"),
            ("a..b", "DNS name"),
            ("1.2.3.4 ", "whitespace"),
            (":5060", "host is empty"),
        ];
        for (input, want) in cases {
            let err = input.parse::<Gateway>().unwrap_err();
            assert!(err.contains(want), "{input:?}: {err}");
        }
    }

    #[test]
    fn cidr_forms() {
        let c: Cidr = "203.0.113.0/24".parse().unwrap();
        assert_eq!(c.prefix_len, 24);
        assert_eq!(c.to_string(), "203.0.113.0/24");
        assert!(c.contains("203.0.113.77".parse().unwrap()));
        assert!(!c.contains("203.0.114.1".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));

        let c: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(c.to_string(), "127.0.0.1/32");
        let c: Cidr = "::1".parse().unwrap();
        assert_eq!(c.to_string(), "::1/128");
        let c: Cidr = "2001:db8::/32".parse().unwrap();
        assert_eq!(c.prefix_len, 32);
        let c: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(c.contains("8.8.8.8".parse().unwrap()));

        let c: Cidr = "::ffff:192.0.2.0/120".parse().unwrap();
        assert_eq!(c.canonical().to_string(), "192.0.2.0/24");
        let c: Cidr = "2001:db8::/32".parse().unwrap();
        assert_eq!(c.canonical(), c);
    }

    #[test]
    fn cidr_errors() {
        let e = "203.0.113.7/24".parse::<Cidr>().unwrap_err();
        assert!(
            e.contains("host bits set; did you mean 203.0.113.0/24?"),
            "{e}"
        );
        assert!(e.contains("203.0.113.7/32"), "{e}");
        let e = "2001:db8::1/32".parse::<Cidr>().unwrap_err();
        assert!(e.contains("did you mean 2001:db8::/32"), "{e}");
        for bad in [
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0.0/x",
            "::/129",
            "10.0.0.0/0024",
        ] {
            let e = bad.parse::<Cidr>().unwrap_err();
            assert!(e.contains("prefix length"), "{bad}: {e}");
        }
        for bad in ["", "10.0.0", "host.example/24", "[::1]/128"] {
            let e = bad.parse::<Cidr>().unwrap_err();
            assert!(e.contains("is not an IP address"), "{bad}: {e}");
        }
    }

    #[test]
    fn sip_status() {
        let s: SipStatus = "503 Service Unavailable".parse().unwrap();
        assert_eq!(s.code, 503);
        assert_eq!(s.reason, "Service Unavailable");
        assert_eq!(s.to_string(), "503 Service Unavailable");
        assert_eq!("486 Busy Here".parse::<SipStatus>().unwrap().code, 486);

        for (bad, want) in [
            ("503", "not a SIP status"),
            ("503 ", "not a SIP status"),
            ("503Service", "not a SIP status"),
            ("abc Foo", "not a SIP status"),
            ("200 OK", "outside 300..699"),
            ("700 Nope", "outside 300..699"),
            ("503 Bad\r\nX-Evil: 1", "control characters"),
        ] {
            let e = bad.parse::<SipStatus>().unwrap_err();
            assert!(e.contains(want), "{bad:?}: {e}");
        }
    }
}
