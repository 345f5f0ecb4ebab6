//! The anchor index: every sub-pattern with a positive field is filed under
//! exactly one of its conditions, its *anchor* — the most selective one by
//! [`Conditions::score`](crate::conditions::Conditions::score). A sub-pattern
//! is looked at for an event only when its anchor held for some leaf; its
//! other conditions are then checked against the conditions that held. So
//! the work for an event follows the anchors that fire and the sub-patterns
//! filed under them, not every sub-pattern that shares a common value.
//!
//! Under each anchor, sub-patterns are grouped by the first condition they
//! would check next (their *key*): one check of the key rules a whole group
//! in or out — a tenant's hundred rules under its `account` anchor fall into
//! a few groups by `source`. An anchor's group keys sit side by side, so
//! ruling groups out reads a line or two; each group's candidates are stored
//! contiguously with their remaining conditions inline, so a group that
//! stays in is one more run of memory.

/// Flag in a record's length word: the sub-pattern has `exists: false` fields.
const HAS_ABSENT: u32 = 1 << 31;
/// Flag on a condition: it is lazy (evaluated on demand, see `segment.rs`).
const LAZY: u32 = 1 << 31;
/// Group key of sub-patterns with no condition besides their anchor.
const NO_KEY: u32 = u32::MAX;

/// Sub-patterns by anchor condition.
#[derive(Debug, Default)]
pub struct Anchors {
    /// Condition `c`'s groups are `groups[start[c]..start[c + 1]]`.
    start: Vec<u32>,
    /// Per group: `(key | LAZY?, its records' span of `words`)`.
    groups: Vec<(u32, u32, u32)>,
    /// Per record: `[sub, pattern, others | HAS_ABSENT?, other conditions | LAZY?...]`,
    /// the group's key not repeated.
    words: Vec<u32>,
}

/// A condition other than the anchor, as stored for checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Other {
    pub cond: u32,
    /// It is not in the shared matchers: evaluate it on demand.
    pub lazy: bool,
}

impl Other {
    fn word(self) -> u32 {
        self.cond | if self.lazy { LAZY } else { 0 }
    }

    #[inline]
    fn from_word(w: u32) -> Other {
        Other { cond: w & !LAZY, lazy: w & LAZY != 0 }
    }
}

/// One sub-pattern to file: its anchor and its other conditions, in the
/// order they should be checked (the first one becomes its group key).
pub struct Entry {
    pub anchor: u32,
    pub sub: u32,
    /// The sub-pattern's pattern, so a match needs no look-up of the sub-pattern.
    pub pattern: u32,
    pub has_absent: bool,
    /// Its span of the `others` buffer handed to [`Anchors::build`].
    pub others: std::ops::Range<u32>,
}

impl Entry {
    fn others<'a>(&self, all: &'a [Other]) -> &'a [Other] {
        all.get(self.others.start as usize..self.others.end as usize).unwrap_or(&[])
    }

    fn key(&self, all: &[Other]) -> u32 {
        self.others(all).first().map_or(NO_KEY, |o| o.word())
    }
}

impl Anchors {
    /// Files `entries` under their anchors; `conds` is the number of
    /// conditions, `all` holds the entries' other conditions.
    pub fn build(conds: usize, mut entries: Vec<Entry>, all: &[Other]) -> Anchors {
        entries.sort_by_key(|e| (e.anchor, e.key(all)));
        // A record does not repeat its group's key.
        let n_words = entries.iter().map(|e| 3 + e.others.len().saturating_sub(1)).sum();
        let mut start = Vec::with_capacity(conds + 1);
        let mut groups = Vec::new();
        let mut words = Vec::with_capacity(n_words);
        let mut next = entries.iter().peekable();
        for c in 0..conds as u32 {
            start.push(groups.len() as u32);
            while let Some(first) = next.next_if(|e| e.anchor == c) {
                let key = first.key(all);
                let from = words.len() as u32;
                let mut record = |e: &Entry| {
                    let rest = e.others(all).get(1..).unwrap_or(&[]);
                    words.push(e.sub);
                    words.push(e.pattern);
                    words.push(rest.len() as u32 | if e.has_absent { HAS_ABSENT } else { 0 });
                    words.extend(rest.iter().map(|o| o.word()));
                };
                record(first);
                while let Some(e) = next.next_if(|e| e.anchor == c && e.key(all) == key) {
                    record(e);
                }
                groups.push((key, from, words.len() as u32));
            }
        }
        start.push(groups.len() as u32);
        Anchors { start, groups, words }
    }

