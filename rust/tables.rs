//! Small immutable lookup structures the value matchers are built from: a
//! hash table of exact byte strings, a byte trie for prefixes and suffixes,
//! and an interval index for numeric and CIDR ranges. All are flat arrays
//! after building, and all answer in time proportional to the key plus the
//! number of hits, whatever the number of entries.

use std::hash::Hasher;

/// Keys up to this many bytes are kept in their slot.
const INLINE: usize = 16;
/// A long key keeps this many first bytes in its slot, then its offset in
/// the long-key bytes.
const LONG_PREFIX: usize = INLINE - 4;
/// `Slot::len` of an empty slot.
const EMPTY: u32 = u32::MAX;

/// One slot of an [`ExactTable`]: 32 bytes, two to a cache line.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The key's bytes, zero-padded; a long key's first `LONG_PREFIX`
    /// bytes and its offset in `ExactTable::long`.
    key: [u8; INLINE],
    /// Key length, or `EMPTY`.
    len: u32,
    /// High bits of the key's hash, checked before the key.
    tag: u32,
    /// The single target, or the start of the targets in `ExactTable::lists`.
    target: u32,
    count: u32,
}

const EMPTY_SLOT: Slot = Slot { key: [0; INLINE], len: EMPTY, tag: 0, target: 0, count: 0 };

/// Exact byte strings to their targets, as one open-addressing table
/// (linear probing, at most 7/8 full). Built for the cold look-up: a key of
/// up to 16 bytes (an account number, a region, a short name) sits in its
/// slot with its single target, so a hit reads one slot and nothing else —
/// no control bytes, no key on the heap, no target list of its own.
#[derive(Debug, Clone, Default)]
pub struct ExactTable {
    slots: Box<[Slot]>,
    /// Full bytes of the keys longer than `INLINE`.
    long: Box<[u8]>,
    /// Target lists of the keys with more than one target.
    lists: Box<[u32]>,
}

fn hash_bytes(key: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(key);
    h.finish()
}

/// Collects `(key, target)` pairs for an [`ExactTable`]: two flat buffers,
/// not a map with a heap block per key.
#[derive(Debug, Default)]
pub struct ExactBuilder {
    bytes: Vec<u8>,
    /// `(start in bytes, length, target)` in insertion order.
    entries: Vec<(u32, u32, u32)>,
}

impl ExactBuilder {
    pub fn push(&mut self, key: &[u8], target: u32) {
        self.entries.push((self.bytes.len() as u32, key.len() as u32, target));
        self.bytes.extend_from_slice(key);
    }

    /// The table; a key's targets keep their insertion order.
    pub fn build(mut self) -> ExactTable {
        if self.entries.is_empty() {
            return ExactTable::default();
        }
        let bytes = &self.bytes;
        let key = |&(start, len, _): &(u32, u32, u32)| &bytes[start as usize..][..len as usize];
        // Stable: equal keys keep their targets in insertion order.
        self.entries.sort_by(|a, b| key(a).cmp(key(b)));
        let distinct = 1 + self.entries.windows(2).filter(|w| key(&w[0]) != key(&w[1])).count();
        let size = (distinct + distinct / 7 + 1).next_power_of_two();
        let mut slots = vec![EMPTY_SLOT; size];
        let mut long = Vec::new();
        let mut lists = Vec::new();
        let mask = size - 1;
        for run in self.entries.chunk_by(|a, b| key(a) == key(b)) {
            let k = key(&run[0]);
            let h = hash_bytes(k);
            let mut slot = Slot { tag: (h >> 32) as u32, len: k.len() as u32, ..EMPTY_SLOT };
            if k.len() <= INLINE {
                slot.key[..k.len()].copy_from_slice(k);
            } else {
                slot.key[..LONG_PREFIX].copy_from_slice(&k[..LONG_PREFIX]);
                slot.key[LONG_PREFIX..].copy_from_slice(&(long.len() as u32).to_le_bytes());
                long.extend_from_slice(k);
            }
            slot.count = run.len() as u32;
            if let [(_, _, t)] = run {
                slot.target = *t;
            } else {
                slot.target = lists.len() as u32;
                lists.extend(run.iter().map(|e| e.2));
            }
            let mut i = h as usize & mask;
            while slots[i].len != EMPTY {
                i = (i + 1) & mask;
            }
            slots[i] = slot;
        }
        ExactTable {
            slots: slots.into_boxed_slice(),
            long: long.into_boxed_slice(),
            lists: lists.into_boxed_slice(),
        }
    }
}

