//! Proxy mode end to end over UDP: the real binary between a minimal UAC and
//! minimal UASes (std sockets, `tests/common/proxy_udp.rs`), with failover, timeouts,
//! CANCEL, and the transaction table checked empty after every scenario
//! (`sipforge_transactions_active` on the admin listener).

mod common;
#[path = "common/proxy_udp.rs"]
mod proxy_udp;

use std::net::TcpStream;
use std::time::Duration;

use common::{admin_addr, header_values, invite, metric, status};
use proxy_udp::{
    call, first_line, hang_up, hop_request, in_dialog, is_request, recv_req, recv_status,
    recv_until, response, setup, setup_with, text,
};

#[test]
fn full_call_invite_ringing_ok_ack_bye() {
    let s = setup("\"c1\", \"c2\"");
    let inv = call(&s, "full1");
    let uas = s.uas1.local_addr().unwrap();
    let (fwd, from) = recv_req(&s, &s.uas1, "INVITE");
    let f = text(&fwd);
    assert!(
        first_line(&fwd).starts_with(&format!("INVITE sip:15551234567@{uas} SIP/2.0")),
        "{f}"
    );
    let vias = header_values(&fwd, "Via");
    assert_eq!(vias.len(), 2, "{f}");
    assert!(
        vias[0].starts_with(&format!("SIP/2.0/UDP {}", s.sc.udp)),
        "{f}"
    );
    assert_eq!(
        header_values(&fwd, "Record-Route"),
        vec![format!("<sip:{};lr>", s.sc.udp)]
    );
    assert_eq!(header_values(&fwd, "Max-Forwards"), vec!["69"]);
    s.uas1
        .send_to(&response(&fwd, 100, "Trying", "u1", uas), from)
        .unwrap();
    s.uas1
        .send_to(&response(&fwd, 180, "Ringing", "u1", uas), from)
        .unwrap();
    let ringing = recv_status(&s.uac, 180);
    assert_eq!(
        header_values(&ringing, "Via").len(),
        1,
        "{}",
        text(&ringing)
    );
    s.uas1
        .send_to(&response(&fwd, 200, "OK", "u1", uas), from)
        .unwrap();
    let ok = recv_status(&s.uac, 200);
    // Our Via removed; the UAC's stamped with received/rport (§18.2.1).
    let vias = header_values(&ok, "Via");
    assert_eq!(vias.len(), 1, "{}", text(&ok));
    assert!(
        vias[0].starts_with(&header_values(&inv, "Via")[0]),
        "{vias:?}"
    );
    assert!(header_values(&ok, "To")[0].contains("tag=u1"));
    let local = s.uac.local_addr().unwrap();
    s.uac
        .send_to(&in_dialog("ACK", 1, &ok, local, "ack1"), s.sc.udp)
        .unwrap();
    let (ack, _) = recv_req(&s, &s.uas1, "ACK");
    assert!(
        first_line(&ack).starts_with(&format!("ACK sip:uas@{uas} ")),
        "{}",
        text(&ack)
    );
    assert!(header_values(&ack, "Route").is_empty(), "{}", text(&ack));
    let admin = admin_addr(&s.sc);
    assert_eq!(metric(admin, "sipforge_dialogs_active "), 1);
    // Both INVITE transactions wait in Accepted (RFC 6026 timers L/M).
    assert!(metric(admin, "sipforge_transactions_active ") >= 1);
    s.uac
        .send_to(&in_dialog("BYE", 2, &ok, local, "bye1"), s.sc.udp)
        .unwrap();
    let (bye, bye_from) = recv_req(&s, &s.uas1, "BYE");
    s.uas1
        .send_to(&response(&bye, 200, "OK", "u1", uas), bye_from)
        .unwrap();
    let bye_ok = recv_until(&s.uac, Duration::from_secs(3), |m| {
        m.starts_with(b"SIP/2.0 200") && text(m).contains(" BYE\r\n")
    })
    .expect("200 for BYE relayed");
    assert_eq!(header_values(&bye_ok.0, "Via").len(), 1);
    common::assert_no_transactions(&s.sc);
    assert_eq!(metric(admin, "sipforge_dialogs_active "), 0);
    assert_eq!(
        metric(
            admin,
            "sipforge_egress_attempts_total{carrier=\"c1\",code=\"200\"}"
        ),
        1
    );
    // Messages out and in, by method / code (each sent and received once).
    let sent = |m: &str| {
        metric(
            admin,
            &format!("sipforge_sip_requests_sent_total{{method=\"{m}\",transport=\"udp\"}}"),
        )
    };
    assert_eq!((sent("INVITE"), sent("ACK"), sent("BYE")), (1, 1, 1));
    let received = |c: u16| {
        metric(
            admin,
            &format!("sipforge_sip_responses_received_total{{code=\"{c}\",transport=\"udp\"}}"),
        )
    };
    assert_eq!((received(100), received(180), received(200)), (1, 1, 2));
}

