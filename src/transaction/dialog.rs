//! Dialogs the proxy set up (RFC 3261 §12): one entry per 2xx relayed for an
//! initial INVITE, keyed by Call-ID and both tags, so that only requests of a
//! dialog that passed through sipforge are loose-routed onward (anything else
//! carrying our Route gets 481 — no open relay). Bounded by a cap; removed on
//! BYE (any final, or its timeout), on a 481 to any in-dialog request, or
//! after `idle` without an in-dialog request ([`Dialogs::sweep`]). A dialog
//! may own a [`Holder`] (the call's channel of the customer's `channels`
//! limit), dropped — released — whenever the dialog is removed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;

/// Call-ID and the two tags, order-independent (requests from the callee
/// carry the tags the other way round).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogKey(Box<[u8]>);

impl DialogKey {
    /// `None` when a tag is missing (not a dialog).
    pub fn new(call_id: &[u8], from_tag: &[u8], to_tag: &[u8]) -> Option<DialogKey> {
        if call_id.is_empty() || from_tag.is_empty() || to_tag.is_empty() {
            return None;
        }
        let (a, b) = if from_tag <= to_tag {
            (from_tag, to_tag)
        } else {
            (to_tag, from_tag)
        };
        let mut k = Vec::with_capacity(call_id.len() + a.len() + b.len() + 2);
        k.extend_from_slice(call_id);
        k.push(0);
        k.extend_from_slice(a);
        k.push(0);
        k.extend_from_slice(b);
        Some(DialogKey(k.into_boxed_slice()))
    }

    /// The key of a request or response (Call-ID, From tag, To tag).
    pub fn of(msg: &crate::sip::Message<'_>) -> Option<DialogKey> {
        let call_id = msg.call_id()?;
        let tag = |h| {
            msg.value(h)
                .and_then(|v| crate::sip::NameAddr::parse(v).ok())
                .and_then(|a| a.tag())
        };
        let from = tag(crate::sip::HeaderName::From)?;
        let to = tag(crate::sip::HeaderName::To)?;
        DialogKey::new(call_id.trim_ascii(), from, to)
    }
}

/// Something a dialog keeps alive until it ends (opaque here, so this
/// module does not depend on what it is: a `routing::limits::ChannelGuard`).
pub type Holder = Box<dyn std::any::Any + Send + Sync>;

/// What the proxy keeps per dialog.
#[derive(Debug)]
pub struct Dialog {
    pub created: Instant,
    pub last_request: Instant,
    /// The customer of the call (limits and logs of issue 6).
    pub customer: Option<std::sync::Arc<str>>,
    /// Dropped with the dialog (BYE, 481, idle sweep).
    pub holder: Option<Holder>,
}

/// Why a dialog was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    #[error("dialog table full")]
    Full,
}

/// Dialogs by key, at most `cap`.
pub struct Dialogs {
    map: DashMap<DialogKey, Dialog, foldhash::quality::RandomState>,
    len: AtomicUsize,
    cap: usize,
    idle: Duration,
}

impl Dialogs {
    pub fn new(cap: usize, idle: Duration) -> Dialogs {
        Dialogs {
            map: DashMap::with_hasher(foldhash::quality::RandomState::default()),
            len: AtomicUsize::new(0),
            cap,
            idle,
        }
    }

    /// Records a confirmed dialog (a second 2xx with the same tags is the
    /// same dialog: Ok, nothing added).
    pub fn insert(
        &self,
        key: DialogKey,
        customer: Option<std::sync::Arc<str>>,
        now: Instant,
    ) -> Result<bool, DialogError> {
        self.insert_held(key, customer, None, now)
    }

    /// [`Dialogs::insert`] with a `holder` the dialog owns until it is
    /// removed. When nothing is added (full, or already there) the holder is
    /// dropped at once.
    pub fn insert_held(
        &self,
        key: DialogKey,
        customer: Option<std::sync::Arc<str>>,
        holder: Option<Holder>,
        now: Instant,
    ) -> Result<bool, DialogError> {
        if self.len.fetch_add(1, Ordering::AcqRel) >= self.cap {
            self.len.fetch_sub(1, Ordering::AcqRel);
            return Err(DialogError::Full);
        }
        match self.map.entry(key) {
            Entry::Occupied(_) => {
                self.len.fetch_sub(1, Ordering::AcqRel);
                Ok(false)
            }
            Entry::Vacant(v) => {
                v.insert(Dialog {
                    created: now,
                    last_request: now,
                    customer,
                    holder,
                });
                Ok(true)
            }
        }
    }

    /// Whether the dialog exists; marks an in-dialog request at `now`.
    pub fn touch(&self, key: &DialogKey, now: Instant) -> bool {
        match self.map.get_mut(key) {
            Some(mut d) => {
                d.last_request = now;
                true
            }
            None => false,
        }
    }

    pub fn contains(&self, key: &DialogKey) -> bool {
        self.map.contains_key(key)
    }

