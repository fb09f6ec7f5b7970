//! Redirect mode end to end: the real binary on ephemeral loopback ports,
//! driven by raw UDP and TCP sockets.

mod common;

use std::io::Write;
use std::time::Duration;

use common::{Sidecar, header_values, invite, recv, status, udp_client, udp_exchange};

fn request(
    method: &str,
    ruri: &str,
    local: std::net::SocketAddr,
    call_id: &str,
    extra: &str,
) -> Vec<u8> {
    format!(
        "{method} {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{call_id};rport\r\nMax-Forwards: 70\r\nFrom: <sip:15550001111@127.0.0.1>;tag=f{call_id}\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: {call_id}\r\nCSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn invite_gets_302_with_one_contact_per_gateway_in_order() {
    let sc = Sidecar::start();
    let sock = udp_client("127.0.0.1:0");
    let local = sock.local_addr().unwrap();
    let r = udp_exchange(&sock, sc.udp, &invite("+15551234567", "c1", "b1", local)).expect("reply");
    assert_eq!(status(&r), 302, "{}", String::from_utf8_lossy(&r));
    assert!(String::from_utf8_lossy(&r).starts_with("SIP/2.0 302 Moved Temporarily\r\n"));
    assert_eq!(
        header_values(&r, "Contact"),
        vec![
            "<sip:15551234567@198.51.100.10:5060>;q=1.0",
            "<sip:15551234567@198.51.100.11:5060;transport=tcp>;q=0.9",
            "<sip:15551234567@[2001:db8::5]:5080>;q=0.8",
        ]
    );
    let to = header_values(&r, "To");
    assert!(
        to[0].starts_with("<sip:+15551234567@127.0.0.1>;tag="),
        "{to:?}"
    );
    let via = &header_values(&r, "Via")[0];
    assert!(
        via.contains(&format!(";rport={};received=127.0.0.1", local.port())),
        "{via}"
    );
    assert_eq!(header_values(&r, "Call-ID"), vec!["c1"]);
    assert_eq!(header_values(&r, "CSeq"), vec!["1 INVITE"]);
    assert_eq!(header_values(&r, "Content-Length"), vec!["0"]);
}

#[test]
fn longest_prefix_wins_and_tel_uris_route() {
    let sc = Sidecar::start();
    let sock = udp_client("127.0.0.1:0");
    let local = sock.local_addr().unwrap();
    let r = udp_exchange(&sock, sc.udp, &invite("442079460000", "c2", "b2", local)).unwrap();
    assert_eq!(status(&r), 302);
    assert_eq!(
        header_values(&r, "Contact"),
        vec!["<sip:442079460000@[2001:db8::5]:5080>;q=1.0"]
    );
    let tel = request("INVITE", "tel:+1-555-123-4567", local, "c3", "");
    let r = udp_exchange(&sock, sc.udp, &tel).unwrap();
    assert_eq!(status(&r), 302, "{}", String::from_utf8_lossy(&r));
    assert_eq!(header_values(&r, "Contact").len(), 3);
    assert!(header_values(&r, "Contact")[0].starts_with("<sip:15551234567@"));
}

#[test]
fn no_route_is_404() {
    let sc = Sidecar::start();
    let sock = udp_client("127.0.0.1:0");
    let local = sock.local_addr().unwrap();
    let r = udp_exchange(&sock, sc.udp, &invite("999123", "c4", "b4", local)).unwrap();
    assert_eq!(status(&r), 404);
    assert!(header_values(&r, "Contact").is_empty());
}

#[test]
fn retransmission_gets_the_same_302_and_ack_is_absorbed() {
    let sc = Sidecar::start();
    let sock = udp_client("127.0.0.1:0");
    let local = sock.local_addr().unwrap();
    let inv = invite("15551234567", "c5", "b5", local);
    let first = udp_exchange(&sock, sc.udp, &inv).unwrap();
    let again = udp_exchange(&sock, sc.udp, &inv).unwrap();
    assert_eq!(
        first, again,
        "a retransmission must get a byte-identical 302"
    );
    let to = &header_values(&first, "To")[0];
    let ack = format!(
        "ACK sip:15551234567@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKb5;rport\r\nMax-Forwards: 70\r\nFrom: \"Alice\" <sip:15550001111@127.0.0.1>;tag=tb5\r\nTo: {to}\r\nCall-ID: c5\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
    );
    sock.send_to(ack.as_bytes(), sc.udp).unwrap();
    // The next datagram we get must be the OPTIONS answer, not anything for the ACK.
    let r = udp_exchange(
        &sock,
        sc.udp,
        &request("OPTIONS", "sip:127.0.0.1", local, "c5probe", ""),
    )
    .unwrap();
    assert_eq!(status(&r), 200);
    assert_eq!(header_values(&r, "Call-ID"), vec!["c5probe"]);
}

#[test]
fn stranger_gets_403_at_its_own_address_whatever_its_via_says() {
    let sc = Sidecar::start();
    let sock = udp_client("127.0.0.2:0");
    // Via claims another host and port, without rport.
    let msg = String::from_utf8(invite(
        "15551234567",
        "c6",
        "b6",
        "192.0.2.66:5099".parse().unwrap(),
    ))
    .unwrap()
    .replace(";rport", "");
    let r = udp_exchange(&sock, sc.udp, msg.as_bytes()).expect("403 comes back to the source");
    assert_eq!(status(&r), 403);
    assert!(header_values(&r, "Via")[0].contains("received=127.0.0.2"));
}

#[test]
fn customer_without_rport_is_answered_at_the_via_port() {
    let sc = Sidecar::start();
    let sender = udp_client("127.0.0.1:0");
    let listener = udp_client("127.0.0.1:0");
    let via_addr = listener.local_addr().unwrap();
    let msg = String::from_utf8(invite("15551234567", "c7", "b7", via_addr))
        .unwrap()
        .replace(";rport", "");
    sender.send_to(msg.as_bytes(), sc.udp).unwrap();
    let r = recv(&listener).expect("response goes to the Via sent-by port (RFC 3261 §18.2.2)");
    assert_eq!(status(&r), 302);
}

#[test]
fn methods_outside_invite() {
    let sc = Sidecar::start();
    let sock = udp_client("127.0.0.1:0");
    let local = sock.local_addr().unwrap();
    let cases = [
        ("OPTIONS", "sip:127.0.0.1", "", 200),
        ("CANCEL", "sip:15551234567@127.0.0.1", "", 481),
        ("BYE", "sip:15551234567@127.0.0.1", "", 481),
        ("REGISTER", "sip:127.0.0.1", "", 405),
        ("SUBSCRIBE", "sip:127.0.0.1", "", 405),
        ("FOO", "sip:127.0.0.1", "", 501),
        (
            "OPTIONS",
            "sip:127.0.0.1",
            "Proxy-Require: foo, bar\r\n",
            420,
        ),
        (
            "INVITE",
            "sip:15551234567@127.0.0.1",
            "Max-Forwards: 0\r\n",
            400,
        ), // two Max-Forwards
        ("INVITE", "http://example.com/", "", 416),
    ];
    for (i, (method, ruri, extra, want)) in cases.iter().enumerate() {
        let r = udp_exchange(
            &sock,
            sc.udp,
            &request(method, ruri, local, &format!("m{i}"), extra),
        )
        .unwrap();
        assert_eq!(
            status(&r),
            *want,
            "{method} {extra}: {}",
            String::from_utf8_lossy(&r)
        );
        if *want == 405 || *want == 501 || *want == 200 {
            assert_eq!(
                header_values(&r, "Allow"),
                vec!["INVITE, ACK, CANCEL, OPTIONS"]
            );
        }
        if *want == 420 {
            assert_eq!(header_values(&r, "Unsupported"), vec!["foo, bar"]);
        }
    }
    let mf0 = String::from_utf8(invite("15551234567", "mf0", "mf0", local))
        .unwrap()
        .replace("Max-Forwards: 70", "Max-Forwards: 0");
    let r = udp_exchange(&sock, sc.udp, mf0.as_bytes()).unwrap();
    assert_eq!(status(&r), 483);
    // In-dialog request (To-tag): no dialogs in redirect mode.
    let indialog = String::from_utf8(invite("15551234567", "dlg", "dlg", local))
        .unwrap()
        .replace(
            "To: <sip:15551234567@127.0.0.1>",
            "To: <sip:15551234567@127.0.0.1>;tag=abc",
        );
    let r = udp_exchange(&sock, sc.udp, indialog.as_bytes()).unwrap();
    assert_eq!(status(&r), 481);
}

#[test]
fn malformed_requests_get_400_naming_the_problem() {
    let sc = Sidecar::start();
    let sock = udp_client("127.0.0.1:0");
    let local = sock.local_addr().unwrap();
    let base = String::from_utf8(invite("15551234567", "bad", "bad", local)).unwrap();
    let cases = [
        (base.replace("Call-ID: bad\r\n", ""), "missing Call-ID"),
        (base.replace("CSeq: 1 INVITE", "CSeq: 1 BYE"), "CSeq method"),
        (base.replace("From: \"Alice\"", "From: \"Alice"), "From"),
        (
            base.replace("Content-Length: ", "Content-Length: 9"),
            "Content-Length",
        ),
    ];
    for (msg, want) in cases {
        let r = udp_exchange(&sock, sc.udp, msg.as_bytes()).unwrap();
        assert_eq!(status(&r), 400);
        let line = String::from_utf8_lossy(&r)
            .lines()
            .next()
            .unwrap()
            .to_string();
        assert!(line.contains(want), "{line} should name {want}");
    }
}

#[test]
fn oversized_message_gets_513_and_garbage_is_dropped() {
    let config = common::TEST_CONFIG.replace(
        "mode = \"redirect\"",
        "mode = \"redirect\"\n\n[sip]\nmax_message_bytes = 1024",
    );
    let mut sc = Sidecar::start_with(&config);
    let sock = udp_client("127.0.0.1:0");
    let local = sock.local_addr().unwrap();
    let big = String::from_utf8(invite("15551234567", "big", "big", local))
        .unwrap()
        .replace(
            "Max-Forwards: 70\r\n",
            &format!("Max-Forwards: 70\r\nX-Pad: {}\r\n", "p".repeat(1500)),
        );
    let r = udp_exchange(&sock, sc.udp, big.as_bytes()).unwrap();
    assert_eq!(status(&r), 513);
    for junk in [
        &b"\x00\x01\x02\x03"[..],
        b"hello world",
        b"SIP/2.0 99999 x\r\n\r\n",
        b"\r\n\r\n",
        &[0xff; 2000],
    ] {
        sock.send_to(junk, sc.udp).unwrap();
    }
    let r = udp_exchange(
        &sock,
        sc.udp,
        &request("OPTIONS", "sip:127.0.0.1", local, "after-junk", ""),
    )
    .unwrap();
    assert_eq!(header_values(&r, "Call-ID"), vec!["after-junk"]);
    assert!(sc.alive());
}

#[test]
fn tcp_framing_keepalive_and_errors() {
    let sc = Sidecar::start();
    let mut a = common::tcp_connect(sc.tcp);
    let local = a.local_addr().unwrap();
    // Two messages in one write, then one message split across writes.
    let mut two = String::from_utf8(invite("15551234567", "t1", "t1", local))
        .unwrap()
        .replace("UDP", "TCP");
    two.push_str(
        &String::from_utf8(request("OPTIONS", "sip:127.0.0.1", local, "t2", ""))
            .unwrap()
            .replace("UDP", "TCP"),
    );
    common::tcp_send(&mut a, two.as_bytes());
    let r1 = common::tcp_read_message(&mut a).unwrap();
    let r2 = common::tcp_read_message(&mut a).unwrap();
    assert_eq!((status(&r1), status(&r2)), (302, 200));
    let split = String::from_utf8(invite("15551234567", "t3", "t3", local))
        .unwrap()
        .replace("UDP", "TCP");
    let (x, y) = split.as_bytes().split_at(100);
    common::tcp_send(&mut a, x);
    // Meanwhile a second connection is served: a slow peer stalls only itself.
    let mut b = common::tcp_connect(sc.tcp);
    let bl = b.local_addr().unwrap();
    common::tcp_send(
        &mut b,
        &request("OPTIONS", "sip:127.0.0.1", bl, "other", ""),
    );
    assert_eq!(status(&common::tcp_read_message(&mut b).unwrap()), 200);
    std::thread::sleep(Duration::from_millis(50));
    common::tcp_send(&mut a, y);
    assert_eq!(status(&common::tcp_read_message(&mut a).unwrap()), 302);
    // RFC 5626 keep-alive: double CRLF ping gets a CRLF pong.
    a.write_all(b"\r\n\r\n").unwrap();
    let mut pong = [0u8; 2];
    std::io::Read::read_exact(&mut a, &mut pong).unwrap();
    assert_eq!(&pong, b"\r\n");
    // Negative Content-Length: 400, then the connection is closed.
    let bad = String::from_utf8(request("OPTIONS", "sip:127.0.0.1", local, "t4", ""))
        .unwrap()
        .replace("Content-Length: 0", "Content-Length: -999");
    common::tcp_send(&mut a, bad.as_bytes());
    let r = common::tcp_read_message(&mut a).unwrap();
    assert_eq!(status(&r), 400);
    let mut rest = Vec::new();
    let n = std::io::Read::read_to_end(&mut a, &mut rest).unwrap_or(0);
    assert_eq!(n, 0, "connection must be closed after a framing error");
}

#[test]
fn tcp_idle_connections_are_closed() {
    let config = common::TEST_CONFIG.replace(
        "mode = \"redirect\"",
        "mode = \"redirect\"\n\n[sip]\ntcp_idle_timeout_secs = 1",
    );
    let sc = Sidecar::start_with(&config);
    let mut a = common::tcp_connect(sc.tcp);
    a.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 16];
    let n = std::io::Read::read(&mut a, &mut buf).unwrap_or(0);
    assert_eq!(n, 0);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed by the idle timeout, not the test's"
    );
}

