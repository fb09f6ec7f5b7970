//! The timer service: ONE tokio task firing a timing wheel of
//! `(deadline, seq, TxId, TimerKind, generation)` entries that the handles
//! push into directly (a mutex held for one push, O(1)); the task is woken
//! only when a new entry is due before the time it sleeps until. The wheel
//! has one slot per millisecond over [`WHEEL_SLOTS`] ms (65 s: every SIP
//! transaction timer); later deadlines wait in an overflow heap and move
//! into the wheel as it turns. Due entries are handed to a callback as
//! [`Fired`], in deadline order (ties in scheduling order). Cancellation is
//! by generation: [`TimerGens`] keeps the current generation of each timer
//! of a transaction, and a firing whose generation is no longer current is
//! ignored (stale entries simply expire). The number of pending entries is
//! capped ([`TimerError::Full`]).
//!
//! Time comes from a [`Clock`]: [`TokioClock`] in production (which lets
//! timers fire up to [`TIMER_GRANULARITY`] late so that one wake-up fires
//! many), [`ManualClock`] in tests (tokio's `test-util` is not enabled, so
//! paused time is not available; the manual clock is advanced by the test).

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::table::TxId;
use super::{Action, TimerKind};

/// A source of time and of sleeping.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Instant;
    /// Completes once `now() >= deadline`.
    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send + 'static;
    /// How much later than its deadline a timer may fire so that timers due
    /// close together fire in one wake-up (zero: exactly on time).
    fn granularity(&self) -> Duration {
        Duration::ZERO
    }
}

/// [`TokioClock`]'s [`Clock::granularity`]: SIP's shortest timer is T1
/// (500 ms by default), so firing up to 5 ms late changes nothing on the
/// wire, and under load the service wakes at most 200 times a second
/// instead of once per distinct deadline.
pub const TIMER_GRANULARITY: Duration = Duration::from_millis(5);

/// tokio's clock (so tokio's paused time applies if ever enabled).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send + 'static {
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline))
    }

    fn granularity(&self) -> Duration {
        TIMER_GRANULARITY
    }
}