impl ExactTable {
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Number of distinct keys.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.len != EMPTY).count()
    }

    /// The targets of `key`, in insertion order (empty when it is absent).
    #[inline]
    pub fn get(&self, key: &[u8]) -> &[u32] {
        if self.slots.is_empty() {
            return &[];
        }
        let h = hash_bytes(key);
        let (tag, len) = ((h >> 32) as u32, key.len() as u32);
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let slot = &self.slots[i];
            if slot.len == EMPTY {
                return &[];
            }
            if slot.tag == tag && slot.len == len && self.same_key(slot, key) {
                return match slot.count {
                    1 => std::slice::from_ref(&slot.target),
                    n => &self.lists[slot.target as usize..][..n as usize],
                };
            }
            i = (i + 1) & mask;
        }
    }

    #[inline]
    fn same_key(&self, slot: &Slot, key: &[u8]) -> bool {
        if key.len() <= INLINE {
            return slot.key[..key.len()] == *key;
        }
        let mut offset = [0u8; 4];
        offset.copy_from_slice(&slot.key[LONG_PREFIX..]);
        slot.key[..LONG_PREFIX] == key[..LONG_PREFIX]
            && self.long[u32::from_le_bytes(offset) as usize..][..key.len()] == *key
    }
}

/// A trie over bytes; every node may carry targets. `find_prefixes` reports
/// the targets of every node on the path the value spells.
#[derive(Debug, Clone, Default)]
pub struct ByteTrie {
    /// Per node: sorted `(byte, child)` edges.
    edges: Vec<Vec<(u8, u32)>>,
    /// Per node: targets of entries ending here.
    targets: Vec<Vec<u32>>,
}

impl ByteTrie {
    pub fn insert(&mut self, key: impl Iterator<Item = u8>, target: u32) {
        if self.edges.is_empty() {
            self.edges.push(Vec::new());
            self.targets.push(Vec::new());
        }
        let mut node = 0usize;
        for b in key {
            let edges = &self.edges[node];
            node = match edges.binary_search_by_key(&b, |e| e.0) {
                Ok(i) => edges[i].1 as usize,
                Err(i) => {
                    let n = self.edges.len();
                    self.edges[node].insert(i, (b, n as u32));
                    self.edges.push(Vec::new());
                    self.targets.push(Vec::new());
                    n
                }
            };
        }
        self.targets[node].push(target);
    }

    pub fn nodes(&self) -> usize {
        self.edges.len()
    }

    /// No entries: `find_prefixes` would report nothing.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }

    /// Reports the targets of every entry that is a prefix of `value`.
    #[inline]
    pub fn find_prefixes(&self, value: impl Iterator<Item = u8>, hit: &mut impl FnMut(u32)) {
        if self.edges.is_empty() {
            return;
        }
        let mut node = 0usize;
        self.targets[0].iter().for_each(|&t| hit(t));
        for b in value {
            let edges = &self.edges[node];
            match edges.iter().find(|e| e.0 == b) {
                Some(&(_, n)) => node = n as usize,
                None => return,
            }
            self.targets[node].iter().for_each(|&t| hit(t));
        }
    }
}

/// One end of a range: a key and whether it is included.
pub type Bound<K> = Option<(K, bool)>;

