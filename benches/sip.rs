//! SIP wire-layer benchmarks: parse, parse+validate, parse+edit+serialize of a
//! realistic carrier INVITE with an SDP body (~900 bytes), and the proxy-mode
//! message work per call (forward the INVITE, relay a response).
//!
//! Run: `cargo bench --bench sip -- --warm-up-time 1 --measurement-time 3`

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sipforge::sip::proxy::{self, BranchGen, Egress, Hops, Local};
use sipforge::sip::{Editor, Limits, Message, validate_request};
use sipforge::transport::Transport;

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
    // Proxy mode: the INVITE forwarded to one egress attempt (R-URI, From
    // user, Max-Forwards, our Via with a fresh branch, Record-Route, header
    // edits), then the 180 from downstream relayed with our Via removed.
    let locals = [Local {
        addr: "192.0.2.1:5060".parse().unwrap(),
        transport: Transport::Udp,
    }];
    let hops = Hops {
        src: "203.0.113.7:5060".parse().unwrap(),
        inbound: locals[0],
        outbound: locals[0],
        locals: &locals,
    };
    let egress = Egress {
        dest_number: "14155550123",
        gateway: "198.51.100.10:5060",
        transport: Transport::Udp,
        cli: "15550001111",
    };
    let branches = BranchGen::new();
    let forward = |m: &Message<'_>| {
        let branch = branches.next_branch();
        proxy::forward_request(
            m,
            &egress,
            &hops,
            branch.as_str(),
            ["User-Agent"],
            [("X-Customer", "acme")],
        )
        .expect("forward")
    };
    g.bench_function("proxy: parse+forward_request", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(INVITE), &limits).expect("parse");
            black_box(forward(&m))
        })
    });
    let forwarded = forward(&Message::parse(INVITE, &limits).unwrap());
    let ringing = ringing_from_downstream(&forwarded);
    g.bench_function("proxy: parse+relay_response (180)", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(&ringing), &limits).expect("parse");
            black_box(proxy::relay_response(&m, &branches).expect("relay").bytes)
        })
    });
    g.finish();
}

/// A 180 a gateway would send back for the forwarded INVITE: its Vias (ours
/// on top), From, To with a tag, Call-ID, CSeq.
fn ringing_from_downstream(forwarded: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(forwarded);
    let mut out = String::from("SIP/2.0 180 Ringing\r\n");
    for line in text.split("\r\n").take_while(|l| !l.is_empty()).skip(1) {
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match name.as_str() {
            "via" | "v" | "from" | "f" | "call-id" | "i" | "cseq" => {
                out.push_str(line);
                out.push_str("\r\n");
            }
            "to" | "t" => {
                out.push_str(line);
                out.push_str(";tag=gw1\r\n");
            }
            _ => {}
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out.into_bytes()
}

criterion_group!(benches, bench);
criterion_main!(benches);