/// A clock that only moves when [`ManualClock::advance`] is called.
#[derive(Debug, Clone)]
pub struct ManualClock {
    base: Instant,
    offset: Arc<watch::Sender<Duration>>,
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl ManualClock {
    pub fn new() -> ManualClock {
        ManualClock {
            base: Instant::now(),
            offset: Arc::new(watch::Sender::new(Duration::ZERO)),
        }
    }

    pub fn advance(&self, d: Duration) {
        self.offset.send_modify(|o| *o += d);
    }

    /// Time advanced since creation.
    pub fn elapsed(&self) -> Duration {
        *self.offset.borrow()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.base + *self.offset.borrow()
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.offset.subscribe();
        let base = self.base;
        async move {
            loop {
                if base + *rx.borrow_and_update() >= deadline {
                    return;
                }
                if rx.changed().await.is_err() {
                    // The clock is gone: time never moves again.
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

/// A timer that came due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fired {
    pub tx: TxId,
    pub kind: TimerKind,
    pub generation: u32,
    pub deadline: Instant,
}

/// Why a timer could not be scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimerError {
    #[error("too many pending timers")]
    Full,
    #[error("timer service stopped")]
    Stopped,
}

#[derive(Debug)]
struct Entry {
    deadline: Instant,
    seq: u64,
    tx: TxId,
    kind: TimerKind,
    generation: u32,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == CmpOrdering::Equal
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}

impl Ord for Entry {
    /// Reversed: `BinaryHeap` is a max-heap, we want the earliest first.
    fn cmp(&self, o: &Self) -> CmpOrdering {
        (o.deadline, o.seq).cmp(&(self.deadline, self.seq))
    }
}

/// Slots of the timing wheel (one millisecond each).
pub const WHEEL_SLOTS: usize = 1 << 16;

/// The wheel the handles push into and the task takes from.
struct Shared {
    heap: std::sync::Mutex<Wheel>,
    /// Wakes the task when a new entry is due before the time it sleeps until.
    wake: tokio::sync::Notify,
}

/// Entries by the millisecond they come due in ("tick", counted from
/// `base`); a slot holds only ticks in `[cursor, cursor + WHEEL_SLOTS)`.
struct Wheel {
    base: Instant,
    /// The first tick not yet taken.
    cursor: u64,
    slots: Vec<Vec<Entry>>,
    /// One bit per non-empty slot.
    occupied: Vec<u64>,
    in_wheel: usize,
    /// Entries beyond the wheel's range, earliest first.
    overflow: BinaryHeap<Entry>,
    seq: u64,
    /// What the task sleeps until (`None`: until woken).
    sleeping_until: Option<Instant>,
}

impl Wheel {
    fn new(base: Instant) -> Wheel {
        Wheel {
            base,
            cursor: 0,
            slots: (0..WHEEL_SLOTS).map(|_| Vec::new()).collect(),
            occupied: vec![0; WHEEL_SLOTS / 64],
            in_wheel: 0,
            overflow: BinaryHeap::new(),
            seq: 0,
            sleeping_until: None,
        }
    }

    /// The tick a deadline falls in (rounded up: never fires early).
    fn tick_of(&self, deadline: Instant) -> u64 {
        let d = deadline.saturating_duration_since(self.base);
        let ms = d.as_millis() as u64;
        if d > Duration::from_millis(ms) {
            ms + 1
        } else {
            ms
        }
    }

    fn push(&mut self, e: Entry) {
        let t = self.tick_of(e.deadline).max(self.cursor);
        if t - self.cursor >= WHEEL_SLOTS as u64 {
            self.overflow.push(e);
            return;
        }
        let i = (t % WHEEL_SLOTS as u64) as usize;
        self.slots[i].push(e);
        self.occupied[i / 64] |= 1 << (i % 64);
        self.in_wheel += 1;
    }

    /// Moves every entry due at `now` into `due` (unsorted).
    fn take_due(&mut self, now: Instant, due: &mut Vec<Entry>) {
        let now_tick = self.tick_of(now);
        // Ticks whose whole millisecond has begun: deadlines in them are <= now
        // only up to the rounding, so entries are checked one by one below.
        let end = now_tick + 1;
        let span = end.saturating_sub(self.cursor).min(WHEEL_SLOTS as u64);
        if self.in_wheel > 0 {
            for k in 0..span {
                let i = ((self.cursor + k) % WHEEL_SLOTS as u64) as usize;
                if self.occupied[i / 64] & (1 << (i % 64)) == 0 {
                    continue;
                }
                let slot = &mut self.slots[i];
                let before = slot.len();
                let mut j = 0;
                while j < slot.len() {
                    if slot[j].deadline <= now {
                        due.push(slot.swap_remove(j));
                    } else {
                        j += 1;
                    }
                }
                self.in_wheel -= before - slot.len();
                if slot.is_empty() {
                    self.occupied[i / 64] &= !(1 << (i % 64));
                    // An emptied slot gives its memory back: a slot is used
                    // once per turn, and 65,536 slots each keeping the
                    // capacity of its busiest millisecond would hold far
                    // more than the live entries.
                    *slot = Vec::new();
                }
            }
        }
        // The cursor stops at the current tick: entries left in it (due
        // later within this millisecond) are found again next time.
        self.cursor = self.cursor.max(now_tick);
        while self.overflow.peek().is_some_and(|e| e.deadline <= now) {
            if let Some(e) = self.overflow.pop() {
                due.push(e);
            }
        }
        // Overflow entries now within range move into the wheel.
        while self
            .overflow
            .peek()
            .is_some_and(|e| self.tick_of(e.deadline) < self.cursor + WHEEL_SLOTS as u64)
        {
            if let Some(e) = self.overflow.pop() {
                self.push(e);
            }
        }
    }

    /// The earliest deadline pending, if any.
    fn next_deadline(&self) -> Option<Instant> {
        let mut best = self.overflow.peek().map(|e| e.deadline);
        if self.in_wheel > 0 {
            let start = (self.cursor % WHEEL_SLOTS as u64) as usize;
            // Scan the bitmap from the cursor's slot, wrapping once.
            let words = WHEEL_SLOTS / 64;
            for n in 0..=words {
                let w = (start / 64 + n) % words;
                let mut bits = self.occupied[w];
                if n == 0 {
                    bits &= !0u64 << (start % 64);
                }
                if bits != 0 {
                    let i = w * 64 + bits.trailing_zeros() as usize;
                    let slot_min = self.slots[i].iter().map(|e| e.deadline).min();
                    best = match (best, slot_min) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    break;
                }
            }
        }
        best
    }
}

enum Cmd {
    Flush(oneshot::Sender<()>),
}

/// The cloneable handle through which timers are scheduled.
pub struct TimerHandle<C: Clock> {
    /// Flush requests; dropping every handle closes it and ends the task.
    cmd: mpsc::Sender<Cmd>,
    shared: Arc<Shared>,
    pending: Arc<AtomicUsize>,
    cap: usize,
    clock: Arc<C>,
}

impl<C: Clock> std::fmt::Debug for TimerHandle<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerHandle")
            .field("pending", &self.pending())
            .field("cap", &self.cap)
            .finish()
    }
}

impl<C: Clock> Clone for TimerHandle<C> {
    fn clone(&self) -> Self {
        TimerHandle {
            cmd: self.cmd.clone(),
            shared: self.shared.clone(),
            pending: self.pending.clone(),
            cap: self.cap,
            clock: self.clock.clone(),
        }
    }
}

impl<C: Clock> TimerHandle<C> {
    /// Schedules `(tx, kind, generation)` to fire `after` from now.
    /// Synchronous and non-blocking: fails instead of waiting. The service
    /// task is only woken when this entry is due before every other one.
    pub fn schedule(
        &self,
        after: Duration,
        tx: TxId,
        kind: TimerKind,
        generation: u32,
    ) -> Result<(), TimerError> {
        if self.cmd.is_closed() {
            return Err(TimerError::Stopped);
        }
        self.pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.cap).then_some(n + 1)
            })
            .map_err(|_| TimerError::Full)?;
        let deadline = self.clock.now() + after;
        let earliest = {
            let Ok(mut h) = self.shared.heap.lock() else {
                self.pending.fetch_sub(1, Ordering::AcqRel);
                return Err(TimerError::Stopped);
            };
            let earliest = h.sleeping_until.is_none_or(|t| deadline < t);
            if earliest {
                h.sleeping_until = Some(deadline);
            }
            h.seq += 1;
            let seq = h.seq;
            h.push(Entry {
                deadline,
                seq,
                tx,
                kind,
                generation,
            });
            earliest
        };
        if earliest {
            self.shared.wake.notify_one();
        }
        Ok(())
    }

    /// Entries scheduled and not yet fired (stale ones included).
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// Waits until the service has fired everything due at the clock's
    /// current time (everything scheduled before this call included).
    pub async fn flush(&self) -> Result<(), TimerError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(Cmd::Flush(tx))
            .await
            .map_err(|_| TimerError::Stopped)?;
        rx.await.map_err(|_| TimerError::Stopped)
    }

    pub fn clock(&self) -> &Arc<C> {
        &self.clock
    }
}