/// Stabbing queries over ranges of ordered keys: "which ranges contain x?".
///
/// The distinct endpoints split the key space into elementary positions
/// (each endpoint, and each gap between neighbours); every range covers a run
/// of positions and is stored on the O(log n) nodes of a segment tree that
/// cover that run. A query walks one leaf-to-root path. Where that costs
/// little memory (ranges that seldom overlap), each position's whole list
/// is also kept, so a query reads one list instead of walking the path.
#[derive(Debug, Clone)]
pub struct IntervalIndex<K> {
    points: Vec<K>,
    size: usize,
    /// CSR: targets of node `i` are `targets[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<u32>,
    targets: Vec<u32>,
    /// CSR by position: the targets of the path from its leaf to the root
    /// (in the walk's order); empty when they would be too many.
    flat_offsets: Vec<u32>,
    flat_targets: Vec<u32>,
}

impl<K: Ord + Copy> Default for IntervalIndex<K> {
    fn default() -> Self {
        IntervalIndex {
            points: Vec::new(),
            size: 0,
            offsets: Vec::new(),
            targets: Vec::new(),
            flat_offsets: Vec::new(),
            flat_targets: Vec::new(),
        }
    }
}

/// Whole lists by position are kept while they hold at most this many
/// targets per position (on average).
const FLAT_PER_POSITION: usize = 8;

impl<K: Ord + Copy> IntervalIndex<K> {
    pub fn build(ranges: &[(Bound<K>, Bound<K>, u32)]) -> Self {
        if ranges.is_empty() {
            return Self::default();
        }
        let mut points: Vec<K> = ranges
            .iter()
            .flat_map(|(lo, hi, _)| [lo.map(|b| b.0), hi.map(|b| b.0)])
            .flatten()
            .collect();
        points.sort_unstable();
        points.dedup();
        let positions = 2 * points.len() + 1;
        let size = positions.next_power_of_two();
        let mut nodes: Vec<Vec<u32>> = vec![Vec::new(); 2 * size];
        for &(lo, hi, target) in ranges {
            let first = match lo {
                None => 0,
                Some((k, incl)) => {
                    let i = points.binary_search(&k).unwrap_or(0);
                    if incl {
                        2 * i + 1
                    } else {
                        2 * i + 2
                    }
                }
            };
            let last = match hi {
                None => positions - 1,
                Some((k, incl)) => {
                    let i = points.binary_search(&k).unwrap_or(0);
                    if incl {
                        2 * i + 1
                    } else {
                        2 * i
                    }
                }
            };
            if first > last {
                continue;
            }
            let (mut l, mut r) = (first + size, last + size + 1);
            while l < r {
                if l & 1 == 1 {
                    nodes[l].push(target);
                    l += 1;
                }
                if r & 1 == 1 {
                    r -= 1;
                    nodes[r].push(target);
                }
                l >>= 1;
                r >>= 1;
            }
        }
        let mut offsets = Vec::with_capacity(nodes.len() + 1);
        let mut targets = Vec::new();
        offsets.push(0);
        for n in nodes {
            targets.extend(n);
            offsets.push(targets.len() as u32);
        }
        let mut index = IntervalIndex {
            points,
            size,
            offsets,
            targets,
            flat_offsets: Vec::new(),
            flat_targets: Vec::new(),
        };
        let mut flat_offsets = vec![0u32];
        let mut flat_targets = Vec::new();
        for position in 0..positions {
            index.walk(position, &mut |t| flat_targets.push(t));
            if flat_targets.len() > FLAT_PER_POSITION * positions {
                return index;
            }
            flat_offsets.push(flat_targets.len() as u32);
        }
        index.flat_offsets = flat_offsets;
        index.flat_targets = flat_targets;
        index
    }

    /// Reports the targets on the path from `position`'s leaf to the root.
    #[inline]
    fn walk(&self, position: usize, hit: &mut impl FnMut(u32)) {
        let mut node = position + self.size;
        while node >= 1 {
            let (a, b) = (self.offsets[node] as usize, self.offsets[node + 1] as usize);
            self.targets[a..b].iter().for_each(|&t| hit(t));
            node >>= 1;
        }
    }

