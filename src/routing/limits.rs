//! Per-customer call limits (DESIGN.md §3): `cps_limit` as a token bucket
//! (rate = `cps_limit`/s, burst = `cps_limit`) and `channels` as a counter of
//! concurrent calls whose slots are held by [`ChannelGuard`]s.
//!
//! Both are lock-free (one atomic per customer): the bucket is a GCRA
//! ("theoretical arrival time" in nanoseconds since a base instant, advanced
//! by compare-and-swap), which admits exactly what a token bucket of the same
//! rate and burst admits. Time is passed in ([`Limits::check_cps_at`]) so
//! tests drive a fake clock; [`Limits::check_cps`] reads the monotonic clock.
//!
//! Channels are counted for every customer (so `sipforge_calls_active` shows
//! calls in use even when unlimited); only customers with `channels` refuse.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use prometheus::IntGauge;

use crate::config::{Config, SipStatus};
use crate::metrics::Metrics;

/// A customer's `channels` are all in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("all channels of the customer are in use")]
pub struct ChannelsFull;

/// GCRA state of one customer's `cps_limit`.
#[derive(Debug)]
struct Bucket {
    /// Nanoseconds between two calls at the sustained rate.
    interval: u64,
    /// How far the theoretical arrival time may run ahead of now
    /// (`interval * (burst - 1)`).
    tolerance: u64,
    /// Theoretical arrival time, nanoseconds since [`Limits::base`].
    tat: AtomicU64,
}

impl Bucket {
    fn new(per_second: u32) -> Bucket {
        let interval = 1_000_000_000 / u64::from(per_second.max(1));
        Bucket {
            interval,
            tolerance: interval * u64::from(per_second.max(1) - 1),
            tat: AtomicU64::new(0),
        }
    }

