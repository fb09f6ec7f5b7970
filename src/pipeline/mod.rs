//! The per-message decision, one function from bytes in to bytes out:
//!
//! ```text
//! parse ─► validate ─► ACK? absorb ─► source ACL (403) ─► Max-Forwards (483)
//!   ─► Proxy-Require (420) ─► R-URI scheme (416) ─► in-dialog? (481)
//!   ─► INVITE: route (404) ─► redirect (302)   OPTIONS: 200   others: 405/501/481
//! ```
//!
//! Every rejection is answered here, in one place, with the status code and
//! a reason phrase naming the problem; transports only move bytes.
//!
//! In proxy mode (`server.mode = "proxy"`) responses go to
//! [`proxy_call::ProxyCore`]; retransmitted INVITEs, ACKs and CANCELs of calls
//! it holds, and in-dialog requests with our Route, are handled there before
//! the checks above; a new INVITE opens a server transaction (100 Trying) and,
//! after routing and scripts, is forwarded with failover instead of the 302.

pub mod cdr;
pub mod proxy;
pub mod proxy_call;
pub mod redirect;

use std::borrow::Cow;
use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tracing::{debug, warn};

use crate::config::{Config, SipStatus};
use crate::metrics::Metrics;
use crate::routing::Router;
use crate::script::{self, CallCtx, CallData, Engine, Outcome, RunReport, Script, ScriptSet};
use crate::sip::{
    HeaderName, Limits, Message, Method, ParseError, Request, Via, reason_phrase, validate_request,
    write_response,
};
use crate::transport::Transport;

/// The methods a redirect server handles itself (the `Allow` header).
pub const ALLOW: &[u8] = b"INVITE, ACK, CANCEL, OPTIONS";

/// Bytes to send back, and where (for UDP; TCP answers on the connection).
#[derive(Debug)]
pub struct Reply {
    pub to: SocketAddr,
    pub bytes: Vec<u8>,
}

/// What handling one message came to.
pub enum Step {
    /// Answered (or dropped) at once.
    Done(Option<Reply>),
    /// A new call whose routing scripts must run first: run it with
    /// [`Pipeline::run_script`] (off the receive loop), which gives the answer.
    Script(Box<ScriptCall>),
}

/// A new call waiting for its routing scripts: the scripts' input, and what
/// is needed to answer the request afterwards.
pub struct ScriptCall {
    chain: Vec<Arc<Script>>,
    data: CallData,
    pending: PendingAnswer,
}

impl ScriptCall {
    fn into_parts(self: Box<Self>) -> (Vec<Arc<Script>>, CallData, PendingAnswer) {
        let ScriptCall {
            chain,
            data,
            pending,
        } = *self;
        (chain, data, pending)
    }
}

/// What routing found for a new call, before the scripts run.
struct Routed {
    dest_number: String,
    cli: String,
    egress: Vec<crate::routing::EgressEntry>,
}

/// The request a script runs for: a copy of its bytes and where it came from.
struct PendingAnswer {
    /// The request, to parse again for the answer; empty for a script run
    /// inline (answered from the request still parsed, never re-read).
    bytes: Vec<u8>,
    src: SocketAddr,
    transport: Transport,
    customer: usize,
    call_id: String,
    /// Proxy mode: the call's server transaction (answers go through it).
    proxy_tx: Option<crate::transaction::TxId>,
    /// The configuration generation the call started on (`customer` indexes it).
    live: Arc<Live>,
    /// When the INVITE reached the routing stage (CDR durations).
    started: std::time::Instant,
    /// Redirect mode: the customer's channel, held (never read) until the
    /// call is answered and this is dropped.
    _channel: Option<crate::routing::limits::ChannelGuard>,
}

/// What a configuration reload replaces as one: routes, customers, scripts.
/// A message is handled on one generation from start to end (a call whose
/// script runs keeps it), so a reload never mixes old and new state.
pub struct Live {
    router: Arc<Router>,
    customers: Arc<Vec<CustomerRt>>,
    scripts: Arc<ScriptSet>,
    /// Per-customer `cps_limit` and `channels`.
    call_limits: Arc<crate::routing::limits::Limits>,
}

impl Live {
    pub fn router(&self) -> &Router {
        &self.router
    }

    pub fn scripts(&self) -> &Arc<ScriptSet> {
        &self.scripts
    }
}

fn customers_rt(config: &Config) -> Vec<CustomerRt> {
    config
        .customers
        .iter()
        .map(|c| CustomerRt {
            vars: Arc::new(c.vars.clone()),
            ctx: CallCtx {
                customer_id: Arc::from(c.id.as_str()),
                secrets: Arc::new(c.secrets.clone()),
            },
            limits: script::Limits {
                timeout: std::time::Duration::from_millis(c.timeout_ms),
                memory_bytes: c.script_memory_mb as usize * 1024 * 1024,
            },
            timeout_action: c.timeout_action.clone(),
        })
        .collect()
}