    /// Reports the target of every range that contains the elementary
    /// `position`.
    #[inline(always)]
    fn report(&self, position: usize, hit: &mut impl FnMut(u32)) {
        match self.flat_offsets.get(position..position + 2) {
            Some(&[a, b]) => self.flat_targets[a as usize..b as usize].iter().for_each(|&t| hit(t)),
            _ => self.walk(position, hit),
        }
    }

    /// When no range endpoint lies within `low..=high` (which holds `key`),
    /// reports every range that contains `key` — the same for every key in
    /// `low..=high` — and returns true; else reports nothing and returns
    /// false. One search for both (the endpoints nearest `key` are the
    /// ones that could lie within).
    #[inline]
    pub fn find_clear_of(&self, key: K, low: K, high: K, hit: &mut impl FnMut(u32)) -> bool {
        let i = self.points.partition_point(|p| *p < key);
        if self.points.get(i).is_some_and(|p| *p <= high) || (i > 0 && self.points[i - 1] >= low) {
            return false;
        }
        // `key` is no endpoint: it lies in the gap before `points[i]`.
        self.report(2 * i, hit);
        true
    }

    /// Is some range endpoint within `low..=high`?
    #[cfg(test)]
    fn has_point_in(&self, low: K, high: K) -> bool {
        let i = self.points.partition_point(|p| *p < low);
        i < self.points.len() && self.points[i] <= high
    }

    /// No range holds any key: `find` would report nothing.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Reports the target of every range that contains `key`.
    #[inline]
    pub fn find(&self, key: K, hit: &mut impl FnMut(u32)) {
        let position = match self.points.binary_search(&key) {
            Ok(i) => 2 * i + 1,
            Err(i) => 2 * i,
        };
        self.report(position, hit);
    }
}

