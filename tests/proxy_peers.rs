//! Proxy mode with a SIP stack this project did not write on the far side:
//! the project's own UAC (`tests/agents`) → sipforge (`mode = "proxy"`) →
//! Kamailio from Debian as the UAS (`tests/peers/kamailio-uas.cfg`, chosen
//! behaviour by Request-URI user). A full call INVITE/100/180/200/ACK/BYE/200
//! over UDP and from a TCP caller, and serial failover where Kamailio's first
//! answer is 503 and a JavaScript routing script chose the routes. The
//! transaction table must be empty after each call.

// Both include tests/fixtures (std-only data); two copies are harmless.
#[allow(clippy::duplicate_mod)]
mod agents;
mod common;

use std::time::Duration;

use agents::{Kamailio, Timers, Transport, Uac};
use common::{Sidecar, admin_addr};

/// Proxy mode, carriers `k1` and `k2` both at Kamailio's UDP address, prefix
/// `1` → [k1, k2]; `script` optional (a customer script path).
fn config(k: &Kamailio, script: Option<&std::path::Path>) -> String {
    let script = script
        .map(|p| format!("script = {:?}\n", p.display().to_string()))
        .unwrap_or_default();
    format!(
        r#"
[server]
listen_udp = ["127.0.0.1:0"]
listen_tcp = ["127.0.0.1:0"]
mode = "proxy"
admin_listen = "127.0.0.1:0"

[proxy]
attempt_timeout_ms = 5000
t1_ms = 100
t2_ms = 400
t4_ms = 400

[[carriers]]
id = "k1"
gateways = ["{gw}"]

[[carriers]]
id = "k2"
gateways = ["{gw}"]

[[customers]]
id = "acme"
sources = ["127.0.0.1/32"]
{script}routes = [{{ prefix = "1", carriers = ["k1", "k2"] }}]
"#,
        gw = k.addr(Transport::Udp)
    )
}

fn sidecar_addr(sc: &Sidecar, t: Transport) -> std::net::SocketAddr {
    match t {
        Transport::Udp => sc.udp,
        Transport::Tcp => sc.tcp,
    }
}

fn full_call_through_sipforge(t: Transport) {
    let Some(k) = Kamailio::start("proxy_full_call_to_kamailio") else {
        return;
    };
    let sc = Sidecar::start_with(&config(&k, None));
    let uac = Uac::new(t).with_timers(Timers::fast());
    let to = sidecar_addr(&sc, t);
    let mut call = uac.call(to, &format!("sip:15551234567@{to}"));
    call.invite().unwrap();
    let fin = call.wait_final().unwrap();
    assert_eq!(fin.status(), 200, "{}\n{}", fin.text(), sc.log_text());
    let statuses = call.statuses();
    assert!(
        statuses.contains(&180) && statuses.ends_with(&[200]),
        "{statuses:?}"
    );
    assert!(fin.body_text().contains("m=audio"), "{}", fin.text());
    // sipforge stays in the dialog: its Record-Route is the route set
    assert!(!call.route_set.is_empty(), "{}", fin.text());
    call.ack().unwrap();
    let bye = call.bye().unwrap();
    assert_eq!(bye.status(), 200, "{}", bye.text());
    // Kamailio saw the whole dialog, the ACK and BYE loose-routed through sipforge
    assert!(k.wait_logged("BYE", &call.call_id, Duration::from_secs(5)));
    // (a 200 retransmitted before the ACK arrived is ACKed again: repeats
    // of one method are one step here)
    let mut seen: Vec<String> = k
        .requests(&call.call_id)
        .into_iter()
        .map(|(m, _)| m)
        .collect();
    seen.dedup();
    assert_eq!(seen, ["INVITE", "ACK", "BYE"], "{}", k.log_text());
    common::assert_no_transactions(&sc);
}

#[test]
fn full_call_uac_udp_sipforge_kamailio() {
    full_call_through_sipforge(Transport::Udp);
}

#[test]
fn full_call_uac_tcp_sipforge_udp_kamailio() {
    full_call_through_sipforge(Transport::Tcp);
}

#[test]
fn failover_from_kamailio_503_to_the_next_route_chosen_by_a_js_script() {
    let Some(k) = Kamailio::start("proxy_failover_kamailio") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("acme.js");
    // The first route asks Kamailio for its 503 behaviour; the second is a
    // normal call. A header marks every attempt.
    std::fs::write(
        &script,
        "export function main(data) {\n  data.egress_routing[0].dest_number = 'unavailable';\n  data.headers.push({ key: 'X-Routed-By', value: 'js' });\n  return data;\n}\n",
    )
    .unwrap();
    let sc = Sidecar::start_with(&config(&k, Some(&script)));
    let uac = Uac::new(Transport::Udp).with_timers(Timers::fast());
    let mut call = uac.call(sc.udp, &format!("sip:15551234567@{}", sc.udp));
    call.invite().unwrap();
    let fin = call.wait_final().unwrap();
    assert_eq!(fin.status(), 200, "{}\n{}", fin.text(), sc.log_text());
    call.ack().unwrap();
    assert_eq!(call.bye().unwrap().status(), 200);
    // Kamailio got two INVITEs for this call: the 503 user, then the number
    let invites: Vec<String> = k
        .requests(&call.call_id)
        .into_iter()
        .filter(|(m, _)| m == "INVITE")
        .map(|(_, uri)| uri)
        .collect();
    assert_eq!(invites.len(), 2, "{invites:?}\n{}", k.log_text());
    assert!(invites[0].starts_with("sip:unavailable@"), "{invites:?}");
    assert!(invites[1].starts_with("sip:15551234567@"), "{invites:?}");
    let admin = admin_addr(&sc);
    assert!(
        common::metrics(admin)
            .contains("sipforge_egress_attempts_total{carrier=\"k1\",code=\"503\"} 1"),
        "{}",
        common::metrics(admin)
    );
    common::assert_no_transactions(&sc);
}
