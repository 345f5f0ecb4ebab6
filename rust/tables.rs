//! Small immutable lookup structures the value matchers are built from: a
//! byte trie for prefixes and suffixes, and an interval index for numeric
//! and CIDR ranges. Both are flat arrays after building, and both answer in
//! time proportional to the key plus the number of hits, whatever the number
//! of entries.

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
/// cover that run. A query walks one leaf-to-root path.
#[derive(Debug, Clone)]
pub struct IntervalIndex<K> {
    points: Vec<K>,
    size: usize,
    /// CSR: targets of node `i` are `targets[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<u32>,
    targets: Vec<u32>,
}

impl<K: Ord + Copy> Default for IntervalIndex<K> {
    fn default() -> Self {
        IntervalIndex { points: Vec::new(), size: 0, offsets: Vec::new(), targets: Vec::new() }
    }
}

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
        IntervalIndex { points, size, offsets, targets }
    }

    /// Is some range endpoint within `low..=high`?
    #[inline]
    pub fn has_point_in(&self, low: K, high: K) -> bool {
        let i = self.points.partition_point(|p| *p < low);
        i < self.points.len() && self.points[i] <= high
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Reports the target of every range that contains `key`.
    #[inline]
    pub fn find(&self, key: K, hit: &mut impl FnMut(u32)) {
        if self.points.is_empty() {
            return;
        }
        let position = match self.points.binary_search(&key) {
            Ok(i) => 2 * i + 1,
            Err(i) => 2 * i,
        };
        let mut node = position + self.size;
        while node >= 1 {
            let (a, b) = (self.offsets[node] as usize, self.offsets[node + 1] as usize);
            self.targets[a..b].iter().for_each(|&t| hit(t));
            node >>= 1;
        }
    }
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
