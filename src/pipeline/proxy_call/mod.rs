//! Proxy mode's call core (issue 5, docs/proxy.md "call flow"): one
//! [`ProxyCore`] per process holds every transaction in one [`TxTable`] and
//! drives the sans-IO machines of [`crate::transaction`] with the messages of
//! [`crate::sip::proxy`], sending through [`Outbound`].
//!
//! * A call is one `Arc<Mutex<Call>>` shared by the table entries of its
//!   INVITE server transaction, its INVITE client transactions (one per
//!   attempt) and the CANCEL client transactions it sent. Each entry leaves
//!   the table when its machine says `Terminated`; the call is dropped with its
//!   last entry. The lock is per call and never held across an `.await` or
//!   inside a table closure (lock order: call, then table shard).
//! * Effects (sends, removals) are collected under the lock and carried out
//!   after it: removals at once, sends on a spawned task, in order.
//! * One timer service task (TokioClock); firings come back as
//!   [`ProxyCore::on_timer`]. Besides the machines' own timers the core uses
//!   two kinds the machines never arm: [`ATTEMPT_TIMER`] on a client INVITE
//!   (no response at all within `attempt_timeout_ms`) and [`CANCEL_GUARD`] on
//!   the server INVITE (answer 487 ourselves if the downstream one is late).
//! * A relayed 2xx records the dialog ([`Dialogs`]). Requests of a recorded
//!   dialog that carry our Route are loose-routed through a [`relay::Relay`]
//!   (server + client transaction, [`relay`]); ACK for 2xx is forwarded
//!   statelessly; anything else with our Route gets 481. Responses that match
//!   no transaction (2xx retransmissions after timer M) are relayed by Via.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use tracing::{debug, warn};

use super::proxy::{AttemptEnd, BestResponse, Next, after_attempt};
use crate::config::{Config, ProxyConfig};
use crate::metrics::Metrics;
use crate::routing::EgressEntry;
use crate::routing::limits::ChannelGuard;
use crate::sip::proxy::{
    BranchGen, Egress, Hops, Local, cancel_for, forward_request, relay_response,
};
use crate::sip::{HeaderName, Limits, Message, reason_phrase, write_response};
use crate::transaction::{
    Action, Actions, DialogKey, Dialogs, Fired, InviteClient, InviteServer, InviteServerState,
    NonInviteClient, TimerGens, TimerHandle, TimerKind, Timers, TokioClock,
    Transport as TxTransport, TxId, TxKey, TxTable, spawn_timer_service,
};
use crate::transport::{Outbound, Transport};

/// The attempt timeout (no response at all), armed on a client INVITE
/// transaction's id; the INVITE client machine never uses timer F.
pub const ATTEMPT_TIMER: TimerKind = TimerKind::F;
/// After a CANCEL from upstream: answer 487 ourselves when the downstream
/// 487 does not come; armed on the server INVITE's id (which never uses E).
pub const CANCEL_GUARD: TimerKind = TimerKind::E;
/// Why an attempt could not start when the transaction table is full.
const TABLE_FULL: &str = "transaction table full";
/// Most egress attempts one call makes (routes beyond are ignored).
pub const MAX_ATTEMPTS: usize = 16;

mod relay;

pub use relay::InDialog;

/// A table entry: the call (initial INVITE) or the in-dialog relay the
/// transaction belongs to.
#[derive(Clone)]
pub enum Entry {
    Call(Arc<Mutex<Call>>),
    Relay(Arc<Mutex<relay::Relay>>),
}

/// The routes of a call and where it is among them.
struct Plan {
    routes: Vec<EgressEntry>,
    resolved: Vec<Option<SocketAddr>>,
    next: usize,
    headers: Vec<(String, String)>,
    remove: Vec<String>,
}

enum SubKind {
    Invite(InviteClient),
    NonInvite(NonInviteClient),
}

/// A client transaction of the call.
struct Sub {
    id: TxId,
    kind: SubKind,
    gens: TimerGens,
    target: (Transport, SocketAddr),
    carrier: Arc<str>,
    /// Given up (attempt or ring timeout, CANCEL guard): its retransmissions
    /// are no longer sent and its responses no longer go upstream.
    abandoned: bool,
    cancel_sent: bool,
}

/// One inbound INVITE and its attempts.
pub struct Call {
    server_id: TxId,
    server: InviteServer,
    server_gens: TimerGens,
    /// Where responses go upstream (§18.2.2 / RFC 3581).
    upstream: (Transport, SocketAddr),
    invite: Bytes,
    src: SocketAddr,
    transport: Transport,
    to_tag: [u8; 16],
    plan: Option<Plan>,
    subs: Vec<Sub>,
    /// Index in `subs` of the live attempt.
    current: Option<usize>,
    best: BestResponse,
    /// Final responses of the attempts (status, bytes with our Via removed).
    finals: Vec<Option<(u16, Bytes)>>,
    relayed_ringing: bool,
    cancelled: bool,
    /// CANCEL asked before the attempt had a provisional: send it on the first 1xx.
    cancel_pending: bool,
    customer: Option<Arc<str>>,
    /// Dialogs this call's 2xx responses created (one per To tag): a 2xx
    /// retransmission must not bring back a dialog its BYE ended.
    dialogs: Vec<DialogKey>,
    /// The customer's channel this call holds: released when a final
    /// non-2xx goes upstream (or the call is dropped), moved into the
    /// dialog its first 2xx records.
    channel: Option<ChannelGuard>,
    /// Each attempt's carrier and result (the call's CDR line).
    attempts: Vec<(Arc<str>, String)>,
    /// When the INVITE arrived; `None` once the call's CDR line was written.
    started: Option<Instant>,
}