/// Starts the service task. `cap` bounds the pending entries; `on_fire` is
/// called from the task for each due entry, in deadline order. The task ends
/// when every [`TimerHandle`] is dropped.
pub fn spawn_timer_service<C: Clock, F>(
    clock: Arc<C>,
    cap: usize,
    on_fire: F,
) -> (TimerHandle<C>, JoinHandle<()>)
where
    F: FnMut(Fired) + Send + 'static,
{
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let pending = Arc::new(AtomicUsize::new(0));
    let shared = Arc::new(Shared {
        heap: std::sync::Mutex::new(Wheel::new(clock.now())),
        wake: tokio::sync::Notify::new(),
    });
    let handle = TimerHandle {
        cmd: cmd_tx,
        shared: shared.clone(),
        pending: pending.clone(),
        cap,
        clock: clock.clone(),
    };
    let task = tokio::spawn(run(clock, cmd_rx, shared, pending, on_fire));
    (handle, task)
}

struct Service<C, F> {
    clock: Arc<C>,
    shared: Arc<Shared>,
    pending: Arc<AtomicUsize>,
    on_fire: F,
    due: Vec<Entry>,
}

impl<C: Clock, F: FnMut(Fired)> Service<C, F> {
    /// Fires every due entry (taken under the lock, fired after it: a
    /// callback may schedule), in deadline order. Then records and returns
    /// what the task will sleep until: the next deadline, pushed back to the
    /// clock's granularity (`None`: nothing pending).
    fn fire_due(&mut self) -> Option<Instant> {
        loop {
            let now = self.clock.now();
            {
                let Ok(mut h) = self.shared.heap.lock() else {
                    return None;
                };
                h.take_due(now, &mut self.due);
                if self.due.is_empty() {
                    let next = h
                        .next_deadline()
                        .map(|d| d.max(now + self.clock.granularity()));
                    h.sleeping_until = next;
                    return next;
                }
                // Until these have fired, a schedule() must not think the
                // task is asleep for long.
                h.sleeping_until = Some(now);
            }
            self.due.sort_unstable_by(|a, b| b.cmp(a));
            for e in self.due.drain(..) {
                self.pending.fetch_sub(1, Ordering::AcqRel);
                (self.on_fire)(Fired {
                    tx: e.tx,
                    kind: e.kind,
                    generation: e.generation,
                    deadline: e.deadline,
                });
            }
        }
    }
}

