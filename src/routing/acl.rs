//! Source ACL: which customer a packet's source address belongs to.
//!
//! The most specific matching network wins. Per address family there is one hash map
//! per distinct prefix length, keyed by the masked address and checked longest first,
//! so a lookup costs one hash probe per distinct prefix length in use. IPv4-mapped
//! IPv6 addresses (`::ffff:a.b.c.d`) are looked up as IPv4, and IPv4-mapped IPv6
//! networks are stored as IPv4 networks.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::config::Cidr;
use crate::config::types::{mask_v4, mask_v6};

/// Two customers claim exactly the same network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{cidr} is claimed by two customers (indexes {first} and {second})")]
pub struct AclConflict {
    /// The network (canonical form).
    pub cidr: Cidr,
    /// The customer that claimed it first.
    pub first: usize,
    /// The other customer.
    pub second: usize,
}

/// Maps source addresses to customer indexes.
#[derive(Debug, Clone, Default)]
pub struct SourceAcl {
    /// (prefix length, masked address → customer), longest prefix first.
    v4: Vec<(u8, HashMap<u32, usize>)>,
    v6: Vec<(u8, HashMap<u128, usize>)>,
}

impl SourceAcl {
    /// Builds the ACL. The same network listed twice for the same customer is fine;
    /// for two different customers it is an [`AclConflict`].
    pub fn new(entries: impl IntoIterator<Item = (Cidr, usize)>) -> Result<SourceAcl, AclConflict> {
        let mut acl = SourceAcl::default();
        for (cidr, customer) in entries {
            let cidr = cidr.canonical();
            let prev = match cidr.addr {
                IpAddr::V4(a) => insert(
                    &mut acl.v4,
                    cidr.prefix_len.min(32),
                    mask_v4(u32::from(a), cidr.prefix_len),
                    customer,
                ),
                IpAddr::V6(a) => insert(
                    &mut acl.v6,
                    cidr.prefix_len.min(128),
                    mask_v6(u128::from(a), cidr.prefix_len),
                    customer,
                ),
            };
            if let Some(first) = prev
                && first != customer
            {
                return Err(AclConflict {
                    cidr,
                    first,
                    second: customer,
                });
            }
        }
        Ok(acl)
    }

    /// The customer whose most specific network contains `ip`.
    #[inline]
    pub fn lookup(&self, ip: IpAddr) -> Option<usize> {
        match ip.to_canonical() {
            IpAddr::V4(a) => {
                let bits = u32::from(a);
                self.v4
                    .iter()
                    .find_map(|(len, map)| map.get(&mask_v4(bits, *len)).copied())
            }
            IpAddr::V6(a) => {
                let bits = u128::from(a);
                self.v6
                    .iter()
                    .find_map(|(len, map)| map.get(&mask_v6(bits, *len)).copied())
            }
        }
    }

    /// Whether no network is configured (every source is a stranger).
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

/// Inserts into the map for `len` (kept sorted longest first); returns a previous owner.
fn insert<K: std::hash::Hash + Eq>(
    levels: &mut Vec<(u8, HashMap<K, usize>)>,
    len: u8,
    key: K,
    customer: usize,
) -> Option<usize> {
    let pos = match levels.iter().position(|(l, _)| *l <= len) {
        Some(p) if levels[p].0 == len => p,
        Some(p) => {
            levels.insert(p, (len, HashMap::new()));
            p
        }
        None => {
            levels.push((len, HashMap::new()));
            levels.len() - 1
        }
    };
    let map = &mut levels[pos].1;
    match map.get(&key) {
        Some(&prev) => Some(prev),
        None => {
            map.insert(key, customer);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(entries: &[(&str, usize)]) -> SourceAcl {
        SourceAcl::new(
            entries
                .iter()
                .map(|(c, i)| (c.parse::<Cidr>().unwrap(), *i)),
        )
        .unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn most_specific_wins() {
        let a = acl(&[
            ("203.0.113.0/24", 0),
            ("203.0.113.128/25", 1),
            ("203.0.113.7", 2),
            ("10.0.0.0/8", 3),
            ("2001:db8::/32", 4),
            ("2001:db8:1::/48", 5),
            ("::1", 6),
        ]);
        assert_eq!(a.lookup(ip("203.0.113.1")), Some(0));
        assert_eq!(a.lookup(ip("203.0.113.7")), Some(2));
        assert_eq!(a.lookup(ip("203.0.113.200")), Some(1));
        assert_eq!(a.lookup(ip("10.255.0.1")), Some(3));
        assert_eq!(a.lookup(ip("11.0.0.1")), None);
        assert_eq!(a.lookup(ip("2001:db8:2::1")), Some(4));
        assert_eq!(a.lookup(ip("2001:db8:1::1")), Some(5));
        assert_eq!(a.lookup(ip("::1")), Some(6));
        assert_eq!(a.lookup(ip("::2")), None);
        assert_eq!(a.lookup(ip("127.0.0.1")), None);
        assert!(!a.is_empty());
    }

    #[test]
    fn ipv4_mapped_ipv6() {
        let a = acl(&[("203.0.113.0/24", 0), ("::ffff:198.51.100.0/120", 1)]);
        assert_eq!(a.lookup(ip("::ffff:203.0.113.9")), Some(0));
        assert_eq!(a.lookup(ip("198.51.100.3")), Some(1));
        assert_eq!(a.lookup(ip("::ffff:198.51.100.3")), Some(1));
        assert_eq!(a.lookup(ip("::ffff:192.0.2.1")), None);
        // IPv4-compatible (deprecated) addresses are not IPv4-mapped.
        assert_eq!(a.lookup(ip("::203.0.113.9")), None);
    }

    #[test]
    fn default_route_and_empty() {
        let a = acl(&[("0.0.0.0/0", 7), ("192.0.2.0/24", 1)]);
        assert_eq!(a.lookup(ip("8.8.8.8")), Some(7));
        assert_eq!(a.lookup(ip("192.0.2.55")), Some(1));
        assert_eq!(a.lookup(ip("2001:db8::1")), None);
        let e = SourceAcl::new([]).unwrap();
        assert!(e.is_empty());
        assert_eq!(e.lookup(ip("127.0.0.1")), None);
    }

    #[test]
    fn conflicts() {
        let c: Cidr = "192.0.2.0/24".parse().unwrap();
        assert!(SourceAcl::new([(c, 1), (c, 1)]).is_ok());
        let e = SourceAcl::new([(c, 1), (c, 2)]).unwrap_err();
        assert_eq!((e.first, e.second), (1, 2));
        let mapped: Cidr = "::ffff:192.0.2.0/120".parse().unwrap();
        assert!(SourceAcl::new([(c, 1), (mapped, 2)]).is_err());
    }

    #[test]
    fn random_against_linear_scan() {
        let mut rng = fastrand::Rng::with_seed(42);
        let mut entries = Vec::new();
        for i in 0..200 {
            let len = rng.u8(0..=32);
            let cidr = Cidr::new_masked(IpAddr::V4(rng.u32(..).into()), len);
            if !entries.iter().any(|(c, _)| *c == cidr) {
                entries.push((cidr, i));
            }
        }
        let a = SourceAcl::new(entries.clone()).unwrap();
        for _ in 0..5000 {
            let probe = IpAddr::V4(rng.u32(..).into());
            let want = entries
                .iter()
                .filter(|(c, _)| c.contains(probe))
                .max_by_key(|(c, _)| c.prefix_len)
                .map(|(_, i)| *i);
            assert_eq!(a.lookup(probe), want, "{probe}");
        }
    }
}
