//! SIP wire-layer benchmarks: parse, parse+validate, parse+edit+serialize of a
//! realistic carrier INVITE with an SDP body (~900 bytes).
//!
//! Run: `cargo bench --bench sip -- --warm-up-time 1 --measurement-time 3`

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sipforge::sip::{Editor, Limits, Message, validate_request};

use fixtures::CARRIER_INVITE as INVITE;

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
