//! Longest-prefix match over dialled-digit strings (alphabet `0-9 * #`).
//!
//! [`PrefixTable`] is a compact trie built once from sorted keys: each node is
//! `{ child_bitmap: u16, value: u32, first_child: u32 }` (12 bytes), the children of a
//! node are stored contiguously in one `Vec` (a child's index is `first_child` plus the
//! number of lower bits set in the bitmap), and values live in a separate `Vec`. There
//! is no per-node allocation; a lookup touches one node per matched digit.

use std::cmp::Ordering;
use std::fmt;
use std::ops::Range;

/// Longest prefix accepted (E.164 numbers have at most 15 digits; routing prefixes
/// with technical prefixes stay far below this).
pub const MAX_PREFIX_LEN: usize = 64;

/// "No value" marker in [`Node::value`].
const NO_VALUE: u32 = u32::MAX;

/// Symbol index of a prefix byte, or `None` if outside the alphabet. The mapping keeps
/// byte order (`#` < `*` < `0`..`9`) so that byte-sorted keys are symbol-sorted.
#[inline]
fn symbol(b: u8) -> Option<u32> {
    match b {
        b'#' => Some(0),
        b'*' => Some(1),
        b'0'..=b'9' => Some(u32::from(b - b'0') + 2),
        _ => None,
    }
}

/// Whether `b` may appear in a prefix (`0-9`, `*`, `#`).
#[inline]
pub fn is_prefix_symbol(b: u8) -> bool {
    symbol(b).is_some()
}

/// Why a prefix or a table cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// The empty prefix (a catch-all) is not allowed.
    #[error("prefix is empty")]
    Empty,
    /// A character outside `0-9 * #`.
    #[error(
        "prefix {prefix:?} contains {ch:?} at position {pos}; only 0-9, * and # are allowed (and one leading +)"
    )]
    InvalidChar {
        /// The prefix as given.
        prefix: String,
        /// The offending character.
        ch: char,
        /// 1-based character position.
        pos: usize,
    },
    /// Longer than [`MAX_PREFIX_LEN`].
    #[error("prefix {prefix:?} is longer than {MAX_PREFIX_LEN} characters")]
    TooLong {
        /// The prefix (truncated to 80 characters).
        prefix: String,
    },
    /// The same prefix given twice to [`PrefixTable::build`].
    #[error("prefix {0:?} is given twice")]
    Duplicate(String),
    /// More than `u32::MAX - 1` nodes or values.
    #[error("prefix table is too large")]
    TooLarge,
}

/// Checks that `prefix` is a valid table key: 1..=64 characters of `0-9 * #`
/// (callers strip a leading `+` first).
pub fn check_prefix(prefix: &str) -> Result<(), PrefixError> {
    if prefix.is_empty() {
        return Err(PrefixError::Empty);
    }
    if let Some((i, ch)) = prefix
        .char_indices()
        .find(|&(_, ch)| !ch.is_ascii() || !is_prefix_symbol(ch as u8))
    {
        return Err(PrefixError::InvalidChar {
            prefix: prefix.to_string(),
            ch,
            pos: prefix[..i].chars().count() + 1,
        });
    }
    if prefix.len() > MAX_PREFIX_LEN {
        return Err(PrefixError::TooLong {
            prefix: prefix.chars().take(80).collect(),
        });
    }
    Ok(())
}

/// Number of leading symbols that [`sort_key`] captures exactly.
pub const SORT_KEY_SYMBOLS: usize = 16;

/// An integer whose order equals the byte order of `prefix` for its first 16 symbols
/// (4 bits each: symbol + 1, 0 past the end). Prefixes of at most 15 symbols compare
/// exactly; equal keys of longer prefixes need a string comparison. Comparing these
/// instead of heap strings makes sorting a million prefixes several times faster.
#[inline]
pub fn sort_key(prefix: &str) -> u64 {
    let mut key = 0u64;
    for i in 0..SORT_KEY_SYMBOLS {
        let nibble = prefix
            .as_bytes()
            .get(i)
            .and_then(|&b| symbol(b))
            .map_or(0, |s| u64::from(s) + 1);
        key = (key << 4) | nibble;
    }
    key
}