    /// Every pattern index once, in the order the records first name them
    /// (so one anchor's candidates name neighbouring indices), then the
    /// patterns of `0..patterns` no record names, in order.
    pub fn pattern_order(&self, patterns: usize) -> Vec<u32> {
        let mut seen = vec![false; patterns];
        let mut order = Vec::with_capacity(patterns);
        for record in self.records() {
            let p = record[1] as usize;
            if !seen[p] {
                seen[p] = true;
                order.push(p as u32);
            }
        }
        order.extend((0..patterns as u32).filter(|&p| !seen[p as usize]));
        order
    }

    /// Renames every record's pattern `p` to `new[p]`.
    pub fn renumber_patterns(&mut self, new: &[u32]) {
        let mut i = 0;
        while let &[_, pattern, len, ..] = &self.words[i..] {
            self.words[i + 1] = new[pattern as usize];
            i += 3 + (len & !HAS_ABSENT) as usize;
        }
    }

    /// Every record, in storage order (anchor by anchor, group by group).
    fn records(&self) -> impl Iterator<Item = &[u32]> {
        let mut rest = &self.words[..];
        std::iter::from_fn(move || {
            let &[_, _, len, ..] = rest else {
                return None;
            };
            let n = (3 + (len & !HAS_ABSENT) as usize).min(rest.len());
            let (record, tail) = rest.split_at(n);
            rest = tail;
            Some(record)
        })
    }

    /// Asks the processor to fetch the line of `cond`'s group list, if it
    /// anchors anything: called when the condition first holds during the
    /// scan, so the line is there when the candidates are looked at.
    #[inline]
    pub fn prefetch_groups(&self, cond: u32) {
        let c = cond as usize;
        if let (Some(&a), Some(&b)) = (self.start.get(c), self.start.get(c + 1)) {
            if a < b {
                prefetch(&self.groups[a as usize]);
            }
        }
    }

    /// The ids of the groups anchored on condition `cond`, for [`Anchors::group`].
    #[inline]
    pub fn group_ids(&self, cond: u32) -> std::ops::Range<u32> {
        let c = cond as usize;
        match (self.start.get(c), self.start.get(c + 1)) {
            (Some(&a), Some(&b)) => a..b,
            _ => 0..0,
        }
    }

    /// Group `id` (one of [`Anchors::group_ids`]).
    #[inline]
    pub fn group(&self, id: u32) -> Group<'_> {
        let &(key, from, to) = &self.groups[id as usize];
        let run = self.words.get(from as usize..to as usize).unwrap_or(&[]);
        let key = (key != NO_KEY).then(|| Other::from_word(key));
        Group { key, candidates: Candidates { run } }
    }

    /// The groups of sub-patterns anchored on condition `cond`.
    #[cfg(test)]
    fn groups(&self, cond: u32) -> impl Iterator<Item = Group<'_>> {
        self.group_ids(cond).map(|id| self.group(id))
    }
}

/// Sub-patterns under one anchor that check the same condition first.
pub struct Group<'a> {
    /// The condition they all need besides the anchor, if any.
    pub key: Option<Other>,
    /// Its candidates; only read when iterated.
    pub candidates: Candidates<'a>,
}

/// A sub-pattern filed under an anchor that held.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub sub: u32,
    pub pattern: u32,
    pub has_absent: bool,
    /// Its conditions besides the anchor and its group's key.
    others: &'a [u32],
}

impl<'a> Candidate<'a> {
    /// Its conditions besides the anchor and its group's key, in the order
    /// to check them.
    #[inline]
    pub fn others(&self) -> impl Iterator<Item = Other> + 'a {
        self.others.iter().map(|&w| Other::from_word(w))
    }
}

/// Iterator over one group's records.
pub struct Candidates<'a> {
    run: &'a [u32],
}

impl Candidates<'_> {
    /// Asks the processor to fetch the group's first records.
    #[inline]
    pub fn prefetch(&self) {
        if let Some(first) = self.run.first() {
            prefetch(first);
        }
    }
}

