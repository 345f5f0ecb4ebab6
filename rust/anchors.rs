//! The anchor index: every sub-pattern with a positive field is filed under
//! exactly one of its conditions, its *anchor* — the most selective one by
//! [`conditions::score`](crate::conditions::score). A sub-pattern is looked
//! at for an event only when its anchor held for some leaf; its other
//! conditions are then checked against the conditions that held. So the
//! work for an event follows the anchors that fire and the sub-patterns
//! filed under them, not every sub-pattern that shares a common value.
//!
//! Each condition's candidates are stored contiguously, with their other
//! conditions inline, most selective first, so checking the candidates of
//! one anchor reads one run of memory and usually stops at the first
//! condition that did not hold.

/// Flag in a record's length word: the sub-pattern has `exists: false` fields.
const HAS_ABSENT: u32 = 1 << 31;
/// Flag on another condition: it is lazy (evaluated on demand, see `segment.rs`).
const LAZY: u32 = 1 << 31;

/// Sub-patterns by anchor condition.
#[derive(Debug, Default)]
pub struct Anchors {
    /// Condition `c`'s records are `records[start[c]..start[c + 1]]`.
    start: Vec<u32>,
    /// Per sub-pattern: `[sub, others | HAS_ABSENT?, other conditions | LAZY?...]`.
    records: Vec<u32>,
}

/// A sub-pattern filed under an anchor that held.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub sub: u32,
    pub has_absent: bool,
    /// Its conditions other than the anchor, in the order to check them.
    others: &'a [u32],
}

impl<'a> Candidate<'a> {
    /// Its conditions other than the anchor, in the order to check them.
    #[inline]
    pub fn others(&self) -> impl Iterator<Item = Other> + 'a {
        self.others.iter().map(|&o| Other { cond: o & !LAZY, lazy: o & LAZY != 0 })
    }
}

/// A condition of a candidate other than its anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Other {
    pub cond: u32,
    /// It is not in the shared matchers: evaluate it on demand.
    pub lazy: bool,
}

/// One sub-pattern to file: its anchor and its other conditions (in the
/// order they should be checked).
pub struct Entry {
    pub anchor: u32,
    pub sub: u32,
    pub has_absent: bool,
    pub others: Vec<Other>,
}

impl Anchors {
    /// Files `entries` under their anchors; `conds` is the number of conditions.
    pub fn build(conds: usize, mut entries: Vec<Entry>) -> Anchors {
        entries.sort_by_key(|e| e.anchor);
        let mut start = Vec::with_capacity(conds + 1);
        let mut records = Vec::with_capacity(entries.iter().map(|e| 2 + e.others.len()).sum());
        let mut next = entries.iter().peekable();
        for c in 0..conds as u32 {
            start.push(records.len() as u32);
            while let Some(e) = next.next_if(|e| e.anchor == c) {
                records.push(e.sub);
                records.push(e.others.len() as u32 | if e.has_absent { HAS_ABSENT } else { 0 });
                records.extend(e.others.iter().map(|o| o.cond | if o.lazy { LAZY } else { 0 }));
            }
        }
        start.push(records.len() as u32);
        Anchors { start, records }
    }

    /// The sub-patterns anchored on condition `cond`.
    #[inline]
    pub fn candidates(&self, cond: u32) -> Candidates<'_> {
        let c = cond as usize;
        let run = match (self.start.get(c), self.start.get(c + 1)) {
            (Some(&a), Some(&b)) => &self.records[a as usize..b as usize],
            _ => &[],
        };
        Candidates { run }
    }
}

/// Iterator over one anchor's records.
pub struct Candidates<'a> {
    run: &'a [u32],
}

impl<'a> Iterator for Candidates<'a> {
    type Item = Candidate<'a>;

    #[inline]
    fn next(&mut self) -> Option<Candidate<'a>> {
        let [sub, len, rest @ ..] = self.run else {
            return None;
        };
        let n = (len & !HAS_ABSENT) as usize;
        let (others, tail) = rest.split_at(n.min(rest.len()));
        self.run = tail;
        Some(Candidate { sub: *sub, has_absent: len & HAS_ABSENT != 0, others })
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

    #[test]
    fn filed_by_anchor() {
        let entries = vec![
            Entry { anchor: 2, sub: 0, has_absent: false, others: vec![eager(0), lazy(1)] },
            Entry { anchor: 0, sub: 1, has_absent: true, others: vec![] },
            Entry { anchor: 2, sub: 2, has_absent: false, others: vec![eager(3)] },
        ];
        let a = Anchors::build(4, entries);
        let subs =
            |c| a.candidates(c).map(|x| (x.sub, x.has_absent, x.others().collect())).collect();
        let s0: Vec<_> = subs(0);
        assert_eq!(s0, vec![(1, true, vec![])]);
        assert!(a.candidates(1).next().is_none());
        let s2: Vec<_> = subs(2);
        assert_eq!(s2, vec![(0, false, vec![eager(0), lazy(1)]), (2, false, vec![eager(3)])]);
        assert!(a.candidates(3).next().is_none());
        assert!(a.candidates(99).next().is_none());
    }
}
