//! Proxy mode's dialogs: in-dialog requests (INFO, OPTIONS, UPDATE,
//! re-INVITE, BYE) pass through sipforge statefully for dialogs it set up;
//! anything else carrying its Route gets 481 (no open relay); a BYE the
//! callee never answers gets 408 and ends the dialog. The project's own UAC
//! and UAS agents (`tests/agents`) on real sockets; no state may remain.

#[allow(clippy::duplicate_mod)]
mod agents;
mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use agents::{Msg, Plan, Timers, Transport, Uac, Uas, build_response};
use common::{Sidecar, admin_addr, metric};

fn config(gw: SocketAddr, t1_ms: u64) -> String {
    config_on(gw, t1_ms, "127.0.0.1", "")
}

/// Listeners on `ip` (port 0); `server_extra`: more `[server]` lines.
fn config_on(gw: SocketAddr, t1_ms: u64, ip: &str, server_extra: &str) -> String {
    format!(
        r#"
[server]
listen_udp = ["{ip}:0"]
listen_tcp = ["{ip}:0"]
{server_extra}
mode = "proxy"
admin_listen = "127.0.0.1:0"

[proxy]
t1_ms = {t1_ms}
t2_ms = 400
t4_ms = 400

[[carriers]]
id = "c1"
gateways = ["{gw}"]

[[customers]]
id = "acme"
sources = ["127.0.0.1/32"]
routes = [{{ prefix = "1", carriers = ["c1"] }}]
"#
    )
}

fn methods(uas: &Uas, call_id: &str) -> Vec<String> {
    let mut m: Vec<String> = uas
        .requests()
        .into_iter()
        .filter(|r| r.msg.call_id() == call_id)
        .map(|r| r.msg.method())
        .collect();
    m.dedup();
    m
}

#[test]
fn in_dialog_requests_pass_statefully_and_bye_ends_the_dialog() {
    let uas = Uas::start_with(Transport::Udp, "127.0.0.1", Timers::fast(), |_| {
        Plan::answer()
    });
    let sc = Sidecar::start_with(&config(uas.addr(), 50));
    let admin = admin_addr(&sc);
    let uac = Uac::new(Transport::Udp).with_timers(Timers::fast());
    let mut call = uac.call(sc.udp, &format!("sip:15551230000@{}", sc.udp));
    call.invite().unwrap();
    let fin = call.wait_final().unwrap();
    assert_eq!(fin.status(), 200, "{}\n{}", fin.text(), sc.log_text());
    call.ack().unwrap();
    assert_eq!(metric(admin, "sipforge_dialogs_active "), 1);
    for m in ["INFO", "OPTIONS", "UPDATE"] {
        let r = call.request(m).unwrap();
        assert_eq!(r.status(), 200, "{m}: {}", r.text());
        // Our Via was removed on the way back.
        assert_eq!(r.header_all("Via").len(), 1, "{}", r.text());
    }
    let re = call.reinvite().unwrap();
    assert_eq!(re.status(), 200, "{}", re.text());
    assert_eq!(call.bye().unwrap().status(), 200);
    // The dialog is over: a second BYE is refused by sipforge itself.
    let again = call.bye().unwrap();
    assert_eq!(again.status(), 481, "{}\n{}", again.text(), sc.log_text());
    common::assert_no_transactions(&sc);
    // The UAS saw each request once per transaction, through sipforge (its
    // Via on top), and never the refused BYE.
    assert_eq!(
        methods(&uas, &call.call_id),
        [
            "INVITE", "ACK", "INFO", "OPTIONS", "UPDATE", "INVITE", "ACK", "BYE"
        ],
    );
    let byes: Vec<_> = uas
        .requests()
        .into_iter()
        .filter(|r| r.msg.call_id() == call.call_id && r.msg.method() == "BYE")
        .collect();
    assert_eq!(byes.len(), 1);
    let vias = byes[0].msg.header_all("Via");
    assert_eq!(vias.len(), 2, "{}", byes[0].msg.text());
    assert!(vias[0].contains(&sc.udp.to_string()), "{vias:?}");
    // The re-INVITE got 100 Trying from sipforge's server transaction and
    // the forwarded one a fresh branch.
    let invites: Vec<Msg> = uas
        .requests()
        .into_iter()
        .filter(|r| r.msg.call_id() == call.call_id && r.msg.method() == "INVITE")
        .map(|r| r.msg)
        .collect();
    assert!(invites.len() >= 2);
    assert_ne!(invites[0].branch(), invites.last().unwrap().branch());
}

