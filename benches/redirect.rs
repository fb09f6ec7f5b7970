//! The whole redirect decision, bytes in to bytes out:
//! `Pipeline::handle(invite, src, Transport::Udp)` → 302 (routed), 404 (no route)
//! and 403 (unknown source).
//!
//! Run: `cargo bench --bench redirect -- --warm-up-time 1 --measurement-time 3`

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use sipforge::config::Config;
use sipforge::metrics::Metrics;
use sipforge::pipeline::Pipeline;
use sipforge::routing::Router;
use sipforge::transport::Transport;

fn pipeline() -> Pipeline {
    let cfg = Config::from_toml(fixtures::DEMO_CONFIG, "bench.toml").expect("config");
    let router = Router::new(&cfg).expect("router");
    Pipeline::new(&cfg, router, Arc::new(Metrics::new()))
}

fn status(p: &Pipeline, msg: &[u8], src: SocketAddr) -> String {
    let r = p.handle(msg, src, Transport::Udp).expect("a reply");
    String::from_utf8_lossy(&r.bytes[..12]).into_owned()
}

fn bench(c: &mut Criterion) {
    let p = pipeline();
    let customer: SocketAddr = "127.0.0.1:5062".parse().expect("addr");
    let stranger: SocketAddr = "192.0.2.99:5060".parse().expect("addr");
    let routed = fixtures::carrier_invite("+14155550123", "127.0.0.1");
    let unrouted = fixtures::carrier_invite("+81355550123", "127.0.0.1");
    assert_eq!(
        routed.len() - routed.windows(4).position(|w| w == b"\r\n\r\n").unwrap() - 4,
        121
    );
    assert_eq!(status(&p, &routed, customer), "SIP/2.0 302 ");
    assert_eq!(status(&p, &unrouted, customer), "SIP/2.0 404 ");
    assert_eq!(status(&p, &routed, stranger), "SIP/2.0 403 ");

    let mut g = c.benchmark_group("redirect");
    for (name, msg, src) in [
        ("302 routed", &routed, customer),
        ("404 no route", &unrouted, customer),
        ("403 stranger", &routed, stranger),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| black_box(p.handle(black_box(msg), src, Transport::Udp)))
        });
    }
    g.finish();

    // Breakdown: what the 302 path spends outside the wire layer and routing.
    // A routed INVITE bumps three labelled Prometheus counters (requests,
    // routing outcome, responses); this is the cost of the two generic ones.
    let m = Metrics::new();
    let invite = sipforge::sip::Method::Known(rsip::Method::Invite);
    let mut g = c.benchmark_group("redirect_breakdown");
    g.bench_function("metrics request+response counters", |b| {
        b.iter(|| {
            m.request(black_box(invite), Transport::Udp);
            m.response(black_box(302), Transport::Udp);
        })
    });
    let limits = sipforge::sip::Limits::default();
    g.bench_function("parse+validate+write_response", |b| {
        b.iter(|| {
            let msg = sipforge::sip::Message::parse(black_box(&routed), &limits).expect("parse");
            let req = sipforge::sip::validate_request(&msg).expect("valid");
            let mut out = Vec::with_capacity(512);
            sipforge::sip::write_response(
                &mut out,
                &msg,
                stranger,
                403,
                "Forbidden",
                Some(b"sf0123456789abcdef"),
                &[("Server", b"sipforge/0.1.0")],
            );
            black_box((req.cseq.seq, out))
        })
    });
    g.finish();

    // The Kamailio comparison's sipforge side, in process: the compare
    // config (22 prefixes, benches/compare/route.js inline) answering the
    // INVITE (parse, validate, route, script, 302) and absorbing its ACK.
    let cfg = Config::load(Some(std::path::Path::new(
        "benches/compare/sipforge-redirect.toml",
    )))
    .expect("compare config");
    let router = Router::new(&cfg).expect("router");
    let scripts = sipforge::script::ScriptSet::load(&cfg, 1).expect("scripts");
    let engine = Arc::new(sipforge::script::Engine::new(1, 16));
    let p = Pipeline::new(&cfg, router, Arc::new(Metrics::new())).with_scripts(engine, scripts);
    let invite = fixtures::carrier_invite("+12125550123", "127.0.0.1");
    let src: SocketAddr = "127.0.0.1:5062".parse().expect("addr");
    let answer = |p: &Pipeline, msg: &[u8]| p.handle(msg, src, Transport::Udp);
    let reply = answer(&p, &invite).expect("302");
    assert!(reply.bytes.starts_with(b"SIP/2.0 302 "));
    let text = String::from_utf8_lossy(&reply.bytes);
    assert!(text.contains("X-Route-Prefix=1212"), "{text}");
    let ack = fixtures::ack_for(&invite, &reply.bytes);
    assert!(answer(&p, &ack).is_none());
    let mut g = c.benchmark_group("redirect_compare");
    g.bench_function("INVITE with route.js -> 302", |b| {
        b.iter(|| black_box(answer(&p, black_box(&invite))))
    });
    g.bench_function("ACK absorbed", |b| {
        b.iter(|| black_box(answer(&p, black_box(&ack))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