/// The order that sorts `items` by (prefix in byte order, `then`), stable for equal
/// pairs, as `(sort_key, index)` pairs. Compares [`sort_key`]s instead of heap strings,
/// falling back to the strings only for ties of prefixes longer than a key captures.
pub(crate) fn sorted_order<T, K: Ord + Copy>(
    items: &[T],
    prefix: impl Fn(&T) -> &str,
    then: impl Fn(&T) -> K,
) -> Vec<(u64, usize)> {
    let mut keyed: Vec<(u64, K, usize)> = items
        .iter()
        .enumerate()
        .map(|(i, t)| (sort_key(prefix(t)), then(t), i))
        .collect();
    keyed.sort_unstable();
    let text = |i: usize| items.get(i).map_or("", &prefix);
    let mut i = 0;
    while i < keyed.len() {
        let key = keyed[i].0;
        let mut j = i + 1;
        while j < keyed.len() && keyed[j].0 == key {
            j += 1;
        }
        if j - i > 1 && text(keyed[i].2).len() >= SORT_KEY_SYMBOLS {
            keyed[i..j].sort_by(|a, b| {
                text(a.2)
                    .cmp(text(b.2))
                    .then(a.1.cmp(&b.1))
                    .then(a.2.cmp(&b.2))
            });
        }
        i = j;
    }
    keyed.into_iter().map(|(k, _, i)| (k, i)).collect()
}

/// Sorted keys packed into one buffer (cache-friendly for the trie build).
struct PackedKeys {
    bytes: Vec<u8>,
    /// `offsets[i]..offsets[i + 1]` is key `i`.
    offsets: Vec<usize>,
    /// Exact number of trie nodes the keys need (root included).
    node_count: usize,
}

impl PackedKeys {
    /// Packs validated keys given in sorted order; `Ok(None)` if they turn out not to
    /// be sorted.
    fn pack<'a>(
        keys: impl ExactSizeIterator<Item = &'a str>,
    ) -> Result<Option<PackedKeys>, PrefixError> {
        let n = keys.len();
        let mut packed = PackedKeys {
            bytes: Vec::with_capacity(n.saturating_mul(8)),
            offsets: Vec::with_capacity(n + 1),
            node_count: 1,
        };
        packed.offsets.push(0);
        let mut prev: Range<usize> = 0..0;
        for k in keys {
            check_prefix(k)?;
            let prev_key = &packed.bytes[prev.clone()];
            match prev_key.cmp(k.as_bytes()) {
                Ordering::Less => {}
                // Keys are non-empty, so equality with the previous key is a duplicate.
                Ordering::Equal => return Err(PrefixError::Duplicate(k.to_string())),
                Ordering::Greater => return Ok(None),
            }
            let lcp = prev_key
                .iter()
                .zip(k.as_bytes())
                .take_while(|(a, b)| a == b)
                .count();
            packed.node_count += k.len() - lcp;
            let start = packed.bytes.len();
            packed.bytes.extend_from_slice(k.as_bytes());
            packed.offsets.push(packed.bytes.len());
            prev = start..packed.bytes.len();
        }
        if packed.node_count >= NO_VALUE as usize {
            return Err(PrefixError::TooLarge);
        }
        Ok(Some(packed))
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    #[inline]
    fn key(&self, i: usize) -> &[u8] {
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => self.bytes.get(a..b).unwrap_or(&[]),
            _ => &[],
        }
    }
}

#[derive(Clone, Copy)]
struct Node {
    /// Bit `s` set = a child for symbol `s` exists.
    child_bitmap: u16,
    /// Index into `values`, or [`NO_VALUE`].
    value: u32,
    /// Index of the first child in `nodes` (meaningless when the bitmap is 0).
    first_child: u32,
}

const EMPTY_NODE: Node = Node {
    child_bitmap: 0,
    value: NO_VALUE,
    first_child: 0,
};

/// An immutable longest-prefix-match table from digit strings to `V`.
#[derive(Clone)]
pub struct PrefixTable<V> {
    nodes: Vec<Node>,
    values: Vec<V>,
}

impl<V> Default for PrefixTable<V> {
    fn default() -> Self {
        PrefixTable {
            nodes: vec![EMPTY_NODE],
            values: Vec::new(),
        }
    }
}

