//! SIP wire-layer benchmarks: parse, parse+validate, parse+edit+serialize of a
//! realistic carrier INVITE with an SDP body (~900 bytes).
//!
//! Run: `cargo bench --bench sip -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sipforge::sip::{Editor, Limits, Message, validate_request};

/// A carrier-style INVITE: the headers a Class 4 softswitch sends, plus SDP.
pub const INVITE: &[u8] = b"INVITE sip:+14155550123@198.51.100.1;user=phone SIP/2.0\r\n\
Via: SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bK-77d3a1c5e3f1;rport\r\n\
Max-Forwards: 69\r\n\
From: \"ACME\" <sip:+12125550199@203.0.113.7>;tag=7f3c2a91\r\n\
To: <sip:+14155550123@198.51.100.1>\r\n\
Call-ID: 5b8d0c5e1f2a4a3b@203.0.113.7\r\n\
CSeq: 102 INVITE\r\n\
Contact: <sip:+12125550199@203.0.113.7:5060>\r\n\
P-Asserted-Identity: <sip:+12125550199@203.0.113.7>\r\n\
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE\r\n\
Supported: 100rel, timer\r\n\
User-Agent: CarrierSBC/5.2\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 393\r\n\
\r\n\
v=0\r\n\
o=- 3918731234 3918731234 IN IP4 203.0.113.7\r\n\
s=CarrierSBC\r\n\
c=IN IP4 203.0.113.7\r\n\
t=0 0\r\n\
m=audio 31764 RTP/AVP 0 8 18 101 13\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:18 G729/8000\r\n\
a=fmtp:18 annexb=no\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=rtpmap:13 CN/8000\r\n\
a=ptime:20\r\n\
a=maxptime:40\r\n\
a=sendrecv\r\n\
a=rtcp:31765\r\n\
a=x-trace:7f3c2a91-9d4e-4b1c-8a2f-5e6d7c8b9a0f\r\n";

/// What a proxy reads from every request: top Via (branch), CSeq, From tag, Call-ID.
fn touch(m: &Message<'_>) -> usize {
    let via = m.top_via().and_then(Result::ok).and_then(|v| v.branch);
    let cseq = m.cseq().and_then(Result::ok).map_or(0, |c| c.seq as usize);
    let from_tag = m.from().and_then(Result::ok).and_then(|f| f.tag());
    let call_id = m.call_id();
    via.map_or(0, <[u8]>::len)
        + cseq
        + from_tag.map_or(0, <[u8]>::len)
        + call_id.map_or(0, <[u8]>::len)
}

fn edit(m: &Message<'_>) -> Vec<u8> {
    let mut e = Editor::new(m);
    e.push_via(b"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKsf-6a1f0c3b9e2d;rport")
        .expect("via");
    e.set_request_uri(b"sip:14155550123@198.51.100.10:5060")
        .expect("ruri");
    let mf = m.max_forwards().and_then(Result::ok).unwrap_or(70);
    e.set_max_forwards(mf.saturating_sub(1));
    e.remove_header("User-Agent");
    e.add_header("X-Customer", b"acme").expect("hdr");
    e.add_header("Record-Route", b"<sip:192.0.2.1:5060;lr>")
        .expect("hdr");
    e.finish()
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    // Sanity: the message is what we claim before measuring it.
    {
        let m = Message::parse(INVITE, &limits).expect("parse");
        assert!(m.defect().is_none(), "{:?}", m.defect());
        assert_eq!(m.body().len(), 393);
        validate_request(&m).expect("valid");
        assert!(touch(&m) > 0);
        let out = edit(&m);
        assert!(out.ends_with(b"a=x-trace:7f3c2a91-9d4e-4b1c-8a2f-5e6d7c8b9a0f\r\n"));
    }

    let mut g = c.benchmark_group("sip");
    g.throughput(Throughput::Bytes(INVITE.len() as u64));
    // Breakdown: the one-pass split and index alone, no typed value parsed.
    g.bench_function("parse (index only)", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(INVITE), &limits).expect("parse");
            black_box(m.headers().len())
        })
    });
    g.bench_function("parse", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(INVITE), &limits).expect("parse");
            black_box(touch(&m))
        })
    });
    g.bench_function("parse+validate", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(INVITE), &limits).expect("parse");
            let r = validate_request(&m).expect("valid");
            black_box(r.cseq.seq)
        })
    });
    g.bench_function("parse+edit+serialize", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(INVITE), &limits).expect("parse");
            black_box(edit(&m))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
