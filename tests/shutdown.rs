//! Graceful shutdown (issue 6): on SIGTERM new INVITEs get 503 with
//! Retry-After while a call in progress completes (200, ACK, BYE through the
//! proxy), `/readyz` turns 503, and the process exits 0 once no transaction
//! is left.

mod common;
#[path = "common/proxy_udp.rs"]
mod proxy_udp;

use std::time::{Duration, Instant};

use common::{Sidecar, admin_addr, header_values, invite, udp_client};
use proxy_udp::{Opts, Setup, call, config, hang_up, in_dialog, recv_req, recv_status, response};

fn http_status(admin: std::net::SocketAddr, path: &str) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(admin).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Proxy mode, one carrier (`uas1`), the given grace period.
fn setup(grace_s: u64, proxy_extra: &str) -> Setup {
    let uas1 = udp_client("127.0.0.1:0");
    let gw = uas1.local_addr().unwrap().to_string();
    let opts = Opts {
        carriers: "\"c1\"",
        proxy_extra,
        ..Opts::default()
    };
    let cfg = config(&gw, &gw, &opts).replace(
        "mode = \"proxy\"",
        &format!("mode = \"proxy\"\nshutdown_grace_s = {grace_s}"),
    );
    Setup {
        sc: Sidecar::start_with(&cfg),
        uac: udp_client("127.0.0.1:0"),
        uas1,
        uas2: udp_client("127.0.0.1:0"),
    }
}

#[test]
fn sigterm_refuses_new_calls_and_lets_the_call_in_progress_finish() {
    let s = setup(20, "linger_ms = 300");
    let admin = admin_addr(&s.sc);
    assert_eq!(http_status(admin, "/readyz"), 200);
    call(&s, "drain1");
    let (fwd, from) = recv_req(&s, &s.uas1, "INVITE");
    let uas = s.uas1.local_addr().unwrap();
    s.uas1
        .send_to(&response(&fwd, 180, "Ringing", "d1", uas), from)
        .unwrap();
    recv_status(&s.uac, 180);

    s.sc.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s.sc.log_text().contains("draining") {
        assert!(Instant::now() < deadline, "{}", s.sc.log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(http_status(admin, "/readyz"), 503);
    // A new call is refused, with a hint when to come back.
    let local = s.uac.local_addr().unwrap();
    s.uac
        .send_to(&invite("15551234567", "drain2", "drain2", local), s.sc.udp)
        .unwrap();
    let refused = recv_status(&s.uac, 503);
    assert_eq!(header_values(&refused, "Call-ID"), vec!["drain2"]);
    assert_eq!(header_values(&refused, "Retry-After"), vec!["20"]);
    // The call in progress is answered, acknowledged and hung up.
    s.uas1
        .send_to(&response(&fwd, 200, "OK", "d1", uas), from)
        .unwrap();
    let ok = recv_status(&s.uac, 200);
    s.uac
        .send_to(&in_dialog("ACK", 1, &ok, local, "d1ack"), s.sc.udp)
        .unwrap();
    recv_req(&s, &s.uas1, "ACK");
    hang_up(&s, &ok, &s.uas1);
    // Then, with no transaction left, it exits 0 (well within the grace).
    let mut sc = s.sc;
    let status = sc.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "{status:?}\n{}", sc.log_text());
    assert!(sc.log_text().contains("drained"), "{}", sc.log_text());
}

#[test]
fn a_second_signal_stops_at_once() {
    let s = setup(600, "");
    // A call that never ends (the carrier stays silent after 180).
    call(&s, "stuck1");
    let (fwd, from) = recv_req(&s, &s.uas1, "INVITE");
    let uas = s.uas1.local_addr().unwrap();
    s.uas1
        .send_to(&response(&fwd, 180, "Ringing", "st", uas), from)
        .unwrap();
    recv_status(&s.uac, 180);
    let mut sc = s.sc;
    sc.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    assert!(sc.alive(), "must wait for the call in progress");
    sc.signal("INT");
    let status = sc.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    assert!(sc.log_text().contains("second signal"), "{}", sc.log_text());
}