impl<V> fmt::Debug for PrefixTable<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrefixTable")
            .field("prefixes", &self.values.len())
            .field("nodes", &self.nodes.len())
            .finish()
    }
}

impl<V> PrefixTable<V> {
    /// Builds the table. Every key must pass [`check_prefix`]; a key given twice is
    /// an error naming it ([`PrefixError::Duplicate`]) — merge values before building
    /// if duplicates are legitimate. Input order does not matter.
    pub fn build(entries: Vec<(String, V)>) -> Result<Self, PrefixError> {
        if entries.len() >= NO_VALUE as usize {
            return Err(PrefixError::TooLarge);
        }
        // Fast path: input already sorted (what the router passes).
        if let Some(keys) = PackedKeys::pack(entries.iter().map(|e| e.0.as_str()))? {
            let values = entries.into_iter().map(|(_, v)| v).collect();
            return Self::from_packed(&keys, values);
        }
        let order = sorted_order(&entries, |e| &e.0, |_| ());
        let keys = PackedKeys::pack(order.iter().map(|&(_, i)| entries[i].0.as_str()))?
            .ok_or(PrefixError::TooLarge)?; // unreachable: the order is sorted
        let mut slots: Vec<Option<V>> = entries.into_iter().map(|(_, v)| Some(v)).collect();
        let values = order
            .iter()
            .filter_map(|&(_, i)| slots.get_mut(i).and_then(Option::take))
            .collect();
        Self::from_packed(&keys, values)
    }

    fn from_packed(keys: &PackedKeys, values: Vec<V>) -> Result<Self, PrefixError> {
        if values.len() != keys.len() {
            return Err(PrefixError::TooLarge);
        }
        let nodes = build_nodes(keys)?;
        Ok(PrefixTable { nodes, values })
    }

    /// Longest prefix of `number` present in the table: its value and the matched
    /// length. The walk stops at the first character outside `0-9 * #` (callers strip
    /// a leading `+`; a `;` or `@` ends the number).
    #[inline]
    pub fn lookup(&self, number: &str) -> Option<(&V, usize)> {
        let nodes = self.nodes.as_slice();
        let mut node = *nodes.first()?;
        let mut best = None;
        for (depth, &b) in number.as_bytes().iter().enumerate() {
            let Some(s) = symbol(b) else { break };
            let bit = 1u16 << s;
            if node.child_bitmap & bit == 0 {
                break;
            }
            let rank = (node.child_bitmap & (bit - 1)).count_ones();
            let Some(&next) = nodes.get(node.first_child as usize + rank as usize) else {
                break;
            };
            node = next;
            if node.value != NO_VALUE {
                best = Some((node.value, depth + 1));
            }
        }
        let (v, len) = best?;
        Some((self.values.get(v as usize)?, len))
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the table has no prefixes.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Number of trie nodes (for sizing and metrics).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Approximate heap bytes used by the trie itself (excluding what values own).
    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.values.capacity() * std::mem::size_of::<V>()
    }

    /// The values in key order.
    pub fn values(&self) -> &[V] {
        &self.values
    }
}

