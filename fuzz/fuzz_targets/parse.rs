//! Fuzz the SIP wire layer: `Message::parse`, `validate_request`,
//! `write_response`, `frame` and an `Editor` round trip on the same bytes.
//! Any panic, and any broken invariant asserted below, is a finding.
#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use sipforge::sip::{Editor, Frame, Limits, Message, frame, validate_request, write_response};

#[path = "../../tests/fixtures/mod.rs"]
mod fixtures;

use fixtures::check_response;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_message_bytes: 4096,
        max_headers: 64,
        max_line_bytes: 1024,
    };

    match frame(data, &limits) {
        Ok(Frame::Message(n)) => assert!(n > 0 && n <= data.len()),
        Ok(Frame::KeepAlive { len, .. }) => assert!(len > 0 && len <= data.len()),
        Ok(Frame::Incomplete) | Err(_) => {}
    }

    let Ok(msg) = Message::parse(data, &limits) else {
        return;
    };
    let _ = (
        msg.top_via(),
        msg.cseq(),
        msg.from(),
        msg.to(),
        msg.max_forwards(),
    );
    assert!(msg.body_span().end as usize <= data.len());
    assert!(msg.headers_end() <= data.len());
    if !msg.is_request() {
        return;
    }

    let src: SocketAddr = "192.0.2.1:5060".parse().unwrap();
    let mut out = Vec::new();
    match validate_request(&msg) {
        Ok(_) => write_response(
            &mut out,
            &msg,
            src,
            302,
            "Moved Temporarily",
            Some(b"t1"),
            &[("Contact", b"<sip:1@198.51.100.1>;q=1.0")],
        ),
        Err(rej) => write_response(&mut out, &msg, src, rej.code, &rej.reason, Some(b"t1"), &[]),
    }
    check_response(&out);

    let valid = validate_request(&msg).is_ok();
    let mut e = Editor::new(&msg);
    e.push_via(b"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfuzz;rport")
        .unwrap();
    e.set_request_uri(b"sip:1555@198.51.100.10:5060").unwrap();
    e.set_max_forwards(69);
    e.remove_header("User-Agent");
    e.add_header("X-Fuzz", b"1").unwrap();
    let edited = e.finish();
    if valid {
        // An edited valid request is still a valid request.
        let again = Message::parse(&edited, &limits).expect("edited request parses");
        if let Err(rej) = validate_request(&again) {
            // Growing past the size caps is the only acceptable way to fail.
            assert_eq!(
                rej.code,
                513,
                "{rej:?} for {:?}",
                String::from_utf8_lossy(&edited)
            );
        }
    }
});
