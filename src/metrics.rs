//! Prometheus metrics (names prefixed `sipforge_`). Label values are bounded:
//! methods outside RFC 3261's vocabulary count as `other`, customers come
//! from the configuration (an unknown one is `""`). docs/metrics.md lists
//! every family.

use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::sip::Method;
use crate::transport::Transport;

/// All counters the process exports.
pub struct Metrics {
    registry: Registry,
    /// `sipforge_sip_requests_total{method,transport}` — requests received.
    pub requests: IntCounterVec,
    /// `sipforge_sip_responses_total{code,transport}` — responses sent.
    pub responses: IntCounterVec,
    /// `sipforge_sip_requests_sent_total{method,transport}` — requests the
    /// proxy sent (forwarded, ACK, CANCEL).
    pub requests_sent: IntCounterVec,
    /// `sipforge_sip_responses_received_total{code,transport}` — responses
    /// received (proxy mode: from carriers and callees).
    pub responses_received: IntCounterVec,
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
    /// `sipforge_script_duration_seconds{customer}` — wall time of a call's
    /// script chain (global and customer scripts), buckets [`SCRIPT_BUCKETS`].
    pub script_duration: HistogramVec,
    /// `sipforge_limit_rejections_total{customer,limit}` — new calls refused
    /// by `cps_limit` (`limit="cps"`) or `channels` (`limit="channels"`).
    pub limit_rejections: IntCounterVec,
    /// `sipforge_script_rejections_total{customer,code}` — calls a script
    /// ended with a SIP status (the code it threw).
    pub script_rejections: IntCounterVec,
    /// `sipforge_calls_active{customer}` — channels in use: calls admitted
    /// and not yet ended (redirect mode: until the answer; proxy mode: until
    /// the call fails or its dialog ends).
    pub calls_active: IntGaugeVec,
    /// `sipforge_tcp_connections` — TCP connections open (inbound and outbound).
    pub tcp_connections: IntGauge,
    /// `sipforge_script_version{customer}` — the active script version per customer.
    pub script_version: IntGaugeVec,
}

/// Buckets of `sipforge_script_duration_seconds`: 1 µs up to 10 s (the
/// largest script timeout), 1 / 2.5 / 5 per decade.
pub const SCRIPT_BUCKETS: &[f64] = &[
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2,
    5e-2, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

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

fn gauge_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g =
        IntGaugeVec::new(Opts::new(name, help), labels).expect("static metric definition is valid");
    registry
        .register(Box::new(g.clone()))
        .expect("metric names are unique");
    g
}

fn histogram(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: &[f64],
) -> HistogramVec {
    let h = HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )
    .expect("static metric definition is valid");
    registry
        .register(Box::new(h.clone()))
        .expect("metric names are unique");
    h
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
            requests_sent: counter(
                &registry,
                "sipforge_sip_requests_sent_total",
                "SIP requests sent by the proxy (forwarded, ACK, CANCEL), by method and transport",
                &["method", "transport"],
            ),
            responses_received: counter(
                &registry,
                "sipforge_sip_responses_received_total",
                "SIP responses received, by status code and transport",
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
            script_duration: histogram(
                &registry,
                "sipforge_script_duration_seconds",
                "Wall time of a new call's routing scripts, by customer",
                &["customer"],
                SCRIPT_BUCKETS,
            ),
            limit_rejections: counter(
                &registry,
                "sipforge_limit_rejections_total",
                "New calls refused by a customer limit (cps or channels)",
                &["customer", "limit"],
            ),
            script_rejections: counter(
                &registry,
                "sipforge_script_rejections_total",
                "Calls a routing script ended with a SIP status, by customer and code",
                &["customer", "code"],
            ),
            calls_active: gauge_vec(
                &registry,
                "sipforge_calls_active",
                "Calls holding one of the customer's channels",
                &["customer"],
            ),
            tcp_connections: gauge(
                &registry,
                "sipforge_tcp_connections",
                "TCP connections open (inbound and outbound)",
            ),
            script_version: gauge_vec(
                &registry,
                "sipforge_script_version",
                "Active routing script version, by customer",
                &["customer"],
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

    /// A request sent (`bytes`: the message; responses are not counted here).
    pub fn sent(&self, bytes: &[u8], t: Transport) {
        if bytes.starts_with(b"SIP/2.0 ") {
            return;
        }
        let method = bytes.split(|&b| b == b' ').next().unwrap_or_default();
        self.requests_sent
            .with_label_values(&[Self::method_label(Method::from_bytes(method)), t.as_str()])
            .inc();
    }

    pub fn response_received(&self, code: u16, t: Transport) {
        self.responses_received
            .with_label_values(&[itoa::Buffer::new().format(code), t.as_str()])
            .inc();
    }

    pub fn response(&self, code: u16, t: Transport) {
        self.responses
            .with_label_values(&[itoa::Buffer::new().format(code), t.as_str()])
            .inc();
    }

    /// Records a script chain's wall time for `customer` (its id, `""` if unknown).
    pub fn script_ran(&self, customer: &str, elapsed: std::time::Duration) {
        self.script_duration
            .with_label_values(&[customer])
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a call refused by `customer`'s `limit` (`"cps"` or `"channels"`).
    pub fn limit_rejected(&self, customer: &str, limit: &'static str) {
        self.limit_rejections
            .with_label_values(&[customer, limit])
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_families_encode_with_their_labels() {
        let m = Metrics::new();
        m.script_ran("acme", std::time::Duration::from_micros(3));
        m.limit_rejected("acme", "cps");
        m.calls_active.with_label_values(&["acme"]).inc();
        m.tcp_connections.inc();
        m.script_version.with_label_values(&["acme"]).set(4);
        let text = m.encode();
        for line in [
            "sipforge_script_duration_seconds_bucket{customer=\"acme\",le=\"0.000001\"} 0",
            "sipforge_script_duration_seconds_bucket{customer=\"acme\",le=\"0.000005\"} 1",
            "sipforge_script_duration_seconds_bucket{customer=\"acme\",le=\"+Inf\"} 1",
            "sipforge_script_duration_seconds_count{customer=\"acme\"} 1",
            "sipforge_limit_rejections_total{customer=\"acme\",limit=\"cps\"} 1",
            "sipforge_calls_active{customer=\"acme\"} 1",
            "sipforge_tcp_connections 1",
            "sipforge_script_version{customer=\"acme\"} 4",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        assert!(SCRIPT_BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }
}