/// What to do once the call's lock is released.
#[derive(Default)]
struct Fx {
    sends: Vec<(Transport, SocketAddr, Bytes, Option<TxId>)>,
    removes: Vec<TxId>,
}

/// What a machine's actions mean for the call (besides sends and timers).
enum Event {
    PassUp,
    Timeout,
    RingTimeout(bool),
    TransportError,
    Terminated,
}

/// Why a new call could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("transaction table full")]
    Full,
    #[error("retransmission of a known INVITE")]
    Duplicate,
    #[error("request without a usable transaction key")]
    BadKey,
}

/// Proxy mode's shared state: the transaction table, timers, branches.
pub struct ProxyCore {
    cfg: ProxyConfig,
    timers: Timers,
    table: TxTable<Entry>,
    dialogs: Dialogs,
    resolver: crate::transport::resolve::Resolver,
    /// The carrier of in-dialog relays (none; shared, not allocated per request).
    no_carrier: Arc<str>,
    branches: BranchGen,
    metrics: Arc<Metrics>,
    limits: Limits,
    server_header: Vec<u8>,
    outbound: OnceLock<Arc<Outbound>>,
    timer: OnceLock<TimerHandle<TokioClock>>,
    locals: ArcSwap<Vec<Local>>,
    /// Configured carrier ids (metric labels; others count as `other`).
    carriers: std::collections::HashSet<String>,
}

fn tx_transport(t: Transport) -> TxTransport {
    match t {
        Transport::Udp => TxTransport::Unreliable,
        Transport::Tcp => TxTransport::Reliable,
    }
}

/// Spawns on the current runtime; dropped (logged) outside one.
fn spawn(fut: impl Future<Output = ()> + Send + 'static) {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => {
            h.spawn(fut);
        }
        Err(_) => warn!("proxy: no async runtime; task dropped"),
    }
}

impl ProxyCore {
    pub fn new(config: &Config, metrics: Arc<Metrics>, limits: Limits) -> ProxyCore {
        let p = &config.proxy;
        let t1 = Duration::from_millis(p.t1_ms);
        let timers = Timers {
            t1,
            t2: Duration::from_millis(p.t2_ms),
            t4: Duration::from_millis(p.t4_ms),
            // Timers D, J, L and M: how long finished transactions linger.
            timer_d: Duration::from_millis(p.linger_ms),
            timer_c: Duration::from_millis(p.ring_timeout_ms),
            linger: Duration::from_millis(p.linger_ms),
        };
        ProxyCore {
            cfg: p.clone(),
            timers,
            table: TxTable::new(p.max_transactions),
            dialogs: Dialogs::new(p.max_dialogs, Duration::from_secs(p.dialog_idle_timeout_s)),
            resolver: crate::transport::resolve::Resolver::new(),
            no_carrier: Arc::from(""),
            branches: BranchGen::new(),
            metrics,
            limits,
            server_header: format!(
                "{}/{}",
                config.server.server_name,
                env!("CARGO_PKG_VERSION")
            )
            .into_bytes(),
            outbound: OnceLock::new(),
            timer: OnceLock::new(),
            locals: ArcSwap::from_pointee(Vec::new()),
            carriers: config.carriers.iter().map(|c| c.id.clone()).collect(),
        }
    }

