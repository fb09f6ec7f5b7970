//! Per-customer limits over real SIP against the real binary: `cps_limit`
//! (burst refused, then recovery), `channels` in redirect mode (held while
//! the call's script runs, free once answered) and in proxy mode (held for
//! the whole call, released after the BYE and after a failed call).
//! Waits are liveness bounds, never timing assertions.

mod common;
#[path = "common/proxy_udp.rs"]
mod proxy_udp;

use std::time::{Duration, Instant};

use common::{
    Sidecar, TEST_CONFIG, admin_addr, call_user, config_with_script, header_values, invite, metric,
    status, status_line, udp_client,
};
use proxy_udp::{
    hang_up, hop_request, in_dialog, recv_req, recv_status, recv_until, response, setup_with, text,
};

/// `TEST_CONFIG` with an admin listener and `extra` lines in customer `acme`.
fn redirect_config(extra: &str) -> String {
    TEST_CONFIG
        .replace(
            "mode = \"redirect\"",
            "mode = \"redirect\"\nadmin_listen = \"127.0.0.1:0\"",
        )
        .replace(
            "sources = [\"127.0.0.1/32\"]",
            &format!("sources = [\"127.0.0.1/32\"]\n{extra}"),
        )
}

/// Polls `f` until it holds, for at most 10 s (a liveness bound).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn cps_burst_is_refused_with_503_then_recovers() {
    let sc = Sidecar::start_with(&redirect_config("cps_limit = 1"));
    let admin = admin_addr(&sc);
    assert_eq!(status(&call_user(&sc, "15551234567", "cps-0")), 302);
    // One call per second: of the next few sent back to back, one is refused
    // (all of them passing would take over 5 s).
    let refused = (1..=6)
        .map(|i| call_user(&sc, "15551234567", &format!("cps-{i}")))
        .find(|r| status(r) != 302)
        .expect("a call over the limit is refused");
    assert_eq!(status_line(&refused), "SIP/2.0 503 Service Unavailable");
    assert!(header_values(&refused, "To")[0].contains("tag="));
    assert!(
        metric(
            admin,
            "sipforge_limit_rejections_total{customer=\"acme\",limit=\"cps\"}"
        ) >= 1
    );
    assert!(
        metric(
            admin,
            "sipforge_routing_outcomes_total{customer=\"acme\",outcome=\"limit\"}"
        ) >= 1
    );
    // The bucket refills: a later call passes again.
    let mut n = 0;
    eventually("a call passes after the burst", || {
        n += 1;
        status(&call_user(&sc, "15551234567", &format!("cps-r{n}"))) == 302
    });
}

#[test]
fn channels_in_redirect_mode_are_held_until_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("slow.lua");
    // Holds the call (and its channel) for a while: the second call arrives
    // while the first is still being routed.
    std::fs::write(
        &script,
        "function main(data, ctx)\n  local t = os.clock()\n  while os.clock() - t < 1.5 do end\n  return data\nend\n",
    )
    .unwrap();
    let config = config_with_script(
        &script,
        "timeout_ms = 8000\nchannels = 1\nchannels_action = \"480 Temporarily Unavailable\"",
    )
    .replace(
        "mode = \"redirect\"",
        "mode = \"redirect\"\nadmin_listen = \"127.0.0.1:0\"",
    );
    let sc = Sidecar::start_with(&config);
    let admin = admin_addr(&sc);
    let first = udp_client("127.0.0.1:0");
    first
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let local = first.local_addr().unwrap();
    first
        .send_to(&invite("15551234567", "ch-1", "ch1", local), sc.udp)
        .unwrap();
    eventually("the first call holds the channel", || {
        metric(admin, "sipforge_calls_active{customer=\"acme\"}") == 1
    });
    let busy = call_user(&sc, "15551234567", "ch-2");
    assert_eq!(status_line(&busy), "SIP/2.0 480 Temporarily Unavailable");
    assert_eq!(
        metric(
            admin,
            "sipforge_limit_rejections_total{customer=\"acme\",limit=\"channels\"}"
        ),
        1
    );
    let answer = common::recv(&first).expect("the first call is answered");
    assert_eq!(status(&answer), 302, "{}", text(&answer));
    // Answered: the channel is free for the next call.
    assert_eq!(metric(admin, "sipforge_calls_active{customer=\"acme\"}"), 0);
    let next = udp_client("127.0.0.1:0");
    next.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let local = next.local_addr().unwrap();
    let r = common::udp_exchange(&next, sc.udp, &invite("15551234567", "ch-3", "ch3", local))
        .expect("an answer");
    assert_eq!(status(&r), 302, "{}", text(&r));
}

#[test]
fn channels_in_proxy_mode_are_held_for_the_call_and_released_after_bye_or_failure() {
    let s = setup_with("\"c1\"", "channels = 1", 5000);
    let admin = admin_addr(&s.sc);
    let active = || metric(admin, "sipforge_calls_active{customer=\"acme\"}");
    let uas = s.uas1.local_addr().unwrap();
    let local = s.uac.local_addr().unwrap();

    // Call 1 is answered: it holds the only channel.
    proxy_udp::call(&s, "pch-1");
    let (fwd, from) = recv_req(&s, &s.uas1, "INVITE");
    s.uas1
        .send_to(&response(&fwd, 200, "OK", "u1", uas), from)
        .unwrap();
    let ok = recv_status(&s.uac, 200);
    s.uac
        .send_to(&in_dialog("ACK", 1, &ok, local, "pack1"), s.sc.udp)
        .unwrap();
    recv_req(&s, &s.uas1, "ACK");
    assert_eq!(active(), 1);

    // Call 2 while call 1 is up: 486 from sipforge, never forwarded.
    let other = udp_client("127.0.0.1:0");
    let busy = common::udp_exchange(
        &other,
        s.sc.udp,
        &invite("15551234567", "pch-2", "pch2", other.local_addr().unwrap()),
    )
    .expect("an answer");
    assert_eq!(status_line(&busy), "SIP/2.0 486 Busy Here");
    assert!(
        recv_until(&s.uas1, Duration::from_millis(300), |m| {
            text(m).contains("pch-2")
        })
        .is_none(),
        "a refused call must not reach the carrier"
    );
    assert_eq!(
        metric(
            admin,
            "sipforge_limit_rejections_total{customer=\"acme\",limit=\"channels\"}"
        ),
        1
    );

    // The BYE ends the dialog and frees the channel.
    hang_up(&s, &ok, &s.uas1);
    eventually("the channel is released after the BYE", || active() == 0);

    // Call 3 gets through, and fails at the carrier (404).
    let inv3 = proxy_udp::call(&s, "pch-3");
    let (fwd3, from3) = recv_req(&s, &s.uas1, "INVITE");
    assert_eq!(active(), 1);
    s.uas1
        .send_to(&response(&fwd3, 404, "Not Found", "u3", uas), from3)
        .unwrap();
    let nf = recv_status(&s.uac, 404);
    s.uac
        .send_to(&hop_request("ACK", &inv3, &nf), s.sc.udp)
        .unwrap();
    eventually("the channel is released after the failed call", || {
        active() == 0
    });

    // Call 4 is forwarded again: the failed call left nothing behind.
    proxy_udp::call(&s, "pch-4");
    let (fwd4, from4) = recv_req(&s, &s.uas1, "INVITE");
    s.uas1
        .send_to(&response(&fwd4, 486, "Busy Here", "u4", uas), from4)
        .unwrap();
    recv_status(&s.uac, 486);
    eventually("no channel held at the end", || active() == 0);
}
