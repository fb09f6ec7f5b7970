//! The SIP test peers against each other, without sipforge: the project's
//! own UAC (`tests/agents`) against Kamailio running
//! `tests/peers/kamailio-uas.cfg` (Debian package `kamailio`, installed by
//! `.ci/test`) and against the project's own UAS. The end-to-end proxy
//! tests put sipforge between these same peers; this file shows the peers
//! themselves behave.

mod agents;

use std::time::{Duration, Instant};

use agents::{AgentError, Kamailio, Plan, Step, Timers, Transport, Uac, Uas};

// ------------------------------------------------------------------ Kamailio

fn kamailio_full_call(t: Transport) {
    let Some(k) = Kamailio::start("kamailio_full_call") else {
        return;
    };
    let uac = Uac::new(t);
    let mut call = uac.call(k.addr(t), &k.uri("alice", t));
    call.invite().unwrap();
    let fin = call.wait_final().unwrap();
    assert_eq!(fin.status(), 200, "{}\n{}", fin.text(), k.log_text());
    assert_eq!(call.statuses(), vec![100, 180, 200], "{}", k.log_text());
    assert!(fin.body_text().contains("m=audio 40000"), "{}", fin.text());
    assert_eq!(fin.header("Content-Type"), Some("application/sdp"));
    let contact = call.remote_target.clone().expect("Contact");
    assert_eq!(
        contact,
        format!("sip:uas@{};transport={}", k.addr(t), t.param()),
        "the Contact points at Kamailio itself"
    );
    assert!(call.to_tag.is_some());
    assert!(call.route_set.is_empty());
    // No 200 retransmission once the ACK is in (Kamailio's first would come
    // after T1 = 500 ms).
    call.linger(Duration::from_millis(1200));
    assert_eq!(call.duplicates, 0, "200 retransmitted: ACK not matched");
    let bye = call.bye().unwrap();
    assert_eq!(bye.status(), 200, "{}", bye.text());
    let logged: Vec<String> = k
        .requests(&call.call_id)
        .into_iter()
        .map(|(m, _)| m)
        .collect();
    assert_eq!(logged, ["INVITE", "ACK", "BYE"], "{}", k.log_text());
}

#[test]
fn uac_to_kamailio_full_call_over_udp() {
    kamailio_full_call(Transport::Udp);
}

#[test]
fn uac_to_kamailio_full_call_over_tcp() {
    kamailio_full_call(Transport::Tcp);
}

#[test]
fn uac_to_kamailio_rejections_are_acked() {
    let Some(k) = Kamailio::start("uac_to_kamailio_rejections_are_acked") else {
        return;
    };
    let uac = Uac::new(Transport::Udp);
    for (user, code) in [("busy", 486), ("unavailable", 503), ("notfound", 404)] {
        let mut call = uac.call(k.udp, &k.uri(user, Transport::Udp));
        call.invite().unwrap();
        let fin = call.wait_final().unwrap();
        assert_eq!(fin.status(), code, "{user}: {}", fin.text());
        assert!(call.acks_sent >= 1);
        // Kamailio retransmits a non-2xx final until the ACK matches its
        // INVITE transaction (timer G, first after 500 ms).
        call.linger(Duration::from_millis(1200));
        assert_eq!(
            call.duplicates, 0,
            "{user}: final retransmitted, ACK unmatched"
        );
        assert!(
            k.wait_logged("ACK", &call.call_id, Duration::from_secs(2)),
            "{}",
            k.log_text()
        );
    }
}

#[test]
fn uac_cancels_a_ringing_kamailio_call() {
    let Some(k) = Kamailio::start("uac_cancels_a_ringing_kamailio_call") else {
        return;
    };
    for t in [Transport::Udp, Transport::Tcp] {
        let uac = Uac::new(t);
        let mut call = uac.call(k.addr(t), &k.uri("ring", t));
        call.invite().unwrap();
        assert_eq!(call.wait_provisional(180).unwrap().status(), 180);
        let c = call.cancel().unwrap();
        assert_eq!(c.status(), 200, "{}", c.text());
        let fin = call.wait_final().unwrap();
        assert_eq!(fin.status(), 487, "{}\n{}", fin.text(), k.log_text());
        assert_eq!(call.statuses(), vec![100, 180, 487]);
        assert!(k.wait_logged("ACK", &call.call_id, Duration::from_secs(2)));
    }
}

#[test]
fn kamailio_slow_user_answers_after_two_seconds() {
    let Some(k) = Kamailio::start("kamailio_slow_user_answers_after_two_seconds") else {
        return;
    };
    let uac = Uac::new(Transport::Udp);
    let mut call = uac.call(k.udp, &k.uri("slow", Transport::Udp));
    let start = Instant::now();
    call.invite().unwrap();
    assert_eq!(call.wait_provisional(180).unwrap().status(), 180);
    let fin = call.wait_final().unwrap();
    assert_eq!(fin.status(), 200, "{}\n{}", fin.text(), k.log_text());
    // A lower bound only: the delay cannot be shorter than asked.
    assert!(start.elapsed() >= Duration::from_millis(1500));
    assert_eq!(call.bye().unwrap().status(), 200);
}