    /// Starts the timer service and gives the core its way out (once, from
    /// inside the runtime, when the transports start serving).
    pub fn start(self: &Arc<Self>, outbound: Arc<Outbound>) {
        let _ = self.outbound.set(outbound);
        if self.timer.get().is_some() {
            return;
        }
        let me: Weak<ProxyCore> = Arc::downgrade(self);
        let cap = self.cfg.max_transactions.saturating_mul(8).max(1024);
        let weak = me.clone();
        let (handle, _task) = spawn_timer_service(Arc::new(TokioClock), cap, move |f| {
            if let Some(core) = weak.upgrade() {
                core.on_timer(f);
            }
        });
        let _ = self.timer.set(handle);
        // Idle dialogs are swept a few times per idle period (at most every minute).
        let every =
            (Duration::from_secs(self.cfg.dialog_idle_timeout_s) / 4).min(Duration::from_secs(60));
        spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(core) = me.upgrade() else { return };
                let n = core.dialogs.sweep(Instant::now());
                if n > 0 {
                    debug!(dialogs = n, "idle dialogs forgotten");
                    core.dialog_gauge();
                }
            }
        });
    }

    /// Registers one of our listening addresses (advertised in Via and
    /// Record-Route).
    pub fn add_local(&self, transport: Transport, addr: SocketAddr) {
        let l = Local { addr, transport };
        // rcu: the UDP and TCP listener tasks register concurrently.
        self.locals.rcu(|v| {
            let mut v = (**v).clone();
            if !v.contains(&l) {
                v.push(l);
            }
            v
        });
    }

    /// Transactions held.
    pub fn transactions(&self) -> usize {
        self.table.len()
    }

    /// Dialogs tracked.
    pub fn dialogs(&self) -> usize {
        self.dialogs.len()
    }

    fn dialog_gauge(&self) {
        self.metrics.dialogs_active.set(self.dialogs.len() as i64);
    }

    fn entry(&self, id: TxId) -> Option<Entry> {
        self.table.with(id, |e| e.clone())
    }

    fn call_of(&self, id: TxId) -> Option<Arc<Mutex<Call>>> {
        match self.entry(id)? {
            Entry::Call(c) => Some(c),
            Entry::Relay(_) => None,
        }
    }

    fn local_for(&self, transport: Transport, v4: bool) -> Option<Local> {
        let locals = self.locals.load();
        locals
            .iter()
            .find(|l| l.transport == transport && l.addr.is_ipv4() == v4)
            .or_else(|| locals.iter().find(|l| l.transport == transport))
            .copied()
    }

    fn gauge(&self) {
        self.metrics
            .transactions_active
            .set(self.table.len() as i64);
    }

    // ---- entry points from the pipeline ----

    /// A new INVITE: creates its server transaction and sends 100 Trying.
    /// `channel` (the customer's `channels` slot) lives as long as the call.
    pub fn open_call(
        self: &Arc<Self>,
        msg: &Message<'_>,
        src: SocketAddr,
        transport: Transport,
        customer: &str,
        channel: Option<ChannelGuard>,
    ) -> Result<TxId, OpenError> {
        let key = TxKey::server(msg).map_err(|_| OpenError::BadKey)?;
        let upstream = match transport {
            Transport::Tcp => (Transport::Tcp, src),
            Transport::Udp => {
                let via = msg.top_via().and_then(Result::ok);
                (
                    Transport::Udp,
                    super::response_target(via.as_ref(), src, true),
                )
            }
        };
        let mut to_tag = [0u8; 16];
        let r = fastrand::u64(..);
        for (i, d) in to_tag.iter_mut().enumerate() {
            *d = b"0123456789abcdef"[((r >> (60 - 4 * i)) & 15) as usize];
        }
        let invite = Bytes::copy_from_slice(msg.buf());
        let customer = Some(Arc::from(customer));
        let timers = self.timers;
        let mut arc_out = None;
        let id = self
            .table
            .insert_with(key, |id| {
                let call = Arc::new(Mutex::new(Call {
                    server_id: id,
                    server: InviteServer::new(tx_transport(transport), timers),
                    server_gens: TimerGens::default(),
                    upstream,
                    invite,
                    src,
                    transport,
                    to_tag,
                    plan: None,
                    subs: Vec::new(),
                    current: None,
                    best: BestResponse::default(),
                    finals: Vec::new(),
                    relayed_ringing: false,
                    cancelled: false,
                    cancel_pending: false,
                    customer,
                    dialogs: Vec::new(),
                    channel,
                    attempts: Vec::new(),
                    started: Some(Instant::now()),
                }));
                arc_out = Some(call.clone());
                Entry::Call(call)
            })
            .map_err(|e| match e {
                crate::transaction::InsertError::Full => OpenError::Full,
                crate::transaction::InsertError::Duplicate(_) => OpenError::Duplicate,
            })?;
        self.gauge();
        let mut fx = Fx::default();
        if let Some(arc) = arc_out
            && let Ok(mut c) = arc.lock()
            && let Some(trying) = self.local_response(&c, 100, "Trying")
        {
            self.server_send(&mut c, 100, trying, &mut fx);
        }
        self.execute(fx);
        Ok(id)
    }

    /// Starts the attempts of an opened call over `routes` (at most
    /// [`MAX_ATTEMPTS`]); `headers`/`remove` apply to every attempt.
    pub fn begin(
        self: &Arc<Self>,
        id: TxId,
        mut routes: Vec<EgressEntry>,
        headers: Vec<(String, String)>,
        remove: Vec<String>,
    ) {
        routes.truncate(MAX_ATTEMPTS);
        // IP-literal gateways (the usual case) need no lookup: start at once,
        // on this task; host names are resolved on a task of their own.
        let literal: Option<Vec<Option<SocketAddr>>> = routes
            .iter()
            .map(|r| r.gateway.parse::<SocketAddr>().ok().map(Some))
            .collect();
        if let Some(resolved) = literal {
            self.start_plan(id, routes, resolved, headers, remove);
            return;
        }
        let me = self.clone();
        spawn(async move {
            let mut resolved = Vec::with_capacity(routes.len());
            for r in &routes {
                resolved.push(me.resolver.resolve(&r.gateway).await);
            }
            me.start_plan(id, routes, resolved, headers, remove);
        });
    }

    fn start_plan(
        self: &Arc<Self>,
        id: TxId,
        routes: Vec<EgressEntry>,
        resolved: Vec<Option<SocketAddr>>,
        headers: Vec<(String, String)>,
        remove: Vec<String>,
    ) {
        let Some(arc) = self.call_of(id) else {
            return;
        };
        let mut fx = Fx::default();
        if let Ok(mut c) = arc.lock()
            && c.server_id == id
        {
            c.plan = Some(Plan {
                routes,
                resolved,
                next: 0,
                headers,
                remove,
            });
            self.next_attempt(&arc, &mut c, &mut fx);
        }
        self.execute(fx);
    }

    /// Answers an opened call ourselves (no route, script reject, overload).
    pub fn answer(self: &Arc<Self>, id: TxId, code: u16, reason: &str) {
        let Some(arc) = self.call_of(id) else {
            return;
        };
        let mut fx = Fx::default();
        if let Ok(mut c) = arc.lock()
            && c.server_id == id
            && c.server.state() == InviteServerState::Proceeding
            && let Some(b) = self.local_response(&c, code, reason)
        {
            self.server_send(&mut c, code, b, &mut fx);
        }
        self.execute(fx);
    }

    /// A retransmitted INVITE of a call we hold: absorbed (last response
    /// resent). False if it matches no server transaction.
    pub fn on_invite_retransmission(self: &Arc<Self>, msg: &Message<'_>) -> bool {
        let Some((id, arc)) = self.server_call(msg) else {
            return false;
        };
        let mut fx = Fx::default();
        if let Ok(mut c) = arc.lock()
            && c.server_id == id
        {
            let acts = c.server.on_invite();
            self.drive_server(&mut c, acts, &mut fx);
        }
        self.execute(fx);
        true
    }

    /// An ACK for a non-2xx final we sent: absorbed by the server
    /// transaction. False if it matches no transaction waiting for an ACK.
    pub fn on_ack(self: &Arc<Self>, msg: &Message<'_>) -> bool {
        let Some(id) = TxKey::server(msg).ok().and_then(|k| self.table.lookup(&k)) else {
            return false;
        };
        let arc = match self.entry(id) {
            Some(Entry::Call(arc)) => arc,
            Some(Entry::Relay(r)) => return self.relay_ack(id, &r),
            None => return false,
        };
        let mut fx = Fx::default();
        let mut matched = false;
        if let Ok(mut c) = arc.lock()
            && c.server_id == id
            && matches!(
                c.server.state(),
                InviteServerState::Completed | InviteServerState::Confirmed
            )
        {
            matched = true;
            let acts = c.server.on_ack();
            self.drive_server(&mut c, acts, &mut fx);
        }
        self.execute(fx);
        matched
    }

    /// A CANCEL for a call we hold (§9.2, §16.10): no more failover, the
    /// current attempt is cancelled. True if matched (the caller answers the
    /// CANCEL with 200).
    pub fn on_cancel(self: &Arc<Self>, msg: &Message<'_>) -> bool {
        let Ok(key) = TxKey::cancelled_invite(msg) else {
            return false;
        };
        let Some(id) = self.table.lookup(&key) else {
            return false;
        };
        let arc = match self.entry(id) {
            Some(Entry::Call(arc)) => arc,
            Some(Entry::Relay(r)) => return self.relay_cancel(id, &r),
            None => return false,
        };
        let entry = Entry::Call(arc.clone());
        let mut fx = Fx::default();
        if let Ok(mut c) = arc.lock() {
            if c.server_id != id {
                return false;
            }
            if !c.cancelled && c.server.state() == InviteServerState::Proceeding {
                c.cancelled = true;
                match c.current {
                    Some(si) => {
                        if self.sub_provisional(&c, si) {
                            self.send_cancel(&entry, &mut c.subs, si, &mut fx);
                        } else {
                            c.cancel_pending = true;
                        }
                        let guard = (self.timers.t1 * 32).min(Duration::from_secs(4));
                        let g = c.server_gens.start(CANCEL_GUARD);
                        self.schedule(guard, id, CANCEL_GUARD, g);
                    }
                    // Scripts still running or between attempts.
                    None => self.answer_best(&mut c, &mut fx),
                }
            }
        }
        self.execute(fx);
        true
    }

    /// A response from downstream: to its client transaction, or relayed
    /// statelessly by Via when it matches none (responses to forwarded
    /// in-dialog requests, 2xx retransmissions).
    pub fn on_response(self: &Arc<Self>, msg: &Message<'_>, transport: Transport) {
        let Some(status) = msg.status() else { return };
        let found = TxKey::client_for_response(msg)
            .ok()
            .and_then(|k| self.table.lookup(&k))
            .and_then(|id| Some((id, self.entry(id)?)));
        let (id, arc) = match found {
            Some((id, Entry::Call(arc))) => (id, arc),
            Some((id, Entry::Relay(r))) => return self.relay_response(id, &r, msg, status),
            None => return self.relay_stateless(msg, status, transport),
        };
        let raw = Bytes::copy_from_slice(msg.buf());
        let mut fx = Fx::default();
        if let Ok(mut c) = arc.lock()
            && let Some(si) = c.subs.iter().position(|s| s.id == id)
        {
            let c = &mut *c;
            let sub = &mut c.subs[si];
            let acts = match &mut sub.kind {
                SubKind::Invite(m) => m.on_response(msg, raw),
                SubKind::NonInvite(m) => m.on_response(status, raw),
            };
            let is_invite = matches!(sub.kind, SubKind::Invite(_));
            let events = self.drive_sub(sub, acts, &mut fx);
            for ev in events {
                match ev {
                    Event::PassUp if is_invite => {
                        self.invite_response(&arc, c, si, status, msg, &mut fx)
                    }
                    Event::Terminated => fx.removes.push(id),
                    _ => {}
                }
            }
        }
        self.execute(fx);
    }

    /// A timer of the service fired.
    pub fn on_timer(self: &Arc<Self>, f: Fired) {
        let arc = match self.entry(f.tx) {
            Some(Entry::Call(arc)) => arc,
            Some(Entry::Relay(r)) => return self.relay_timer(&r, f),
            None => return,
        };
        let mut fx = Fx::default();
        if let Ok(mut c) = arc.lock() {
            let c = &mut *c;
            if c.server_id == f.tx {
                if c.server_gens.fire(f.kind, f.generation) {
                    if f.kind == CANCEL_GUARD {
                        if let Some(si) = c.current.take() {
                            c.subs[si].abandoned = true;
                        }
                        self.answer_best(c, &mut fx);
                    } else {
                        let acts = c.server.on_timer(f.kind);
                        self.drive_server(c, acts, &mut fx);
                    }
                }
            } else if let Some(si) = c.subs.iter().position(|s| s.id == f.tx)
                && c.subs[si].gens.fire(f.kind, f.generation)
            {
                self.sub_timer(&arc, c, si, f.kind, &mut fx);
            }
        }
        self.execute(fx);
    }

    // ---- inside a call (lock held) ----

    fn sub_timer(
        &self,
        arc: &Arc<Mutex<Call>>,
        c: &mut Call,
        si: usize,
        kind: TimerKind,
        fx: &mut Fx,
    ) {
        let current = c.current == Some(si);
        // Timer F is the attempt timer on an INVITE; on a CANCEL it is the
        // CANCEL's own timeout (§17.1.2.2) and goes to its machine.
        if kind == ATTEMPT_TIMER && matches!(c.subs[si].kind, SubKind::Invite(_)) {
            if current && !self.sub_provisional(c, si) {
                c.subs[si].abandoned = true;
                self.end_attempt(arc, c, AttemptEnd::Timeout, None, fx);
            }
            return;
        }
        let sub = &mut c.subs[si];
        let acts = match &mut sub.kind {
            SubKind::Invite(m) => m.on_timer(kind),
            SubKind::NonInvite(m) => m.on_timer(kind),
        };
        let id = sub.id;
        for ev in self.drive_sub(sub, acts, fx) {
            match ev {
                Event::Timeout | Event::TransportError if current => {
                    let end = if matches!(ev, Event::Timeout) {
                        AttemptEnd::Timeout
                    } else {
                        AttemptEnd::TransportError
                    };
                    self.end_attempt(arc, c, end, None, fx);
                }
                Event::RingTimeout(provisional) if current => {
                    if provisional {
                        self.cancel_attempt(arc, c, si, fx);
                    }
                    c.subs[si].abandoned = true;
                    self.end_attempt(arc, c, AttemptEnd::RingTimeout, None, fx);
                }
                Event::Terminated => fx.removes.push(id),
                _ => {}
            }
        }
    }

    /// A response passed up by an attempt's INVITE client transaction.
    fn invite_response(
        &self,
        arc: &Arc<Mutex<Call>>,
        c: &mut Call,
        si: usize,
        status: u16,
        msg: &Message<'_>,
        fx: &mut Fx,
    ) {
        let current = c.current == Some(si);
        if current {
            c.subs[si].gens.cancel(ATTEMPT_TIMER);
        }
        if status < 200 {
            if current {
                if c.cancel_pending {
                    c.cancel_pending = false;
                    self.cancel_attempt(arc, c, si, fx);
                }
                if status > 100
                    && let Ok(r) = relay_response(msg, &self.branches)
                {
                    self.server_send(c, status, Bytes::from(r.bytes), fx);
                    if (180..190).contains(&status) {
                        c.relayed_ringing = true;
                    }
                }
            } else if c.subs[si].abandoned {
                // A late provisional from an attempt we gave up: stop it.
                self.cancel_attempt(arc, c, si, fx);
            }
            return;
        }
        if status < 300 {
            // Every 2xx goes upstream (§16.7 step 5): it ends failover.
            if let Some(plan) = c.plan.as_mut() {
                plan.next = plan.routes.len();
            }
            let mut cancel = None;
            if let Some(cur) = c.current.take() {
                let carrier = c.subs[cur].carrier.clone();
                self.count_attempt(c, carrier, status.to_string());
                cancel = (cur != si && self.sub_provisional(c, cur)).then_some(cur);
            }
            if let Ok(r) = relay_response(msg, &self.branches) {
                let bytes = Bytes::from(r.bytes);
                match c.server.state() {
                    InviteServerState::Proceeding | InviteServerState::Accepted => {
                        self.server_send(c, status, bytes, fx)
                    }
                    _ => fx.sends.push((c.upstream.0, c.upstream.1, bytes, None)),
                }
            }
            if let Some(cur) = cancel {
                self.cancel_attempt(arc, c, cur, fx);
            }
            self.record_dialog(c, msg);
            return;
        }
        if current {
            let relayed = relay_response(msg, &self.branches)
                .ok()
                .map(|r| (status, Bytes::from(r.bytes)));
            self.end_attempt(arc, c, AttemptEnd::Final(status), relayed, fx);
        }
    }

    /// A 2xx to an initial INVITE confirmed a dialog: its in-dialog
    /// requests may now pass (each 2xx's To tag is its own dialog).
    fn record_dialog(&self, c: &mut Call, msg: &Message<'_>) {
        let Some(key) = DialogKey::of(msg) else {
            debug!("2xx without tags: no dialog recorded");
            return;
        };
        if c.dialogs.contains(&key) || c.dialogs.len() >= MAX_ATTEMPTS {
            return;
        }
        c.dialogs.push(key.clone());
        let holder = c
            .channel
            .take()
            .map(|g| Box::new(g) as crate::transaction::dialog::Holder);
        match self
            .dialogs
            .insert_held(key, c.customer.clone(), holder, Instant::now())
        {
            Ok(_) => self.dialog_gauge(),
            Err(e) => {
                self.metrics.dialogs_untracked.inc();
                warn!(error = %e, "2xx relayed, dialog not tracked: its BYE will get 481");
            }
        }
    }

    fn count_attempt(&self, c: &mut Call, carrier: Arc<str>, code: String) {
        // Scripts may name any carrier: keep the label set bounded.
        let label = if self.carriers.contains(&*carrier) {
            &carrier
        } else {
            "other"
        };
        self.metrics
            .egress_attempts
            .with_label_values(&[label, &code])
            .inc();
        if c.attempts.len() < MAX_ATTEMPTS * 2 {
            c.attempts.push((carrier, code));
        }
    }

    fn end_attempt(
        &self,
        arc: &Arc<Mutex<Call>>,
        c: &mut Call,
        end: AttemptEnd,
        response: Option<(u16, Bytes)>,
        fx: &mut Fx,
    ) {
        let Some(cur) = c.current.take() else { return };
        c.subs[cur].gens.cancel(ATTEMPT_TIMER);
        let carrier = c.subs[cur].carrier.clone();
        self.count_attempt(c, carrier, end.metric_label());
        self.record(c, end, response);
        self.after(arc, c, end, fx);
    }

    fn record(&self, c: &mut Call, end: AttemptEnd, response: Option<(u16, Bytes)>) {
        let idx = c.finals.len();
        c.finals.push(response);
        c.best
            .offer(idx, end.code(), matches!(end, AttemptEnd::Final(_)));
    }

    fn after(&self, arc: &Arc<Mutex<Call>>, c: &mut Call, end: AttemptEnd, fx: &mut Fx) {
        let left = c
            .plan
            .as_ref()
            .map_or(0, |p| p.routes.len().saturating_sub(p.next));
        match after_attempt(&self.cfg, end, left, c.relayed_ringing, c.cancelled) {
            Next::NextRoute => self.next_attempt(arc, c, fx),
            Next::Answer => self.answer_best(c, fx),
        }
    }

    fn next_attempt(&self, arc: &Arc<Mutex<Call>>, c: &mut Call, fx: &mut Fx) {
        loop {
            if c.server.state() != InviteServerState::Proceeding {
                return;
            }
            let left = c.plan.as_ref().is_some_and(|p| p.next < p.routes.len());
            if c.cancelled || !left {
                self.answer_best(c, fx);
                return;
            }
            match self.launch(arc, c, fx) {
                Ok(()) => return,
                Err((_, TABLE_FULL)) => {
                    // We are the overloaded element (§21.5.4): our own 503,
                    // not a downstream one (which §16.7 would turn into 500).
                    warn!("proxy transaction table full; call answered 503");
                    if let Some(b) = self.local_response(c, 503, "Service Unavailable") {
                        self.server_send(c, 503, b, fx);
                    }
                    return;
                }
                Err((carrier, why)) => {
                    debug!(%carrier, why, "attempt not started");
                    self.count_attempt(c, carrier, AttemptEnd::TransportError.metric_label());
                    self.record(c, AttemptEnd::TransportError, None);
                    let left = c
                        .plan
                        .as_ref()
                        .map_or(0, |p| p.routes.len().saturating_sub(p.next));
                    let next = after_attempt(
                        &self.cfg,
                        AttemptEnd::TransportError,
                        left,
                        c.relayed_ringing,
                        c.cancelled,
                    );
                    if next == Next::Answer {
                        self.answer_best(c, fx);
                        return;
                    }
                }
            }
        }
    }

    /// Sends the next route's INVITE: client transaction, timer C, attempt timer.
    fn launch(
        &self,
        arc: &Arc<Mutex<Call>>,
        c: &mut Call,
        fx: &mut Fx,
    ) -> Result<(), (Arc<str>, &'static str)> {
        let Some(plan) = c.plan.as_mut() else {
            return Err((Arc::from("other"), "no plan"));
        };
        let i = plan.next;
        plan.next += 1;
        let entry = &plan.routes[i];
        let carrier = entry.carrier.clone();
        let fail = |why| Err((carrier.clone(), why));
        let Some(addr) = plan.resolved[i] else {
            return fail("gateway not resolved");
        };
        let (Some(inbound), Some(outbound)) = (
            self.local_for(c.transport, c.src.is_ipv4()),
            self.local_for(entry.transport, addr.is_ipv4()),
        ) else {
            return fail("no local address for the transport");
        };
        let Ok(msg) = Message::parse(&c.invite, &self.limits) else {
            return fail("request does not parse");
        };
        let locals = self.locals.load();
        let hops = Hops {
            src: c.src,
            inbound,
            outbound,
            locals: &locals,
        };
        let branch = self.branches.next_branch();
        let remove = plan
            .remove
            .iter()
            .chain(entry.remove_headers.iter())
            .map(String::as_str);
        let add = plan
            .headers
            .iter()
            .chain(entry.headers.iter())
            .map(|(n, v)| (n.as_str(), v.as_str()));
        let bytes = match forward_request(
            &msg,
            &Egress::from(entry),
            &hops,
            branch.as_str(),
            remove,
            add,
        ) {
            Ok(b) => b,
            Err(e) => {
                debug!(error = %e, "forwarded request not built");
                return fail("forwarded request not built");
            }
        };
        let transport = entry.transport;
        let Ok(key) = TxKey::client(branch.as_bytes(), b"INVITE") else {
            return fail("bad key");
        };
        let (mut client, acts) =
            InviteClient::start(Bytes::from(bytes), tx_transport(transport), self.timers);
        let c_acts = client.arm_timer_c(Duration::from_millis(self.cfg.ring_timeout_ms), false);
        let Ok(id) = self.table.insert(key, Entry::Call(arc.clone())) else {
            return fail(TABLE_FULL);
        };
        self.gauge();
        let mut sub = Sub {
            id,
            kind: SubKind::Invite(client),
            gens: TimerGens::default(),
            target: (transport, addr),
            carrier,
            abandoned: false,
            cancel_sent: false,
        };
        self.drive_sub(&mut sub, acts, fx);
        self.drive_sub(&mut sub, c_acts, fx);
        let g = sub.gens.start(ATTEMPT_TIMER);
        self.schedule(
            Duration::from_millis(self.cfg.attempt_timeout_ms),
            id,
            ATTEMPT_TIMER,
            g,
        );
        c.subs.push(sub);
        c.current = Some(c.subs.len() - 1);
        Ok(())
    }

    /// The final answer upstream once failover is over (§16.7 step 6).
    fn answer_best(&self, c: &mut Call, fx: &mut Fx) {
        if c.server.state() != InviteServerState::Proceeding {
            return;
        }
        let stored = |code: u16| {
            c.finals
                .iter()
                .rev()
                .flatten()
                .find(|(s, _)| *s == code)
                .map(|(_, b)| b.clone())
        };
        let (code, bytes) = if c.cancelled {
            (487, stored(487))
        } else {
            match c.best.chosen() {
                Some((i, code)) => (
                    code,
                    c.finals
                        .get(i)
                        .and_then(|f| f.as_ref())
                        .filter(|(s, _)| *s == code)
                        .map(|(_, b)| b.clone()),
                ),
                None => (404, None),
            }
        };
        let bytes = bytes.or_else(|| self.local_response(c, code, reason_phrase(code)));
        if let Some(b) = bytes {
            self.server_send(c, code, b, fx);
        }
    }

    fn sub_provisional(&self, c: &Call, si: usize) -> bool {
        matches!(&c.subs[si].kind, SubKind::Invite(m) if m.provisional_received())
    }

    fn cancel_attempt(&self, arc: &Arc<Mutex<Call>>, c: &mut Call, si: usize, fx: &mut Fx) {
        self.send_cancel(&Entry::Call(arc.clone()), &mut c.subs, si, fx);
    }

    /// CANCELs the INVITE of `subs[si]` through a CANCEL client transaction
    /// (§9.1) added to `subs` under `entry`; the INVITE gives up 64·T1 later
    /// if no final comes.
    fn send_cancel(&self, entry: &Entry, subs: &mut Vec<Sub>, si: usize, fx: &mut Fx) {
        let sub = &mut subs[si];
        if sub.cancel_sent {
            return;
        }
        let SubKind::Invite(m) = &mut sub.kind else {
            return;
        };
        if m.final_status().is_some() || m.is_terminated() {
            return;
        }
        sub.cancel_sent = true;
        let request = m.request().clone();
        let guard = m.cancel_sent();
        self.drive_sub(sub, guard, fx);
        let Ok(inv) = Message::parse(&request, &self.limits) else {
            return;
        };
        let Some(branch) = inv.top_via().and_then(Result::ok).and_then(|v| v.branch) else {
            return;
        };
        let (Ok(cancel), Ok(key)) = (cancel_for(&inv), TxKey::client(branch, b"CANCEL")) else {
            return;
        };
        let (target, carrier) = (sub.target, sub.carrier.clone());
        let (m, acts) =
            NonInviteClient::start(Bytes::from(cancel), tx_transport(target.0), self.timers);
        let Ok(id) = self.table.insert(key, entry.clone()) else {
            return;
        };
        self.gauge();
        let mut sub = Sub {
            id,
            kind: SubKind::NonInvite(m),
            gens: TimerGens::default(),
            target,
            carrier,
            abandoned: false,
            cancel_sent: true,
        };
        self.drive_sub(&mut sub, acts, fx);
        subs.push(sub);
    }

    /// Sends a response upstream through the server transaction.
    fn server_send(&self, c: &mut Call, code: u16, bytes: Bytes, fx: &mut Fx) {
        if code >= 200
            && let Some(started) = c.started.take()
        {
            let call_id = Message::parse(&c.invite, &self.limits)
                .ok()
                .and_then(|m| m.call_id().map(|v| String::from_utf8_lossy(v).into_owned()))
                .unwrap_or_default();
            let customer = c.customer.as_deref().unwrap_or("");
            super::cdr::call_end(&call_id, customer, &c.attempts, code, started);
        }
        if code >= 300 {
            // The call failed: its channel is free again.
            c.channel = None;
        }
        let acts = c.server.send_response(code, bytes);
        if acts.iter().any(|a| matches!(a, Action::Send(_))) {
            self.metrics.response(code, c.transport);
        }
        self.drive_server(c, acts, fx);
    }

    fn drive_server(&self, c: &mut Call, acts: Actions, fx: &mut Fx) {
        let (id, to) = (c.server_id, c.upstream);
        for ev in self.drive(id, &mut c.server_gens, to, acts, false, fx) {
            if let Event::Terminated = ev {
                fx.removes.push(id);
            }
        }
    }

    fn drive_sub(&self, sub: &mut Sub, acts: Actions, fx: &mut Fx) -> Vec<Event> {
        self.drive(sub.id, &mut sub.gens, sub.target, acts, sub.abandoned, fx)
    }

    /// Carries out a machine's sends and timers; returns the rest as events.
    fn drive(
        &self,
        id: TxId,
        gens: &mut TimerGens,
        to: (Transport, SocketAddr),
        acts: Actions,
        quiet: bool,
        fx: &mut Fx,
    ) -> Vec<Event> {
        let mut events = Vec::new();
        for a in acts {
            match a {
                Action::Send(b) => {
                    if !quiet {
                        fx.sends.push((to.0, to.1, b, Some(id)));
                    }
                }
                Action::StartTimer(kind, after) => {
                    let g = gens.start(kind);
                    self.schedule(after, id, kind, g);
                }
                Action::CancelTimer(kind) => gens.cancel(kind),
                Action::PassUp(_) => events.push(Event::PassUp),
                Action::Timeout => events.push(Event::Timeout),
                Action::RingTimeout { provisional } => events.push(Event::RingTimeout(provisional)),
                Action::TransportError => events.push(Event::TransportError),
                Action::Terminated => events.push(Event::Terminated),
            }
        }
        events
    }

    fn schedule(&self, after: Duration, id: TxId, kind: TimerKind, generation: u32) {
        match self.timer.get() {
            Some(t) => {
                if let Err(e) = t.schedule(after, id, kind, generation) {
                    warn!(error = %e, ?kind, "proxy timer not scheduled");
                }
            }
            None => warn!("proxy timer service not started"),
        }
    }

    /// A response of ours to the call's INVITE (100 without To tag).
    fn local_response(&self, c: &Call, code: u16, reason: &str) -> Option<Bytes> {
        self.reply_to(&c.invite, c.src, code, reason, Some(&c.to_tag))
    }

    /// A response of ours to `request` (received from `src`); `to_tag` is
    /// added to finals when the To has none.
    fn reply_to(
        &self,
        request: &[u8],
        src: SocketAddr,
        code: u16,
        reason: &str,
        to_tag: Option<&[u8]>,
    ) -> Option<Bytes> {
        let msg = Message::parse(request, &self.limits).ok()?;
        let mut out = Vec::with_capacity(msg.headers_end() + 96);
        let tag = to_tag.filter(|_| code > 100);
        let has_tag = msg
            .value(HeaderName::To)
            .is_some_and(crate::sip::response::to_has_tag);
        write_response(
            &mut out,
            &msg,
            src,
            code,
            reason,
            tag.filter(|_| !has_tag),
            &[("Server", &self.server_header)],
        );
        Some(Bytes::from(out))
    }

    fn server_call(&self, msg: &Message<'_>) -> Option<(TxId, Arc<Mutex<Call>>)> {
        let key = TxKey::server(msg).ok()?;
        let id = self.table.lookup(&key)?;
        Some((id, self.call_of(id)?))
    }

    /// A response matching no transaction: relayed by its next Via when our
    /// branch is on top (non-INVITE responses, 2xx to INVITE); else dropped.
    fn relay_stateless(self: &Arc<Self>, msg: &Message<'_>, status: u16, transport: Transport) {
        let cseq_method = msg
            .cseq()
            .and_then(Result::ok)
            .map(|c| c.method)
            .unwrap_or_default();
        let invite = cseq_method == b"INVITE";
        let relay = match relay_response(msg, &self.branches) {
            Ok(r) if !invite || (200..300).contains(&status) => r,
            _ => {
                self.metrics
                    .responses_dropped
                    .with_label_values(&[transport.as_str()])
                    .inc();
                debug!(status, "dropped stray response");
                return;
            }
        };
        let Some(target) = relay.target else { return };
        self.execute(Fx {
            sends: vec![(
                target.transport,
                target.addr,
                Bytes::from(relay.bytes),
                None,
            )],
            removes: Vec::new(),
        });
    }

    // ---- after the lock ----

    fn execute(self: &Arc<Self>, fx: Fx) {
        if !fx.removes.is_empty() {
            for id in fx.removes {
                self.table.remove(id);
            }
            self.gauge();
        }
        if fx.sends.is_empty() {
            return;
        }
        let Some(out) = self.outbound.get().cloned() else {
            warn!("proxy: no outbound yet; messages dropped");
            return;
        };
        for (t, _, bytes, _) in &fx.sends {
            self.metrics.sent(bytes, *t);
        }
        // Send at once, in order, whatever can go without waiting (UDP, open
        // TCP connections): a 180 and the 200 right behind it must not swap
        // places. From the first send that must wait (a TCP connect), the rest
        // of the batch goes, in order, in a task.
        let mut sends = fx.sends.into_iter();
        let mut pending = None;
        for (t, to, bytes, id) in sends.by_ref() {
            match out.try_send_now(t, to, bytes, id.map(|i| i.0)) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    debug!(error = %e, "proxy send failed");
                    if let Some(id) = id {
                        self.on_transport_error(id);
                    }
                }
                Err(bytes) => {
                    pending = Some((t, to, bytes, id));
                    break;
                }
            }
        }
        let Some(first) = pending else { return };
        let rest: Vec<_> = std::iter::once(first).chain(sends).collect();
        let me = self.clone();
        spawn(async move {
            for (t, to, bytes, id) in rest {
                if let Err(e) = out.send(t, to, bytes).await {
                    debug!(error = %e, "proxy send failed");
                    if let Some(id) = id {
                        me.on_transport_error(id);
                    }
                }
            }
        });
    }

    /// A send for transaction `id` failed at the transport (also reported
    /// late, by a UDP receive thread's batched send).
    pub(crate) fn on_transport_error(self: &Arc<Self>, id: TxId) {
        let arc = match self.entry(id) {
            Some(Entry::Call(arc)) => arc,
            Some(Entry::Relay(r)) => return self.relay_transport_error(id, &r),
            None => return,
        };
        let mut fx = Fx::default();
        if let Ok(mut c) = arc.lock() {
            let c = &mut *c;
            if c.server_id == id {
                let acts = c.server.on_transport_error();
                self.drive_server(c, acts, &mut fx);
            } else if let Some(si) = c.subs.iter().position(|s| s.id == id) {
                let current = c.current == Some(si);
                let sub = &mut c.subs[si];
                let acts = match &mut sub.kind {
                    SubKind::Invite(m) => m.on_transport_error(),
                    SubKind::NonInvite(m) => m.on_transport_error(),
                };
                for ev in self.drive_sub(sub, acts, &mut fx) {
                    match ev {
                        Event::TransportError if current => {
                            self.end_attempt(&arc, c, AttemptEnd::TransportError, None, &mut fx)
                        }
                        Event::Terminated => fx.removes.push(id),
                        _ => {}
                    }
                }
            }
        }
        self.execute(fx);
    }
}