    /// Forgets a dialog; its data if it was there.
    pub fn remove(&self, key: &DialogKey) -> Option<Dialog> {
        let d = self.map.remove(key).map(|(_, d)| d);
        if d.is_some() {
            self.len.fetch_sub(1, Ordering::AcqRel);
        }
        d
    }

    /// Removes dialogs without an in-dialog request for longer than the idle
    /// limit; returns how many.
    pub fn sweep(&self, now: Instant) -> usize {
        // Counted as removed (not as a difference of sizes: inserts running
        // at the same time would make the live count drift).
        let mut removed = 0;
        self.map.retain(|_, d| {
            let keep = now.saturating_duration_since(d.last_request) < self.idle;
            removed += usize::from(!keep);
            keep
        });
        self.len.fetch_sub(removed, Ordering::AcqRel);
        removed
    }

    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: &str, a: &str, b: &str) -> DialogKey {
        DialogKey::new(c.as_bytes(), a.as_bytes(), b.as_bytes()).unwrap()
    }

    #[test]
    fn key_ignores_direction_and_needs_both_tags() {
        assert_eq!(key("c1", "a", "b"), key("c1", "b", "a"));
        assert_ne!(key("c1", "a", "b"), key("c2", "a", "b"));
        assert_ne!(key("c1", "ab", "c"), key("c1", "a", "bc"));
        assert!(DialogKey::new(b"c", b"", b"b").is_none());
    }

    #[test]
    fn key_of_messages_in_both_directions() {
        let l = crate::sip::Limits::default();
        let req = b"BYE sip:a@1.2.3.4 SIP/2.0\r\nVia: SIP/2.0/UDP 1.1.1.1;branch=z9hG4bKx\r\n\
            From: <sip:b@x>;tag=callee\r\nTo: <sip:a@y>;tag=caller\r\nCall-ID:  abc \r\n\
            CSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n";
        let m = crate::sip::Message::parse(req, &l).unwrap();
        assert_eq!(DialogKey::of(&m), Some(key("abc", "caller", "callee")));
        let no_tag =
            b"INVITE sip:a@1.2.3.4 SIP/2.0\r\nVia: SIP/2.0/UDP 1.1.1.1;branch=z9hG4bKx\r\n\
            From: <sip:b@x>;tag=t\r\nTo: <sip:a@y>\r\nCall-ID: abc\r\n\
            CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        let m = crate::sip::Message::parse(no_tag, &l).unwrap();
        assert_eq!(DialogKey::of(&m), None);
    }

    #[test]
    fn capped_touched_removed_and_swept() {
        let t0 = Instant::now();
        let d = Dialogs::new(2, Duration::from_secs(10));
        assert_eq!(d.insert(key("1", "a", "b"), None, t0), Ok(true));
        assert_eq!(d.insert(key("1", "b", "a"), None, t0), Ok(false));
        assert_eq!(d.insert(key("2", "a", "b"), None, t0), Ok(true));
        assert_eq!(
            d.insert(key("3", "a", "b"), None, t0),
            Err(DialogError::Full)
        );
        assert_eq!(d.len(), 2);
        assert!(d.touch(&key("2", "a", "b"), t0 + Duration::from_secs(8)));
        assert!(!d.touch(&key("9", "a", "b"), t0));
        assert_eq!(d.sweep(t0 + Duration::from_secs(12)), 1);
        assert!(!d.contains(&key("1", "a", "b")));
        assert!(d.remove(&key("2", "a", "b")).is_some());
        assert!(d.remove(&key("2", "a", "b")).is_none());
        assert!(d.is_empty());
        assert_eq!(d.insert(key("3", "a", "b"), None, t0), Ok(true));
    }

    /// Counts its live instances, like a channel guard.
    struct Held(std::sync::Arc<AtomicUsize>);
    impl Drop for Held {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::AcqRel);
        }
    }

    #[test]
    fn holders_are_dropped_with_their_dialog() {
        let live = std::sync::Arc::new(AtomicUsize::new(0));
        let held = || -> Option<Holder> {
            live.fetch_add(1, Ordering::AcqRel);
            Some(Box::new(Held(live.clone())))
        };
        let t0 = Instant::now();
        let d = Dialogs::new(2, Duration::from_secs(10));
        assert_eq!(
            d.insert_held(key("1", "a", "b"), None, held(), t0),
            Ok(true)
        );
        assert_eq!(
            d.insert_held(key("2", "a", "b"), None, held(), t0),
            Ok(true)
        );
        assert_eq!(live.load(Ordering::Acquire), 2);
        // Not added: dropped at once.
        assert!(d.insert_held(key("3", "a", "b"), None, held(), t0).is_err());
        assert_eq!(live.load(Ordering::Acquire), 2);
        // Removed (BYE / 481), then swept (idle).
        drop(d.remove(&key("1", "a", "b")));
        assert_eq!(live.load(Ordering::Acquire), 1);
        assert_eq!(d.sweep(t0 + Duration::from_secs(11)), 1);
        assert_eq!(live.load(Ordering::Acquire), 0);
    }
}
