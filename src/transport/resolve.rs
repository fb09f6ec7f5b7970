//! Gateway and next-hop names to socket addresses for proxy mode: IP
//! literals directly, host names through the system resolver with a small
//! cache (60 s for an answer, 5 s for a failure; the system resolver gives
//! no TTL), bounded (cleared when full) and with a 2 s limit per lookup.
//! No SRV/NAPTR (RFC 3263): `host:port` as configured or routed.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dashmap::DashMap;

const POSITIVE_TTL: Duration = Duration::from_secs(60);
const NEGATIVE_TTL: Duration = Duration::from_secs(5);
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);
const CAP: usize = 4096;

/// A cached resolver of `host:port` strings.
#[derive(Default)]
pub struct Resolver {
    cache: DashMap<Box<str>, (Option<SocketAddr>, Instant)>,
}

impl Resolver {
    pub fn new() -> Resolver {
        Resolver::default()
    }

    /// `host:port` (IPv6 literals in brackets) as an address; `None` when
    /// it does not resolve in time.
    pub async fn resolve(&self, target: &str) -> Option<SocketAddr> {
        if let Ok(a) = target.parse::<SocketAddr>() {
            return Some(a);
        }
        let now = Instant::now();
        if let Some(e) = self.cache.get(target)
            && e.1 > now
        {
            return e.0;
        }
        let found =
            match tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host(target)).await {
                Ok(Ok(mut addrs)) => addrs.next(),
                _ => None,
            };
        if self.cache.len() >= CAP {
            self.cache.clear();
        }
        let ttl = if found.is_some() {
            POSITIVE_TTL
        } else {
            NEGATIVE_TTL
        };
        self.cache.insert(target.into(), (found, now + ttl));
        found
    }

    /// Entries cached (answers and failures).
    pub fn cached(&self) -> usize {
        self.cache.len()
    }
}

#[cfg(test)]
mod tests {
    use super::Resolver;

    #[tokio::test]
    async fn literals_names_and_failures() {
        let r = Resolver::new();
        assert_eq!(
            r.resolve("192.0.2.1:5060").await,
            Some("192.0.2.1:5060".parse().unwrap())
        );
        assert_eq!(
            r.resolve("[2001:db8::1]:5070").await,
            Some("[2001:db8::1]:5070".parse().unwrap())
        );
        assert_eq!(r.cached(), 0);
        let a = r
            .resolve("localhost:5080")
            .await
            .expect("localhost resolves");
        assert!(a.ip().is_loopback() && a.port() == 5080, "{a}");
        assert_eq!(r.cached(), 1);
        assert_eq!(r.resolve("localhost:5080").await, Some(a));
        assert_eq!(r.resolve("no-such-host.invalid:5060").await, None);
        assert_eq!(r.cached(), 2);
        assert_eq!(r.resolve("not a target").await, None);
    }
}
