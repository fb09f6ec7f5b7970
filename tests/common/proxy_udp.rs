//! Proxy-mode test helpers shared by `tests/proxy.rs` and
//! `tests/proxy_faults.rs`: the config, a sidecar with two UDP carriers
//! (`uas1`, `uas2`) and a UDP caller (`uac`), and UAs written with std
//! sockets (`response`, `in_dialog`, `hop_request`, receive helpers).
//! Included with `#[path = "common/proxy_udp.rs"] mod proxy_udp;` next to
//! `mod common;`.
#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::common::{Sidecar, header_values, invite, status, udp_client};

/// How a proxy-mode sidecar is set up; `Default` is the plain two-carrier
/// config of `tests/proxy.rs`.
pub struct Opts<'a> {
    /// The customer's route list, e.g. `"\"c1\", \"c2\""`.
    pub carriers: &'a str,
    /// Extra lines in the customer's table (e.g. `script = …`).
    pub extra: &'a str,
    /// `attempt_timeout_ms`: short only where a test wants it to fire,
    /// generous elsewhere so a slow machine does not fail over.
    pub attempt_ms: u64,
    /// Extra lines in `[proxy]` (e.g. `max_transactions = 16`).
    pub proxy_extra: &'a str,
    /// Gateway of `c1` / `c2` (`host:port[;transport=tcp]`); `None`: the
    /// address of `uas1` / `uas2`.
    pub gw1: Option<String>,
    pub gw2: Option<String>,
}

impl Default for Opts<'_> {
    fn default() -> Self {
        Opts {
            carriers: "\"c1\", \"c2\"",
            extra: "",
            attempt_ms: 5000,
            proxy_extra: "",
            gw1: None,
            gw2: None,
        }
    }
}

/// A proxy-mode config: carriers `c1`, `c2` at `gw1`, `gw2`, customer
/// `acme` routing prefix `1` to `o.carriers`.
pub fn config(gw1: &str, gw2: &str, o: &Opts<'_>) -> String {
    let (carriers, extra, attempt_ms, proxy_extra) =
        (o.carriers, o.extra, o.attempt_ms, o.proxy_extra);
    format!(
        r#"
[server]
listen_udp = ["127.0.0.1:0"]
listen_tcp = ["127.0.0.1:0"]
mode = "proxy"
admin_listen = "127.0.0.1:0"

[proxy]
attempt_timeout_ms = {attempt_ms}
ring_timeout_ms = 5000
t1_ms = 50
t2_ms = 200
t4_ms = 200
{proxy_extra}

[[carriers]]
id = "c1"
gateways = ["{gw1}"]

[[carriers]]
id = "c2"
gateways = ["{gw2}"]

[[customers]]
id = "acme"
sources = ["127.0.0.1/32"]
{extra}
routes = [{{ prefix = "1", carriers = [{carriers}] }}]
"#
    )
}

pub fn text(m: &[u8]) -> String {
    String::from_utf8_lossy(m).into_owned()
}

pub fn first_line(m: &[u8]) -> String {
    text(m).lines().next().unwrap_or_default().to_string()
}

pub fn is_request(m: &[u8], method: &str) -> bool {
    first_line(m).starts_with(&format!("{method} "))
}

/// Whether `m` is a response with status `code` to a request `method`.
pub fn is_response(m: &[u8], code: u16, method: &str) -> bool {
    m.starts_with(b"SIP/2.0 ")
        && status(m) == code
        && header_values(m, "CSeq")
            .first()
            .is_some_and(|c| c.ends_with(&format!(" {method}")))
}