#[test]
fn requests_for_dialogs_sipforge_did_not_set_up_get_481() {
    let uas = Uas::start_with(Transport::Udp, "127.0.0.1", Timers::fast(), |_| {
        Plan::answer()
    });
    let sc = Sidecar::start_with(&config(uas.addr(), 50));
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let local = sock.local_addr().unwrap();
    // A forged BYE: sipforge's Route on top, the UAS as target, tags made up.
    for (i, method) in ["BYE", "INVITE", "MESSAGE"].iter().enumerate() {
        let forged = format!(
            "{method} sip:victim@{uas} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKforged{i};rport\r\n\
Route: <sip:{sf};lr>\r\nMax-Forwards: 70\r\nFrom: <sip:a@x>;tag=f{i}\r\nTo: <sip:victim@y>;tag=t{i}\r\n\
Call-ID: forged-{i}\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n",
            uas = uas.addr(),
            sf = sc.udp
        );
        sock.send_to(forged.as_bytes(), sc.udp).unwrap();
        let mut buf = [0u8; 4096];
        let (n, _) = sock.recv_from(&mut buf).expect("an answer from sipforge");
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(
            text.starts_with("SIP/2.0 481 "),
            "{method}: {text}\n{}",
            sc.log_text()
        );
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(uas.requests().is_empty(), "{:?}", uas.requests());
    common::assert_no_transactions(&sc);
}

#[test]
fn unanswered_bye_gets_408_and_ends_the_dialog() {
    // A callee that answers the INVITE by hand, then never answers the BYE.
    let callee = UdpSocket::bind("127.0.0.1:0").unwrap();
    callee
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let sc = Sidecar::start_with(&config(callee.local_addr().unwrap(), 50));
    let admin = admin_addr(&sc);
    // The UAC's own timer F (64 × 200 ms) outlasts sipforge's (64 × 50 ms).
    let slow = Timers {
        t1: Duration::from_millis(200),
        t2: Duration::from_millis(400),
        proceeding: Duration::from_secs(10),
    };
    let uac = Uac::new(Transport::Udp).with_timers(slow);
    let mut call = uac.call(sc.udp, &format!("sip:15551230001@{}", sc.udp));
    call.invite().unwrap();
    let mut buf = vec![0u8; 65535];
    let (n, from) = callee.recv_from(&mut buf).unwrap();
    let inv = Msg::parse(&buf[..n]).unwrap();
    assert_eq!(inv.method(), "INVITE");
    let contact = format!("<sip:callee@{}>", callee.local_addr().unwrap());
    let ok = build_response(&inv, 200, Some("cl1"), Some(&contact), None);
    callee.send_to(&ok, from).unwrap();
    let fin = call.wait_final().unwrap();
    assert_eq!(fin.status(), 200, "{}", fin.text());
    call.ack().unwrap();
    assert_eq!(metric(admin, "sipforge_dialogs_active "), 1);
    let bye = call
        .bye()
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", fin.text(), sc.log_text()));
    assert_eq!(bye.status(), 408, "{}\n{}", bye.text(), sc.log_text());
    // sipforge retransmitted the BYE to the callee (timer E) before giving up.
    let mut byes = 0;
    callee
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    while let Ok((n, _)) = callee.recv_from(&mut buf) {
        if buf[..n].starts_with(b"BYE ") {
            byes += 1;
        }
    }
    assert!(byes >= 3, "{byes} BYEs reached the callee");
    common::assert_no_transactions(&sc);
}

#[test]
fn wildcard_listener_advertises_the_configured_address() {
    let uas = Uas::start_with(Transport::Udp, "127.0.0.1", Timers::fast(), |_| {
        Plan::answer()
    });
    let sc = Sidecar::start_with(&config_on(
        uas.addr(),
        50,
        "0.0.0.0",
        "advertised_ip = \"127.0.0.2\"",
    ));
    assert!(sc.udp.ip().is_unspecified(), "{}", sc.udp);
    let advertised = SocketAddr::from(([127, 0, 0, 2], sc.udp.port()));
    let uac = Uac::new(Transport::Udp).with_timers(Timers::fast());
    let to = SocketAddr::from(([127, 0, 0, 1], sc.udp.port()));
    let mut call = uac.call(to, &format!("sip:15551230002@{to}"));
    call.invite().unwrap();
    let fin = call.wait_final().unwrap();
    assert_eq!(fin.status(), 200, "{}\n{}", fin.text(), sc.log_text());
    assert_eq!(
        fin.header_all("Record-Route"),
        [format!("<sip:{advertised};lr>")]
    );
    let inv = &uas.requests_of("INVITE")[0].msg;
    assert!(
        inv.header_all("Via")[0].starts_with(&format!("SIP/2.0/UDP {advertised};")),
        "{}",
        inv.text()
    );
    // The caller's in-dialog requests use the advertised address and are
    // recognised as sipforge's own Route.
    call.ack().unwrap();
    assert_eq!(call.bye().unwrap().status(), 200);
    assert_eq!(methods(&uas, &call.call_id), ["INVITE", "ACK", "BYE"]);
    assert_eq!(uas.requests_of("BYE")[0].msg.header_all("Via").len(), 2);
    common::assert_no_transactions(&sc);
}