#[test]
fn kamailio_silent_user_gets_timer_b() {
    let Some(k) = Kamailio::start("kamailio_silent_user_gets_timer_b") else {
        return;
    };
    let uac = Uac::new(Transport::Udp).with_timers(Timers::fast());
    let mut call = uac.call(k.udp, &k.uri("silent", Transport::Udp));
    call.invite().unwrap();
    assert_eq!(
        call.wait_final(),
        Err(AgentError::Timeout(Timers::fast().timeout()))
    );
    assert!(call.responses.is_empty());
    // Timer A: the INVITE went out again and again (at 0, 50, 150, 350 ms...).
    let invites = k
        .requests(&call.call_id)
        .iter()
        .filter(|(m, _)| m == "INVITE")
        .count();
    assert!(invites >= 3, "{invites} INVITEs\n{}", k.log_text());
}

/// Kamailio as the end of a route set: the caller's INVITE carries a
/// Record-Route naming Kamailio (as a proxy in front of it would), so the
/// ACK and BYE carry a Route header Kamailio must consume (loose routing),
/// or, without `lr`, are strict-routed to it.
#[test]
fn kamailio_in_dialog_requests_follow_the_route_set() {
    let Some(k) = Kamailio::start("kamailio_in_dialog_requests_follow_the_route_set") else {
        return;
    };
    let uac = Uac::new(Transport::Udp);
    for (rr, loose) in [
        (format!("<sip:{};lr>", k.udp), true),
        (format!("<sip:{}>", k.udp), false),
    ] {
        let mut call = uac.call(k.udp, &k.uri("alice", Transport::Udp));
        call.extra_headers.push(format!("Record-Route: {rr}"));
        call.invite().unwrap();
        assert_eq!(call.wait_final().unwrap().status(), 200);
        assert_eq!(call.route_set, vec![rr.clone()]);
        assert_eq!(call.bye().unwrap().status(), 200, "{}", k.log_text());
        // Kamailio's log line may trail its 200.
        assert!(
            k.wait_logged("BYE", &call.call_id, Duration::from_secs(5)),
            "{}",
            k.log_text()
        );
        let reqs = k.requests(&call.call_id);
        let bye_uri = &reqs.iter().find(|(m, _)| m == "BYE").expect("BYE logged").1;
        if loose {
            assert!(bye_uri.starts_with("sip:uas@"), "{bye_uri}");
        } else {
            // Strict routing: the Request-URI is the route.
            assert_eq!(bye_uri, &format!("sip:{}", k.udp));
        }
    }
}

#[test]
fn kamailio_answers_options() {
    let Some(k) = Kamailio::start("kamailio_answers_options") else {
        return;
    };
    let uac = Uac::new(Transport::Tcp);
    let mut call = uac.call(k.tcp, &k.uri("ping", Transport::Tcp));
    call.to_tag = Some("none".into());
    call.remote_target = Some(k.uri("ping", Transport::Tcp));
    let r = call.request("OPTIONS").unwrap();
    assert_eq!(r.status(), 200, "{}", r.text());
}

// ------------------------------------------------------------------ own UAS

fn own_full_call(t: Transport) {
    let uas = Uas::start(t);
    let uac = Uac::new(t);
    let mut call = uac.call(uas.addr(), &uas.uri("bob"));
    call.invite().unwrap();
    let fin = call.wait_final().unwrap();
    assert_eq!(fin.status(), 200, "{}", fin.text());
    assert_eq!(call.statuses(), vec![100, 180, 200]);
    assert!(fin.body_text().contains("m=audio"));
    assert!(
        uas.wait_request("ACK", Some(&call.call_id), Duration::from_secs(2))
            .is_some()
    );
    assert_eq!(call.bye().unwrap().status(), 200);
    let methods: Vec<String> = uas
        .requests()
        .iter()
        .filter(|r| r.msg.call_id() == call.call_id)
        .map(|r| r.msg.method())
        .collect();
    assert_eq!(methods, ["INVITE", "ACK", "BYE"]);
    let invite = &uas.requests_of("INVITE")[0].msg;
    assert_eq!(invite.uri(), uas.uri("bob"));
    assert_eq!(invite.header("Content-Type"), Some("application/sdp"));
    assert_eq!(invite.branch().as_deref(), Some(call.branch.as_str()));
    // The 2xx ACK is a new transaction (§17.1.1.3 is for non-2xx only).
    let ack = &uas.requests_of("ACK")[0].msg;
    assert_ne!(ack.branch(), invite.branch());
    assert_eq!(ack.cseq(), (1, "ACK".to_string()));
}

#[test]
fn own_uac_to_own_uas_full_call_over_udp() {
    own_full_call(Transport::Udp);
}

#[test]
fn own_uac_to_own_uas_full_call_over_tcp() {
    own_full_call(Transport::Tcp);
}