#[test]
fn failover_503_then_200_on_the_second_carrier() {
    let s = setup("\"c1\", \"c2\"");
    let _inv = call(&s, "fo1");
    let (fwd1, from1) = recv_req(&s, &s.uas1, "INVITE");
    let uas1 = s.uas1.local_addr().unwrap();
    s.uas1
        .send_to(
            &response(&fwd1, 503, "Service Unavailable", "a", uas1),
            from1,
        )
        .unwrap();
    // The 503 is ACKed hop by hop with the INVITE's branch.
    let (ack, _) = recv_req(&s, &s.uas1, "ACK");
    assert_eq!(header_values(&ack, "Via"), header_values(&fwd1, "Via")[..1]);
    let (fwd2, from2) = recv_req(&s, &s.uas2, "INVITE");
    assert_ne!(
        header_values(&fwd2, "Via")[0],
        header_values(&fwd1, "Via")[0]
    );
    let uas2 = s.uas2.local_addr().unwrap();
    s.uas2
        .send_to(&response(&fwd2, 200, "OK", "b", uas2), from2)
        .unwrap();
    // The first final upstream is the 200: the 503 never goes up.
    let ok = recv_until(&s.uac, Duration::from_secs(3), |m| {
        m.starts_with(b"SIP/2.0 ") && status(m) >= 200
    })
    .expect("a final response")
    .0;
    assert_eq!(status(&ok), 200, "{}", text(&ok));
    let local = s.uac.local_addr().unwrap();
    s.uac
        .send_to(&in_dialog("ACK", 1, &ok, local, "fo1ack"), s.sc.udp)
        .unwrap();
    recv_req(&s, &s.uas2, "ACK");
    hang_up(&s, &ok, &s.uas2);
    common::assert_no_transactions(&s.sc);
    let admin = admin_addr(&s.sc);
    assert_eq!(
        metric(
            admin,
            "sipforge_egress_attempts_total{carrier=\"c1\",code=\"503\"}"
        ),
        1
    );
    // The CDR lines: the routing decision, then the call with its attempts.
    let routing = s.sc.log_line(&["routing decision", "call_id=\"fo1\""]);
    assert!(routing.contains("outcome=\"proxied\""), "{routing}");
    assert!(routing.contains("customer=\"acme\""), "{routing}");
    assert!(routing.contains("egress=c1@"), "{routing}");
    let call = s.sc.log_line(&["call final response", "call_id=\"fo1\""]);
    assert!(call.contains("attempts=c1:503,c2:200"), "{call}");
    assert!(call.contains("code=200"), "{call}");
}

#[test]
fn silent_carrier_times_out_and_the_next_answers() {
    let s = setup_with("\"c1\", \"c2\"", "", 300);
    call(&s, "to1");
    recv_req(&s, &s.uas1, "INVITE");
    // c1 never answers: after attempt_timeout_ms c2 gets the call.
    let (fwd2, from2) = recv_req(&s, &s.uas2, "INVITE");
    let uas2 = s.uas2.local_addr().unwrap();
    s.uas2
        .send_to(&response(&fwd2, 200, "OK", "b", uas2), from2)
        .unwrap();
    let ok = recv_status(&s.uac, 200);
    let local = s.uac.local_addr().unwrap();
    s.uac
        .send_to(&in_dialog("ACK", 1, &ok, local, "to1ack"), s.sc.udp)
        .unwrap();
    recv_req(&s, &s.uas2, "ACK");
    hang_up(&s, &ok, &s.uas2);
    common::assert_no_transactions(&s.sc);
    let admin = admin_addr(&s.sc);
    assert_eq!(
        metric(
            admin,
            "sipforge_egress_attempts_total{carrier=\"c1\",code=\"timeout\"}"
        ),
        1
    );
}