/// Byte-wise order of two short byte strings (rule names, member names),
/// eight bytes at a time, the last eight of the shorter length's
/// overlapping the ones before: for strings this short a call to `memcmp`
/// costs more than the comparison.
#[inline]
pub(crate) fn cmp_bytes(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let word =
        |s: &[u8], at: usize| u64::from_be_bytes(s[at..at + 8].try_into().unwrap_or_default());
    let n = a.len().min(b.len());
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            let (x, y) = (word(a, i), word(b, i));
            if x != y {
                return x.cmp(&y);
            }
            i += 8;
        }
        let (x, y) = (word(a, n - 8), word(b, n - 8));
        if x != y {
            return x.cmp(&y);
        }
    } else if let Some(i) = (0..n).find(|&i| a[i] != b[i]) {
        return a[i].cmp(&b[i]);
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        let idx = IntervalIndex::build(&[
            (Some((10, false)), Some((20, true)), 1),
            (None, Some((10, false)), 2),
            (Some((15, true)), None, 3),
            (Some((10, true)), Some((10, true)), 4),
        ]);
        let q = |k| {
            let mut v = vec![];
            idx.find(k, &mut |t| v.push(t));
            v.sort();
            v
        };
        assert_eq!(q(5), vec![2]);
        assert_eq!(q(10), vec![4]);
        assert_eq!(q(11), vec![1]);
        assert_eq!(q(15), vec![1, 3]);
        assert_eq!(q(20), vec![1, 3]);
        assert_eq!(q(21), vec![3]);
    }

    /// Stabbing queries agree with a scan of the ranges, by whole lists
    /// (few overlaps) and by tree walks (many); `find_clear_of` fires the
    /// same ranges when no endpoint is near, and nothing otherwise.
    #[test]
    fn intervals_flat_or_walked() {
        let mut r = crate::testing::Rng(11);
        let mut next = |n: u64| r.below(n as usize) as u64;
        let mut flat = [0, 0];
        for round in 0..200 {
            let n = 1 + round % 40;
            let spread = if round % 2 == 0 { 1000 } else { 30 };
            let mut ranges = Vec::new();
            for t in 0..n as u32 {
                let a = next(spread);
                let b = a + next(if round % 3 == 0 { spread } else { 5 });
                let lo = (next(4) > 0).then(|| (a, next(2) == 0));
                let hi = (next(4) > 0).then(|| (b, next(2) == 0));
                ranges.push((lo, hi, t));
            }
            let idx = IntervalIndex::build(&ranges);
            flat[idx.flat_offsets.is_empty() as usize] += 1;
            let inside = |k: u64, (lo, hi, _): &(Bound<u64>, Bound<u64>, u32)| {
                lo.is_none_or(|(a, incl)| if incl { k >= a } else { k > a })
                    && hi.is_none_or(|(b, incl)| if incl { k <= b } else { k < b })
            };
            for _ in 0..50 {
                let k = next(spread + 10);
                let mut want: Vec<u32> =
                    ranges.iter().filter(|r| inside(k, r)).map(|r| r.2).collect();
                want.sort();
                let mut got = vec![];
                idx.find(k, &mut |t| got.push(t));
                got.sort();
                assert_eq!(got, want, "round {round} key {k}");
                let (low, high) = (k.saturating_sub(next(3)), k + next(3));
                let mut near = vec![];
                let clear = idx.find_clear_of(k, low, high, &mut |t| near.push(t));
                assert_eq!(clear, !idx.has_point_in(low, high), "round {round} key {k}");
                near.sort();
                assert_eq!(near, if clear { want } else { vec![] }, "round {round} key {k}");
            }
        }
        assert!(flat[0] > 20 && flat[1] > 20, "{flat:?}");
    }

    #[test]
    fn exact_table() {
        let long = "x".repeat(40);
        let long2 = format!("{}y", "x".repeat(39));
        let keys: Vec<String> = (0..1000).map(|i| format!("k{i}")).collect();
        let mut b = ExactBuilder::default();
        for (i, k) in keys.iter().enumerate() {
            b.push(k.as_bytes(), i as u32);
        }
        b.push(b"", 5000);
        b.push(b"0123456789abcdef", 5001);
        b.push(b"0123456789abcdefg", 5002);
        b.push(long.as_bytes(), 5003);
        b.push(long2.as_bytes(), 5004);
        b.push(b"k7", 7000);
        b.push(long.as_bytes(), 5005);
        b.push(b"k7", 6000);
        let t = b.build();
        assert_eq!(t.len(), 1005);
        for (i, k) in keys.iter().enumerate() {
            let want: &[u32] = match i {
                7 => &[7, 7000, 6000],
                _ => &[i as u32],
            };
            assert_eq!(t.get(k.as_bytes()), want, "{k}");
        }
        assert_eq!(t.get(b""), &[5000]);
        assert_eq!(t.get(b"0123456789abcdef"), &[5001]);
        assert_eq!(t.get(b"0123456789abcdefg"), &[5002]);
        assert_eq!(t.get(long.as_bytes()), &[5003, 5005]);
        assert_eq!(t.get(long2.as_bytes()), &[5004]);
        for absent in ["k1000", "k", "0123456789abcdeg", &"x".repeat(39), &"x".repeat(41)] {
            assert!(t.get(absent.as_bytes()).is_empty(), "{absent}");
        }
        let empty = ExactBuilder::default().build();
        assert!(empty.is_empty() && empty.get(b"k1").is_empty());
        // Padding bytes do not make a short key equal a longer one.
        let mut b = ExactBuilder::default();
        b.push(b"ab", 1);
        let t = b.build();
        assert!(t.get(b"ab\0").is_empty() && t.get(b"a").is_empty());
        assert_eq!(t.get(b"ab"), &[1]);
    }

    #[test]
    fn prefixes() {
        let mut t = ByteTrie::default();
        t.insert("ab".bytes(), 1);
        t.insert("".bytes(), 2);
        t.insert("abc".bytes(), 3);
        t.insert("b".bytes(), 4);
        let mut v = vec![];
        t.find_prefixes("abd".bytes(), &mut |x| v.push(x));
        assert_eq!(v, vec![2, 1]);
    }
}