#[test]
fn uas_hangs_up_and_the_uac_answers_the_bye() {
    for t in [Transport::Udp, Transport::Tcp] {
        let uas = Uas::start(t);
        let uac = Uac::new(t);
        let mut call = uac.call(uas.addr(), &uas.uri("bob"));
        call.invite().unwrap();
        assert_eq!(call.wait_final().unwrap().status(), 200);
        // The UAC answers while it reads: the UAS's BYE runs beside it.
        let call_id = call.call_id.clone();
        let (r, bye) = std::thread::scope(|s| {
            let hangup = s.spawn(|| uas.bye(&call_id));
            let bye = call.wait_request("BYE", Duration::from_secs(5));
            (hangup.join().unwrap(), bye)
        });
        let r = r.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text());
        let bye = bye.expect("BYE");
        assert_eq!(bye.to_tag().as_deref(), call.from.split("tag=").nth(1));
        assert_eq!(bye.uri(), uac.ep.contact("alice").trim_matches(['<', '>']));
    }
}

#[test]
fn own_uas_rejection_is_acked_on_the_invite_branch() {
    let uas = Uas::start(Transport::Udp);
    let uac = Uac::new(Transport::Udp);
    let mut call = uac.call(uas.addr(), &uas.uri("unavailable"));
    call.invite().unwrap();
    assert_eq!(call.wait_final().unwrap().status(), 503);
    let ack = uas
        .wait_request("ACK", Some(&call.call_id), Duration::from_secs(2))
        .expect("ACK");
    assert_eq!(ack.msg.branch().as_deref(), Some(call.branch.as_str()));
    assert_eq!(ack.msg.uri(), call.ruri);
    assert!(ack.msg.to_tag().is_some());
}

#[test]
fn own_uas_silence_fires_timer_b_after_retransmissions() {
    let uas = Uas::start(Transport::Udp);
    let uac = Uac::new(Transport::Udp).with_timers(Timers::fast());
    let mut call = uac.call(uas.addr(), &uas.uri("silent"));
    call.invite().unwrap();
    assert_eq!(
        call.wait_final(),
        Err(AgentError::Timeout(Timers::fast().timeout()))
    );
    // 0, 50, 150, 350, 750, 1550 and 3150 ms: seven sends before 3.2 s.
    let n = uas.requests_of("INVITE").len();
    assert!((4..=7).contains(&n), "{n} INVITEs");
}

#[test]
fn own_uas_garbage_is_not_a_response() {
    let uas = Uas::start(Transport::Udp);
    let uac = Uac::new(Transport::Udp).with_timers(Timers::fast());
    let mut call = uac.call(uas.addr(), &uas.uri("garbage"));
    call.invite().unwrap();
    assert!(matches!(call.wait_final(), Err(AgentError::Timeout(_))));
    assert!(uac.ep.garbage() >= 1);
    assert!(call.responses.is_empty());
}

#[test]
fn own_uac_cancels_a_ringing_own_uas() {
    for t in [Transport::Udp, Transport::Tcp] {
        let uas = Uas::start(t);
        let uac = Uac::new(t);
        let mut call = uac.call(uas.addr(), &uas.uri("ring"));
        call.invite().unwrap();
        call.wait_provisional(180).unwrap();
        assert_eq!(call.cancel().unwrap().status(), 200);
        assert_eq!(call.wait_final().unwrap().status(), 487);
        let cancel = &uas.requests_of("CANCEL")[0].msg;
        assert_eq!(cancel.branch().as_deref(), Some(call.branch.as_str()));
        assert_eq!(cancel.cseq(), (1, "CANCEL".to_string()));
    }
}

#[test]
fn own_uas_retransmits_2xx_until_the_ack() {
    let fast = Timers::fast();
    let uas = Uas::start_with(Transport::Udp, "127.0.0.1", fast, |_| Plan::answer());
    let uac = Uac::new(Transport::Udp);
    let mut call = uac.call(uas.addr(), &uas.uri("bob"));
    call.auto_ack = false;
    call.invite().unwrap();
    assert_eq!(call.wait_final().unwrap().status(), 200);
    call.linger(Duration::from_millis(400));
    assert!(call.duplicates >= 2, "{} repeats", call.duplicates);
    call.ack().unwrap();
    uas.wait_request("ACK", Some(&call.call_id), Duration::from_secs(2))
        .expect("ACK");
    call.linger(Duration::from_millis(100));
    let before = call.duplicates;
    call.linger(Duration::from_millis(600));
    assert_eq!(call.duplicates, before, "2xx retransmitted after the ACK");
}

#[test]
fn own_uas_plans_are_programmable() {
    let uas = Uas::start_with(Transport::Udp, "127.0.0.1", Timers::default(), |_| Plan {
        steps: vec![
            Step::Reply(183),
            Step::Wait(Duration::from_millis(100)),
            Step::Reply(180),
            Step::Reply(603),
        ],
        retransmit_2xx: false,
    });
    let uac = Uac::new(Transport::Udp);
    let mut call = uac.call(uas.addr(), &uas.uri("x"));
    call.invite().unwrap();
    assert_eq!(call.wait_final().unwrap().status(), 603);
    assert_eq!(call.statuses(), vec![183, 180, 603]);
}
