//! Proxy mode under faults and over TCP (issue 5): TCP carriers and callers,
//! dead and silent gateways, garbage, duplicate and late responses, CANCEL
//! racing a 200, 603, a full transaction table, BYE from the callee. The real
//! binary between UAs written with std sockets; every scenario checks the
//! exact messages each side sees (retransmissions aside) and ends with an
//! empty transaction table.

mod common;
#[path = "common/proxy_udp.rs"]
mod proxy_udp;

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use common::{
    Sidecar, admin_addr, assert_no_transactions, header_values, invite, metric, tcp_connect,
    tcp_read_message, tcp_send,
};
use proxy_udp::{
    Opts, Setup, call, drain, first_line, hop_request, in_dialog, is_response, recv_until,
    response, response_with_contact, setup_opts, text,
};

/// How long a side must stay silent for "nothing else came".
const QUIET: Duration = Duration::from_millis(400);

/// One UDP side of a scenario: every new message must be the expected one;
/// byte-identical repeats of what it already saw (UDP retransmissions) are
/// skipped.
struct UdpSide<'a> {
    sc: &'a Sidecar,
    sock: &'a UdpSocket,
    seen: Vec<Vec<u8>>,
}

impl<'a> UdpSide<'a> {
    fn new(sc: &'a Sidecar, sock: &'a UdpSocket) -> UdpSide<'a> {
        UdpSide {
            sc,
            sock,
            seen: Vec::new(),
        }
    }

    /// The next new message; its first line must start with `line`.
    fn expect(&mut self, line: &str) -> (Vec<u8>, SocketAddr) {
        loop {
            let Some((m, from)) = recv_until(self.sock, Duration::from_secs(10), |_| true) else {
                panic!(
                    "expected {line:?}, got nothing; log:\n{}",
                    self.sc.log_text()
                );
            };
            if self.seen.contains(&m) {
                continue;
            }
            assert!(
                first_line(&m).starts_with(line),
                "expected {line:?}, got:\n{}",
                text(&m)
            );
            self.seen.push(m.clone());
            return (m, from);
        }
    }

    /// Nothing new arrives for [`QUIET`].
    fn quiet(&mut self) {
        for m in drain(self.sock, QUIET) {
            assert!(self.seen.contains(&m), "unexpected:\n{}", text(&m));
        }
    }

    /// The caller CANCELs `inv` through sipforge (`to`) and gets 200 for the
    /// CANCEL.
    fn cancel(&mut self, inv: &[u8], to: SocketAddr) {
        self.sock
            .send_to(&hop_request("CANCEL", inv, inv), to)
            .unwrap();
        let (cancel_ok, _) = self.expect("SIP/2.0 200 OK");
        assert!(
            is_response(&cancel_ok, 200, "CANCEL"),
            "{}",
            text(&cancel_ok)
        );
    }
}

/// One TCP connection of a scenario: messages are read in order, none skipped.
struct TcpSide<'a> {
    sc: &'a Sidecar,
    stream: TcpStream,
}

impl TcpSide<'_> {
    fn expect(&mut self, line: &str) -> Vec<u8> {
        self.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let m = tcp_read_message(&mut self.stream).unwrap_or_else(|| {
            panic!(
                "expected {line:?} over tcp, got nothing; log:\n{}",
                self.sc.log_text()
            )
        });
        assert!(
            first_line(&m).starts_with(line),
            "expected {line:?}, got:\n{}",
            text(&m)
        );
        m
    }

    fn send(&mut self, m: &[u8]) {
        tcp_send(&mut self.stream, m);
    }

    fn quiet(&mut self) {
        self.stream.set_read_timeout(Some(QUIET)).unwrap();
        if let Some(m) = tcp_read_message(&mut self.stream) {
            panic!("unexpected over tcp:\n{}", text(&m));
        }
    }
}

/// A TCP carrier's listener and its gateway for the config.
fn tcp_carrier() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let gw = format!("{};transport=tcp", l.local_addr().unwrap());
    (l, gw)
}

