//! Prometheus metrics (names prefixed `sipforge_`). Label values are bounded:
//! methods outside RFC 3261's vocabulary count as `other`, customers come
//! from the configuration.

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

use crate::sip::Method;
use crate::transport::Transport;

/// All counters the process exports.
pub struct Metrics {
    registry: Registry,
    /// `sipforge_sip_requests_total{method,transport}` — requests received.
    pub requests: IntCounterVec,
    /// `sipforge_sip_responses_total{code,transport}` — responses sent.
    pub responses: IntCounterVec,
    /// `sipforge_sip_responses_dropped_total{transport}` — stray responses received and dropped.
    pub responses_dropped: IntCounterVec,
    /// `sipforge_parse_errors_total{kind}` — messages that failed to parse or validate.
    pub parse_errors: IntCounterVec,
    /// `sipforge_routing_outcomes_total{customer,outcome}` — what happened to each new call.
    pub routing: IntCounterVec,
    /// `sipforge_tcp_connections_rejected_total` — TCP connections refused at the cap.
    pub tcp_rejected: IntCounterVec,
    /// `sipforge_egress_attempts_total{carrier,code}` — proxy attempts per
    /// carrier by final code (`timeout`, `transport_error`, `cancelled` when
    /// there was none). Carriers come from the config or scripts' `carrier`
    /// field; scripts' values beyond the configured carriers count as `other`.
    pub egress_attempts: IntCounterVec,
    /// `sipforge_transactions_active` — SIP transactions held (proxy mode).
    pub transactions_active: IntGauge,
    /// `sipforge_dialogs_active` — confirmed dialogs through the proxy.
    pub dialogs_active: IntGauge,
    /// `sipforge_dialogs_untracked_total` — 2xx relayed while the dialog
    /// table was full (their in-dialog requests get 481).
    pub dialogs_untracked: IntCounter,
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("static metric definition is valid");
    registry
        .register(Box::new(g.clone()))
        .expect("metric names are unique");
    g
}

fn plain_counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("static metric definition is valid");
    registry
        .register(Box::new(c.clone()))
        .expect("metric names are unique");
    c
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels)
        .expect("static metric definition is valid");
    registry
        .register(Box::new(c.clone()))
        .expect("metric names are unique");
    c
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        Metrics {
            requests: counter(
                &registry,
                "sipforge_sip_requests_total",
                "SIP requests received, by method and transport",
                &["method", "transport"],
            ),
            responses: counter(
                &registry,
                "sipforge_sip_responses_total",
                "SIP responses sent, by status code and transport",
                &["code", "transport"],
            ),
            responses_dropped: counter(
                &registry,
                "sipforge_sip_responses_dropped_total",
                "SIP responses received that match nothing and were dropped",
                &["transport"],
            ),
            parse_errors: counter(
                &registry,
                "sipforge_parse_errors_total",
                "Messages that failed to parse or validate, by kind",
                &["kind"],
            ),
            routing: counter(
                &registry,
                "sipforge_routing_outcomes_total",
                "Routing decisions for new calls, by customer and outcome",
                &["customer", "outcome"],
            ),
            tcp_rejected: counter(
                &registry,
                "sipforge_tcp_connections_rejected_total",
                "TCP connections closed at accept because the connection cap was reached",
                &["listener"],
            ),
            egress_attempts: counter(
                &registry,
                "sipforge_egress_attempts_total",
                "Proxy attempts towards carriers, by carrier and final status (or timeout / transport_error / cancelled)",
                &["carrier", "code"],
            ),
            transactions_active: gauge(
                &registry,
                "sipforge_transactions_active",
                "SIP transactions currently held by the proxy",
            ),
            dialogs_active: gauge(
                &registry,
                "sipforge_dialogs_active",
                "Confirmed dialogs currently routed through the proxy",
            ),
            dialogs_untracked: plain_counter(
                &registry,
                "sipforge_dialogs_untracked_total",
                "2xx relayed while the dialog table was full",
            ),
            registry,
        }
    }

    /// Label value for a method: its name for RFC methods, `other` otherwise.
    pub fn method_label(m: Method<'_>) -> &'static str {
        match m {
            Method::Known(k) => crate::sip::message::known_name(k),
            Method::Extension(_) => "other",
        }
    }

    pub fn request(&self, m: Method<'_>, t: Transport) {
        self.requests
            .with_label_values(&[Self::method_label(m), t.as_str()])
            .inc();
    }

    pub fn response(&self, code: u16, t: Transport) {
        self.responses
            .with_label_values(&[itoa::Buffer::new().format(code), t.as_str()])
            .inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = TextEncoder::new().encode_utf8(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "metrics encoding failed");
        }
        out
    }
}