async fn run<C: Clock, F: FnMut(Fired) + Send>(
    clock: Arc<C>,
    mut rx: mpsc::Receiver<Cmd>,
    shared: Arc<Shared>,
    pending: Arc<AtomicUsize>,
    on_fire: F,
) {
    let mut s = Service {
        clock,
        shared: shared.clone(),
        pending,
        on_fire,
        due: Vec::new(),
    };
    loop {
        let next = s.fire_due();
        // A schedule() racing with this sleep leaves a permit in `wake`.
        let woken = shared.wake.notified();
        let cmd = match next {
            Some(deadline) => {
                let sleep = s.clock.sleep_until(deadline);
                tokio::select! {
                    biased;
                    cmd = rx.recv() => Some(cmd),
                    () = woken => None,
                    () = sleep => None,
                }
            }
            None => tokio::select! {
                biased;
                cmd = rx.recv() => Some(cmd),
                () = woken => None,
            },
        };
        match cmd {
            Some(Some(Cmd::Flush(done))) => {
                s.fire_due();
                let _ = done.send(());
            }
            // Every handle dropped.
            Some(None) => break,
            None => {}
        }
    }
}

/// Current generation of each timer of one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimerGens([u32; TimerKind::COUNT]);

impl TimerGens {
    /// A new generation for `kind` (invalidating any scheduled one).
    pub fn start(&mut self, kind: TimerKind) -> u32 {
        let g = &mut self.0[kind.index()];
        *g = g.wrapping_add(1);
        *g
    }

    pub fn cancel(&mut self, kind: TimerKind) {
        self.start(kind);
    }

    /// True if a firing of `(kind, generation)` is current; consumes it so a
    /// duplicate delivery is ignored too.
    pub fn fire(&mut self, kind: TimerKind, generation: u32) -> bool {
        if self.0[kind.index()] == generation {
            self.start(kind);
            true
        } else {
            false
        }
    }

