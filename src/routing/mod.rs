//! Built-in routing: source ACL → customer, longest-prefix match of the destination
//! number → ordered egress list (DESIGN.md §3).
//!
//! [`Router::new`] compiles a validated [`Config`] (loading the customers' route
//! files) into per-customer [`PrefixTable`]s. A prefix's targets are ordered by
//! ascending priority; within one priority the inline `routes` come first in written
//! order, then the CSV rows — shuffled per call by weight (RFC 2782 style) when their
//! weights differ, in file order when all weights are equal. Each target carrier
//! expands to one egress entry per gateway, in written order.

pub mod acl;
pub mod csv;
pub mod limits;
pub mod prefix;

use std::collections::HashMap;
use std::net::IpAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use crate::config::{Config, ConfigError, KeyPath};
use crate::transport::Transport;

pub use acl::SourceAcl;
pub use prefix::{PrefixError, PrefixTable};

/// One attempt of a call: where to send it and how to rewrite it
/// (`data.egress_routing[i]` of the script contract).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressEntry {
    /// Carrier id.
    pub carrier: Arc<str>,
    /// `host:port` (IPv6 in brackets).
    pub gateway: Arc<str>,
    /// Transport toward the gateway.
    pub transport: Transport,
    /// User part of the outgoing Request-URI.
    pub dest_number: String,
    /// User part of the outgoing From.
    pub cli: String,
    /// Headers added on this attempt (name, value).
    pub headers: Vec<(String, String)>,
    /// Header names removed on this attempt.
    pub remove_headers: Vec<String>,
}

/// The result of a built-in routing lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Length of the matched prefix.
    pub prefix_len: usize,
    /// Every target carrier in order, each expanded to its gateways in written order.
    pub egress: Vec<EgressEntry>,
}

/// One routing target of a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Carrier index in the config.
    pub carrier: usize,
    /// Lower is tried first.
    pub priority: u32,
    /// Share among the shuffled targets of the same priority.
    pub weight: u32,
    /// Part of a tie group that is shuffled per call.
    shuffle: bool,
}

/// The ordered targets of one prefix: a range of the customer's target array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSet {
    start: u32,
    len: u32,
    /// Some group of targets needs a per-call weighted shuffle.
    shuffle: bool,
}

impl RouteSet {
    fn range(self) -> Range<usize> {
        let start = self.start as usize;
        start..start + self.len as usize
    }
}

#[derive(Debug)]
struct GatewayRt {
    hostport: Arc<str>,
    transport: Transport,
}

#[derive(Debug)]
struct CarrierRt {
    id: Arc<str>,
    gateways: Box<[GatewayRt]>,
}

#[derive(Debug)]
struct CustomerRt {
    id: Arc<str>,
    table: PrefixTable<RouteSet>,
    targets: Vec<Target>,
}

/// The compiled routing state. Immutable; share it behind an `Arc`.
#[derive(Debug)]
pub struct Router {
    carriers: Vec<CarrierRt>,
    customers: Vec<CustomerRt>,
    acl: SourceAcl,
}

/// A target before ordering, with what is needed to order and report it.
struct RawTarget {
    prefix: String,
    carrier: usize,
    priority: u32,
    weight: u32,
    /// 0 = inline route, 1 = CSV row.
    kind: u8,
    /// Written order within its kind.
    seq: u32,
    /// CSV line and carrier column (0 for inline).
    line: usize,
    col: usize,
}

