//! sipforge: a SIP routing sidecar for Class 4/5 voice.
//!
//! Carriers point SIP trunks at sipforge; for every new call it identifies the
//! customer by source address, looks up the customer's routes by longest
//! prefix and answers with a redirect (or, later, proxies the call).
//!
//! # Layout
//!
//! * [`sip`] — the zero-copy SIP wire layer: parser, typed header access,
//!   validation, edits, stream framing, response building.
//! * [`transport`] — UDP and TCP listeners, response addressing (RFC 3261
//!   §18.2.2, RFC 3581).
//! * [`config`] — the TOML configuration, validated before any port is bound.
//! * [`routing`] — source ACL → customer, longest-prefix route tables,
//!   egress route lists.
//! * [`pipeline`] — the per-message decision: validate, classify, identify,
//!   route, answer (redirect mode).
//! * [`script`] — the routing-script engine: Luau sandbox, per-call limits,
//!   the `main(data, ctx)` contract, a bounded worker pool.
//! * [`js`] — JavaScript routing scripts: oxc parser → Luau codegen plus a
//!   Luau runtime prelude carrying JS semantics (issue 4, in progress).
//! * [`metrics`] — Prometheus counters.
//! * [`admin`] — the admin HTTP listener (`/metrics`, `/healthz`, `/readyz`).
//! * [`cli`] — the `sipforge` command line; `main.rs` only calls it.

pub mod admin;
pub mod cli;
pub mod config;
pub mod js;
pub mod metrics;
pub mod pipeline;
pub mod routing;
pub mod script;
pub mod sip;
pub mod transaction;
pub mod transport;
