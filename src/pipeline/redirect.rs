//! Redirect mode (DESIGN §6): one Contact per egress entry, in order, with
//! descending q-values; per-entry headers carried as URI headers.

use crate::routing::EgressEntry;
use crate::transport::Transport;

/// The Contact values (`<sip:...>;q=...`) for a 302.
///
/// q-values descend from 1.0 in steps of 0.1 (up to 10 entries), 0.01 (up to
/// 100) or 0.001, never below 0.001, so the order survives any client sort.
pub fn contacts(egress: &[EgressEntry], global_headers: &[(String, String)]) -> Vec<Vec<u8>> {
    let n = egress.len();
    let step = if n <= 10 {
        100
    } else if n <= 100 {
        10
    } else {
        1
    };
    egress
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut c = Vec::with_capacity(64);
            c.extend_from_slice(b"<sip:");
            escape_user(&mut c, e.dest_number.as_bytes());
            c.push(b'@');
            c.extend_from_slice(e.gateway.as_bytes());
            if e.transport != Transport::Udp {
                c.extend_from_slice(b";transport=");
                c.extend_from_slice(e.transport.as_str().as_bytes());
            }
            let mut sep = b'?';
            for (k, v) in global_headers.iter().chain(e.headers.iter()) {
                c.push(sep);
                sep = b'&';
                escape_hvalue(&mut c, k.as_bytes());
                c.push(b'=');
                escape_hvalue(&mut c, v.as_bytes());
            }
            c.extend_from_slice(b">;q=");
            let milli = 1000usize.saturating_sub(i * step).max(1);
            write_q(&mut c, milli);
            c
        })
        .collect()
}

fn write_q(out: &mut Vec<u8>, milli: usize) {
    if milli >= 1000 {
        out.extend_from_slice(b"1.0");
        return;
    }
    let digits = [
        b'0' + (milli / 100) as u8,
        b'0' + (milli / 10 % 10) as u8,
        b'0' + (milli % 10) as u8,
    ];
    let keep = if digits[2] != b'0' {
        3
    } else if digits[1] != b'0' {
        2
    } else {
        1
    };
    out.extend_from_slice(b"0.");
    out.extend_from_slice(&digits[..keep]);
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn escape_with(out: &mut Vec<u8>, s: &[u8], keep: impl Fn(u8) -> bool) {
    for &b in s {
        if keep(b) {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
}

/// Escapes a URI user part (RFC 3261 §25.1 `user`).
fn escape_user(out: &mut Vec<u8>, s: &[u8]) {
    escape_with(out, s, |b| {
        crate::sip::scan::is_unreserved(b)
            || matches!(b, b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'/')
    });
}

/// Escapes a URI header name or value (`hname` / `hvalue`).
fn escape_hvalue(out: &mut Vec<u8>, s: &[u8]) {
    escape_with(out, s, |b| {
        crate::sip::scan::is_unreserved(b) || matches!(b, b'[' | b']' | b'/' | b':' | b'+' | b'$')
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn entry(gw: &str, t: Transport) -> EgressEntry {
        EgressEntry {
            carrier: Arc::from("c"),
            gateway: Arc::from(gw),
            transport: t,
            dest_number: "15551234567".into(),
            cli: "1555000".into(),
            headers: vec![],
            remove_headers: vec![],
        }
    }

    #[test]
    fn contacts_in_order_with_q_and_transport() {
        let mut e = vec![
            entry("198.51.100.10:5060", Transport::Udp),
            entry("[2001:db8::1]:5060", Transport::Tcp),
        ];
        e[1].headers.push(("X-Route".into(), "a b&c".into()));
        let c: Vec<String> = contacts(&e, &[("X-Cust".into(), "1".into())])
            .into_iter()
            .map(|v| String::from_utf8(v).unwrap())
            .collect();
        assert_eq!(c[0], "<sip:15551234567@198.51.100.10:5060?X-Cust=1>;q=1.0");
        assert_eq!(
            c[1],
            "<sip:15551234567@[2001:db8::1]:5060;transport=tcp?X-Cust=1&X-Route=a%20b%26c>;q=0.9"
        );
    }

    #[test]
    fn q_values_descend_for_long_lists() {
        // The q-value of every Contact for `n` entries.
        let qs = |n: usize| -> Vec<String> {
            let e: Vec<_> = (0..n).map(|_| entry("h:1", Transport::Udp)).collect();
            contacts(&e, &[])
                .into_iter()
                .map(|c| {
                    String::from_utf8(c)
                        .unwrap()
                        .rsplit("q=")
                        .next()
                        .unwrap()
                        .to_string()
                })
                .collect()
        };
        let q = qs(150);
        assert_eq!(q[0], "1.0");
        assert_eq!(q[1], "0.999");
        assert_eq!(q[149], "0.851");
        let q = qs(12);
        assert_eq!(q[1], "0.99");
        assert_eq!(q[11], "0.89");
    }
}