#[test]
fn busy_is_relayed_and_the_upstream_ack_absorbed() {
    let s = setup("\"c1\"");
    let inv = call(&s, "busy1");
    let (fwd, from) = recv_req(&s, &s.uas1, "INVITE");
    let uas = s.uas1.local_addr().unwrap();
    s.uas1
        .send_to(&response(&fwd, 486, "Busy Here", "x", uas), from)
        .unwrap();
    let busy = recv_status(&s.uac, 486);
    assert!(
        header_values(&busy, "To")[0].contains("tag=x"),
        "{}",
        text(&busy)
    );
    // Not ACKed yet: the server transaction retransmits (timer G).
    let again = recv_status(&s.uac, 486);
    assert_eq!(again, busy);
    s.uac
        .send_to(&hop_request("ACK", &inv, &busy), s.sc.udp)
        .unwrap();
    // After the ACK (and what was already in flight), no more 486.
    std::thread::sleep(Duration::from_millis(300));
    while recv_until(&s.uac, Duration::from_millis(10), |_| true).is_some() {}
    assert!(
        recv_until(&s.uac, Duration::from_millis(600), |_| true).is_none(),
        "486 still retransmitted after the ACK"
    );
    // The UAS saw sipforge's own ACK, never the UAC's.
    let (ack, _) = recv_req(&s, &s.uas1, "ACK");
    assert_eq!(header_values(&ack, "Via").len(), 1);
    common::assert_no_transactions(&s.sc);
}

#[test]
fn cancel_during_ringing_gives_487() {
    let s = setup("\"c1\", \"c2\"");
    let inv = call(&s, "cx1");
    let (fwd, from) = recv_req(&s, &s.uas1, "INVITE");
    let uas = s.uas1.local_addr().unwrap();
    s.uas1
        .send_to(&response(&fwd, 180, "Ringing", "r", uas), from)
        .unwrap();
    recv_status(&s.uac, 180);
    s.uac
        .send_to(&hop_request("CANCEL", &inv, &inv), s.sc.udp)
        .unwrap();
    let cancel_ok = recv_status(&s.uac, 200);
    assert!(
        text(&cancel_ok).contains("1 CANCEL"),
        "{}",
        text(&cancel_ok)
    );
    let (cancel, cfrom) = recv_req(&s, &s.uas1, "CANCEL");
    assert_eq!(
        header_values(&cancel, "Via"),
        header_values(&fwd, "Via")[..1]
    );
    s.uas1
        .send_to(&response(&cancel, 200, "OK", "r", uas), cfrom)
        .unwrap();
    s.uas1
        .send_to(&response(&fwd, 487, "Request Terminated", "r", uas), from)
        .unwrap();
    let terminated = recv_status(&s.uac, 487);
    s.uac
        .send_to(&hop_request("ACK", &inv, &terminated), s.sc.udp)
        .unwrap();
    // No failover after a CANCEL.
    assert!(
        recv_until(&s.uas2, Duration::from_millis(500), |m| is_request(
            m, "INVITE"
        ))
        .is_none()
    );
    common::assert_no_transactions(&s.sc);
}

#[test]
fn script_reorders_and_adds_headers_before_forwarding() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("reverse.lua");
    std::fs::write(
        &script,
        "function main(data, ctx)\n\
  local r = {}\n\
  for i = #data.egress_routing, 1, -1 do table.insert(r, data.egress_routing[i]) end\n\
  data.egress_routing = r\n\
  table.insert(data.headers, { key = \"X-Customer-ID\", value = ctx.customer.id })\n\
  return data\n\
end\n",
    )
    .unwrap();
    let s = setup_with(
        "\"c1\", \"c2\"",
        &format!("script = {:?}", script.display().to_string()),
        5000,
    );
    call(&s, "sc1");
    // The script put c2 first.
    let (fwd, from) = recv_req(&s, &s.uas2, "INVITE");
    assert_eq!(header_values(&fwd, "X-Customer-ID"), vec!["acme"]);
    let uas2 = s.uas2.local_addr().unwrap();
    s.uas2
        .send_to(&response(&fwd, 404, "Not Found", "n", uas2), from)
        .unwrap();
    // 404 does not fail over by default: relayed, c1 never tried.
    recv_status(&s.uac, 404);
    assert!(
        recv_until(&s.uas1, Duration::from_millis(400), |m| is_request(
            m, "INVITE"
        ))
        .is_none()
    );
    common::assert_no_transactions(&s.sc);
}

