//! The transaction table: sharded maps ([`dashmap`]) from [`TxKey`] to a
//! [`TxId`] and from the id to the caller's value, with a hard cap on entries
//! (insert fails when full: the proxy answers 503) and a live count.
//!
//! Do not call table methods from inside a `with*` closure: the closure runs
//! under the shard lock of that entry.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;

use super::key::TxKey;

/// A transaction's id: unique for the table's lifetime, what timers carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(pub u64);

/// Why an insert failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InsertError {
    #[error("transaction table full")]
    Full,
    #[error("a transaction with this key exists")]
    Duplicate(TxId),
}

struct Slot<V> {
    key: TxKey,
    value: V,
}

/// Transactions by key and by id, at most `cap` of them.
pub struct TxTable<V> {
    // foldhash: much cheaper than SipHash; seeded per process ("quality"
    // for keys a peer chooses, "fast" for our own ids).
    by_key: DashMap<TxKey, TxId, foldhash::quality::RandomState>,
    by_id: DashMap<TxId, Slot<V>, foldhash::fast::RandomState>,
    len: AtomicUsize,
    cap: usize,
    next_id: AtomicU64,
}

impl<V> TxTable<V> {
    pub fn new(cap: usize) -> TxTable<V> {
        TxTable {
            by_key: DashMap::with_hasher(foldhash::quality::RandomState::default()),
            by_id: DashMap::with_hasher(foldhash::fast::RandomState::default()),
            len: AtomicUsize::new(0),
            cap,
            next_id: AtomicU64::new(1),
        }
    }