/// A hint to fetch `x`'s cache line; it does not wait for it. Only a hint:
/// other targets do nothing. (Also used for the next event of a batch.)
#[inline(always)]
pub(crate) fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch only hints the cache; it never faults and reads
    // nothing into the program, and `x` is a valid reference anyway. SSE
    // (the instruction's feature) is part of every x86_64 target.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

impl<'a> Iterator for Candidates<'a> {
    type Item = Candidate<'a>;

    #[inline]
    fn next(&mut self) -> Option<Candidate<'a>> {
        let [sub, pattern, len, rest @ ..] = self.run else {
            return None;
        };
        let n = (len & !HAS_ABSENT) as usize;
        let (others, tail) = rest.split_at(n.min(rest.len()));
        self.run = tail;
        let has_absent = len & HAS_ABSENT != 0;
        Some(Candidate { sub: *sub, pattern: *pattern, has_absent, others })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eager(cond: u32) -> Other {
        Other { cond, lazy: false }
    }

    fn lazy(cond: u32) -> Other {
        Other { cond, lazy: true }
    }

    fn entry(
        anchor: u32,
        sub: u32,
        has_absent: bool,
        others: &[Other],
        all: &mut Vec<Other>,
    ) -> Entry {
        let from = all.len() as u32;
        all.extend_from_slice(others);
        Entry { anchor, sub, pattern: sub + 10, has_absent, others: from..all.len() as u32 }
    }

    type Seen = Vec<(Option<Other>, Vec<(u32, bool, Vec<Other>)>)>;

    fn seen(a: &Anchors, c: u32) -> Seen {
        a.groups(c)
            .map(|g| {
                let cands = g.candidates.map(|x| {
                    assert_eq!(x.pattern, x.sub + 10);
                    (x.sub, x.has_absent, x.others().collect())
                });
                (g.key, cands.collect())
            })
            .collect()
    }

    /// Four sub-patterns under anchors 0 and 2 (two groups under 2).
    fn four_entries(all: &mut Vec<Other>) -> Vec<Entry> {
        vec![
            entry(2, 0, false, &[eager(0), lazy(1)], all),
            entry(0, 1, true, &[], all),
            entry(2, 2, false, &[eager(3)], all),
            entry(2, 3, false, &[eager(0)], all),
        ]
    }

    #[test]
    fn filed_by_anchor_and_key() {
        let mut all = Vec::new();
        let entries = four_entries(&mut all);
        let a = Anchors::build(4, entries, &all);
        assert_eq!(seen(&a, 0), vec![(None, vec![(1, true, vec![])])]);
        assert!(seen(&a, 1).is_empty());
        assert_eq!(
            seen(&a, 2),
            vec![
                (Some(eager(0)), vec![(0, false, vec![lazy(1)]), (3, false, vec![])]),
                (Some(eager(3)), vec![(2, false, vec![])]),
            ]
        );
        assert!(seen(&a, 3).is_empty());
        assert!(seen(&a, 99).is_empty());
    }

    #[test]
    fn patterns_renumbered_in_record_order() {
        let mut all = Vec::new();
        let mut entries = four_entries(&mut all);
        // A second sub-pattern of pattern 11, under another anchor.
        entries.push(Entry { anchor: 3, sub: 4, pattern: 11, has_absent: false, others: 0..0 });
        let mut a = Anchors::build(4, entries, &all);
        // Records: anchor 0 (pattern 11), anchor 2 key 0 (10, 13), key 3 (12), anchor 3 (11).
        let order = a.pattern_order(15);
        assert_eq!(order, vec![11, 10, 13, 12, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14]);
        let mut new = vec![0; 15];
        for (i, &old) in order.iter().enumerate() {
            new[old as usize] = i as u32;
        }
        a.renumber_patterns(&new);
        let patterns: Vec<(u32, u32)> = a.records().map(|r| (r[0], r[1])).collect();
        assert_eq!(patterns, vec![(1, 0), (0, 1), (3, 2), (2, 3), (4, 0)]);
        let others: Vec<Vec<Other>> =
            a.groups(2).flat_map(|g| g.candidates.map(|c| c.others().collect())).collect();
        assert_eq!(others, vec![vec![lazy(1)], vec![], vec![]]);
    }
}