/// The next connection to `l` within `wait`.
fn accept(l: &TcpListener, wait: Duration) -> Option<TcpStream> {
    let deadline = Instant::now() + wait;
    loop {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                return Some(s);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// A message as a TCP UA writes it (its own Via says TCP).
fn over_tcp(m: &[u8]) -> Vec<u8> {
    text(m)
        .replacen("Via: SIP/2.0/UDP", "Via: SIP/2.0/TCP", 1)
        .into_bytes()
}

/// The Contact a TCP UAS at `addr` puts in its responses.
fn tcp_contact(addr: SocketAddr) -> String {
    format!("<sip:uas@{addr};transport=tcp>")
}

fn attempts(sc: &Sidecar, carrier: &str, code: &str) -> i64 {
    metric(
        admin_addr(sc),
        &format!("sipforge_egress_attempts_total{{carrier=\"{carrier}\",code=\"{code}\"}}"),
    )
}

fn dialogs(sc: &Sidecar) -> i64 {
    metric(admin_addr(sc), "sipforge_dialogs_active ")
}

/// ACK and BYE of a UDP caller's dialog through sipforge to a UDP carrier;
/// the carrier answers the BYE with 200, relayed back.
fn ack_and_bye_udp(s: &Setup, caller: &mut UdpSide<'_>, callee: &mut UdpSide<'_>, ok: &[u8]) {
    let local = s.uac.local_addr().unwrap();
    let contact = header_values(ok, "Contact")[0].clone();
    let ruri = contact.trim_start_matches('<').trim_end_matches('>');
    s.uac
        .send_to(&in_dialog("ACK", 1, ok, local, "ack"), s.sc.udp)
        .unwrap();
    let (ack, _) = callee.expect(&format!("ACK {ruri} SIP/2.0"));
    assert!(header_values(&ack, "Route").is_empty(), "{}", text(&ack));
    s.uac
        .send_to(&in_dialog("BYE", 2, ok, local, "bye"), s.sc.udp)
        .unwrap();
    let (bye, from) = callee.expect(&format!("BYE {ruri} SIP/2.0"));
    let tag = header_values(ok, "To")[0]
        .rsplit("tag=")
        .next()
        .unwrap()
        .to_string();
    let uas = callee.sock.local_addr().unwrap();
    callee
        .sock
        .send_to(&response(&bye, 200, "OK", &tag, uas), from)
        .unwrap();
    let (bye_ok, _) = caller.expect("SIP/2.0 200 ");
    assert!(is_response(&bye_ok, 200, "BYE"), "{}", text(&bye_ok));
    assert_eq!(header_values(&bye_ok, "Via").len(), 1);
}

/// Scenario 1: UDP caller → TCP carrier: Via and both Record-Routes (RFC 5658) say
/// which side is TCP; ACK and BYE reuse sipforge's connection to the carrier.
#[test]
fn udp_caller_to_tcp_carrier_full_call() {
    let (l, gw) = tcp_carrier();
    let carrier = l.local_addr().unwrap();
    let s = setup_opts(&Opts {
        carriers: "\"c1\"",
        gw1: Some(gw),
        ..Opts::default()
    });
    let mut caller = UdpSide::new(&s.sc, &s.uac);
    let inv = call(&s, "ut1");
    let conn = accept(&l, Duration::from_secs(10)).expect("sipforge connects to the carrier");
    let mut callee = TcpSide {
        sc: &s.sc,
        stream: conn,
    };
    let fwd = callee.expect(&format!(
        "INVITE sip:15551234567@{carrier};transport=tcp SIP/2.0"
    ));
    let vias = header_values(&fwd, "Via");
    assert_eq!(vias.len(), 2, "{}", text(&fwd));
    assert!(
        vias[0].starts_with(&format!("SIP/2.0/TCP {};branch=z9hG4bK", s.sc.tcp)),
        "{vias:?}"
    );
    assert!(vias[1].starts_with(&header_values(&inv, "Via")[0]));
    assert_eq!(
        header_values(&fwd, "Record-Route"),
        vec![
            format!("<sip:{};transport=tcp;lr>", s.sc.tcp),
            format!("<sip:{};lr>", s.sc.udp),
        ],
        "{}",
        text(&fwd)
    );
    let contact = tcp_contact(carrier);
    for (code, reason) in [(100, "Trying"), (180, "Ringing"), (200, "OK")] {
        callee.send(&response_with_contact(&fwd, code, reason, "tc", &contact));
    }
    caller.expect("SIP/2.0 180 Ringing");
    let (ok, _) = caller.expect("SIP/2.0 200 OK");
    assert_eq!(header_values(&ok, "Via").len(), 1, "{}", text(&ok));
    assert_eq!(
        header_values(&ok, "Record-Route"),
        header_values(&fwd, "Record-Route")
    );
    let local = s.uac.local_addr().unwrap();
    s.uac
        .send_to(&in_dialog("ACK", 1, &ok, local, "ut1ack"), s.sc.udp)
        .unwrap();
    let ack = callee.expect(&format!("ACK sip:uas@{carrier};transport=tcp SIP/2.0"));
    assert!(header_values(&ack, "Route").is_empty(), "{}", text(&ack));
    assert!(header_values(&ack, "Via")[0].starts_with(&format!("SIP/2.0/TCP {}", s.sc.tcp)));
    s.uac
        .send_to(&in_dialog("BYE", 2, &ok, local, "ut1bye"), s.sc.udp)
        .unwrap();
    let bye = callee.expect(&format!("BYE sip:uas@{carrier};transport=tcp SIP/2.0"));
    assert!(header_values(&bye, "Route").is_empty(), "{}", text(&bye));
    callee.send(&response_with_contact(&bye, 200, "OK", "tc", &contact));
    let (bye_ok, _) = caller.expect("SIP/2.0 200 OK");
    assert!(is_response(&bye_ok, 200, "BYE"), "{}", text(&bye_ok));
    // One connection carried INVITE, ACK and BYE.
    assert!(
        accept(&l, QUIET).is_none(),
        "a second connection was opened"
    );
    caller.quiet();
    callee.quiet();
    assert_no_transactions(&s.sc);
    assert_eq!(dialogs(&s.sc), 0);
    assert_eq!(attempts(&s.sc, "c1", "200"), 1);
}

/// Scenario 2: TCP caller → TCP carrier: two calls over one inbound and one outbound
/// connection.
#[test]
fn tcp_caller_to_tcp_carrier_two_calls_one_connection() {
    let (l, gw) = tcp_carrier();
    let carrier = l.local_addr().unwrap();
    let s = setup_opts(&Opts {
        carriers: "\"c1\"",
        gw1: Some(gw),
        ..Opts::default()
    });
    let mut caller = TcpSide {
        sc: &s.sc,
        stream: tcp_connect(s.sc.tcp),
    };
    let local = caller.stream.local_addr().unwrap();
    let contact = tcp_contact(carrier);
    let mut callee: Option<TcpSide<'_>> = None;
    for i in 0..2 {
        let id = format!("tt{i}");
        caller.send(&over_tcp(&invite("15551234567", &id, &id, local)));
        caller.expect("SIP/2.0 100 Trying");
        let callee = callee.get_or_insert_with(|| TcpSide {
            sc: &s.sc,
            stream: accept(&l, Duration::from_secs(10)).expect("sipforge connects"),
        });
        let fwd = callee.expect(&format!(
            "INVITE sip:15551234567@{carrier};transport=tcp SIP/2.0"
        ));
        assert_eq!(header_values(&fwd, "Call-ID"), vec![id.clone()]);
        assert!(header_values(&fwd, "Via")[0].starts_with(&format!("SIP/2.0/TCP {}", s.sc.tcp)));
        // Same transport and address on both sides: one Record-Route.
        assert_eq!(
            header_values(&fwd, "Record-Route"),
            vec![format!("<sip:{};transport=tcp;lr>", s.sc.tcp)],
            "{}",
            text(&fwd)
        );
        callee.send(&response_with_contact(&fwd, 180, "Ringing", "t2", &contact));
        callee.send(&response_with_contact(&fwd, 200, "OK", "t2", &contact));
        caller.expect("SIP/2.0 180 Ringing");
        let ok = caller.expect("SIP/2.0 200 OK");
        caller.send(&over_tcp(&in_dialog(
            "ACK",
            1,
            &ok,
            local,
            &format!("{id}a"),
        )));
        callee.expect(&format!("ACK sip:uas@{carrier};transport=tcp SIP/2.0"));
        caller.send(&over_tcp(&in_dialog(
            "BYE",
            2,
            &ok,
            local,
            &format!("{id}b"),
        )));
        let bye = callee.expect(&format!("BYE sip:uas@{carrier};transport=tcp SIP/2.0"));
        callee.send(&response_with_contact(&bye, 200, "OK", "t2", &contact));
        let bye_ok = caller.expect("SIP/2.0 200 OK");
        assert!(is_response(&bye_ok, 200, "BYE"), "{}", text(&bye_ok));
    }
    assert!(
        accept(&l, QUIET).is_none(),
        "a second connection was opened"
    );
    caller.quiet();
    callee.unwrap().quiet();
    assert_no_transactions(&s.sc);
    assert_eq!(attempts(&s.sc, "c1", "200"), 2);
}

/// Carrier 2 got the INVITE `fwd` from `from`: it answers 200, the caller
/// gets exactly that 200, the call completes (ACK, BYE) and leaves no
/// transaction. Returns the 200 the caller saw.
fn c2_answers_and_call_completes(
    s: &Setup,
    caller: &mut UdpSide<'_>,
    c2: &mut UdpSide<'_>,
    fwd: &[u8],
    from: SocketAddr,
) -> Vec<u8> {
    let uas2 = s.uas2.local_addr().unwrap();
    s.uas2
        .send_to(&response(fwd, 200, "OK", "b", uas2), from)
        .unwrap();
    let (ok, _) = caller.expect("SIP/2.0 200 OK");
    ack_and_bye_udp(s, caller, c2, &ok);
    caller.quiet();
    c2.quiet();
    assert_no_transactions(&s.sc);
    ok
}

/// Scenario 3: Carrier 1 is a TCP port nobody listens on: the refused connection is a
/// transport error (§16.9: counts as 503), carrier 2 gets the call at once.
#[test]
fn dead_tcp_gateway_fails_over_to_udp_carrier() {
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let gw = format!("{};transport=tcp", dead.local_addr().unwrap());
    drop(dead);
    let s = setup_opts(&Opts {
        gw1: Some(gw),
        ..Opts::default()
    });
    let mut caller = UdpSide::new(&s.sc, &s.uac);
    let mut c2 = UdpSide::new(&s.sc, &s.uas2);
    call(&s, "dead1");
    let (fwd, from) = c2.expect("INVITE sip:15551234567@");
    // The refused attempt never shows upstream: the first final is c2's 200.
    let ok = c2_answers_and_call_completes(&s, &mut caller, &mut c2, &fwd, from);
    assert!(header_values(&ok, "To")[0].contains("tag=b"));
    assert_eq!(attempts(&s.sc, "c1", "transport_error"), 1);
    assert_eq!(attempts(&s.sc, "c1", "timeout"), 0);
}

/// A UDP gateway the kernel refuses to send to (the broadcast address,
/// without SO_BROADCAST: EACCES): the INVITE goes out with the receive
/// thread's batched `sendmmsg`, whose failure is reported back as the
/// attempt's transport error, so the call fails over at once instead of
/// after the attempt timeout.
#[test]
fn udp_send_refused_by_the_kernel_fails_over_at_once() {
    let s = setup_opts(&Opts {
        gw1: Some("255.255.255.255:5060".into()),
        attempt_ms: 20_000,
        ..Opts::default()
    });
    let mut caller = UdpSide::new(&s.sc, &s.uac);
    let mut c2 = UdpSide::new(&s.sc, &s.uas2);
    let started = Instant::now();
    call(&s, "refused1");
    let (fwd, from) = c2.expect("INVITE sip:15551234567@");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "failed over only after {:?}",
        started.elapsed()
    );
    c2_answers_and_call_completes(&s, &mut caller, &mut c2, &fwd, from);
    assert_eq!(attempts(&s.sc, "c1", "transport_error"), 1);
    assert_eq!(attempts(&s.sc, "c1", "timeout"), 0);
}

/// Scenario 4: A TCP carrier that reads the INVITE and closes the connection without
/// answering: the call fails over to carrier 2. sipforge does not treat the
/// closed connection as a transport error of the pending attempt (RFC 3261
/// §18.2.2 lets a server answer over a new connection to the Via), so the
/// attempt timeout ends it.
#[test]
fn tcp_carrier_closing_without_answer_fails_over() {
    let (l, gw) = tcp_carrier();
    let s = setup_opts(&Opts {
        gw1: Some(gw),
        attempt_ms: 300,
        ..Opts::default()
    });
    let mut caller = UdpSide::new(&s.sc, &s.uac);
    let mut c2 = UdpSide::new(&s.sc, &s.uas2);
    call(&s, "close1");
    let mut c1 = TcpSide {
        sc: &s.sc,
        stream: accept(&l, Duration::from_secs(10)).expect("sipforge connects"),
    };
    c1.expect("INVITE sip:15551234567@");
    c1.stream.shutdown(std::net::Shutdown::Both).unwrap();
    drop(c1);
    let (fwd, from) = c2.expect("INVITE sip:15551234567@");
    c2_answers_and_call_completes(&s, &mut caller, &mut c2, &fwd, from);
    // No new connection to the closed carrier (no retransmission over TCP).
    assert!(accept(&l, QUIET).is_none());
    assert_eq!(attempts(&s.sc, "c1", "timeout"), 1);
}

/// Scenario 5: Garbage from carrier 1 (not SIP, a response with a broken Via, one
/// with no Via, one with a broken status line) is dropped (§18.1.2, §16.7
/// step 1): nothing goes upstream, the attempt timeout fails over.
#[test]
fn garbage_from_a_gateway_is_ignored_and_the_attempt_times_out() {
    let s = setup_opts(&Opts {
        attempt_ms: 300,
        ..Opts::default()
    });
    let mut caller = UdpSide::new(&s.sc, &s.uac);
    let mut c1 = UdpSide::new(&s.sc, &s.uas1);
    let mut c2 = UdpSide::new(&s.sc, &s.uas2);
    call(&s, "junk1");
    let (fwd, from) = c1.expect("INVITE sip:15551234567@");
    let uas1 = s.uas1.local_addr().unwrap();
    let top_via = header_values(&fwd, "Via")[0].clone();
    let branch = top_via.split(";branch=").nth(1).unwrap().to_string();
    let ringing = text(&response(&fwd, 180, "Ringing", "g", uas1));
    let ok = text(&response(&fwd, 200, "OK", "g", uas1));
    let junk: Vec<Vec<u8>> = vec![
        b"\x00\x01\x02 hello, this is not SIP\r\n\r\n".to_vec(),
        // Top Via without a sent-by, our branch kept.
        ringing
            .replacen(&top_via, &format!("SIP/2.0/UDP ;branch={branch}"), 1)
            .into_bytes(),
        // No Via at all.
        ok.lines()
            .filter(|l| !l.starts_with("Via:"))
            .map(|l| format!("{l}\r\n"))
            .collect::<String>()
            .into_bytes(),
        ok.replacen("SIP/2.0 200 OK", "SIP/2.0 2x0 OK", 1)
            .into_bytes(),
    ];
    for j in &junk {
        s.uas1.send_to(j, from).unwrap();
    }
    let (fwd2, from2) = c2.expect("INVITE sip:15551234567@");
    let uas2 = s.uas2.local_addr().unwrap();
    s.uas2
        .send_to(&response(&fwd2, 200, "OK", "b", uas2), from2)
        .unwrap();
    let (ok, _) = caller.expect("SIP/2.0 200 OK");
    assert!(header_values(&ok, "To")[0].contains("tag=b"));
    ack_and_bye_udp(&s, &mut caller, &mut c2, &ok);
    caller.quiet();
    // c1 saw its INVITE (and its retransmissions) only: no CANCEL, no ACK.
    c1.quiet();
    c2.quiet();
    assert_no_transactions(&s.sc);
    assert_eq!(attempts(&s.sc, "c1", "timeout"), 1);
}

/// Scenario 6: Duplicates: two 180s and three 200s (2xx retransmissions),
/// then a late 503. §16.7 step 5: every provisional other than 100 is forwarded, and so
/// is every 2xx (the client transaction passes 1xx up in Proceeding and 2xx
/// up in Accepted, RFC 6026); any other final after a 2xx is not.
#[test]
fn duplicate_responses_are_relayed_and_a_late_503_is_not() {
    let s = setup_opts(&Opts::default());
    let mut c1 = UdpSide::new(&s.sc, &s.uas1);
    let mut c2 = UdpSide::new(&s.sc, &s.uas2);
    call(&s, "dup1");
    let (fwd, from) = c1.expect("INVITE sip:15551234567@");
    let uas1 = s.uas1.local_addr().unwrap();
    let ringing = response(&fwd, 180, "Ringing", "d", uas1);
    let ok = response(&fwd, 200, "OK", "d", uas1);
    for m in [&ringing, &ringing, &ok, &ok, &ok] {
        s.uas1.send_to(m, from).unwrap();
    }
    s.uas1
        .send_to(&response(&fwd, 503, "Service Unavailable", "d", uas1), from)
        .unwrap();
    // Raw, in order: sipforge never repeats 1xx/2xx itself.
    let up = drain(&s.uac, QUIET);
    let lines: Vec<String> = up.iter().map(|m| first_line(m)).collect();
    assert_eq!(
        lines,
        [
            "SIP/2.0 180 Ringing",
            "SIP/2.0 180 Ringing",
            "SIP/2.0 200 OK",
            "SIP/2.0 200 OK",
            "SIP/2.0 200 OK"
        ],
        "log:\n{}",
        s.sc.log_text()
    );
    assert_eq!(up[2], up[3]);
    assert_eq!(up[2], up[4]);
    let mut caller = UdpSide::new(&s.sc, &s.uac);
    caller.seen = up.clone();
    ack_and_bye_udp(&s, &mut caller, &mut c1, &up[2]);
    caller.quiet();
    c1.quiet();
    c2.quiet();
    assert_no_transactions(&s.sc);
    assert_eq!(attempts(&s.sc, "c1", "200"), 1);
    assert_eq!(attempts(&s.sc, "c1", "503"), 0);
}

/// Scenario 7: Carrier 1 silent (attempt timeout, counts as 408 per §16.8), carrier 2
/// answers 486: no routes left, the best response goes up. Both are 4xx and
/// §16.7 step 6 lets the proxy pick any of the class: sipforge prefers a
/// carrier's answer to its own 408, so the callee's 486 goes up. Then carrier 1 sends a late
/// 200: §16.7 step 5, a proxy forwards every 2xx, even after a final went
/// upstream; the caller ACKs and BYEs that dialog (§13.2.2.4) through
/// sipforge to carrier 1.
#[test]
fn late_200_from_an_abandoned_attempt_is_relayed() {
    let s = setup_opts(&Opts {
        attempt_ms: 300,
        ..Opts::default()
    });
    let mut caller = UdpSide::new(&s.sc, &s.uac);
    let mut c1 = UdpSide::new(&s.sc, &s.uas1);
    let mut c2 = UdpSide::new(&s.sc, &s.uas2);
    let inv = call(&s, "late1");
    let (fwd1, from1) = c1.expect("INVITE sip:15551234567@");
    let (fwd2, from2) = c2.expect("INVITE sip:15551234567@");
    let (uas1, uas2) = (s.uas1.local_addr().unwrap(), s.uas2.local_addr().unwrap());
    s.uas2
        .send_to(&response(&fwd2, 486, "Busy Here", "busy", uas2), from2)
        .unwrap();
    c2.expect("ACK sip:15551234567@");
    let (busy, _) = caller.expect("SIP/2.0 486 Busy Here");
    assert!(header_values(&busy, "To")[0].contains("tag=busy"));
    assert_eq!(header_values(&busy, "Via").len(), 1);
    s.uac
        .send_to(&hop_request("ACK", &inv, &busy), s.sc.udp)
        .unwrap();
    s.uas1
        .send_to(&response(&fwd1, 200, "OK", "late", uas1), from1)
        .unwrap();
    let (ok, _) = caller.expect("SIP/2.0 200 OK");
    assert!(header_values(&ok, "To")[0].contains("tag=late"));
    assert_eq!(header_values(&ok, "Via").len(), 1);
    ack_and_bye_udp(&s, &mut caller, &mut c1, &ok);
    caller.quiet();
    c1.quiet();
    c2.quiet();
    assert_no_transactions(&s.sc);
    assert_eq!(dialogs(&s.sc), 0);
    assert_eq!(attempts(&s.sc, "c1", "timeout"), 1);
    assert_eq!(attempts(&s.sc, "c2", "486"), 1);
}

/// Scenario 8a: The caller's CANCEL arrives after the 200 went up: 200 for the CANCEL
/// (§9.2: it matched the INVITE), nothing sent downstream, no 487; the dialog
/// goes on.
#[test]
fn cancel_after_the_200_gets_200_and_no_487() {
    let s = setup_opts(&Opts::default());
    let mut caller = UdpSide::new(&s.sc, &s.uac);
    let mut c1 = UdpSide::new(&s.sc, &s.uas1);
    let inv = call(&s, "race1");
    let (fwd, from) = c1.expect("INVITE sip:15551234567@");
    let uas1 = s.uas1.local_addr().unwrap();
    s.uas1
        .send_to(&response(&fwd, 180, "Ringing", "r", uas1), from)
        .unwrap();
    s.uas1
        .send_to(&response(&fwd, 200, "OK", "r", uas1), from)
        .unwrap();
    caller.expect("SIP/2.0 180 Ringing");
    let (ok, _) = caller.expect("SIP/2.0 200 OK");
    caller.cancel(&inv, s.sc.udp);
    ack_and_bye_udp(&s, &mut caller, &mut c1, &ok);
    // The table empties after timer L (64·T1), scheduled after the 200: any
    // 487 or CANCEL would have left by then. Still none.
    assert_no_transactions(&s.sc);
    caller.quiet();
    c1.quiet();
    assert_eq!(dialogs(&s.sc), 0);
}

/// Scenario 8b: CANCEL and 200 cross: sipforge has CANCELled the attempt when the
/// carrier's 200 (sent before it saw the CANCEL) arrives. The 200 is relayed
/// (§16.7 step 5; §9.1: a CANCEL cannot undo a 2xx), the carrier answers its
/// CANCEL with 200, no 487 ever goes up, ACK and BYE pass.
#[test]
fn cancel_crossing_a_200_relays_the_200_and_no_487() {
    let s = setup_opts(&Opts::default());
    let mut caller = UdpSide::new(&s.sc, &s.uac);
    let mut c1 = UdpSide::new(&s.sc, &s.uas1);
    let mut c2 = UdpSide::new(&s.sc, &s.uas2);
    let inv = call(&s, "race2");
    let (fwd, from) = c1.expect("INVITE sip:15551234567@");
    let uas1 = s.uas1.local_addr().unwrap();
    s.uas1
        .send_to(&response(&fwd, 180, "Ringing", "r", uas1), from)
        .unwrap();
    caller.expect("SIP/2.0 180 Ringing");
    caller.cancel(&inv, s.sc.udp);
    // The carrier answers before reading the CANCEL.
    s.uas1
        .send_to(&response(&fwd, 200, "OK", "r", uas1), from)
        .unwrap();
    let (cancel, cfrom) = c1.expect("CANCEL sip:15551234567@");
    assert_eq!(
        header_values(&cancel, "Via"),
        header_values(&fwd, "Via")[..1]
    );
    s.uas1
        .send_to(&response(&cancel, 200, "OK", "r", uas1), cfrom)
        .unwrap();
    let (ok, _) = caller.expect("SIP/2.0 200 OK");
    assert!(is_response(&ok, 200, "INVITE"), "{}", text(&ok));
    ack_and_bye_udp(&s, &mut caller, &mut c1, &ok);
    // The CANCEL guard (32·T1) was armed before the 200, timer L (64·T1)
    // after it: once the table is empty, a 487 of our own would have left.
    assert_no_transactions(&s.sc);
    caller.quiet();
    c1.quiet();
    c2.quiet();
    assert_eq!(dialogs(&s.sc), 0);
}

/// Scenario 9: 603 Decline with a route left: relayed, no failover (`no_failover_on`).
#[test]
fn decline_603_is_relayed_without_failover() {
    let s = setup_opts(&Opts::default());
    let mut caller = UdpSide::new(&s.sc, &s.uac);
    let mut c1 = UdpSide::new(&s.sc, &s.uas1);
    let mut c2 = UdpSide::new(&s.sc, &s.uas2);
    let inv = call(&s, "dec1");
    let (fwd, from) = c1.expect("INVITE sip:15551234567@");
    let uas1 = s.uas1.local_addr().unwrap();
    s.uas1
        .send_to(&response(&fwd, 603, "Decline", "no", uas1), from)
        .unwrap();
    let (ack, _) = c1.expect("ACK sip:15551234567@");
    assert_eq!(header_values(&ack, "Via"), header_values(&fwd, "Via")[..1]);
    let (declined, _) = caller.expect("SIP/2.0 603 Decline");
    assert!(header_values(&declined, "To")[0].contains("tag=no"));
    assert_eq!(header_values(&declined, "Via").len(), 1);
    s.uac
        .send_to(&hop_request("ACK", &inv, &declined), s.sc.udp)
        .unwrap();
    caller.quiet();
    c1.quiet();
    c2.quiet();
    assert_no_transactions(&s.sc);
    assert_eq!(attempts(&s.sc, "c1", "603"), 1);
}

/// `n` calls (Call-IDs `{prefix}0`…) that ring at carrier `c1`: the
/// caller's INVITE, the forwarded one, where it came from.
fn ring_calls(
    s: &Setup,
    caller: &mut UdpSide<'_>,
    c1: &mut UdpSide<'_>,
    prefix: &str,
    n: usize,
) -> Vec<(Vec<u8>, Vec<u8>, SocketAddr)> {
    let local = s.uac.local_addr().unwrap();
    let uas1 = s.uas1.local_addr().unwrap();
    (0..n)
        .map(|i| {
            let id = format!("{prefix}{i}");
            let inv = invite("15551234567", &id, &id, local);
            s.uac.send_to(&inv, s.sc.udp).unwrap();
            caller.expect("SIP/2.0 100 Trying");
            let (fwd, from) = c1.expect("INVITE sip:15551234567@");
            assert_eq!(header_values(&fwd, "Call-ID"), vec![id]);
            s.uas1
                .send_to(&response(&fwd, 180, "Ringing", prefix, uas1), from)
                .unwrap();
            caller.expect("SIP/2.0 180 Ringing");
            (inv, fwd, from)
        })
        .collect()
}

/// Scenario 10: `max_transactions = 16` (the lowest the config accepts): eight
/// ringing calls hold 16 transactions (server + client each); the ninth
/// INVITE gets 503 at once, without 100 and without reaching the carrier.
/// Once the calls end, a new call goes through.
#[test]
fn full_table_answers_503_and_recovers() {
    let s = setup_opts(&Opts {
        carriers: "\"c1\"",
        proxy_extra: "max_transactions = 16",
        ..Opts::default()
    });
    let local = s.uac.local_addr().unwrap();
    let uas1 = s.uas1.local_addr().unwrap();
    let mut caller = UdpSide::new(&s.sc, &s.uac);
    let mut c1 = UdpSide::new(&s.sc, &s.uas1);
    let calls = ring_calls(&s, &mut caller, &mut c1, "full", 8);
    assert_eq!(
        metric(admin_addr(&s.sc), "sipforge_transactions_active "),
        16
    );
    let inv9 = invite("15551234567", "full8", "full8", local);
    s.uac.send_to(&inv9, s.sc.udp).unwrap();
    let (refused, _) = caller.expect("SIP/2.0 503 Service Unavailable");
    assert_eq!(header_values(&refused, "Call-ID"), vec!["full8"]);
    assert!(header_values(&refused, "To")[0].contains("tag="));
    s.uac
        .send_to(&hop_request("ACK", &inv9, &refused), s.sc.udp)
        .unwrap();
    c1.quiet();
    for (inv, fwd, from) in &calls {
        s.uas1
            .send_to(&response(fwd, 486, "Busy Here", "f", uas1), *from)
            .unwrap();
        c1.expect("ACK sip:15551234567@");
        let (busy, _) = caller.expect("SIP/2.0 486 Busy Here");
        assert_eq!(
            header_values(&busy, "Call-ID"),
            header_values(inv, "Call-ID")
        );
        s.uac
            .send_to(&hop_request("ACK", inv, &busy), s.sc.udp)
            .unwrap();
    }
    assert_no_transactions(&s.sc);
    call(&s, "after");
    let (fwd, from) = c1.expect("INVITE sip:15551234567@");
    assert_eq!(header_values(&fwd, "Call-ID"), vec!["after"]);
    s.uas1
        .send_to(&response(&fwd, 200, "OK", "a", uas1), from)
        .unwrap();
    let (ok, _) = caller.expect("SIP/2.0 200 OK");
    ack_and_bye_udp(&s, &mut caller, &mut c1, &ok);
    c1.quiet();
    assert_no_transactions(&s.sc);
}

/// Scenario 11: BYE from the callee: Request-URI = the caller's Contact, Route = the
/// Record-Route of the INVITE in order (§12.1.1); sipforge removes its Route
/// (§16.4) and forwards to the caller, whose 200 goes back by Via.
#[test]
fn bye_from_the_callee_reaches_the_caller() {
    let s = setup_opts(&Opts::default());
    let mut caller = UdpSide::new(&s.sc, &s.uac);
    let mut c1 = UdpSide::new(&s.sc, &s.uas1);
    let inv = call(&s, "cbye1");
    let (fwd, from) = c1.expect("INVITE sip:15551234567@");
    let uas1 = s.uas1.local_addr().unwrap();
    s.uas1
        .send_to(&response(&fwd, 200, "OK", "cb", uas1), from)
        .unwrap();
    let (ok, _) = caller.expect("SIP/2.0 200 OK");
    let local = s.uac.local_addr().unwrap();
    s.uac
        .send_to(&in_dialog("ACK", 1, &ok, local, "cbyeack"), s.sc.udp)
        .unwrap();
    c1.expect(&format!("ACK sip:uas@{uas1} SIP/2.0"));
    // The callee's BYE, as a UAS that got `fwd` and answered `ok` writes it.
    let caller_contact = header_values(&inv, "Contact")[0].clone();
    let caller_uri = caller_contact.trim_start_matches('<').trim_end_matches('>');
    let mut bye = format!(
        "BYE {caller_uri} SIP/2.0\r\nVia: SIP/2.0/UDP {uas1};branch=z9hG4bKcalleebye;rport\r\nMax-Forwards: 70\r\n"
    );
    for rr in header_values(&fwd, "Record-Route") {
        bye += &format!("Route: {rr}\r\n");
    }
    bye += &format!(
        "From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
        header_values(&ok, "To")[0],
        header_values(&fwd, "From")[0],
        header_values(&fwd, "Call-ID")[0],
    );
    s.uas1.send_to(bye.as_bytes(), s.sc.udp).unwrap();
    let (got, bye_from) = caller.expect(&format!("BYE {caller_uri} SIP/2.0"));
    assert!(header_values(&got, "Route").is_empty(), "{}", text(&got));
    assert!(header_values(&got, "Record-Route").is_empty());
    assert_eq!(header_values(&got, "Max-Forwards"), vec!["69"]);
    let vias = header_values(&got, "Via");
    assert_eq!(vias.len(), 2, "{}", text(&got));
    assert!(vias[0].starts_with(&format!("SIP/2.0/UDP {}", s.sc.udp)));
    assert!(vias[1].starts_with(&format!("SIP/2.0/UDP {uas1};branch=z9hG4bKcalleebye")));
    assert_eq!(header_values(&got, "From"), header_values(&ok, "To"));
    s.uac
        .send_to(&response(&got, 200, "OK", "x", local), bye_from)
        .unwrap();
    let (bye_ok, _) = c1.expect("SIP/2.0 200 OK");
    assert!(is_response(&bye_ok, 200, "BYE"), "{}", text(&bye_ok));
    assert_eq!(header_values(&bye_ok, "Via").len(), 1);
    caller.quiet();
    c1.quiet();
    assert_no_transactions(&s.sc);
    assert_eq!(dialogs(&s.sc), 0);
}

/// Scenario 12: CANCEL from a TCP caller during ringing (UDP carrier): 200 for the
/// CANCEL and the 487 over the caller's connection, no failover.
#[test]
fn cancel_over_tcp_during_ringing_gives_487() {
    let s = setup_opts(&Opts::default());
    let mut c1 = UdpSide::new(&s.sc, &s.uas1);
    let mut c2 = UdpSide::new(&s.sc, &s.uas2);
    let mut caller = TcpSide {
        sc: &s.sc,
        stream: tcp_connect(s.sc.tcp),
    };
    let local = caller.stream.local_addr().unwrap();
    let inv = over_tcp(&invite("15551234567", "tcx1", "tcx1", local));
    caller.send(&inv);
    caller.expect("SIP/2.0 100 Trying");
    let (fwd, from) = c1.expect("INVITE sip:15551234567@");
    let uas1 = s.uas1.local_addr().unwrap();
    s.uas1
        .send_to(&response(&fwd, 180, "Ringing", "tc", uas1), from)
        .unwrap();
    caller.expect("SIP/2.0 180 Ringing");
    caller.send(&hop_request("CANCEL", &inv, &inv));
    let cancel_ok = caller.expect("SIP/2.0 200 OK");
    assert!(
        is_response(&cancel_ok, 200, "CANCEL"),
        "{}",
        text(&cancel_ok)
    );
    let (cancel, cfrom) = c1.expect("CANCEL sip:15551234567@");
    s.uas1
        .send_to(&response(&cancel, 200, "OK", "tc", uas1), cfrom)
        .unwrap();
    s.uas1
        .send_to(&response(&fwd, 487, "Request Terminated", "tc", uas1), from)
        .unwrap();
    c1.expect("ACK sip:15551234567@");
    let terminated = caller.expect("SIP/2.0 487 Request Terminated");
    assert!(header_values(&terminated, "Via")[0].starts_with("SIP/2.0/TCP"));
    caller.send(&hop_request("ACK", &inv, &terminated));
    caller.quiet();
    c1.quiet();
    c2.quiet();
    assert_no_transactions(&s.sc);
    assert_eq!(attempts(&s.sc, "c1", "487"), 1);
}

/// Scenario 10b: The table fills between the server and the client transaction of a
/// call (15 held: six ringing calls and a cancelled one whose CANCEL the
/// carrier ignores). The new call's server transaction takes the last place,
/// its attempt cannot: sipforge itself is overloaded, so the caller must get
/// 503 (§21.5.4), not a 500 that §16.7 step 6 reserves for a relayed
/// downstream 503, and the carrier must not be counted as failing.
#[test]
fn table_full_at_the_attempt_answers_503() {
    let s = setup_opts(&Opts {
        carriers: "\"c1\"",
        proxy_extra: "max_transactions = 16",
        ..Opts::default()
    });
    let local = s.uac.local_addr().unwrap();
    let uas1 = s.uas1.local_addr().unwrap();
    let mut caller = UdpSide::new(&s.sc, &s.uac);
    let mut c1 = UdpSide::new(&s.sc, &s.uas1);
    let calls = ring_calls(&s, &mut caller, &mut c1, "half", 7);
    s.uac
        .send_to(&hop_request("CANCEL", &calls[6].0, &calls[6].0), s.sc.udp)
        .unwrap();
    caller.expect("SIP/2.0 200 OK");
    let (cancel, cfrom) = c1.expect("CANCEL sip:15551234567@");
    assert_eq!(
        metric(admin_addr(&s.sc), "sipforge_transactions_active "),
        15
    );
    let inv = invite("15551234567", "half7", "half7", local);
    s.uac.send_to(&inv, s.sc.udp).unwrap();
    caller.expect("SIP/2.0 100 Trying");
    let (refused, _) = caller.expect("SIP/2.0 ");
    assert_eq!(header_values(&refused, "Call-ID"), vec!["half7"]);
    assert_eq!(
        first_line(&refused),
        "SIP/2.0 503 Service Unavailable",
        "{}",
        text(&refused)
    );
    assert_eq!(attempts(&s.sc, "c1", "transport_error"), 0);
    s.uac
        .send_to(&hop_request("ACK", &inv, &refused), s.sc.udp)
        .unwrap();
    // End every call: 486 for the ringing ones, 200 + 487 for the cancelled.
    s.uas1
        .send_to(&response(&cancel, 200, "OK", "h", uas1), cfrom)
        .unwrap();
    for (i, (_, fwd, from)) in calls.iter().enumerate() {
        let (code, reason) = if i == 6 {
            (487, "Request Terminated")
        } else {
            (486, "Busy Here")
        };
        s.uas1
            .send_to(&response(fwd, code, reason, "h", uas1), *from)
            .unwrap();
    }
    // Every call ends upstream, in any order (the cancelled one with 487:
    // the carrier's, or sipforge's own if the CANCEL guard fired first);
    // the caller ACKs each.
    let mut ended = std::collections::HashSet::new();
    while ended.len() < calls.len() {
        let (end, _) = caller.expect("SIP/2.0 48");
        let id = header_values(&end, "Call-ID")[0].clone();
        let inv = &calls
            .iter()
            .find(|(inv, ..)| header_values(inv, "Call-ID")[0] == id)
            .expect("a final for one of the calls")
            .0;
        let want = if id == "half6" { "487" } else { "486" };
        assert!(
            first_line(&end).starts_with(&format!("SIP/2.0 {want} ")),
            "{}",
            text(&end)
        );
        s.uac
            .send_to(&hop_request("ACK", inv, &end), s.sc.udp)
            .unwrap();
        ended.insert(id);
    }
    // The carrier got its finals ACKed hop by hop (and, at most, the CANCEL
    // again); nothing else.
    let rest = drain(&s.uas1, QUIET);
    let acks = rest.iter().filter(|m| m.starts_with(b"ACK ")).count();
    assert!(acks >= 6, "{acks} ACKs");
    assert!(
        rest.iter()
            .all(|m| m.starts_with(b"ACK ") || m.starts_with(b"CANCEL ")),
        "{:?}",
        rest.iter().map(|m| first_line(m)).collect::<Vec<_>>()
    );
    caller.quiet();
    assert_no_transactions(&s.sc);
}

/// A carrier that rings, then goes silent: it answers neither the CANCEL
/// nor the INVITE. The caller gets 200 for its CANCEL and, after the CANCEL
/// guard, sipforge's own 487. Downstream, the CANCEL's non-INVITE client
/// transaction must end with timer F (64·T1, §17.1.2.2) and the INVITE client
/// transaction 64·T1 after the CANCEL (§9.1): no state and no
/// retransmissions remain.
#[test]
fn ringing_gateway_going_silent_leaves_no_state() {
    let s = setup_opts(&Opts {
        carriers: "\"c1\"",
        ..Opts::default()
    });
    let mut caller = UdpSide::new(&s.sc, &s.uac);
    let mut c1 = UdpSide::new(&s.sc, &s.uas1);
    let inv = call(&s, "mute1");
    let (fwd, from) = c1.expect("INVITE sip:15551234567@");
    let uas1 = s.uas1.local_addr().unwrap();
    s.uas1
        .send_to(&response(&fwd, 180, "Ringing", "m", uas1), from)
        .unwrap();
    caller.expect("SIP/2.0 180 Ringing");
    caller.cancel(&inv, s.sc.udp);
    c1.expect("CANCEL sip:15551234567@");
    let (terminated, _) = caller.expect("SIP/2.0 487 Request Terminated");
    assert_eq!(
        header_values(&terminated, "Server"),
        vec![format!("sipforge/{}", env!("CARGO_PKG_VERSION"))]
    );
    s.uac
        .send_to(&hop_request("ACK", &inv, &terminated), s.sc.udp)
        .unwrap();
    assert_no_transactions(&s.sc);
    caller.quiet();
    c1.quiet();
}