#[test]
fn tcp_caller_to_udp_carrier_full_call() {
    use common::{tcp_connect, tcp_read_message, tcp_send};
    let s = setup("\"c1\"");
    let mut tcp = tcp_connect(s.sc.tcp);
    let local = tcp.local_addr().unwrap();
    let inv = String::from_utf8(invite("15551234567", "tcp1", "tcp1", local))
        .unwrap()
        .replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    tcp_send(&mut tcp, inv.as_bytes());
    let read_final = |tcp: &mut TcpStream, code: u16| loop {
        let m = tcp_read_message(tcp).unwrap_or_else(|| panic!("no {code} over tcp"));
        if status(&m) == code {
            return m;
        }
    };
    read_final(&mut tcp, 100);
    let (fwd, from) = recv_req(&s, &s.uas1, "INVITE");
    // Bridging TCP to UDP: two Record-Routes (RFC 5658), UDP on top.
    let rr = header_values(&fwd, "Record-Route");
    assert_eq!(
        rr,
        vec![
            format!("<sip:{};lr>", s.sc.udp),
            format!("<sip:{};transport=tcp;lr>", s.sc.tcp)
        ],
        "{}",
        text(&fwd)
    );
    let uas = s.uas1.local_addr().unwrap();
    s.uas1
        .send_to(&response(&fwd, 180, "Ringing", "t", uas), from)
        .unwrap();
    read_final(&mut tcp, 180);
    s.uas1
        .send_to(&response(&fwd, 200, "OK", "t", uas), from)
        .unwrap();
    let ok = read_final(&mut tcp, 200);
    let ack = String::from_utf8(in_dialog("ACK", 1, &ok, local, "tack"))
        .unwrap()
        .replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    tcp_send(&mut tcp, ack.as_bytes());
    recv_req(&s, &s.uas1, "ACK");
    let bye = String::from_utf8(in_dialog("BYE", 2, &ok, local, "tbye"))
        .unwrap()
        .replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    tcp_send(&mut tcp, bye.as_bytes());
    let (bye, bye_from) = recv_req(&s, &s.uas1, "BYE");
    s.uas1
        .send_to(&response(&bye, 200, "OK", "t", uas), bye_from)
        .unwrap();
    let bye_ok = read_final(&mut tcp, 200);
    assert!(text(&bye_ok).contains("2 BYE"), "{}", text(&bye_ok));
    common::assert_no_transactions(&s.sc);
}

#[test]
fn retransmitted_invite_absorbed_and_603_ends_failover() {
    let s = setup("\"c1\", \"c2\"");
    let inv = call(&s, "rt1");
    let (fwd, from) = recv_req(&s, &s.uas1, "INVITE");
    let uas = s.uas1.local_addr().unwrap();
    s.uas1
        .send_to(&response(&fwd, 180, "Ringing", "d", uas), from)
        .unwrap();
    recv_status(&s.uac, 180);
    // The UAC retransmits: answered with the last provisional, not forwarded again.
    s.uac.send_to(&inv, s.sc.udp).unwrap();
    recv_status(&s.uac, 180);
    let branch = header_values(&fwd, "Via")[0].clone();
    assert!(
        recv_until(&s.uas1, Duration::from_millis(300), |m| {
            is_request(m, "INVITE") && header_values(m, "Via")[0] != branch
        })
        .is_none(),
        "retransmission forwarded as a new attempt"
    );
    s.uas1
        .send_to(&response(&fwd, 603, "Decline", "d", uas), from)
        .unwrap();
    let declined = recv_status(&s.uac, 603);
    s.uac
        .send_to(&hop_request("ACK", &inv, &declined), s.sc.udp)
        .unwrap();
    assert!(
        recv_until(&s.uas2, Duration::from_millis(400), |m| is_request(
            m, "INVITE"
        ))
        .is_none(),
        "603 failed over"
    );
    common::assert_no_transactions(&s.sc);
}
