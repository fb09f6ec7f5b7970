//! Building responses to a request (RFC 3261 §8.2.6): Via, From, To, Call-ID
//! and CSeq copied from the request, `received`/`rport` filled in on the top
//! Via (§18.2.1, RFC 3581), a To-tag added where the caller gives one.

use std::net::{IpAddr, SocketAddr};

use super::header::HeaderName;
use super::message::Message;
use super::scan::find_param;
use super::via::Via;

/// Extra header lines for a response, written after the copied ones.
pub type ExtraHeaders<'x> = &'x [(&'x str, &'x [u8])];

/// Builds a complete response with an empty body into `out`.
///
/// * `src`: where the request came from (for `received`/`rport`).
/// * `to_tag`: appended to To; pass `None` when To already has one
///   (see [`to_has_tag`]).
pub fn write_response(
    out: &mut Vec<u8>,
    req: &Message<'_>,
    src: SocketAddr,
    code: u16,
    reason: &str,
    to_tag: Option<&[u8]>,
    extra: ExtraHeaders<'_>,
) {
    out.extend_from_slice(b"SIP/2.0 ");
    out.extend_from_slice(itoa::Buffer::new().format(code).as_bytes());
    out.push(b' ');
    out.extend_from_slice(sanitize(reason.as_bytes()));
    out.extend_from_slice(b"\r\n");

    let mut first = true;
    for value in req.list(HeaderName::Via) {
        out.extend_from_slice(b"Via: ");
        if first {
            write_top_via(out, value, src.ip(), src.port());
            first = false;
        } else {
            push_unfolded(out, value);
        }
        out.extend_from_slice(b"\r\n");
    }
    for name in [
        HeaderName::From,
        HeaderName::To,
        HeaderName::CallId,
        HeaderName::CSeq,
    ] {
        // Copy only the first occurrence: a request with duplicates is answered
        // with 400, and that answer must stay well-formed.
        let Some(value) = req.value(name) else {
            continue;
        };
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        push_unfolded(out, value);
        if name == HeaderName::To
            && let Some(tag) = to_tag
        {
            out.extend_from_slice(b";tag=");
            out.extend_from_slice(tag);
        }
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in extra {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(sanitize(value));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
}

/// Copies a header value, replacing each folded line break (CRLF plus
/// indentation) by one space, so answers never carry folding.
pub fn push_unfolded(out: &mut Vec<u8>, value: &[u8]) {
    if memchr::memchr2(b'\r', b'\n', value).is_none() {
        out.extend_from_slice(value);
        return;
    }
    let mut i = 0;
    while i < value.len() {
        let b = value[i];
        if b == b'\r' || b == b'\n' {
            while i < value.len() && super::scan::is_lws(value[i]) {
                i += 1;
            }
            out.push(b' ');
        } else {
            out.push(b);
            i += 1;
        }
    }
}

/// Stops a value at the first CR, LF or NUL so nothing can inject a header.
fn sanitize(v: &[u8]) -> &[u8] {
    let end = v
        .iter()
        .position(|&b| b == b'\r' || b == b'\n' || b == 0)
        .unwrap_or(v.len());
    &v[..end]
}

/// Whether a To value carries a tag, also for a To that does not parse
/// (answering a malformed request).
pub fn to_has_tag(to_value: &[u8]) -> bool {
    match super::addr::NameAddr::parse(to_value) {
        Ok(a) => a.tag().is_some(),
        // Unparseable To (we are answering 400): look for a tag textually.
        Err(_) => {
            let after = match memchr::memchr(b'>', to_value) {
                Some(i) => &to_value[i..],
                None => to_value,
            };
            find_param(
                &after[after.iter().position(|&b| b == b';').unwrap_or(after.len())..],
                b"tag",
            )
            .is_some()
        }
    }
}

/// Copies the top Via value, adding `received` when the sent-by host is not
/// the source address and filling an empty `rport` (RFC 3581 §4).
fn write_top_via(out: &mut Vec<u8>, value: &[u8], src_ip: IpAddr, src_port: u16) {
    let Ok(via) = Via::parse(value) else {
        push_unfolded(out, value);
        return;
    };
    let params_at = via.params.as_ptr() as usize - value.as_ptr() as usize;
    let (head, params) = value.split_at(params_at);
    push_unfolded(out, head);
    let mut ip_buf = [0u8; 64];
    let ip_len = {
        use std::io::Write;
        let mut cur = std::io::Cursor::new(&mut ip_buf[..]);
        let _ = write!(cur, "{src_ip}");
        cur.position() as usize
    };
    let host = via
        .host
        .strip_prefix(b"[")
        .and_then(|h| h.strip_suffix(b"]"))
        .unwrap_or(via.host);
    let host_is_src = host == &ip_buf[..ip_len]
        || std::str::from_utf8(host)
            .ok()
            .and_then(|h| h.parse::<IpAddr>().ok())
            .is_some_and(|h| h == src_ip);
    // Rewrite the parameter run: fill `rport`, drop a stale `received`.
    for seg in params.split(|&b| b == b';').skip(1) {
        let name_end = seg.iter().position(|&b| b == b'=').unwrap_or(seg.len());
        let name = super::scan::trim(&seg[..name_end]);
        if name.eq_ignore_ascii_case(b"received") {
            continue;
        }
        out.push(b';');
        if name.eq_ignore_ascii_case(b"rport") && name_end == seg.len() {
            out.extend_from_slice(b"rport=");
            out.extend_from_slice(itoa::Buffer::new().format(src_port).as_bytes());
        } else {
            push_unfolded(out, seg);
        }
    }
    if !host_is_src || via.rport.is_some() {
        out.extend_from_slice(b";received=");
        out.extend_from_slice(&ip_buf[..ip_len]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::Limits;

    #[test]
    fn copies_and_tags() {
        let raw = b"INVITE sip:1@h SIP/2.0\r\nv: SIP/2.0/UDP client.example.com:5060;branch=z9hG4bK1;rport, SIP/2.0/UDP b;branch=z9hG4bK0\r\nf: <sip:a@b>;tag=1\r\nt: <sip:1@h>\r\ni: cid\r\nCSeq: 7 INVITE\r\n\r\n";
        let m = Message::parse(raw, &Limits::default()).unwrap();
        let mut out = Vec::new();
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        write_response(
            &mut out,
            &m,
            SocketAddr::new(ip, 40000),
            302,
            "Moved Temporarily",
            Some(b"abc"),
            &[("Contact", b"<sip:1@gw>")],
        );
        let s = String::from_utf8(out).unwrap();
        assert_eq!(
            s,
            "SIP/2.0 302 Moved Temporarily\r\n\
Via: SIP/2.0/UDP client.example.com:5060;branch=z9hG4bK1;rport=40000;received=192.0.2.9\r\n\
Via: SIP/2.0/UDP b;branch=z9hG4bK0\r\n\
From: <sip:a@b>;tag=1\r\n\
To: <sip:1@h>;tag=abc\r\n\
Call-ID: cid\r\n\
CSeq: 7 INVITE\r\n\
Contact: <sip:1@gw>\r\n\
Content-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn no_received_when_host_is_source_and_keeps_existing_tag() {
        let raw = b"OPTIONS sip:h SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK1\r\nTo: <sip:h>;tag=x\r\n\r\n";
        let m = Message::parse(raw, &Limits::default()).unwrap();
        let to = m.value(HeaderName::To).unwrap();
        assert!(to_has_tag(to));
        assert!(to_has_tag(b"\"unbalanced <sip:h>;tag=x"));
        assert!(!to_has_tag(b"<sip:h;tag=x>"));
        let mut out = Vec::new();
        write_response(
            &mut out,
            &m,
            "192.0.2.9:5060".parse().unwrap(),
            200,
            "OK\r\nX: injected",
            None,
            &[],
        );
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK1\r\nTo: <sip:h>;tag=x\r\n"), "{s}");
        assert!(!s.contains("injected"));
    }
}