    /// Inserts a transaction built by `make` (which gets the new id, e.g. to
    /// schedule its timers). Fails when the table is full or the key exists.
    pub fn insert_with(
        &self,
        key: TxKey,
        make: impl FnOnce(TxId) -> V,
    ) -> Result<TxId, InsertError> {
        // Reserve a place first so that the cap holds under concurrency.
        self.len
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.cap).then_some(n + 1)
            })
            .map_err(|_| InsertError::Full)?;
        if let Some(existing) = self.by_key.get(&key) {
            let id = *existing;
            drop(existing);
            self.len.fetch_sub(1, Ordering::AcqRel);
            return Err(InsertError::Duplicate(id));
        }
        let id = TxId(self.next_id.fetch_add(1, Ordering::Relaxed));
        // The id entry goes in before the key entry, so a lookup that finds
        // the key always finds the value.
        self.by_id.insert(
            id,
            Slot {
                key: key.clone(),
                value: make(id),
            },
        );
        match self.by_key.entry(key) {
            Entry::Vacant(v) => {
                v.insert(id);
                Ok(id)
            }
            Entry::Occupied(o) => {
                // Lost a race with a concurrent insert of the same key.
                let winner = *o.get();
                drop(o);
                self.by_id.remove(&id);
                self.len.fetch_sub(1, Ordering::AcqRel);
                Err(InsertError::Duplicate(winner))
            }
        }
    }

    pub fn insert(&self, key: TxKey, value: V) -> Result<TxId, InsertError> {
        self.insert_with(key, |_| value)
    }

    /// The id of the transaction with this key.
    pub fn lookup(&self, key: &TxKey) -> Option<TxId> {
        self.by_key.get(key).map(|r| *r)
    }

    /// The id for an encoded key ([`TxKey::as_bytes`]).
    pub fn lookup_bytes(&self, key: &[u8]) -> Option<TxId> {
        self.by_key.get(key).map(|r| *r)
    }

    /// Runs `f` on the value of transaction `id`.
    pub fn with<R>(&self, id: TxId, f: impl FnOnce(&mut V) -> R) -> Option<R> {
        self.by_id.get_mut(&id).map(|mut s| f(&mut s.value))
    }

    /// Runs `f` on the transaction with this key.
    pub fn with_key<R>(&self, key: &TxKey, f: impl FnOnce(TxId, &mut V) -> R) -> Option<R> {
        let id = self.lookup(key)?;
        self.with(id, |v| f(id, v))
    }

    /// The key of transaction `id`.
    pub fn key_of(&self, id: TxId) -> Option<TxKey> {
        self.by_id.get(&id).map(|s| s.key.clone())
    }

    /// Removes transaction `id`; returns its key and value.
    pub fn remove(&self, id: TxId) -> Option<(TxKey, V)> {
        let (_, slot) = self.by_id.remove(&id)?;
        self.by_key.remove_if(&slot.key, |_, v| *v == id);
        self.len.fetch_sub(1, Ordering::AcqRel);
        Some((slot.key, slot.value))
    }

    /// Live transactions.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Ids of all live transactions (for shutdown and tests).
    pub fn ids(&self) -> Vec<TxId> {
        self.by_id.iter().map(|r| *r.key()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::sim::Sim;
    use crate::transaction::{
        Action, Actions, InviteClient, InviteServer, Machine, NonInviteClient, NonInviteServer,
        Timers, Transport,
    };
    use bytes::Bytes;
    use std::sync::Arc;

    fn k(i: u32) -> TxKey {
        TxKey::client(format!("z9hG4bK{i}").as_bytes(), b"INVITE").unwrap()
    }

    #[test]
    fn cap_duplicate_remove() {
        let t: TxTable<u32> = TxTable::new(2);
        let a = t.insert(k(1), 10).unwrap();
        assert_eq!(t.insert(k(1), 11), Err(InsertError::Duplicate(a)));
        let b = t.insert(k(2), 20).unwrap();
        assert_ne!(a, b);
        assert_eq!(t.insert(k(3), 30), Err(InsertError::Full));
        assert_eq!(t.len(), 2);
        assert_eq!(t.lookup(&k(2)), Some(b));
        assert_eq!(t.lookup_bytes(k(2).as_bytes()), Some(b));
        assert_eq!(t.with(b, |v| std::mem::replace(v, 21)), Some(20));
        assert_eq!(t.with_key(&k(2), |id, v| (id, *v)), Some((b, 21)));
        assert_eq!(t.key_of(a), Some(k(1)));
        assert_eq!(t.remove(a), Some((k(1), 10)));
        assert_eq!(t.remove(a), None);
        assert_eq!(t.lookup(&k(1)), None);
        assert_eq!(t.with(a, |_| ()), None);
        // Room again after the removal; ids are never reused.
        let c = t.insert(k(3), 30).unwrap();
        assert!(c > b);
        t.remove(b);
        t.remove(c);
        assert!(t.is_empty());
        assert!(t.ids().is_empty());
    }

    fn hammer(t: &Arc<TxTable<u32>>, key_of: fn(u32, u32) -> TxKey) -> usize {
        let handles: Vec<_> = (0..4)
            .map(|th| {
                let t = t.clone();
                std::thread::spawn(move || {
                    (0..100)
                        .filter(|&i| t.insert(key_of(th, i), i).is_ok())
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    }

    #[test]
    fn concurrent_inserts_respect_cap_and_keys() {
        // 400 distinct keys into room for 100.
        let t: Arc<TxTable<u32>> = Arc::new(TxTable::new(100));
        assert_eq!(hammer(&t, |th, i| k(th * 1000 + i)), 100);
        assert_eq!(t.len(), 100);
        assert_eq!(t.ids().len(), 100);
        for id in t.ids() {
            let key = t.key_of(id).unwrap();
            assert_eq!(t.lookup(&key), Some(id));
            t.remove(id);
        }
        assert!(t.is_empty());
        // The same 100 keys from 4 threads: each inserted once.
        let t: Arc<TxTable<u32>> = Arc::new(TxTable::new(1000));
        assert_eq!(hammer(&t, |_, i| k(i)), 100);
        assert_eq!(t.len(), 100);
        assert_eq!(t.ids().len(), 100);
    }

    /// Fires all of a machine's timers (stored in the table), removing it
    /// when it says Terminated.
    fn run(t: &TxTable<Machine>, id: TxId, sim: &mut Sim) {
        while sim
            .fire_next(|kind| t.with(id, |m| m.on_timer(kind)).unwrap())
            .is_some()
        {
            if sim.terminated {
                t.remove(id);
            }
        }
    }

    #[test]
    fn no_leaks_on_every_terminal_path() {
        let t: TxTable<Machine> = TxTable::new(16);
        let timers = Timers::default();
        let bytes = Bytes::from_static(b"x");
        for transport in [Transport::Unreliable, Transport::Reliable] {
            // Server INVITE: non-2xx never ACKed (H), ACKed (I), 2xx (L), transport error.
            for path in 0..4 {
                let id = t
                    .insert(
                        k(path),
                        Machine::InviteServer(InviteServer::new(transport, timers)),
                    )
                    .unwrap();
                let mut sim = Sim::default();
                let steps: Vec<Actions> = t
                    .with(id, |m| {
                        let Machine::InviteServer(s) = m else {
                            unreachable!()
                        };
                        match path {
                            0 => vec![s.send_response(404, bytes.clone())],
                            1 => vec![s.send_response(404, bytes.clone()), s.on_ack()],
                            2 => vec![s.send_response(200, bytes.clone())],
                            _ => vec![s.on_transport_error()],
                        }
                    })
                    .unwrap();
                for acts in steps {
                    sim.apply(acts);
                }
                if sim.terminated {
                    t.remove(id);
                }
                run(&t, id, &mut sim);
                assert!(sim.terminated, "path {path}");
            }
            // Server non-INVITE; client INVITE timeout; client non-INVITE timeout.
            let id = t
                .insert(
                    k(10),
                    Machine::NonInviteServer(NonInviteServer::new(transport, timers)),
                )
                .unwrap();
            let mut sim = Sim::default();
            sim.apply(
                t.with(id, |m| match m {
                    Machine::NonInviteServer(s) => s.send_response(200, bytes.clone()),
                    _ => unreachable!(),
                })
                .unwrap(),
            );
            if sim.terminated {
                t.remove(id);
            }
            run(&t, id, &mut sim);
            let (ic, acts) = InviteClient::start(bytes.clone(), transport, timers);
            let id = t.insert(k(11), Machine::InviteClient(ic)).unwrap();
            let mut sim = Sim::default();
            sim.apply(acts);
            run(&t, id, &mut sim);
            assert!(sim.has(&Action::Timeout));
            let (nc, acts) = NonInviteClient::start(bytes.clone(), transport, timers);
            let id = t.insert(k(12), Machine::NonInviteClient(nc)).unwrap();
            let mut sim = Sim::default();
            sim.apply(acts);
            run(&t, id, &mut sim);
            assert!(sim.has(&Action::Timeout));
            assert!(t.is_empty(), "leak on {transport:?}: {:?}", t.ids());
        }
    }
}