impl Router {
    /// Compiles the config: ACL, carriers, and every customer's inline routes merged
    /// with its `routes_file` rows (same prefix in both = union of targets, inline
    /// first; a carrier already routed inline for that prefix is not added again).
    /// CSV problems are reported as `file:line:col: message`.
    pub fn new(cfg: &Config) -> Result<Router, ConfigError> {
        let invalid = |key: KeyPath, message: String| ConfigError::Invalid {
            file: cfg.source.clone(),
            position: None,
            key: key.to_string(),
            message,
        };
        let root = KeyPath::root();

        let mut carrier_ids: HashMap<&str, usize> = HashMap::with_capacity(cfg.carriers.len());
        let mut carriers = Vec::with_capacity(cfg.carriers.len());
        for (i, c) in cfg.carriers.iter().enumerate() {
            if carrier_ids.insert(c.id.as_str(), i).is_some() {
                return Err(invalid(
                    root.key("carriers").index(i).key("id"),
                    format!("duplicate carrier id {:?}", c.id),
                ));
            }
            carriers.push(CarrierRt {
                id: Arc::from(c.id.as_str()),
                gateways: c
                    .gateways
                    .iter()
                    .map(|g| GatewayRt {
                        hostport: Arc::from(g.hostport()),
                        transport: g.transport,
                    })
                    .collect(),
            });
        }

        let acl = SourceAcl::new(
            cfg.customers
                .iter()
                .enumerate()
                .flat_map(|(i, c)| c.sources.iter().map(move |s| (*s, i))),
        )
        .map_err(|e| {
            invalid(
                root.key("customers").index(e.second).key("sources"),
                format!(
                    "{} is already claimed by customer {:?}",
                    e.cidr,
                    cfg.customers.get(e.first).map_or("?", |c| c.id.as_str())
                ),
            )
        })?;
        if acl.is_empty() {
            tracing::warn!("no customer source networks configured: every call will get 403");
        }

        let mut customers = Vec::with_capacity(cfg.customers.len());
        for (i, c) in cfg.customers.iter().enumerate() {
            let started = Instant::now();
            let at = root.key("customers").index(i);
            let mut raw: Vec<RawTarget> = Vec::new();
            let mut seq = 0u32;
            for (j, r) in c.routes.iter().enumerate() {
                let prefix = r.prefix.strip_prefix('+').unwrap_or(&r.prefix);
                prefix::check_prefix(prefix)
                    .map_err(|e| invalid(at.key("routes").index(j).key("prefix"), e.to_string()))?;
                for (k, id) in r.carriers.iter().enumerate() {
                    let Some(&carrier) = carrier_ids.get(id.as_str()) else {
                        return Err(invalid(
                            at.key("routes").index(j).key("carriers").index(k),
                            format!("unknown carrier {id:?}"),
                        ));
                    };
                    raw.push(RawTarget {
                        prefix: prefix.to_string(),
                        carrier,
                        priority: 0,
                        weight: 1,
                        kind: 0,
                        seq,
                        line: 0,
                        col: 0,
                    });
                    seq = seq.wrapping_add(1);
                }
            }
            let mut csv_file = None;
            if let Some(path) = &c.routes_file {
                let rows = csv::load_routes(path, &carrier_ids)?;
                raw.reserve(rows.len());
                for (n, row) in rows.into_iter().enumerate() {
                    raw.push(RawTarget {
                        prefix: row.prefix,
                        carrier: row.carrier,
                        priority: row.priority,
                        weight: row.weight,
                        kind: 1,
                        seq: u32::try_from(n).unwrap_or(u32::MAX),
                        line: row.line,
                        col: row.carrier_col,
                    });
                }
                csv_file = Some(path.display().to_string());
            }
            let (table, targets) =
                compile(raw, csv_file.as_deref().unwrap_or("")).map_err(|e| match e {
                    CompileError::Config(e) => e,
                    CompileError::Prefix(e) => invalid(at.key("routes"), e.to_string()),
                })?;
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            if csv_file.is_some() {
                tracing::info!(
                    customer = %c.id,
                    prefixes = table.len(),
                    targets = targets.len(),
                    trie_nodes = table.node_count(),
                    elapsed_ms,
                    "routes loaded"
                );
            } else {
                tracing::debug!(customer = %c.id, prefixes = table.len(), "routes loaded");
            }
            customers.push(CustomerRt {
                id: Arc::from(c.id.as_str()),
                table,
                targets,
            });
        }

        Ok(Router {
            carriers,
            customers,
            acl,
        })
    }

    /// The customer (index into `config.customers`) whose most specific source
    /// network contains `ip`; `None` for strangers (answer 403).
    #[inline]
    pub fn customer_for(&self, ip: IpAddr) -> Option<usize> {
        self.acl.lookup(ip)
    }

    /// The id of customer `idx` (`""` if out of range).
    pub fn customer_id(&self, idx: usize) -> &str {
        self.customers.get(idx).map_or("", |c| &c.id)
    }

    /// The id of customer `idx` as a shareable string.
    pub fn customer_id_arc(&self, idx: usize) -> Option<Arc<str>> {
        self.customers.get(idx).map(|c| c.id.clone())
    }

    /// Number of customers.
    /// The index of the customer with this id.
    pub fn customer_index(&self, id: &str) -> Option<usize> {
        (0..self.customer_count()).find(|&i| self.customer_id(i) == id)
    }