#[test]
fn ipv6_listener_and_customer() {
    let config = common::TEST_CONFIG
        .replace(
            "listen_udp = [\"127.0.0.1:0\"]",
            "listen_udp = [\"127.0.0.1:0\", \"[::1]:0\"]",
        )
        .replace(
            "sources = [\"127.0.0.1/32\"]",
            "sources = [\"127.0.0.1/32\", \"::1/128\"]",
        );
    let sc = Sidecar::start_with(&config);
    // The harness records the first UDP address; find the v6 one in the log.
    let log = sc.log_text();
    let v6: std::net::SocketAddr = log
        .lines()
        .filter_map(|l| l.split("listening on udp ").nth(1))
        .map(|a| a.trim().parse().unwrap())
        .find(|a: &std::net::SocketAddr| a.is_ipv6())
        .expect("v6 listener");
    let sock = udp_client("[::1]:0");
    let local = sock.local_addr().unwrap();
    let r = udp_exchange(&sock, v6, &invite("15551234567", "v6", "v6", local)).unwrap();
    assert_eq!(status(&r), 302);
    assert!(header_values(&r, "Via")[0].contains("received=::1"));
}

/// `GET` over plain HTTP/1.1 on the admin listener; returns the body.
fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out.split_once("\r\n\r\n").unwrap().1.to_string()
}