    /// Carries out a timer action (`StartTimer` → schedule, `CancelTimer` →
    /// new generation). Returns `Ok(false)` for any other action, which the
    /// caller handles itself.
    pub fn apply<C: Clock>(
        &mut self,
        timers: &TimerHandle<C>,
        tx: TxId,
        action: &Action,
    ) -> Result<bool, TimerError> {
        match *action {
            Action::StartTimer(kind, after) => {
                let g = self.start(kind);
                timers.schedule(after, tx, kind, g)?;
                Ok(true)
            }
            Action::CancelTimer(kind) => {
                self.cancel(kind);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    type Log = Arc<Mutex<Vec<Fired>>>;

    fn service(cap: usize) -> (ManualClock, TimerHandle<ManualClock>, Log, JoinHandle<()>) {
        let clock = ManualClock::new();
        let log: Log = Arc::default();
        let l2 = log.clone();
        let (h, task) = spawn_timer_service(Arc::new(clock.clone()), cap, move |f| {
            l2.lock().unwrap().push(f)
        });
        (clock, h, log, task)
    }

    fn take(log: &Log) -> Vec<(u64, TimerKind)> {
        std::mem::take(&mut *log.lock().unwrap())
            .into_iter()
            .map(|f| (f.tx.0, f.kind))
            .collect()
    }

    #[tokio::test]
    async fn fires_in_deadline_order_with_manual_clock() {
        let (clock, h, log, task) = service(100);
        h.schedule(ms(3000), TxId(1), TimerKind::H, 1).unwrap();
        h.schedule(ms(1000), TxId(2), TimerKind::A, 1).unwrap();
        h.schedule(ms(2000), TxId(3), TimerKind::B, 1).unwrap();
        h.schedule(ms(1000), TxId(4), TimerKind::E, 1).unwrap();
        h.schedule(ms(5000), TxId(5), TimerKind::F, 1).unwrap();
        h.flush().await.unwrap();
        assert!(take(&log).is_empty(), "nothing is due at t=0");
        assert_eq!(h.pending(), 5);

        clock.advance(ms(999));
        h.flush().await.unwrap();
        assert!(take(&log).is_empty(), "nothing is due before 1 s");
        clock.advance(ms(1));
        h.flush().await.unwrap();
        // Equal deadlines fire in scheduling order.
        assert_eq!(take(&log), vec![(2, TimerKind::A), (4, TimerKind::E)]);
        clock.advance(ms(1500));
        h.flush().await.unwrap();
        assert_eq!(take(&log), vec![(3, TimerKind::B)]);
        // Scheduling is relative to the clock's now (2.5 s): due at 3.0 s, after H's 3 s entry.
        h.schedule(ms(500), TxId(6), TimerKind::G, 1).unwrap();
        clock.advance(ms(10_000));
        h.flush().await.unwrap();
        let fired = std::mem::take(&mut *log.lock().unwrap());
        assert_eq!(
            fired.iter().map(|f| (f.tx.0, f.kind)).collect::<Vec<_>>(),
            vec![(1, TimerKind::H), (6, TimerKind::G), (5, TimerKind::F)]
        );
        assert!(fired.windows(2).all(|w| w[0].deadline <= w[1].deadline));
        assert!(fired.iter().all(|f| f.deadline <= clock.now()));
        assert_eq!(h.pending(), 0);
        drop(h);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn fires_without_flush_when_the_clock_moves() {
        let clock = ManualClock::new();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (h, _task) = spawn_timer_service(Arc::new(clock.clone()), 10, move |f| {
            let _ = tx.send(f);
        });
        h.schedule(ms(100), TxId(9), TimerKind::K, 7).unwrap();
        h.flush().await.unwrap();
        assert!(rx.try_recv().is_err());
        clock.advance(ms(100));
        // The sleeping task wakes on the clock change by itself.
        let f = rx.recv().await.unwrap();
        assert_eq!((f.tx, f.kind, f.generation), (TxId(9), TimerKind::K, 7));
    }

    #[tokio::test]
    async fn cap_on_pending_entries() {
        let (clock, h, log, _task) = service(2);
        h.schedule(ms(10), TxId(1), TimerKind::A, 1).unwrap();
        h.schedule(ms(20), TxId(1), TimerKind::B, 1).unwrap();
        assert_eq!(
            h.schedule(ms(30), TxId(1), TimerKind::C, 1),
            Err(TimerError::Full)
        );
        clock.advance(ms(10));
        h.flush().await.unwrap();
        assert_eq!(take(&log), vec![(1, TimerKind::A)]);
        h.schedule(ms(30), TxId(1), TimerKind::C, 1).unwrap();
        assert_eq!(h.pending(), 2);
    }

    #[tokio::test]
    async fn stale_generations_are_ignored() {
        let (clock, h, log, _task) = service(100);
        let mut gens = TimerGens::default();
        let id = TxId(1);
        // Start G, restart it (the first entry becomes stale), start H, cancel H.
        for a in [
            Action::StartTimer(TimerKind::G, ms(500)),
            Action::StartTimer(TimerKind::G, ms(1000)),
            Action::StartTimer(TimerKind::H, ms(800)),
            Action::CancelTimer(TimerKind::H),
            Action::Send(bytes::Bytes::new()),
        ] {
            let timer_action = gens.apply(&h, id, &a).unwrap();
            assert_eq!(timer_action, !matches!(a, Action::Send(_)));
        }
        clock.advance(ms(2000));
        h.flush().await.unwrap();
        let fired = std::mem::take(&mut *log.lock().unwrap());
        assert_eq!(fired.len(), 3, "stale entries still pop from the heap");
        let live: Vec<_> = fired
            .iter()
            .filter(|f| gens.fire(f.kind, f.generation))
            .map(|f| (f.kind, f.deadline - (clock.now() - ms(2000))))
            .collect();
        assert_eq!(live, vec![(TimerKind::G, ms(1000))]);
        // A duplicate delivery of the same firing is ignored too.
        assert!(!gens.fire(TimerKind::G, fired[2].generation));
    }

    #[tokio::test]
    async fn tokio_clock_liveness_and_shutdown() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (h, task) = spawn_timer_service(Arc::new(TokioClock), 10, move |f| {
            let _ = tx.send(f);
        });
        h.schedule(ms(5), TxId(1), TimerKind::J, 1).unwrap();
        // Liveness only: a generous bound.
        let f = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(f.kind, TimerKind::J);
        drop(h);
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .unwrap()
            .unwrap();
    }
}

/// The machines, the table and the service together on a manual clock.
#[cfg(test)]
mod driven {
    use super::*;
    use crate::transaction::{InviteServer, Machine, Timers, Transport, TxKey, TxTable};
    use bytes::Bytes;

    struct Tx {
        machine: Machine,
        gens: TimerGens,
    }

    #[tokio::test]
    async fn invite_server_through_the_service() {
        let clock = ManualClock::new();
        let (fire_tx, mut fire_rx) = mpsc::unbounded_channel();
        let (timers, _task) = spawn_timer_service(Arc::new(clock.clone()), 1000, move |f| {
            let _ = fire_tx.send(f);
        });
        let table: TxTable<Tx> = TxTable::new(10);
        let key = TxKey::client(b"z9hG4bKx", b"INVITE").unwrap();
        let id = table
            .insert(
                key,
                Tx {
                    machine: Machine::InviteServer(InviteServer::new(
                        Transport::Unreliable,
                        Timers::default(),
                    )),
                    gens: TimerGens::default(),
                },
            )
            .unwrap();
        let mut sends = Vec::new();
        // Carries out actions for `id`; returns true when terminated.
        let carry = |tx: &mut Tx, acts: crate::transaction::Actions, sends: &mut Vec<u128>| {
            let mut done = false;
            for a in acts {
                if tx.gens.apply(&timers, id, &a).unwrap() {
                    continue;
                }
                match a {
                    Action::Send(_) => sends.push(clock.elapsed().as_millis()),
                    Action::Terminated => done = true,
                    _ => {}
                }
            }
            done
        };
        let done = table
            .with(id, |tx| {
                let Machine::InviteServer(s) = &mut tx.machine else {
                    unreachable!()
                };
                let acts = s.send_response(486, Bytes::from_static(b"486"));
                carry(tx, acts, &mut sends)
            })
            .unwrap();
        assert!(!done);
        let mut terminated_at = None;
        for _ in 0..80 {
            clock.advance(Duration::from_millis(500));
            timers.flush().await.unwrap();
            while let Ok(f) = fire_rx.try_recv() {
                let done = table.with(f.tx, |tx| {
                    if !tx.gens.fire(f.kind, f.generation) {
                        return false;
                    }
                    let acts = tx.machine.on_timer(f.kind);
                    carry(tx, acts, &mut sends)
                });
                if done == Some(true) {
                    table.remove(f.tx);
                    terminated_at = Some(clock.elapsed().as_millis());
                }
            }
        }
        assert_eq!(
            sends,
            vec![
                0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
            ]
        );
        assert_eq!(terminated_at, Some(32_000));
        assert!(table.is_empty());
        assert_eq!(timers.pending(), 0, "stale G entry expired");
    }
}