    pub fn customer_count(&self) -> usize {
        self.customers.len()
    }

    /// Number of distinct prefixes routed for customer `idx` (0 if out of range).
    pub fn prefix_count(&self, idx: usize) -> usize {
        self.customers.get(idx).map_or(0, |c| c.table.len())
    }

    /// Longest-prefix match of `dest_number` (normally the output of
    /// [`dest_number()`]; one leading `+` is ignored) over the customer's routes.
    /// `None` = no prefix matches (answer 404 unless a script adds a route) or an
    /// unknown customer index. `dest_number` and `cli` are copied into every entry.
    pub fn route(&self, customer: usize, dest_number: &str, cli: &str) -> Option<Route> {
        let c = self.customers.get(customer)?;
        let number = dest_number.strip_prefix('+').unwrap_or(dest_number);
        let (set, prefix_len) = c.table.lookup(number)?;
        let targets = c.targets.get(set.range())?;

        let mut egress = Vec::with_capacity(
            targets
                .iter()
                .map(|t| self.carriers.get(t.carrier).map_or(0, |c| c.gateways.len()))
                .sum(),
        );
        let mut push = |t: &Target| {
            if let Some(carrier) = self.carriers.get(t.carrier) {
                for g in carrier.gateways.iter() {
                    egress.push(EgressEntry {
                        carrier: carrier.id.clone(),
                        gateway: g.hostport.clone(),
                        transport: g.transport,
                        dest_number: dest_number.to_string(),
                        cli: cli.to_string(),
                        headers: Vec::new(),
                        remove_headers: Vec::new(),
                    });
                }
            }
        };
        if set.shuffle {
            for t in shuffled(targets) {
                push(t);
            }
        } else {
            targets.iter().for_each(&mut push);
        }
        Some(Route { prefix_len, egress })
    }
}

enum CompileError {
    Config(ConfigError),
    Prefix(PrefixError),
}

/// Orders and deduplicates the raw targets and builds the prefix table.
fn compile(
    mut raw: Vec<RawTarget>,
    csv_file: &str,
) -> Result<(PrefixTable<RouteSet>, Vec<Target>), CompileError> {
    let order = prefix::sorted_order(&raw, |r| &r.prefix, |r| (r.priority, r.kind, r.seq));
    let too_large = || CompileError::Prefix(PrefixError::TooLarge);

    let mut targets: Vec<Target> = Vec::with_capacity(raw.len());
    let mut entries: Vec<(String, RouteSet)> = Vec::new();
    // Targets kept for the current prefix: (carrier, kind, line, col).
    let mut group: Vec<(usize, u8, usize, usize)> = Vec::new();
    // carrier -> position in `group`, for prefixes with many rows.
    let mut seen: HashMap<usize, usize> = HashMap::new();
    let mut dropped = 0usize;

    let mut g = 0;
    while g < order.len() {
        let (key, first) = order[g];
        let first_len = raw[first].prefix.len();
        // Equal sort keys mean equal prefixes unless the prefixes are long.
        let mut h = g + 1;
        while h < order.len()
            && order[h].0 == key
            && (first_len < prefix::SORT_KEY_SYMBOLS || raw[order[h].1].prefix == raw[first].prefix)
        {
            h += 1;
        }

        let start = targets.len();
        let big = h - g > 16;
        group.clear();
        seen.clear();
        for &(_, idx) in &order[g..h] {
            let t = &raw[idx];
            let prev = if big {
                seen.get(&t.carrier).and_then(|&p| group.get(p)).copied()
            } else {
                group.iter().find(|e| e.0 == t.carrier).copied()
            };
            match prev {
                None => {
                    if big {
                        seen.insert(t.carrier, group.len());
                    }
                    group.push((t.carrier, t.kind, t.line, t.col));
                    targets.push(Target {
                        carrier: t.carrier,
                        priority: t.priority,
                        weight: t.weight,
                        shuffle: t.kind == 1,
                    });
                }
                // Already routed inline: the union keeps the inline target. (Inline
                // targets sort first; an inline repeat only exists in an unvalidated
                // config.)
                Some((_, 0, _, _)) => dropped += 1,
                // The same carrier on two CSV rows: report the later row.
                Some((_, _, line, col)) => {
                    let (at_line, at_col, other) = if t.line > line {
                        (t.line, t.col, line)
                    } else {
                        (line, col, t.line)
                    };
                    return Err(CompileError::Config(ConfigError::Csv {
                        file: csv_file.to_string(),
                        line: at_line,
                        col: at_col,
                        message: format!(
                            "prefix {:?} already routes to this carrier (line {other})",
                            t.prefix
                        ),
                    }));
                }
            }
        }
        let shuffle = mark_shuffle_groups(&mut targets[start..]);
        let len = u32::try_from(targets.len() - start).map_err(|_| too_large())?;
        let start = u32::try_from(start).map_err(|_| too_large())?;
        entries.push((
            std::mem::take(&mut raw[first].prefix),
            RouteSet {
                start,
                len,
                shuffle,
            },
        ));
        g = h;
    }
    drop(raw);
    if dropped > 0 {
        tracing::debug!(
            file = csv_file,
            dropped,
            "route file rows repeat carriers already routed inline for the same prefix"
        );
    }
    targets.shrink_to_fit();
    let table = PrefixTable::build(entries).map_err(CompileError::Prefix)?;
    Ok((table, targets))
}

