//! RFC 3261 §17 transactions for proxy mode (issue 5): sans-IO state machines,
//! the transaction table and the timer service.
//!
//! The four machines ([`InviteServer`], [`NonInviteServer`], [`InviteClient`],
//! [`NonInviteClient`]) are plain structs: every event (a retransmitted
//! request, a response, a response the TU sends, a timer firing, a transport
//! error) returns [`Actions`] for the caller to carry out — no sockets, clocks
//! or tasks inside. The caller owns the wiring: it keeps each machine in a
//! [`TxTable`] under its [`TxKey`], turns `StartTimer`/`CancelTimer` into
//! [`TimerHandle::schedule`] calls (with [`TimerGens`] for cancellation) and
//! removes the entry when a machine says [`Action::Terminated`].
//!
//! States (RFC 3261 §17 with the RFC 6026 `Accepted` state):
//! * INVITE server: Proceeding → Completed → Confirmed → Terminated;
//!   Proceeding → Accepted → Terminated on 2xx.
//! * INVITE client: Calling → Proceeding → Completed → Terminated;
//!   Calling/Proceeding → Accepted → Terminated on 2xx.
//! * non-INVITE server: Trying → Proceeding → Completed → Terminated.
//! * non-INVITE client: Trying → Proceeding → Completed → Terminated.
//!
//! Timers (Table 4; T1 = 500 ms, T2 = 4 s, T4 = 5 s by default, see [`Timers`]):
//! A = T1 doubling without cap (UDP), B = 64·T1, C = proxy ring/attempt timer
//! armed by the caller ([`InviteClient::arm_timer_c`]), D = 32 s UDP / 0 TCP,
//! E = T1 doubling to T2 (T2 in Proceeding, UDP), F = 64·T1, G = T1 doubling to
//! T2 (UDP), H = 64·T1, I = T4 UDP / 0 TCP, J = 64·T1 UDP / 0 TCP,
//! K = T4 UDP / 0 TCP, L = M = 64·T1 (RFC 6026). A zero timer is never
//! scheduled: the machine goes straight to Terminated.
//!
//! Choices:
//! * 2xx handling follows RFC 6026, not the original "Terminated at once": a
//!   2xx moves both INVITE machines to `Accepted`. The server transaction then
//!   absorbs retransmitted INVITEs (so they are not forwarded again as new
//!   requests) and sends every 2xx the TU gives it (the proxy relays 2xx
//!   retransmissions through it); the client transaction passes every further
//!   2xx up. Timers L/M (64·T1, any transport) end them. The ACK for a 2xx has
//!   its own branch and never matches these transactions.
//! * The 100 Trying is sent by the caller through [`InviteServer::send_response`]
//!   so that retransmitted INVITEs are answered with it.
//! * The ACK for a non-2xx final is built by an [`AckBuilder`] (default
//!   [`build_ack`], RFC 3261 §17.1.1.3) and cached for retransmitted finals.
//! * Timer C does not change the machine: it yields [`Action::RingTimeout`]
//!   and the proxy core decides (CANCEL if a provisional arrived, otherwise
//!   treat as 408 and fail over; §16.8).
//! * Machines track which timers they have running and only emit
//!   `CancelTimer` for those; every path to Terminated cancels them all first.
//!   A timer event for a timer that is not running is ignored, so stale
//!   firings are harmless even without [`TimerGens`].
//! * The timer service is one tokio task with a shared timing wheel, woken
//!   only for an earlier deadline; see [`timer`]. Its tests use [`ManualClock`] because tokio's
//!   `test-util` feature is not enabled in Cargo.toml.

pub mod client;
pub mod dialog;
pub mod key;
pub mod server;
pub mod table;
pub mod timer;

use std::time::Duration;

use bytes::Bytes;

pub use client::{AckBuilder, InviteClient, InviteClientState, NonInviteClient, build_ack};
pub use dialog::{Dialog, DialogError, DialogKey, Dialogs};
pub use key::{KeyError, TxKey};
pub use server::{InviteServer, InviteServerState, NonInviteServer, NonInviteState};
pub use table::{InsertError, TxId, TxTable};
pub use timer::{
    Clock, Fired, ManualClock, TimerError, TimerGens, TimerHandle, TokioClock, spawn_timer_service,
};

/// The RFC 3261 timer names (Table 4) plus RFC 6026's L and M.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimerKind {
    A,
    B,
    C,
    D,
    E,
    F,
    G,
    H,
    I,
    J,
    K,
    L,
    M,
}

impl TimerKind {
    /// Number of kinds (for per-kind arrays).
    pub const COUNT: usize = 13;

