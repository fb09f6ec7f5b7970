//! Fuzz the whole per-message decision: `Pipeline::handle` with a redirect-mode
//! config (customer 127.0.0.1/32), from the customer and from a stranger, over
//! UDP and TCP. Every answer must be one well-formed SIP response.
#![no_main]

#[path = "../../tests/fixtures/mod.rs"]
mod fixtures;

use fixtures::check_response;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use sipforge::config::Config;
use sipforge::metrics::Metrics;
use sipforge::pipeline::Pipeline;
use sipforge::routing::Router;
use sipforge::transport::Transport;

fn pipeline() -> &'static Pipeline {
    static P: OnceLock<Pipeline> = OnceLock::new();
    P.get_or_init(|| {
        // The tests' config with the parse target's size caps.
        let config = format!(
            "{}\n[sip]\nmax_message_bytes = 4096\nmax_headers = 64\nmax_line_bytes = 1024\n",
            fixtures::TEST_CONFIG
        );
        let cfg = Config::from_toml(&config, "fuzz.toml").expect("config");
        let router = Router::new(&cfg).expect("router");
        Pipeline::new(&cfg, router, Arc::new(Metrics::new()))
    })
}

fuzz_target!(|data: &[u8]| {
    let p = pipeline();
    let customer: SocketAddr = "127.0.0.1:5062".parse().unwrap();
    let stranger: SocketAddr = "192.0.2.7:5060".parse().unwrap();
    for (src, t) in [(customer, Transport::Udp), (stranger, Transport::Tcp)] {
        if let Some(reply) = p.handle(data, src, t) {
            check_response(&reply.bytes);
        }
    }
});