/// Marks which targets are shuffled per call: runs of CSV targets with the same
/// priority and, within the run, differing weights. Returns whether any is marked.
fn mark_shuffle_groups(targets: &mut [Target]) -> bool {
    let mut any = false;
    let mut i = 0;
    while i < targets.len() {
        if !targets[i].shuffle {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < targets.len() && targets[j].shuffle && targets[j].priority == targets[i].priority
        {
            j += 1;
        }
        let w = targets[i].weight;
        let differ = targets[i..j].iter().any(|t| t.weight != w);
        for t in &mut targets[i..j] {
            t.shuffle = differ;
        }
        any |= differ;
        i = j;
    }
    any
}

/// The targets in per-call order: each marked tie group is drawn by weight without
/// replacement (a target is picked with probability weight / remaining weight;
/// weight-0 targets follow the weighted ones in file order).
fn shuffled(targets: &[Target]) -> Vec<&Target> {
    let mut out: Vec<&Target> = Vec::with_capacity(targets.len());
    let mut i = 0;
    while i < targets.len() {
        if !targets[i].shuffle {
            out.push(&targets[i]);
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < targets.len() && targets[j].shuffle && targets[j].priority == targets[i].priority
        {
            j += 1;
        }
        let group_start = out.len();
        out.extend(&targets[i..j]);
        weighted_order(&mut out[group_start..]);
        i = j;
    }
    out
}

/// Reorders `group` in place by repeated weighted draws.
fn weighted_order(group: &mut [&Target]) {
    let mut total: u64 = group.iter().map(|t| u64::from(t.weight)).sum();
    for k in 0..group.len() {
        if total == 0 {
            break; // only weight-0 targets left: keep their order
        }
        let r = fastrand::u64(0..total);
        let mut acc = 0u64;
        let mut pick = k;
        for (idx, t) in group.iter().enumerate().skip(k) {
            acc += u64::from(t.weight);
            if acc > r {
                pick = idx;
                break;
            }
        }
        // Keep the remaining targets in their relative order.
        group[k..=pick].rotate_right(1);
        total -= u64::from(group[k].weight);
    }
}

/// The routing number of a Request-URI user part: strips one leading `+`, removes
/// visual separators `-.()` (RFC 3966), stops at `;` (user parameters like `;npdi`),
/// percent-decodes `%XX`. Returns `""` when nothing is left.
pub fn dest_number(user: &str) -> String {
    let user = match memchr::memchr(b';', user.as_bytes()) {
        Some(i) => &user[..i],
        None => user,
    };
    let bytes = user.as_bytes();
    let simple = !bytes
        .iter()
        .any(|&b| matches!(b, b'%' | b'-' | b'.' | b'(' | b')'));
    if simple {
        return user.strip_prefix('+').unwrap_or(user).to_string();
    }
    let mut decoded: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|&c| hex(c)),
                bytes.get(i + 2).and_then(|&c| hex(c)),
            )
        {
            decoded.push((h << 4) | l);
            i += 3;
            continue;
        }
        decoded.push(b);
        i += 1;
    }
    let start = usize::from(decoded.first() == Some(&b'+'));
    let kept: Vec<u8> = decoded[start..]
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'-' | b'.' | b'(' | b')'))
        .collect();
    String::from_utf8_lossy(&kept).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