/// Per-customer settings the script stage needs, prepared once.
struct CustomerRt {
    vars: Arc<toml::Table>,
    ctx: CallCtx,
    limits: script::Limits,
    timeout_action: SipStatus,
}

/// The request handler shared by every transport task.
pub struct Pipeline {
    live: ArcSwap<Live>,
    limits: Limits,
    tag_key: RandomState,
    server_name: String,
    server_header: Vec<u8>,
    metrics: Arc<Metrics>,
    engine: Option<Arc<Engine>>,
    /// Where proxy mode sends requests and relayed responses (set by the
    /// transports when they start serving).
    outbound: std::sync::OnceLock<Arc<crate::transport::Outbound>>,
    /// Proxy mode's call core (`server.mode = "proxy"`); `None` in redirect mode.
    proxy: Option<Arc<proxy_call::ProxyCore>>,
    /// Shutting down: new INVITEs get 503 with this Retry-After (seconds).
    draining: std::sync::OnceLock<String>,
    /// Calls whose scripts are running (a drain waits for their answers).
    scripts_in_flight: std::sync::atomic::AtomicUsize,
    /// `server.script_inline`: scripts run on the calling thread.
    script_inline: bool,
    /// Serializes reloads (a script swap between reading and storing the
    /// generation must not be lost).
    reload_lock: std::sync::Mutex<()>,
}