    /// Dense index in `0..COUNT`.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Timer base values, configurable (RFC 3261 §17.1.1.1 allows other values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// RTT estimate (default 500 ms).
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses (4 s).
    pub t2: Duration,
    /// Maximum time a message stays in the network (5 s).
    pub t4: Duration,
    /// Timer D on unreliable transports (32 s).
    pub timer_d: Duration,
    /// Default for timer C, the proxy's per-attempt timer (3 min, §16.6 step 11).
    pub timer_c: Duration,
    /// How long a finished transaction lingers to absorb retransmissions:
    /// timers J (UDP), L and M. RFC 3261/6026 say 64·T1 (the default here);
    /// the proxy may shorten it (`proxy.linger_ms`).
    pub linger: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
            timer_c: Duration::from_secs(180),
            linger: Duration::from_secs(32),
        }
    }
}

impl Timers {
    /// `64 * T1`: timers B, F and H.
    pub fn t1x64(&self) -> Duration {
        self.t1 * 64
    }

    /// T1 at least 1 ms and T2 at least T1, so that no retransmit timer is zero.
    fn sanitized(mut self) -> Timers {
        self.t1 = self.t1.max(Duration::from_millis(1));
        self.t2 = self.t2.max(self.t1);
        self
    }
}

/// Whether the transport retransmits for us (TCP, TLS) or not (UDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Unreliable,
    Reliable,
}

impl Transport {
    /// UDP is the only unreliable transport; anything else (TCP, TLS, SCTP, WS) is reliable.
    pub fn from_via_token(token: &[u8]) -> Transport {
        if token.eq_ignore_ascii_case(b"UDP") {
            Transport::Unreliable
        } else {
            Transport::Reliable
        }
    }

    pub fn is_reliable(self) -> bool {
        self == Transport::Reliable
    }
}

/// What a machine asks its caller to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send these bytes to the transaction's peer: the request, a
    /// retransmission or the ACK (client); a response (server).
    Send(Bytes),
    /// A response for the TU (client transactions only).
    PassUp(Bytes),
    /// Arm timer `kind` to fire after the duration (replacing a running one).
    StartTimer(TimerKind, Duration),
    /// Disarm timer `kind`.
    CancelTimer(TimerKind),
    /// Timer B, F or H fired: no response (client) or no ACK (server).
    Timeout,
    /// Timer C fired; `provisional` says whether a 1xx was received (§16.8:
    /// CANCEL if so, otherwise behave as if a 408 arrived).
    RingTimeout { provisional: bool },
    /// The transport reported a failure (§17.1.4, §17.2.4); Terminated follows.
    TransportError,
    /// The transaction is over: remove it from the table. Always the last action.
    Terminated,
}

/// The actions of one event, inline (no allocation). At most [`Actions::CAP`].
#[derive(Debug, Clone, Default)]
pub struct Actions {
    items: [Option<Action>; Actions::CAP],
    len: usize,
}

impl Actions {
    pub const CAP: usize = 8;

    pub fn new() -> Actions {
        Actions::default()
    }

    fn push(&mut self, a: Action) {
        // The machines never emit more than CAP actions per event (checked by
        // the tests); a further one would be a bug, dropped rather than panicking.
        debug_assert!(self.len < Self::CAP, "too many actions");
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = Some(a);
            self.len += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &Action> {
        self.items[..self.len].iter().flatten()
    }

    /// True if the transaction ended with this event.
    pub fn terminated(&self) -> bool {
        self.iter().any(|a| *a == Action::Terminated)
    }

    pub fn to_vec(&self) -> Vec<Action> {
        self.iter().cloned().collect()
    }
}

impl IntoIterator for Actions {
    type Item = Action;
    type IntoIter = std::iter::Flatten<std::array::IntoIter<Option<Action>, { Actions::CAP }>>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter().flatten()
    }
}

/// Any of the four machines, for tables that hold them all.
#[derive(Debug)]
pub enum Machine {
    InviteServer(InviteServer),
    NonInviteServer(NonInviteServer),
    InviteClient(InviteClient),
    NonInviteClient(NonInviteClient),
}

impl Machine {
    pub fn on_timer(&mut self, kind: TimerKind) -> Actions {
        match self {
            Machine::InviteServer(m) => m.on_timer(kind),
            Machine::NonInviteServer(m) => m.on_timer(kind),
            Machine::InviteClient(m) => m.on_timer(kind),
            Machine::NonInviteClient(m) => m.on_timer(kind),
        }
    }

    pub fn on_transport_error(&mut self) -> Actions {
        match self {
            Machine::InviteServer(m) => m.on_transport_error(),
            Machine::NonInviteServer(m) => m.on_transport_error(),
            Machine::InviteClient(m) => m.on_transport_error(),
            Machine::NonInviteClient(m) => m.on_transport_error(),
        }
    }

    pub fn is_terminated(&self) -> bool {
        match self {
            Machine::InviteServer(m) => m.is_terminated(),
            Machine::NonInviteServer(m) => m.is_terminated(),
            Machine::InviteClient(m) => m.is_terminated(),
            Machine::NonInviteClient(m) => m.is_terminated(),
        }
    }
}

