//! Call detail records in the log: one structured line per routing decision
//! (target `sipforge::cdr`, `kind = "routing"`) and, in proxy mode, one per
//! finished call (`kind = "call"`: attempts with their results, the final
//! status, setup time). With `--log-format json` each is one JSON object ops
//! can ship; `RUST_LOG=sipforge::cdr=info` keeps only these.

use std::fmt::Write as _;
use std::time::Instant;

use tracing::info;

use crate::routing::EgressEntry;

/// A routing decision: what the routing stage (and scripts) decided for one
/// new call.
pub struct Decision<'a> {
    pub call_id: &'a str,
    pub customer: &'a str,
    /// `redirected`, `proxied`, `rejected`, `no_route`, `limit`, `timeout`,
    /// `memory`, `script_error`, `overloaded`.
    pub outcome: &'a str,
    /// The answer sipforge sent (none yet for a proxied call).
    pub code: Option<u16>,
    /// The routes chosen, in order.
    pub egress: &'a [EgressEntry],
    /// The customer's script version, when a script ran.
    pub script_version: Option<u64>,
    /// Time the scripts ran, µs.
    pub script_us: Option<u64>,
    /// When the INVITE reached the routing stage.
    pub started: Instant,
}

/// `carrier@gateway` list, comma-separated.
fn egress_list(egress: &[EgressEntry]) -> String {
    let mut out = String::new();
    for (i, e) in egress.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}@{}", e.carrier, e.gateway);
    }
    out
}

impl Decision<'_> {
    pub fn log(&self) {
        info!(
            target: "sipforge::cdr",
            kind = "routing",
            call_id = self.call_id,
            customer = self.customer,
            outcome = self.outcome,
            code = self.code,
            egress = %egress_list(self.egress),
            script_version = self.script_version,
            script_us = self.script_us,
            routing_us = self.started.elapsed().as_micros() as u64,
            "routing decision"
        );
    }
}

/// A proxied call's end: every attempt (`carrier:result`), the final status
/// sent upstream, how long until it.
pub fn call_end(
    call_id: &str,
    customer: &str,
    attempts: &[(std::sync::Arc<str>, String)],
    code: u16,
    started: Instant,
) {
    let mut tried = String::new();
    for (i, (carrier, result)) in attempts.iter().enumerate() {
        if i > 0 {
            tried.push(',');
        }
        let _ = write!(tried, "{carrier}:{result}");
    }
    info!(
        target: "sipforge::cdr",
        kind = "call",
        call_id,
        customer,
        code,
        attempts = %tried,
        setup_ms = started.elapsed().as_millis() as u64,
        "call final response"
    );
}