/// Counts a call in [`Pipeline::scripts_in_flight`] while it lives.
struct InFlight<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> InFlight<'a> {
    fn new(n: &'a std::sync::atomic::AtomicUsize) -> InFlight<'a> {
        n.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        InFlight(n)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl Pipeline {
    /// Gives the pipeline its way out (called once by the transports).
    pub fn set_outbound(&self, outbound: Arc<crate::transport::Outbound>) {
        if let Some(p) = &self.proxy {
            p.start(outbound.clone());
        }
        let _ = self.outbound.set(outbound);
    }

    /// Registers a listening address (proxy mode advertises it in Via and
    /// Record-Route and recognises it in Route).
    pub fn add_local(&self, transport: Transport, addr: SocketAddr) {
        if let Some(p) = &self.proxy {
            p.add_local(transport, addr);
        }
    }

    /// Graceful shutdown begins: new INVITEs are refused with 503 and
    /// `Retry-After: retry_after_s`; everything else (ACK, CANCEL, BYE,
    /// responses, transactions in progress) goes on.
    pub fn start_drain(&self, retry_after_s: u64) {
        let _ = self.draining.set(retry_after_s.to_string());
    }

    pub fn is_draining(&self) -> bool {
        self.draining.get().is_some()
    }

    /// Work that a graceful shutdown waits for: proxy transactions held
    /// and calls whose scripts are still running.
    pub fn busy(&self) -> usize {
        self.proxy.as_ref().map_or(0, |p| p.transactions())
            + self
                .scripts_in_flight
                .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Proxy mode's call core, if in proxy mode.
    /// A UDP datagram sent on behalf of transaction `token` (a
    /// [`crate::transaction::TxId`]) failed when its batch went out.
    pub fn udp_send_failed(&self, token: u64) {
        if let Some(p) = &self.proxy {
            p.on_transport_error(crate::transaction::TxId(token));
        }
    }

    pub fn proxy(&self) -> Option<&Arc<proxy_call::ProxyCore>> {
        self.proxy.as_ref()
    }

    /// The transports' way out, once serving.
    pub fn outbound(&self) -> Option<&Arc<crate::transport::Outbound>> {
        self.outbound.get()
    }

    pub fn new(config: &Config, router: Router, metrics: Arc<Metrics>) -> Pipeline {
        Pipeline {
            live: ArcSwap::from_pointee(Live {
                router: Arc::new(router),
                customers: Arc::new(customers_rt(config)),
                scripts: Arc::new(ScriptSet::default()),
                call_limits: Arc::new(crate::routing::limits::Limits::new(config, &metrics)),
            }),
            limits: limits_of(config),
            tag_key: RandomState::new(),
            server_name: config.server.server_name.clone(),
            engine: None,
            outbound: std::sync::OnceLock::new(),
            draining: std::sync::OnceLock::new(),
            scripts_in_flight: std::sync::atomic::AtomicUsize::new(0),
            script_inline: config.server.script_inline,
            reload_lock: std::sync::Mutex::new(()),
            proxy: (config.server.mode == crate::config::Mode::Proxy).then(|| {
                Arc::new(proxy_call::ProxyCore::new(
                    config,
                    metrics.clone(),
                    limits_of(config),
                ))
            }),
            server_header: format!(
                "{}/{}",
                config.server.server_name,
                env!("CARGO_PKG_VERSION")
            )
            .into_bytes(),
            metrics,
        }
    }

    /// Runs routing scripts on `engine`, starting with `scripts`.
    pub fn with_scripts(mut self, engine: Arc<Engine>, scripts: ScriptSet) -> Pipeline {
        self.engine = Some(engine);
        self.swap_scripts(scripts);
        self
    }

    /// Activates a new script set for new calls; calls in flight finish on
    /// the set they started with.
    pub fn swap_scripts(&self, scripts: ScriptSet) {
        let _g = self.reload_lock.lock();
        let scripts = Arc::new(scripts);
        self.live.rcu(|l| Live {
            router: l.router.clone(),
            customers: l.customers.clone(),
            scripts: scripts.clone(),
            call_limits: l.call_limits.clone(),
        });
        self.publish_versions();
    }

    /// `sipforge_script_version{customer}`: the version of each customer's
    /// own script (uploaded version number, or the configuration generation
    /// for a configured file; 0: none).
    fn publish_versions(&self) {
        let live = self.live.load();
        for i in 0..live.router.customer_count() {
            let v = live.scripts.customer_script(i).map_or(0, |s| s.version);
            self.metrics
                .script_version
                .with_label_values(&[live.router.customer_id(i)])
                .set(i64::try_from(v).unwrap_or(i64::MAX));
        }
    }

    /// A reloaded configuration's routes, customers and scripts, active for
    /// new messages at once (SIGHUP, `POST /api/v1/reload`). Listeners,
    /// mode, `[sip]`, `[proxy]` and the script pool keep their startup
    /// values (they need a restart).
    pub fn reload(&self, config: &Config, router: Router, scripts: ScriptSet) {
        let _g = self.reload_lock.lock();
        let call_limits = self.live.load().call_limits.reloaded(config, &self.metrics);
        self.live.store(Arc::new(Live {
            router: Arc::new(router),
            customers: Arc::new(customers_rt(config)),
            scripts: Arc::new(scripts),
            call_limits: Arc::new(call_limits),
        }));
        drop(_g);
        self.publish_versions();
    }

    /// The generation new messages are handled on.
    pub fn live(&self) -> Arc<Live> {
        self.live.load_full()
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Handles one message (a datagram, or one framed message from a stream).
    ///
    /// A bug that panics while handling one message costs that message only:
    /// the panic is caught, logged and counted, and the transport keeps serving.
    pub fn process(&self, data: &[u8], src: SocketAddr, transport: Transport) -> Step {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.handle_message(data, src, transport)
        }))
        .unwrap_or_else(|_| {
            self.metrics.parse_errors.with_label_values(&["internal"]).inc();
            tracing::error!(%src, %transport, len = data.len(), "internal error handling a message; dropped");
            Step::Done(None)
        })
    }

    /// [`Pipeline::process`] to the end on the current thread: scripts run
    /// here with [`Engine::run_blocking`]. For tools, tests and benches; the
    /// transports use `process` and [`Pipeline::run_script`].
    pub fn handle(&self, data: &[u8], src: SocketAddr, transport: Transport) -> Option<Reply> {
        match self.process(data, src, transport) {
            Step::Done(r) => r,
            Step::Script(call) => self.run_script_here(call),
        }
    }

    /// Runs a call's scripts on this thread and answers it.
    fn run_script_here(&self, call: Box<ScriptCall>) -> Option<Reply> {
        let (chain, data, pending) = call.into_parts();
        self.run_chain_here(&chain, data, &pending, None)
    }

    /// Runs `chain` on this thread and answers the call (`parsed`: see
    /// [`Pipeline::finish_script`]).
    fn run_chain_here(
        &self,
        chain: &[Arc<Script>],
        data: CallData,
        pending: &PendingAnswer,
        parsed: Option<(&Ctx<'_, '_>, &Request<'_>)>,
    ) -> Option<Reply> {
        let _in_flight = InFlight::new(&self.scripts_in_flight);
        let c = &pending.live.customers[pending.customer];
        let report = Engine::run_blocking(chain, data, &c.ctx, &c.limits, false);
        self.finish_script(pending, report, parsed)
    }

    /// Runs a call's scripts on the engine's pool and answers it. A full
    /// pool is answered with 503 at once. (With `server.script_inline`
    /// scripts run inside [`Pipeline::process`] and no `Step::Script` comes
    /// out of it.)
    pub async fn run_script(&self, call: Box<ScriptCall>) -> Option<Reply> {
        let _in_flight = InFlight::new(&self.scripts_in_flight);
        let Some(engine) = self.engine.as_ref() else {
            // Proxy mode: the call's server transaction must still end.
            if call.pending.proxy_tx.is_some() {
                self.answer_call(&call.pending, 500, "Server Internal Error", &[], None);
            }
            return None;
        };
        let (chain, data, pending) = call.into_parts();
        let c = &pending.live.customers[pending.customer];
        let run = engine
            .run(chain, data, c.ctx.clone(), c.limits, false)
            .await;
        match run {
            Ok(report) => self.finish_script(&pending, report, None),
            Err(_) => {
                self.decided(
                    &pending.live,
                    pending.customer,
                    cdr::Decision {
                        call_id: &pending.call_id,
                        customer: &c.ctx.customer_id,
                        outcome: "overloaded",
                        code: Some(503),
                        egress: &[],
                        script_version: None,
                        script_us: None,
                        started: pending.started,
                    },
                );
                warn!(customer = %c.ctx.customer_id, "script engine overloaded; call refused with 503");
                self.answer_call(&pending, 503, "Service Unavailable", &[], None)
            }
        }
    }

    /// Re-reads the request a script ran for and answers it with the outcome.
    /// `parsed`: the request still parsed (a script run inline, right after
    /// routing); `None`: it is parsed again from `call.bytes`.
    fn finish_script(
        &self,
        call: &PendingAnswer,
        report: RunReport,
        parsed: Option<(&Ctx<'_, '_>, &Request<'_>)>,
    ) -> Option<Reply> {
        let c = &call.live.customers[call.customer];
        for line in &report.console {
            debug!(customer = %c.ctx.customer_id, call_id = %call.call_id, "script: {line}");
        }
        debug!(customer = %c.ctx.customer_id, call_id = %call.call_id,
            outcome = %report.outcome, elapsed_us = report.elapsed.as_micros() as u64, "script ran");
        self.metrics.script_ran(&c.ctx.customer_id, report.elapsed);
        let decision = |outcome, code, egress| cdr::Decision {
            call_id: &call.call_id,
            customer: &c.ctx.customer_id,
            outcome,
            code,
            egress,
            script_version: call
                .live
                .scripts
                .customer_script(call.customer)
                .map(|s| s.version),
            script_us: Some(report.elapsed.as_micros() as u64),
            started: call.started,
        };
        let (live, customer) = (&call.live, call.customer);
        match &report.outcome {
            Outcome::Continue(data) if data.egress.is_empty() => {
                self.decided(live, customer, decision("no_route", Some(404), &[]));
                self.answer_call(call, 404, "Not Found", &[], parsed)
            }
            Outcome::Continue(data) if call.proxy_tx.is_some() => {
                self.decided(live, customer, decision("proxied", None, &data.egress));
                if let (Some(p), Some(id)) = (&self.proxy, call.proxy_tx) {
                    p.begin(
                        id,
                        data.egress.clone(),
                        data.headers.clone(),
                        data.remove_headers.clone(),
                    );
                }
                None
            }
            Outcome::Continue(data) => {
                self.decided(
                    live,
                    customer,
                    decision("redirected", Some(302), &data.egress),
                );
                let contacts = redirect::contacts(&data.egress, &data.headers);
                let extra: Vec<(&str, &[u8])> =
                    contacts.iter().map(|c| ("Contact", c.as_slice())).collect();
                self.answer_call(call, 302, "Moved Temporarily", &extra, parsed)
            }
            Outcome::Reject { code, reason } => {
                self.decided(live, customer, decision("rejected", Some(*code), &[]));
                self.metrics
                    .script_rejections
                    .with_label_values(&[&*c.ctx.customer_id, itoa::Buffer::new().format(*code)])
                    .inc();
                self.answer_call(call, *code, reason, &[], parsed)
            }
            Outcome::Timeout | Outcome::MemoryExceeded => {
                let kind = if report.outcome == Outcome::Timeout {
                    "timeout"
                } else {
                    "memory"
                };
                let code = c.timeout_action.code;
                self.decided(live, customer, decision(kind, Some(code), &[]));
                warn!(customer = %c.ctx.customer_id, call_id = %call.call_id, "script stopped: {}", report.outcome);
                self.answer_call(call, code, &c.timeout_action.reason, &[], parsed)
            }
            Outcome::Failed { message } => {
                self.decided(live, customer, decision("script_error", Some(500), &[]));
                warn!(customer = %c.ctx.customer_id, call_id = %call.call_id, "script failed: {message}");
                self.answer_call(call, 500, "Server Internal Error", &[], parsed)
            }
        }
    }

    fn count(&self, live: &Live, customer: usize, outcome: &str) {
        self.metrics
            .routing
            .with_label_values(&[live.router.customer_id(customer), outcome])
            .inc();
    }

    /// A routing decision: counted per customer and logged as a CDR line.
    fn decided(&self, live: &Live, customer: usize, d: cdr::Decision<'_>) {
        self.count(live, customer, d.outcome);
        d.log();
    }

    /// Answers the INVITE a script ran for.
    fn answer_call(
        &self,
        call: &PendingAnswer,
        code: u16,
        reason: &str,
        extra: &[(&str, &[u8])],
        parsed: Option<(&Ctx<'_, '_>, &Request<'_>)>,
    ) -> Option<Reply> {
        if let (Some(p), Some(id)) = (&self.proxy, call.proxy_tx) {
            p.answer(id, code, reason);
            return None;
        }
        if let Some((ctx, req)) = parsed {
            return self.reply(ctx, Some(req), code, reason, extra);
        }
        let msg = Message::parse(&call.bytes, &self.limits).ok()?;
        let req = validate_request(&msg).ok()?;
        let ctx = Ctx {
            msg: &msg,
            src: call.src,
            transport: call.transport,
            known: Some(call.customer),
            live: call.live.clone(),
        };
        self.reply(&ctx, Some(&req), code, reason, extra)
    }

    fn handle_message(&self, data: &[u8], src: SocketAddr, transport: Transport) -> Step {
        let msg = match Message::parse(data, &self.limits) {
            Ok(m) => m,
            Err(e) => {
                let kind = match e {
                    ParseError::Empty => "empty",
                    ParseError::Garbage(_) => "garbage",
                    ParseError::BadResponse(_) => "bad_response",
                };
                self.metrics.parse_errors.with_label_values(&[kind]).inc();
                debug!(%src, %transport, error = %e, "dropped unparseable message");
                return Step::Done(None);
            }
        };
        if !msg.is_request() {
            if let Some(code) = msg.status() {
                self.metrics.response_received(code, transport);
            }
            if let Some(p) = &self.proxy {
                p.on_response(&msg, transport);
                return Step::Done(None);
            }
            // No client transactions exist in redirect mode: every response is stray.
            self.metrics
                .responses_dropped
                .with_label_values(&[transport.as_str()])
                .inc();
            debug!(%src, status = msg.status(), "dropped stray response");
            return Step::Done(None);
        }
        let live = self.live.load_full();
        let ctx = Ctx {
            msg: &msg,
            src,
            transport,
            known: live.router.customer_for(src.ip()),
            live: live.clone(),
        };
        let req = match validate_request(&msg) {
            Ok(r) => r,
            Err(rej) => {
                let kind = match rej.code {
                    513 => "too_large",
                    505 => "version",
                    _ => "malformed",
                };
                self.metrics.parse_errors.with_label_values(&[kind]).inc();
                debug!(%src, code = rej.code, reason = %rej.reason, "rejected invalid request");
                if msg.method().is_some_and(|m| m.is(rsip::Method::Ack)) {
                    return Step::Done(None);
                }
                if msg.count(HeaderName::Via) == 0 {
                    // Nowhere to send a response: drop (RFC 4475 test message).
                    return Step::Done(None);
                }
                return Step::Done(self.reply(&ctx, None, rej.code, &rej.reason, &[]));
            }
        };
        self.metrics.request(req.method, transport);
        self.dispatch(&ctx, &req)
    }

    /// Answers a message that could not be framed on a stream (bad or
    /// oversized Content-Length) from its header block, if it is a request.
    pub fn reject_unframed(
        &self,
        header_block: &[u8],
        src: SocketAddr,
        transport: Transport,
        code: u16,
        reason: &str,
    ) -> Option<Reply> {
        self.metrics
            .parse_errors
            .with_label_values(&[if code == 513 { "too_large" } else { "framing" }])
            .inc();
        let msg = Message::parse(header_block, &self.limits).ok()?;
        if !msg.is_request()
            || msg.count(HeaderName::Via) == 0
            || msg.method().is_some_and(|m| m.is(rsip::Method::Ack))
        {
            return None;
        }
        let live = self.live.load_full();
        let ctx = Ctx {
            msg: &msg,
            src,
            transport,
            known: live.router.customer_for(src.ip()),
            live: live.clone(),
        };
        self.reply(&ctx, None, code, reason, &[])
    }

    fn dispatch(&self, ctx: &Ctx<'_, '_>, req: &Request<'_>) -> Step {
        use rsip::Method as M;
        let done = |code: u16, reason: &str, extra: &[(&str, &[u8])]| {
            Step::Done(self.reply(ctx, Some(req), code, reason, extra))
        };
        if let Some(p) = &self.proxy
            && let Some(step) = self.proxy_dispatch(p, ctx, req)
        {
            return step;
        }
        if req.method.is(M::Ack) {
            // ACK for our 302 (or a stray one): absorbed, never answered.
            return Step::Done(None);
        }
        let Some(customer) = ctx.known else {
            self.metrics
                .routing
                .with_label_values(&["", "forbidden"])
                .inc();
            debug!(src = %ctx.src, "request from unknown source");
            return done(403, "Forbidden", &[]);
        };
        if req.max_forwards == Some(0) {
            return done(483, "Too Many Hops", &[]);
        }
        if !req.method.is(M::Cancel) {
            let unsupported = self.unsupported_extensions(ctx.msg);
            if !unsupported.is_empty() {
                return done(
                    420,
                    "Bad Extension",
                    &[("Unsupported", unsupported.as_bytes())],
                );
            }
        }
        if !req.ruri.is_routable() {
            return done(416, "Unsupported URI Scheme", &[]);
        }
        if req.to.tag().is_some() {
            // sipforge holds no dialogs in redirect mode.
            return done(481, reason_phrase(481), &[]);
        }
        if let (Method::Known(M::Invite), Some(retry)) = (req.method, self.draining.get()) {
            return done(
                503,
                "Service Unavailable",
                &[("Retry-After", retry.as_bytes())],
            );
        }
        match req.method {
            Method::Known(M::Invite) => self.route_invite(ctx, req, customer),
            Method::Known(M::Options) => done(
                200,
                "OK",
                &[("Allow", ALLOW), ("Accept", b"application/sdp")],
            ),
            Method::Known(M::Cancel | M::Bye) => done(481, reason_phrase(481), &[]),
            Method::Known(_) => done(405, "Method Not Allowed", &[("Allow", ALLOW)]),
            Method::Extension(_) => done(501, "Not Implemented", &[("Allow", ALLOW)]),
        }
    }

    /// Proxy-Require option tags (sipforge supports none), comma-joined.
    fn unsupported_extensions(&self, msg: &Message<'_>) -> String {
        let mut out = String::new();
        for tag in msg.list(HeaderName::ProxyRequire) {
            if tag.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push_str(&String::from_utf8_lossy(tag));
        }
        out
    }

    /// A new call against its customer's `cps_limit` and `channels`: the
    /// channel it holds (`None`: the customer is unknown to the limits), or
    /// the answer refusing it.
    fn admit(
        &self,
        ctx: &Ctx<'_, '_>,
        req: &Request<'_>,
        customer: usize,
    ) -> Result<Option<crate::routing::limits::ChannelGuard>, Step> {
        let live = &ctx.live;
        let limits = &live.call_limits;
        let (limit, action) = if !limits.check_cps(customer) {
            ("cps", limits.cps_action(customer))
        } else {
            match limits.acquire_channel(customer) {
                Ok(guard) => return Ok(guard),
                Err(_) => ("channels", limits.channels_action(customer)),
            }
        };
        let customer_id = live.router.customer_id(customer);
        self.metrics.limit_rejected(customer_id, limit);
        let (code, reason) = action.map_or((503, "Service Unavailable"), |a| (a.code, &a.reason));
        let call_id = String::from_utf8_lossy(req.call_id);
        self.decided(
            live,
            customer,
            cdr::Decision {
                call_id: &call_id,
                customer: customer_id,
                outcome: "limit",
                code: Some(code),
                egress: &[],
                script_version: None,
                script_us: None,
                started: std::time::Instant::now(),
            },
        );
        Err(Step::Done(self.reply(ctx, Some(req), code, reason, &[])))
    }

    fn route_invite(&self, ctx: &Ctx<'_, '_>, req: &Request<'_>, customer: usize) -> Step {
        let started = std::time::Instant::now();
        let live = &ctx.live;
        let channel = match self.admit(ctx, req, customer) {
            Ok(guard) => guard,
            Err(step) => return step,
        };
        let customer_id = live.router.customer_id(customer);
        let user = req
            .ruri
            .user
            .map(String::from_utf8_lossy)
            .unwrap_or(Cow::Borrowed(""));
        let dest = crate::routing::dest_number(&user);
        let cli = req
            .from
            .uri
            .user
            .map(String::from_utf8_lossy)
            .unwrap_or(Cow::Borrowed(""));
        let route = live.router.route(customer, &dest, &cli);
        let scripts = &live.scripts;
        if scripts.has_chain(customer) {
            // The scripts may add, reorder or drop routes: they run even
            // when no prefix matched.
            let egress = route.map(|r| r.egress).unwrap_or_default();
            let chain = scripts.chain(customer);
            // The request's header map only when a script may read it.
            let with_headers = chain.len() != 1
                || chain[0].reads_request_headers()
                || tracing::enabled!(tracing::Level::DEBUG);
            let routed = Routed {
                dest_number: dest,
                cli: cli.into_owned(),
                egress,
            };
            let data = self.call_data(ctx, req, customer, routed, with_headers);
            let (proxy_tx, channel) = match &self.proxy {
                Some(p) => match p.open_call(ctx.msg, ctx.src, ctx.transport, customer_id, channel)
                {
                    Ok(id) => (Some(id), None),
                    Err(e) => return self.open_failed(ctx, req, e),
                },
                None => (None, channel),
            };
            if tracing::enabled!(tracing::Level::DEBUG) {
                debug!(call_id = %data.routing.call_id, customer = customer_id,
                    data = %crate::script::dry_run::call_data_to_json(&data), "script input");
            }
            let pending = PendingAnswer {
                // Inline, the request is answered while still parsed.
                bytes: if self.script_inline {
                    Vec::new()
                } else {
                    ctx.msg.buf().to_vec()
                },
                src: ctx.src,
                transport: ctx.transport,
                customer,
                call_id: data.routing.call_id.clone(),
                proxy_tx,
                live: live.clone(),
                started,
                _channel: channel,
            };
            if self.script_inline {
                return Step::Done(self.run_chain_here(&chain, data, &pending, Some((ctx, req))));
            }
            return Step::Script(Box::new(ScriptCall {
                chain,
                pending,
                data,
            }));
        }
        let call_id = String::from_utf8_lossy(req.call_id);
        let decision = |outcome, code, egress| cdr::Decision {
            call_id: &call_id,
            customer: customer_id,
            outcome,
            code,
            egress,
            script_version: None,
            script_us: None,
            started,
        };
        let Some(route) = route.filter(|r| !r.egress.is_empty()) else {
            self.decided(live, customer, decision("no_route", Some(404), &[]));
            debug!(call_id = %String::from_utf8_lossy(req.call_id), customer = customer_id, dest = %dest, "no route");
            return Step::Done(self.reply(ctx, Some(req), 404, "Not Found", &[]));
        };
        if let Some(p) = &self.proxy {
            let id = match p.open_call(ctx.msg, ctx.src, ctx.transport, customer_id, channel) {
                Ok(id) => id,
                Err(e) => return self.open_failed(ctx, req, e),
            };
            self.decided(live, customer, decision("proxied", None, &route.egress));
            p.begin(id, route.egress, Vec::new(), Vec::new());
            return Step::Done(None);
        }
        self.decided(
            live,
            customer,
            decision("redirected", Some(302), &route.egress),
        );
        let contacts = redirect::contacts(&route.egress, &[]);
        let extra: Vec<(&str, &[u8])> =
            contacts.iter().map(|c| ("Contact", c.as_slice())).collect();
        Step::Done(self.reply(ctx, Some(req), 302, "Moved Temporarily", &extra))
    }

    /// Proxy mode: an INVITE whose server transaction could not be created.
    fn open_failed(&self, ctx: &Ctx<'_, '_>, req: &Request<'_>, e: proxy_call::OpenError) -> Step {
        match e {
            proxy_call::OpenError::Full => {
                warn!("proxy transaction table full; call refused with 503");
                Step::Done(self.reply(ctx, Some(req), 503, "Service Unavailable", &[]))
            }
            // A retransmission racing its original: absorbed.
            proxy_call::OpenError::Duplicate => Step::Done(None),
            proxy_call::OpenError::BadKey => {
                Step::Done(self.reply(ctx, Some(req), 400, "Bad Request", &[]))
            }
        }
    }

    /// Proxy mode's requests that belong to a transaction or dialog we hold:
    /// retransmitted INVITEs and ACKs (absorbed), CANCEL (200, then the call
    /// is cancelled), in-dialog requests with our Route (forwarded). `None`:
    /// handled like in redirect mode (a new INVITE becomes a proxied call).
    fn proxy_dispatch(
        &self,
        p: &Arc<proxy_call::ProxyCore>,
        ctx: &Ctx<'_, '_>,
        req: &Request<'_>,
    ) -> Option<Step> {
        use rsip::Method as M;
        let tagged = req.to.tag().is_some();
        if req.method.is(M::Ack) {
            if !p.on_ack(ctx.msg) && tagged {
                p.in_dialog(ctx.msg, ctx.src, ctx.transport);
            }
            return Some(Step::Done(None));
        }
        if req.method.is(M::Cancel) {
            return p
                .on_cancel(ctx.msg)
                .then(|| Step::Done(self.reply(ctx, Some(req), 200, "OK", &[])));
        }
        if req.method.is(M::Invite) && !tagged && p.on_invite_retransmission(ctx.msg) {
            return Some(Step::Done(None));
        }
        if !tagged {
            return None;
        }
        if req.max_forwards == Some(0) && ctx.msg.count(HeaderName::Route) > 0 {
            return Some(Step::Done(self.reply(
                ctx,
                Some(req),
                483,
                "Too Many Hops",
                &[],
            )));
        }
        match p.in_dialog(ctx.msg, ctx.src, ctx.transport) {
            proxy_call::InDialog::Forwarded => Some(Step::Done(None)),
            proxy_call::InDialog::NotOurs => None,
            proxy_call::InDialog::Answer(code) => Some(Step::Done(self.reply(
                ctx,
                Some(req),
                code,
                reason_phrase(code),
                &[],
            ))),
        }
    }

    /// `data` for the scripts (DESIGN.md §4) from a validated INVITE.
    fn call_data(
        &self,
        ctx: &Ctx<'_, '_>,
        req: &Request<'_>,
        customer: usize,
        routed: Routed,
        with_headers: bool,
    ) -> CallData {
        let Routed {
            dest_number,
            cli,
            egress,
        } = routed;
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let mut unfolded = Vec::new();
        let mut value = |b: &[u8]| {
            unfolded.clear();
            crate::sip::response::push_unfolded(&mut unfolded, b);
            String::from_utf8_lossy(&unfolded).into_owned()
        };
        let headers = ctx
            .msg
            .headers()
            .iter()
            .take(if with_headers { usize::MAX } else { 0 })
            .map(|h| {
                let name = match h.name {
                    HeaderName::Other => text(ctx.msg.slice(h.raw_name)),
                    known => known.as_str().to_string(),
                };
                (name, value(ctx.msg.slice(h.value)))
            })
            .collect();
        let pai = ctx
            .msg
            .list(HeaderName::PAssertedIdentity)
            .next()
            .and_then(|v| crate::sip::NameAddr::parse(v).ok())
            .map(|a| text(a.uri.raw));
        let time_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let c = &ctx.live.customers[customer];
        CallData {
            routing: script::Routing {
                call_id: text(req.call_id),
                method: text(req.method.as_bytes()),
                ruri: text(ctx.msg.request_uri().unwrap_or_default()),
                dest_number,
                cli,
                from_display: req.from.display.map(display_name),
                from_uri: text(req.from.uri.raw),
                to_uri: text(req.to.uri.raw),
                pai,
                src_ip: ctx.src.ip(),
                src_port: ctx.src.port(),
                transport: ctx.transport,
                account_id: c.ctx.customer_id.to_string(),
                server: self.server_name.clone(),
                headers,
                time_ms,
            },
            egress,
            headers: Vec::new(),
            remove_headers: Vec::new(),
            vars: c.vars.clone(),
        }
    }

    /// Builds a response and picks its destination.
    fn reply(
        &self,
        ctx: &Ctx<'_, '_>,
        req: Option<&Request<'_>>,
        code: u16,
        reason: &str,
        extra: &[(&str, &[u8])],
    ) -> Option<Reply> {
        let (top_via, from_tag, to_tagged) = match req {
            Some(r) => (Some(r.via), r.from.tag(), r.to.tag().is_some()),
            None => (
                ctx.msg.top_via().and_then(Result::ok),
                ctx.msg.from().and_then(Result::ok).and_then(|f| f.tag()),
                ctx.msg
                    .value(HeaderName::To)
                    .is_some_and(crate::sip::response::to_has_tag),
            ),
        };
        let tag = self.to_tag(ctx.msg, from_tag, top_via.as_ref().and_then(|v| v.branch));
        let mut headers: Vec<(&str, &[u8])> = Vec::with_capacity(extra.len() + 1);
        headers.extend_from_slice(extra);
        headers.push(("Server", &self.server_header));
        let extra_len: usize = headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
        let mut bytes = Vec::with_capacity(ctx.msg.headers_end() + extra_len + 96);
        write_response(
            &mut bytes,
            ctx.msg,
            ctx.src,
            code,
            reason,
            (!to_tagged).then_some(&tag[..]),
            &headers,
        );
        self.metrics.response(code, ctx.transport);
        Some(Reply {
            to: response_target(top_via.as_ref(), ctx.src, ctx.known.is_some()),
            bytes,
        })
    }

    /// A To-tag that is the same for every retransmission of a request, so
    /// stateless answers stay consistent (RFC 3261 §16.11 / §17.2.1).
    fn to_tag(
        &self,
        msg: &Message<'_>,
        from_tag: Option<&[u8]>,
        branch: Option<&[u8]>,
    ) -> [u8; 18] {
        let h = self.tag_key.hash_one((
            msg.call_id().unwrap_or_default(),
            from_tag.unwrap_or_default(),
            branch.unwrap_or_default(),
            msg.value(HeaderName::CSeq).unwrap_or_default(),
        ));
        let mut tag = *b"sf0000000000000000";
        for (i, d) in tag[2..].iter_mut().enumerate() {
            *d = b"0123456789abcdef"[((h >> (60 - 4 * i)) & 15) as usize];
        }
        tag
    }
}

struct Ctx<'m, 'a> {
    msg: &'m Message<'a>,
    src: SocketAddr,
    transport: Transport,
    known: Option<usize>,
    live: Arc<Live>,
}

/// A display name as text: quotes removed and quoted-pairs resolved.
fn display_name(raw: &[u8]) -> String {
    let inner = raw.strip_prefix(b"\"").and_then(|r| r.strip_suffix(b"\""));
    let Some(inner) = inner else {
        return String::from_utf8_lossy(raw).into_owned();
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut escaped = false;
    for &b in inner {
        if escaped || b != b'\\' {
            out.push(b);
            escaped = false;
        } else {
            escaped = true;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where a response goes (RFC 3261 §18.2.2, RFC 3581 §4): always the source
/// IP (that is what `received` would say); the port is the source port when
/// `rport` was asked for, else the Via sent-by port (default 5060). Senders
/// that are not a configured customer are answered at their exact source
/// address, so a forged Via cannot point sipforge's answers elsewhere.
pub fn response_target(via: Option<&Via<'_>>, src: SocketAddr, trusted: bool) -> SocketAddr {
    match via {
        Some(v) if trusted && v.rport.is_none() => {
            SocketAddr::new(src.ip(), v.port.unwrap_or(5060))
        }
        _ => src,
    }
}

/// The wire limits configured in `[sip]`.
pub fn limits_of(config: &Config) -> Limits {
    Limits {
        max_message_bytes: config.sip.max_message_bytes,
        max_headers: config.sip.max_headers,
        max_line_bytes: config.sip.max_line_bytes,
    }
}