/// Builds the node array from sorted, unique, validated keys. Value `i` belongs to
/// key `i`. Children of a node are allocated as one contiguous block, then each child
/// is expanded depth-first (explicit stack, so key length cannot exhaust the call
/// stack); every subtree thus occupies one contiguous range of the array.
fn build_nodes(keys: &PackedKeys) -> Result<Vec<Node>, PrefixError> {
    let mut nodes: Vec<Node> = Vec::with_capacity(keys.node_count);
    nodes.push(EMPTY_NODE);
    // (node index, keys range start, end, depth): all keys in the range share their
    // first `depth` bytes, which spell the node's path.
    let mut stack: Vec<(usize, usize, usize, usize)> = vec![(0, 0, keys.len(), 0)];
    while let Some((ni, lo, hi, depth)) = stack.pop() {
        let mut i = lo;
        // The key that ends exactly here (if any) sorts first in the range.
        if i < hi && keys.key(i).len() == depth {
            let node = nodes.get_mut(ni).ok_or(PrefixError::TooLarge)?;
            node.value = u32::try_from(i).map_err(|_| PrefixError::TooLarge)?;
            i += 1;
        }
        if i == hi {
            continue;
        }
        let first_child = u32::try_from(nodes.len()).map_err(|_| PrefixError::TooLarge)?;
        let mut bitmap = 0u16;
        while i < hi {
            let byte_at = |off: usize| keys.bytes.get(off + depth).copied().unwrap_or(0);
            let b = keys.offsets.get(i).map_or(0, |&off| byte_at(off));
            let start = i;
            // Keys with this byte at `depth` are contiguous; skip over them.
            let run = keys
                .offsets
                .get(start..hi)
                .unwrap_or(&[])
                .partition_point(|&off| byte_at(off) <= b);
            i = start + run.max(1);
            let s = symbol(b).ok_or(PrefixError::TooLarge)?;
            bitmap |= 1 << s;
            stack.push((nodes.len(), start, i, depth + 1));
            nodes.push(EMPTY_NODE);
        }
        let node = nodes.get_mut(ni).ok_or(PrefixError::TooLarge)?;
        node.child_bitmap = bitmap;
        node.first_child = first_child;
    }
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The obvious O(n·len) implementation.
    fn naive<'a>(entries: &'a [(String, u32)], number: &str) -> Option<(&'a u32, usize)> {
        let end = number
            .bytes()
            .position(|b| !is_prefix_symbol(b))
            .unwrap_or(number.len());
        let digits = &number[..end];
        entries
            .iter()
            .filter(|(k, _)| digits.starts_with(k.as_str()))
            .max_by_key(|(k, _)| k.len())
            .map(|(k, v)| (v, k.len()))
    }

    fn table(keys: &[&str]) -> PrefixTable<usize> {
        PrefixTable::build(
            keys.iter()
                .enumerate()
                .map(|(i, k)| (k.to_string(), i))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn basic_longest_match() {
        let t = table(&["1", "44", "4420", "49", "1800", "*31#", "#"]);
        assert_eq!(t.len(), 7);
        assert!(!t.is_empty());
        assert_eq!(t.lookup("15551234567"), Some((&0, 1)));
        assert_eq!(t.lookup("18005550000"), Some((&4, 4)));
        assert_eq!(t.lookup("180"), Some((&0, 1)));
        assert_eq!(t.lookup("442079460000"), Some((&2, 4)));
        assert_eq!(t.lookup("441234"), Some((&1, 2)));
        assert_eq!(t.lookup("4"), None);
        assert_eq!(t.lookup("49"), Some((&3, 2)));
        assert_eq!(t.lookup("*31#1555"), Some((&5, 4)));
        assert_eq!(t.lookup("#99"), Some((&6, 1)));
        assert_eq!(t.lookup(""), None);
        assert_eq!(t.lookup("2"), None);
        // The walk stops at the first character outside the alphabet.
        assert_eq!(t.lookup("+15551234567"), None);
        assert_eq!(t.lookup("1;npdi"), Some((&0, 1)));
        assert_eq!(t.lookup("44a20"), Some((&1, 2)));
        assert_eq!(t.lookup("1800é"), Some((&4, 4)));
    }

    #[test]
    fn sort_key_orders_like_bytes() {
        let mut rng = fastrand::Rng::with_seed(9);
        const ALPHABET: &[u8] = b"0123456789*#";
        let mut v: Vec<String> = (0..5000)
            .map(|_| {
                let len = rng.usize(1..=20);
                (0..len)
                    .map(|_| ALPHABET[rng.usize(..ALPHABET.len())] as char)
                    .collect()
            })
            .collect();
        for tail in ["", "1", "0", "#", "*", "11", "2", "10"] {
            v.push(format!("{}{tail}", "1".repeat(16)));
            v.push(format!("{}{tail}", "1".repeat(15)));
        }
        let mut want = v.clone();
        want.sort();
        let order = sorted_order(&v, |s| s.as_str(), |_| ());
        let got: Vec<&String> = order.iter().map(|&(_, i)| &v[i]).collect();
        assert_eq!(got, want.iter().collect::<Vec<_>>());
        // `then` orders equal prefixes; equal pairs keep input order.
        let v = vec![("2", 1, 'a'), ("1", 2, 'b'), ("1", 1, 'c'), ("1", 2, 'd')];
        let order = sorted_order(&v, |t| t.0, |t| t.1);
        let got: Vec<char> = order.iter().map(|&(_, i)| v[i].2).collect();
        assert_eq!(got, ['c', 'b', 'd', 'a']);
        assert!(sort_key("#") < sort_key("*"));
        assert!(sort_key("*") < sort_key("0"));
        assert!(sort_key("1") < sort_key("10"));
        assert!(sort_key("19") < sort_key("2"));
    }

    #[test]
    fn empty_table() {
        let t: PrefixTable<u8> = PrefixTable::build(Vec::new()).unwrap();
        assert!(t.is_empty());
        assert_eq!(t.len(), 0);
        assert_eq!(t.lookup("123"), None);
        let d: PrefixTable<u8> = PrefixTable::default();
        assert_eq!(d.lookup("1"), None);
    }

    #[test]
    fn build_errors() {
        let e = PrefixTable::build(vec![("".to_string(), 1)]).unwrap_err();
        assert_eq!(e, PrefixError::Empty);
        let e = PrefixTable::build(vec![("12a".to_string(), 1)]).unwrap_err();
        assert!(
            matches!(
                e,
                PrefixError::InvalidChar {
                    ch: 'a',
                    pos: 3,
                    ..
                }
            ),
            "{e}"
        );
        let e = PrefixTable::build(vec![("+1".to_string(), 1)]).unwrap_err();
        assert!(e.to_string().contains("'+'"), "{e}");
        let e = PrefixTable::build(vec![("1".repeat(65), 1)]).unwrap_err();
        assert!(matches!(e, PrefixError::TooLong { .. }));
        let e = PrefixTable::build(vec![
            ("44".to_string(), 1),
            ("1".to_string(), 2),
            ("44".to_string(), 3),
        ])
        .unwrap_err();
        assert_eq!(e, PrefixError::Duplicate("44".to_string()));
        assert_eq!(e.to_string(), "prefix \"44\" is given twice");
    }

    #[test]
    fn unsorted_input_and_nested_prefixes() {
        let keys = [
            "123456", "1", "12", "123", "1234", "12345", "2", "0", "#", "*",
        ];
        let t = table(&keys);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(t.lookup(k), Some((&i, k.len())), "{k}");
            let longer = format!("{k}9");
            let got = t.lookup(&longer).map(|(v, _)| *v);
            assert_eq!(got, Some(i), "{longer}");
        }
        assert_eq!(t.lookup("1239"), Some((&3, 3)));
    }

    #[test]
    fn matches_naive_reference_on_random_tables() {
        const ALPHABET: &[u8] = b"0123456789*#";
        let mut rng = fastrand::Rng::with_seed(0x5eed_cafe);
        for round in 0..40 {
            let n = rng.usize(0..if round < 30 { 60 } else { 3000 });
            // Small alphabets and short keys make nested prefixes common.
            let alpha = if round % 3 == 0 {
                &ALPHABET[..3]
            } else {
                ALPHABET
            };
            let mut entries: Vec<(String, u32)> = Vec::new();
            for i in 0..n {
                let len = rng.usize(1..=8);
                let k: String = (0..len)
                    .map(|_| alpha[rng.usize(..alpha.len())] as char)
                    .collect();
                if !entries.iter().any(|(e, _)| *e == k) {
                    entries.push((k, i as u32));
                }
            }
            let t = PrefixTable::build(entries.clone()).unwrap();
            assert_eq!(t.len(), entries.len());
            for _ in 0..2000 {
                let len = rng.usize(0..=12);
                let mut q: String = (0..len)
                    .map(|_| alpha[rng.usize(..alpha.len())] as char)
                    .collect();
                if rng.u8(..10) == 0 {
                    q.push(';');
                    q.push_str("npdi");
                }
                assert_eq!(
                    t.lookup(&q),
                    naive(&entries, &q),
                    "round {round} query {q:?}"
                );
            }
            // Every key finds itself.
            for (k, v) in &entries {
                assert_eq!(t.lookup(k), Some((v, k.len())));
            }
        }
    }
}