#[test]
fn metrics_count_requests_decisions_and_garbage() {
    let config = common::TEST_CONFIG.replace(
        "mode = \"redirect\"",
        "mode = \"redirect\"\nadmin_listen = \"127.0.0.1:0\"",
    );
    let sc = Sidecar::start_with(&config);
    let admin: std::net::SocketAddr = sc
        .log_text()
        .lines()
        .find_map(|l| l.split("listening on admin http://").nth(1))
        .expect("admin listener logged")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(http_get(admin, "/healthz"), "ok\n");
    let sock = udp_client("127.0.0.1:0");
    let local = sock.local_addr().unwrap();
    sock.send_to(b"\x16\x03\x01 not sip", sc.udp).unwrap();
    assert_eq!(
        status(&udp_exchange(&sock, sc.udp, &invite("15551234567", "m1", "m1", local)).unwrap()),
        302
    );
    assert_eq!(
        status(&udp_exchange(&sock, sc.udp, &invite("999", "m2", "m2", local)).unwrap()),
        404
    );
    let text = http_get(admin, "/metrics");
    for want in [
        "sipforge_parse_errors_total{kind=\"garbage\"} 1",
        "sipforge_sip_requests_total{method=\"INVITE\",transport=\"udp\"} 2",
        "sipforge_sip_responses_total{code=\"302\",transport=\"udp\"} 1",
        "sipforge_routing_outcomes_total{customer=\"acme\",outcome=\"redirected\"} 1",
        "sipforge_routing_outcomes_total{customer=\"acme\",outcome=\"no_route\"} 1",
    ] {
        assert!(text.contains(want), "missing {want} in:\n{text}");
    }
}

#[test]
fn sigterm_stops_cleanly_with_exit_code_zero() {
    let mut sc = Sidecar::start();
    let sock = udp_client("127.0.0.1:0");
    let local = sock.local_addr().unwrap();
    assert_eq!(
        status(&udp_exchange(&sock, sc.udp, &invite("15551234567", "st", "st", local)).unwrap()),
        302
    );
    let status = sc.terminate();
    assert_eq!(status.code(), Some(0), "{}", sc.log_text());
    assert!(sc.log_text().contains("SIGTERM received"));
}