/// Receives datagrams until `pred` accepts one (others are skipped), or
/// `None` after `wait`.
pub fn recv_until(
    sock: &UdpSocket,
    wait: Duration,
    pred: impl Fn(&[u8]) -> bool,
) -> Option<(Vec<u8>, SocketAddr)> {
    let deadline = Instant::now() + wait;
    let mut buf = vec![0u8; 65_535];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match sock.recv_from(&mut buf) {
            Ok((n, from)) if pred(&buf[..n]) => return Some((buf[..n].to_vec(), from)),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

/// Every datagram received until `quiet` passes without one. Panics when
/// the peer is still sending after 10 s (a retransmission that never ends).
pub fn drain(sock: &UdpSocket, quiet: Duration) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    while let Some((m, _)) = recv_until(sock, quiet, |_| true) {
        out.push(m);
        if Instant::now() > deadline {
            let last: Vec<String> = out.iter().rev().take(4).map(|m| text(m)).collect();
            panic!(
                "still receiving after 10 s ({} messages); the last ones:\n{}",
                out.len(),
                last.join("\n")
            );
        }
    }
    out
}

pub fn recv_req(s: &Setup, sock: &UdpSocket, method: &str) -> (Vec<u8>, SocketAddr) {
    recv_until(sock, Duration::from_secs(10), |m| is_request(m, method))
        .unwrap_or_else(|| panic!("no {method} received; log:\n{}", s.sc.log_text()))
}

pub fn recv_status(sock: &UdpSocket, code: u16) -> Vec<u8> {
    recv_until(sock, Duration::from_secs(10), |m| {
        m.starts_with(b"SIP/2.0 ") && status(m) == code
    })
    .unwrap_or_else(|| panic!("no {code} received"))
    .0
}

/// A response to `req` as a UAS writes it: Vias, From, To (with `tag`),
/// Call-ID, CSeq copied; Record-Route and Contact for 1xx/2xx.
pub fn response(req: &[u8], code: u16, reason: &str, tag: &str, contact: SocketAddr) -> Vec<u8> {
    response_with_contact(req, code, reason, tag, &format!("<sip:uas@{contact}>"))
}

/// [`response`] with the Contact written out (e.g. with `;transport=tcp`).
pub fn response_with_contact(
    req: &[u8],
    code: u16,
    reason: &str,
    tag: &str,
    contact: &str,
) -> Vec<u8> {
    let mut out = format!("SIP/2.0 {code} {reason}\r\n");
    for v in header_values(req, "Via") {
        out += &format!("Via: {v}\r\n");
    }
    out += &format!("From: {}\r\n", header_values(req, "From")[0]);
    let to = &header_values(req, "To")[0];
    if to.contains(";tag=") || code == 100 {
        out += &format!("To: {to}\r\n");
    } else {
        out += &format!("To: {to};tag={tag}\r\n");
    }
    out += &format!("Call-ID: {}\r\n", header_values(req, "Call-ID")[0]);
    out += &format!("CSeq: {}\r\n", header_values(req, "CSeq")[0]);
    if code > 100 && code < 300 {
        for rr in header_values(req, "Record-Route") {
            out += &format!("Record-Route: {rr}\r\n");
        }
        out += &format!("Contact: {contact}\r\n");
    }
    out += "Content-Length: 0\r\n\r\n";
    out.into_bytes()
}

/// An in-dialog request from the UAC after `ok` (2xx): Request-URI = its
/// Contact, Route = its Record-Route, To with the tag.
pub fn in_dialog(method: &str, cseq: u32, ok: &[u8], local: SocketAddr, branch: &str) -> Vec<u8> {
    let contact = header_values(ok, "Contact")[0].clone();
    let ruri = contact.trim_start_matches('<').trim_end_matches('>');
    let mut out = format!(
        "{method} {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{branch};rport\r\nMax-Forwards: 70\r\n"
    );
    // The UAC's route set: Record-Route in reverse order (§12.1.2).
    for rr in header_values(ok, "Record-Route").iter().rev() {
        out += &format!("Route: {rr}\r\n");
    }
    out += &format!(
        "From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n",
        header_values(ok, "From")[0],
        header_values(ok, "To")[0],
        header_values(ok, "Call-ID")[0]
    );
    out.into_bytes()
}

/// The ACK or CANCEL of the UAC's own INVITE (same branch, §17.1.1.3, §9.1).
pub fn hop_request(method: &str, inv: &[u8], to_from: &[u8]) -> Vec<u8> {
    let ruri = first_line(inv).split(' ').nth(1).unwrap().to_string();
    format!(
        "{method} {ruri} SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n",
        header_values(inv, "Via")[0],
        header_values(inv, "From")[0],
        header_values(to_from, "To")[0],
        header_values(inv, "Call-ID")[0],
    )
    .into_bytes()
}

pub struct Setup {
    pub sc: Sidecar,
    pub uac: UdpSocket,
    pub uas1: UdpSocket,
    pub uas2: UdpSocket,
}

pub fn setup(carriers: &str) -> Setup {
    setup_with(carriers, "", 5000)
}

pub fn setup_with(carriers: &str, extra: &str, attempt_ms: u64) -> Setup {
    setup_opts(&Opts {
        carriers,
        extra,
        attempt_ms,
        ..Opts::default()
    })
}

pub fn setup_opts(o: &Opts<'_>) -> Setup {
    let uas1 = udp_client("127.0.0.1:0");
    let uas2 = udp_client("127.0.0.1:0");
    let gw1 = o
        .gw1
        .clone()
        .unwrap_or_else(|| uas1.local_addr().unwrap().to_string());
    let gw2 = o
        .gw2
        .clone()
        .unwrap_or_else(|| uas2.local_addr().unwrap().to_string());
    let sc = Sidecar::start_with(&config(&gw1, &gw2, o));
    Setup {
        sc,
        uac: udp_client("127.0.0.1:0"),
        uas1,
        uas2,
    }
}

/// UAC sends the INVITE; checks the 100 Trying; returns the INVITE.
pub fn call(s: &Setup, id: &str) -> Vec<u8> {
    let local = s.uac.local_addr().unwrap();
    let inv = invite("15551234567", id, id, local);
    s.uac.send_to(&inv, s.sc.udp).unwrap();
    let trying = recv_status(&s.uac, 100);
    assert!(
        !header_values(&trying, "To")[0].contains("tag="),
        "{}",
        text(&trying)
    );
    inv
}

/// The caller (after its ACK) hangs up a call `callee` answered with `ok`:
/// BYE through sipforge, 200 from the callee, 200 back at the caller.
pub fn hang_up(s: &Setup, ok: &[u8], callee: &UdpSocket) {
    let local = s.uac.local_addr().unwrap();
    s.uac
        .send_to(&in_dialog("BYE", 2, ok, local, "hangup"), s.sc.udp)
        .unwrap();
    let (bye, from) = recv_req(s, callee, "BYE");
    let tag = header_values(ok, "To")[0]
        .rsplit("tag=")
        .next()
        .unwrap()
        .to_string();
    let uas = callee.local_addr().unwrap();
    callee
        .send_to(&response(&bye, 200, "OK", &tag, uas), from)
        .unwrap();
    recv_until(&s.uac, Duration::from_secs(3), |m| {
        is_response(m, 200, "BYE")
    })
    .expect("200 for the BYE relayed to the caller");
}