    /// Takes one token at `now` (ns since base); false when none is left.
    fn take(&self, now: u64) -> bool {
        let mut cur = self.tat.load(Ordering::Acquire);
        loop {
            let tat = cur.max(now);
            if tat - now > self.tolerance {
                return false;
            }
            match self.tat.compare_exchange_weak(
                cur,
                tat + self.interval,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }
}

/// Concurrent calls of one customer.
#[derive(Debug)]
struct Channels {
    /// `u32::MAX` when unlimited (a reload may change it).
    cap: AtomicU32,
    in_use: AtomicU32,
    /// `sipforge_calls_active{customer}`.
    gauge: IntGauge,
}

/// One call's channel: released (counter and gauge decremented) on drop.
/// Not `Clone`: exactly one release per acquisition.
#[derive(Debug)]
#[must_use = "the channel is released as soon as the guard is dropped"]
pub struct ChannelGuard {
    channels: Arc<Channels>,
}

impl Drop for ChannelGuard {
    fn drop(&mut self) {
        self.channels.in_use.fetch_sub(1, Ordering::AcqRel);
        self.channels.gauge.dec();
    }
}

/// One customer's limits.
#[derive(Debug)]
struct CustomerLimits {
    id: String,
    cps: Option<Bucket>,
    cps_action: SipStatus,
    channels: Arc<Channels>,
    channels_action: SipStatus,
}

/// Every customer's limits, indexed like [`super::Router`]'s customers
/// (their order in the config). Immutable apart from the atomics; share it.
#[derive(Debug)]
pub struct Limits {
    base: Instant,
    customers: Vec<CustomerLimits>,
}

impl Limits {
    /// The limits of `config`'s customers; `sipforge_calls_active` children
    /// come from `metrics` (labelled by customer id).
    pub fn new(config: &Config, metrics: &Metrics) -> Limits {
        Self::with_base(config, metrics, Instant::now())
    }

    /// [`Limits::new`] with the clock's origin given (tests).
    pub fn with_base(config: &Config, metrics: &Metrics, base: Instant) -> Limits {
        let customers = config
            .customers
            .iter()
            .map(|c| CustomerLimits {
                id: c.id.clone(),
                cps: c.cps_limit.map(Bucket::new),
                cps_action: c.cps_limit_action.clone(),
                channels_action: c.channels_action.clone(),
                channels: Arc::new(Channels {
                    cap: AtomicU32::new(c.channels.unwrap_or(u32::MAX)),
                    in_use: AtomicU32::new(0),
                    gauge: metrics.calls_active.with_label_values(&[&c.id]),
                }),
            })
            .collect();
        Limits { base, customers }
    }

    /// The limits of a reloaded `config`: a customer that still exists keeps
    /// its channel counter (calls in progress stay counted and release into
    /// it; its `channels` cap is updated); cps buckets start afresh.
    pub fn reloaded(&self, config: &Config, metrics: &Metrics) -> Limits {
        let mut next = Limits::new(config, metrics);
        next.base = self.base;
        for c in &mut next.customers {
            if let Some(old) = self.customers.iter().find(|o| o.id == c.id) {
                let cap = c.channels.cap.load(Ordering::Acquire);
                old.channels.cap.store(cap, Ordering::Release);
                c.channels = old.channels.clone();
            }
        }
        next
    }

    /// Takes one call from `customer`'s `cps_limit` now; false when exceeded.
    /// Unlimited (or unknown) customers always pass.
    pub fn check_cps(&self, customer: usize) -> bool {
        self.check_cps_at(customer, Instant::now())
    }

    /// [`Limits::check_cps`] at `now`.
    pub fn check_cps_at(&self, customer: usize, now: Instant) -> bool {
        let Some(bucket) = self.customers.get(customer).and_then(|c| c.cps.as_ref()) else {
            return true;
        };
        let ns = now.saturating_duration_since(self.base).as_nanos();
        bucket.take(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// Takes one of `customer`'s channels for a call. `Ok(None)` only for an
    /// unknown customer index; unlimited customers get a guard too (counted
    /// in `sipforge_calls_active`, never refused).
    pub fn acquire_channel(&self, customer: usize) -> Result<Option<ChannelGuard>, ChannelsFull> {
        let Some(c) = self.customers.get(customer) else {
            return Ok(None);
        };
        let ch = &c.channels;
        let mut cur = ch.in_use.load(Ordering::Acquire);
        loop {
            if cur >= ch.cap.load(Ordering::Acquire) {
                return Err(ChannelsFull);
            }
            match ch
                .in_use
                .compare_exchange_weak(cur, cur + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        ch.gauge.inc();
        Ok(Some(ChannelGuard {
            channels: ch.clone(),
        }))
    }

    /// The answer to a call over `customer`'s `cps_limit` (`cps_limit_action`).
    pub fn cps_action(&self, customer: usize) -> Option<&SipStatus> {
        self.customers.get(customer).map(|c| &c.cps_action)
    }

    /// The answer to a call over `customer`'s `channels` (`channels_action`).
    pub fn channels_action(&self, customer: usize) -> Option<&SipStatus> {
        self.customers.get(customer).map(|c| &c.channels_action)
    }

    /// Channels `customer` has in use (0 for an unknown index).
    pub fn channels_in_use(&self, customer: usize) -> u32 {
        self.customers
            .get(customer)
            .map_or(0, |c| c.channels.in_use.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn config(extra: &str) -> Config {
        let text = format!(
            "[server]\nlisten_udp = [\"0.0.0.0:5060\"]\n[[customers]]\nid = \"a\"\nsources = [\"10.0.0.0/8\"]\n{extra}\n\
             [[customers]]\nid = \"free\"\nsources = [\"192.168.0.0/16\"]\n"
        );
        Config::from_toml(&text, "t.toml").expect("valid test config")
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn cps_burst_then_refill_at_the_rate() {
        let m = Metrics::new();
        let t0 = Instant::now();
        let l = Limits::with_base(&config("cps_limit = 5"), &m, t0);
        // The burst: 5 calls at the same instant, the 6th refused.
        for _ in 0..5 {
            assert!(l.check_cps_at(0, t0));
        }
        assert!(!l.check_cps_at(0, t0));
        assert!(!l.check_cps_at(0, t0 + ms(199)));
        // One token per 200 ms.
        assert!(l.check_cps_at(0, t0 + ms(200)));
        assert!(!l.check_cps_at(0, t0 + ms(200)));
        // After a long pause the bucket is full again, but never more than the burst.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..5 {
            assert!(l.check_cps_at(0, later));
        }
        assert!(!l.check_cps_at(0, later));
        // Unlimited and unknown customers always pass.
        for _ in 0..100 {
            assert!(l.check_cps_at(1, t0));
        }
        assert!(l.check_cps_at(7, t0));
        assert_eq!(l.cps_action(0).map(|a| a.code), Some(503));
        assert_eq!(l.channels_action(1).map(|a| a.code), Some(486));
        assert!(l.cps_action(2).is_none());
    }

    #[test]
    fn cps_of_one_is_one_per_second() {
        let m = Metrics::new();
        let t0 = Instant::now();
        let l = Limits::with_base(&config("cps_limit = 1"), &m, t0);
        assert!(l.check_cps_at(0, t0 + ms(10)));
        assert!(!l.check_cps_at(0, t0 + ms(500)));
        assert!(!l.check_cps_at(0, t0 + ms(1009)));
        assert!(l.check_cps_at(0, t0 + ms(1010)));
        // A clock before the base counts as the base.
        let l = Limits::with_base(&config("cps_limit = 1"), &m, t0 + ms(5));
        assert!(l.check_cps_at(0, t0));
        assert!(!l.check_cps_at(0, t0));
    }

    #[test]
    fn sustained_rate_matches_the_limit() {
        let m = Metrics::new();
        let t0 = Instant::now();
        let l = Limits::with_base(&config("cps_limit = 10"), &m, t0);
        // Offered 100/s for 10 s: burst (10) + 10/s * 10 s admitted.
        let admitted = (0..1000)
            .filter(|i| l.check_cps_at(0, t0 + ms(10 * i)))
            .count();
        assert!((100..=111).contains(&admitted), "admitted {admitted}");
    }

    #[test]
    fn channels_are_held_by_guards_and_released_on_drop() {
        let m = Metrics::new();
        let l = Limits::new(&config("channels = 2"), &m);
        let gauge = || m.calls_active.with_label_values(&["a"]).get();
        let g1 = l.acquire_channel(0).unwrap().expect("guard");
        let g2 = l.acquire_channel(0).unwrap().expect("guard");
        assert_eq!(l.acquire_channel(0).unwrap_err(), ChannelsFull);
        assert_eq!((l.channels_in_use(0), gauge()), (2, 2));
        drop(g1);
        assert_eq!((l.channels_in_use(0), gauge()), (1, 1));
        let g3 = l.acquire_channel(0).unwrap().expect("guard");
        assert!(l.acquire_channel(0).is_err());
        // A guard can move to another thread (proxy calls and dialogs).
        std::thread::spawn(move || drop(g2)).join().unwrap();
        drop(g3);
        assert_eq!((l.channels_in_use(0), gauge()), (0, 0));
        // Unlimited customers are counted, never refused; unknown ones get no guard.
        let many: Vec<_> = (0..1000)
            .map(|_| l.acquire_channel(1).unwrap().expect("guard"))
            .collect();
        assert_eq!(l.channels_in_use(1), 1000);
        assert_eq!(m.calls_active.with_label_values(&["free"]).get(), 1000);
        drop(many);
        assert_eq!(l.channels_in_use(1), 0);
        assert!(l.acquire_channel(9).unwrap().is_none());
    }

    #[test]
    fn channels_never_exceed_the_cap_under_contention() {
        let m = Metrics::new();
        let l = Arc::new(Limits::new(&config("channels = 3"), &m));
        let peak = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (l, peak) = (l.clone(), peak.clone());
                std::thread::spawn(move || {
                    for _ in 0..2000 {
                        if let Ok(Some(g)) = l.acquire_channel(0) {
                            peak.fetch_max(l.channels_in_use(0), Ordering::AcqRel);
                            drop(g);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(peak.load(Ordering::Acquire) <= 3);
        assert_eq!(l.channels_in_use(0), 0);
    }
}
