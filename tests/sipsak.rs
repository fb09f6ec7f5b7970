//! End to end against a SIP implementation this project did not write:
//! sipsak (Debian package `sipsak`, installed by `.ci/test`).

mod common;

use std::process::{Command, Output};

fn sipsak(args: &[&str]) -> Output {
    Command::new("sipsak").args(args).output().unwrap_or_else(|e| {
        panic!("cannot run sipsak ({e}); install it with `apt-get install sipsak` or run the tests through .ci/test")
    })
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn sipsak_options_ping_gets_200() {
    let sc = common::Sidecar::start();
    let uri = format!("sip:ping@{}", sc.udp);
    let out = sipsak(&["-vv", "-s", &uri]);
    let t = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "sipsak exit 0 means 200 OK:\n{t}"
    );
    assert!(t.contains("SIP/2.0 200 OK"), "{t}");
    assert!(t.contains("Allow: INVITE, ACK, CANCEL, OPTIONS"), "{t}");
}

#[test]
fn sipsak_invite_gets_302_listing_the_carriers() {
    let sc = common::Sidecar::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("invite.sip");
    // sipsak inserts its own Via and sends the ACK for the 302 itself.
    std::fs::write(
        &file,
        "INVITE sip:+15551234567@127.0.0.1 SIP/2.0\r\nMax-Forwards: 70\r\nFrom: \"Alice\" <sip:15550001111@127.0.0.1>;tag=sipsak1\r\nTo: <sip:+15551234567@127.0.0.1>\r\nCall-ID: sipsak-invite-1@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:15550001111@127.0.0.1>\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap();
    let uri = format!("sip:15551234567@{}", sc.udp);
    let out = sipsak(&[
        "-vv",
        "--ignore-redirects",
        "-f",
        file.to_str().unwrap(),
        "-s",
        &uri,
    ]);
    let t = text(&out);
    assert!(t.contains("SIP/2.0 302 Moved Temporarily"), "{t}");
    let a = t
        .find("Contact: <sip:15551234567@198.51.100.10:5060>;q=1.0")
        .expect("first carrier-a gateway");
    let b = t
        .find("Contact: <sip:15551234567@198.51.100.11:5060;transport=tcp>;q=0.9")
        .expect("second carrier-a gateway");
    let c = t
        .find("Contact: <sip:15551234567@[2001:db8::5]:5080>;q=0.8")
        .expect("carrier-b");
    assert!(a < b && b < c, "contacts in route order:\n{t}");
    // sipsak reports a non-200 final answer with exit code 1.
    assert_eq!(out.status.code(), Some(1), "{t}");
}

#[test]
fn sipsak_from_a_stranger_gets_403() {
    let config = common::TEST_CONFIG.replace(
        "sources = [\"127.0.0.1/32\"]",
        "sources = [\"203.0.113.0/24\"]",
    );
    let sc = common::Sidecar::start_with(&config);
    let uri = format!("sip:ping@{}", sc.udp);
    let out = sipsak(&["-vv", "-s", &uri]);
    let t = text(&out);
    assert!(t.contains("SIP/2.0 403 Forbidden"), "{t}");
    assert_eq!(out.status.code(), Some(1), "{t}");
}

#[test]
fn sipsak_invite_with_no_route_gets_404() {
    let sc = common::Sidecar::start();
    let uri = format!("sip:99999@{}", sc.udp);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("invite.sip");
    std::fs::write(
        &file,
        "INVITE sip:99999@127.0.0.1 SIP/2.0\r\nMax-Forwards: 70\r\nFrom: <sip:15550001111@127.0.0.1>;tag=sipsak2\r\nTo: <sip:99999@127.0.0.1>\r\nCall-ID: sipsak-invite-2@127.0.0.1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap();
    let out = sipsak(&["-vv", "-f", file.to_str().unwrap(), "-s", &uri]);
    let t = text(&out);
    assert!(t.contains("SIP/2.0 404 Not Found"), "{t}");
}