/// Shared bookkeeping: transport, timer values and the set of running timers.
#[derive(Debug, Clone)]
struct Core {
    transport: Transport,
    timers: Timers,
    /// Bit `kind.index()` set while that timer is armed.
    running: u16,
}

impl Core {
    fn new(transport: Transport, timers: Timers) -> Core {
        Core {
            transport,
            timers: timers.sanitized(),
            running: 0,
        }
    }

    fn unreliable(&self) -> bool {
        self.transport == Transport::Unreliable
    }

    fn start(&mut self, kind: TimerKind, d: Duration, out: &mut Actions) {
        self.running |= 1 << kind.index();
        out.push(Action::StartTimer(kind, d));
    }

    fn cancel(&mut self, kind: TimerKind, out: &mut Actions) {
        let bit = 1 << kind.index();
        if self.running & bit != 0 {
            self.running &= !bit;
            out.push(Action::CancelTimer(kind));
        }
    }

    /// Consumes a firing: true if `kind` was running (now no longer).
    fn fired(&mut self, kind: TimerKind) -> bool {
        let bit = 1 << kind.index();
        let was = self.running & bit != 0;
        self.running &= !bit;
        was
    }

    fn is_running(&self, kind: TimerKind) -> bool {
        self.running & (1 << kind.index()) != 0
    }

    /// Cancels every running timer and emits Terminated.
    fn terminate(&mut self, out: &mut Actions) {
        for kind in KINDS {
            if self.running & (1 << kind.index()) != 0 {
                out.push(Action::CancelTimer(kind));
            }
        }
        self.running = 0;
        out.push(Action::Terminated);
    }

    /// Starts `kind` for `d`, or terminates at once when `d` is zero.
    fn start_or_terminate(&mut self, kind: TimerKind, d: Duration, out: &mut Actions) {
        if d.is_zero() {
            self.terminate(out);
        } else {
            self.start(kind, d, out);
        }
    }
}

const KINDS: [TimerKind; TimerKind::COUNT] = [
    TimerKind::A,
    TimerKind::B,
    TimerKind::C,
    TimerKind::D,
    TimerKind::E,
    TimerKind::F,
    TimerKind::G,
    TimerKind::H,
    TimerKind::I,
    TimerKind::J,
    TimerKind::K,
    TimerKind::L,
    TimerKind::M,
];

/// Test harness: a manual clock and timer queue that drives a machine's
/// timers and logs the other actions with their (virtual) time.
#[cfg(test)]
pub(crate) mod sim {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Default)]
    pub struct Sim {
        pub now: Duration,
        pub timers: BTreeMap<TimerKind, Duration>,
        pub log: Vec<(Duration, Action)>,
        pub terminated: bool,
    }

    impl Sim {
        pub fn apply(&mut self, acts: Actions) {
            assert!(acts.len() <= Actions::CAP);
            assert!(!self.terminated, "event after Terminated: {:?}", acts);
            let n = acts.len();
            for (i, a) in acts.into_iter().enumerate() {
                match a {
                    Action::StartTimer(k, d) => {
                        assert!(!d.is_zero(), "zero timer {k:?}");
                        self.timers.insert(k, self.now + d);
                    }
                    Action::CancelTimer(k) => {
                        assert!(self.timers.remove(&k).is_some(), "cancel of idle {k:?}");
                    }
                    Action::Terminated => {
                        assert_eq!(i, n - 1, "Terminated not last");
                        assert!(self.timers.is_empty(), "timers left: {:?}", self.timers);
                        self.terminated = true;
                        self.log.push((self.now, a));
                    }
                    other => self.log.push((self.now, other)),
                }
            }
        }

        /// Fires the earliest timer (ties in kind order); `None` if none is armed.
        pub fn fire_next(
            &mut self,
            on_timer: impl FnOnce(TimerKind) -> Actions,
        ) -> Option<TimerKind> {
            let (&k, &at) = self.timers.iter().min_by_key(|(k, at)| (**at, **k))?;
            self.timers.remove(&k);
            self.now = at;
            self.apply(on_timer(k));
            Some(k)
        }

        /// Moves the clock forward without firing (must not pass a deadline).
        pub fn advance(&mut self, d: Duration) {
            self.now += d;
            assert!(self.timers.values().all(|&at| at >= self.now));
        }

        /// Times (ms) at which `Send` actions happened.
        pub fn send_times_ms(&self) -> Vec<u128> {
            self.log
                .iter()
                .filter(|(_, a)| matches!(a, Action::Send(_)))
                .map(|(t, _)| t.as_millis())
                .collect()
        }

        pub fn has(&self, want: &Action) -> bool {
            self.log.iter().any(|(_, a)| a == want)
        }

        pub fn last_time_ms(&self) -> u128 {
            self.log.last().map(|(t, _)| t.as_millis()).unwrap_or(0)
        }
    }
}
