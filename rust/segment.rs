//! A segment: a group of patterns compiled together. Each sub-pattern owns a
//! run of *slots*, one per positive field; each slot states a *condition*
//! (field and predicates), shared by every slot that states the same one.
//! Each field of the machine that the segment's patterns use gets one
//! [`FieldMatcher`] whose targets are conditions, and every sub-pattern with
//! a slot is filed under one anchor condition (see `anchors.rs`).
//!
//! A *broad* condition (wildcard, range, cidr, `exists`, `anything-but`)
//! that anchors nothing is *lazy*: it is left out of the shared matcher and
//! gets a small matcher of its own, run only when a candidate asks for it,
//! over the leaves of its field collected during the scan. So thousands of
//! tenant wildcards cost nothing for an event until a tenant's anchor fires.
//! A machine is a few segments (see `machine.rs`); matching runs every
//! segment's matcher for each leaf the scanner reports.

use crate::anchors::{Anchors, Entry, Other};
use crate::compiled::Compiled;
use crate::conditions::{self, Conditions};
use crate::lazy::LazyMatcher;
use crate::paths::FieldId;
use crate::values::{FieldBuilder, FieldMatcher};
use rustc_hash::FxHashMap;
use std::sync::Arc;

const NO_MATCHER: u32 = u32::MAX;

/// In `Segment::lazy`: the condition is in the shared matchers.
pub const EAGER: u32 = u32::MAX;

/// Identifies one stored pattern of the machine.
pub type PatternId = u64;

/// One sub-pattern inside a segment.
#[derive(Debug, Clone)]
pub struct SubInfo {
    /// Its slots are `first_slot .. first_slot + slots`.
    pub first_slot: u32,
    pub slots: u32,
    /// Fields that must be absent.
    pub absent: Box<[FieldId]>,
    /// Index into `Segment::patterns`.
    pub pattern: u32,
}

/// Patterns compiled together.
#[derive(Debug)]
pub struct Segment {
    /// Field id -> index into `matchers`, or `NO_MATCHER`; covers the field
    /// ids that existed when the segment was built.
    field_index: Vec<u32>,
    matchers: Vec<FieldMatcher>,
    /// Slot -> condition.
    pub slot_cond: Vec<u32>,
    /// Number of distinct conditions; matchers report ids below it.
    pub conds: u32,
    /// Condition -> index into `lazy_matchers`, or `EAGER`.
    pub lazy: Vec<u32>,
    /// A lazy condition's field and its own evaluator.
    pub lazy_matchers: Vec<(FieldId, LazyMatcher)>,
    /// Sub-patterns by anchor condition.
    pub anchors: Anchors,
    pub subs: Vec<SubInfo>,
    /// Sub-patterns with no positive field (only `exists: false`).
    pub absent_only: Vec<u32>,
    /// The rule name of each pattern of the segment. Patterns are numbered
    /// in the order the anchor index first names them, and the names are
    /// copies allocated in that order: the names an event's candidates
    /// hand back sit together, not one cold line each across the heap.
    pub patterns: Vec<Arc<str>>,
    /// Automaton size: slots plus value-matcher states.
    pub states: usize,
}

impl Segment {
    /// Compiles `patterns`.
    pub fn build(patterns: &[(PatternId, &Arc<str>, &Compiled)]) -> Segment {
        // Sized up front: no growth leaves freed buffers behind.
        let (n_subs, n_slots) = patterns
            .iter()
            .flat_map(|p| p.2.subpatterns())
            .fold((0, 0), |(subs, slots), sp| (subs + 1, slots + sp.len()));
        let mut conds = Conditions::default();
        let mut slot_cond = Vec::with_capacity(n_slots);
        let mut subs = Vec::with_capacity(n_subs);
        let mut absent_only = Vec::new();
        for (pi, &(_, _, pattern)) in patterns.iter().enumerate() {
            for sp in pattern.subpatterns() {
                let sub = subs.len() as u32;
                let first_slot = slot_cond.len() as u32;
                for (field, preds) in sp.fields() {
                    slot_cond.push(conds.intern(field, preds).0);
                }
                if sp.is_empty() {
                    absent_only.push(sub);
                }
                subs.push(SubInfo {
                    first_slot,
                    slots: sp.len() as u32,
                    absent: sp.absent.into(),
                    pattern: pi as u32,
                });
            }
        }
        // Now that every condition's sharing is known, file each sub-pattern
        // under its most selective condition (the first of equals). `ranked`
        // holds every slot's `(score, condition)`, each sub-pattern's run
        // sorted in place (one buffer, not one per sub-pattern).
        let mut ranked: Vec<(u64, u32)> = slot_cond.iter().map(|&c| (conds.score(c), c)).collect();
        let mut anchors_something = vec![false; conds.len()];
        for info in &subs {
            let run = &mut ranked[info.first_slot as usize..][..info.slots as usize];
            run.sort_by_key(|r| r.0);
            if let Some(&(_, anchor)) = run.first() {
                anchors_something[anchor as usize] = true;
            }
        }
        let is_lazy: Vec<bool> = (conds.stated.iter().zip(&anchors_something))
            .map(|(&(_, preds), &anchors)| !anchors && conditions::is_broad(preds))
            .collect();
        // A candidate's other conditions are checked eager ones first (a
        // lookup each), lazy ones last (an evaluation each). The first, its
        // group key under the anchor, is its most shared eager condition (a
        // tenant's rules group by `source`, not one group per rule); the
        // rest go most selective first.
        let mut others: Vec<Other> = Vec::with_capacity(ranked.len());
        let mut entries = Vec::with_capacity(subs.len());
        for (sub, info) in subs.iter().enumerate() {
            let run = &mut ranked[info.first_slot as usize..][..info.slots as usize];
            let Some((&mut (_, anchor), rest)) = run.split_first_mut() else {
                continue;
            };
            rest.sort_by_key(|&(score, c)| (is_lazy[c as usize], score));
            let eager = rest.iter().take_while(|&&(_, c)| !is_lazy[c as usize]);
            let shared = |c: u32| conds.shared_by[c as usize];
            let key = eager.enumerate().max_by_key(|&(i, &(_, c))| (shared(c), !i)).map(|(i, _)| i);
            if let Some(i) = key {
                rest[..=i].rotate_right(1);
            }
            let from = others.len() as u32;
            others.extend(rest.iter().map(|&(_, c)| Other { cond: c, lazy: is_lazy[c as usize] }));
            entries.push(Entry {
                anchor,
                sub: sub as u32,
                pattern: info.pattern,
                has_absent: !info.absent.is_empty(),
                others: from..others.len() as u32,
            });
        }
        drop(ranked);
        // Conditions renumbered in the order the anchors' candidates name
        // them: one tenant's conditions get neighbouring ids, so an event's
        // per-condition state, lazy matchers and anchor starts sit on a few
        // lines rather than one line each.
        let order = condition_order(conds.len(), &entries, &others);
        let mut new_id = vec![0u32; conds.len()];
        for (new, &old) in order.iter().enumerate() {
            new_id[old as usize] = new as u32;
        }
        for c in &mut slot_cond {
            *c = new_id[*c as usize];
        }
        for e in &mut entries {
            e.anchor = new_id[e.anchor as usize];
        }
        for o in &mut others {
            o.cond = new_id[o.cond as usize];
        }
        let mut builders: FxHashMap<FieldId, FieldBuilder> = FxHashMap::default();
        let mut lazy = vec![EAGER; conds.len()];
        let mut lazy_matchers = Vec::new();
        for (cond, &old) in order.iter().enumerate() {
            let (field, preds) = conds.stated[old as usize];
            if is_lazy[old as usize] {
                lazy[cond] = lazy_matchers.len() as u32;
                lazy_matchers.push((field, LazyMatcher::new(preds)));
            } else {
                let b = builders.entry(field).or_default();
                for p in preds {
                    b.add(cond as u32, p);
                }
            }
        }
        let mut anchors = Anchors::build(conds.len(), entries, &others);
        // Patterns renumbered in anchor order, their names copied in it.
        let order = anchors.pattern_order(patterns.len());
        let mut new_index = vec![0u32; patterns.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old as usize] = new as u32;
        }
        anchors.renumber_patterns(&new_index);
        for info in &mut subs {
            info.pattern = new_index[info.pattern as usize];
        }
        let names: Vec<Arc<str>> =
            order.iter().map(|&old| Arc::<str>::from(&**patterns[old as usize].1)).collect();
        let top = builders.keys().max().map_or(0, |&f| f as usize + 1);
        let mut field_index = vec![NO_MATCHER; top];
        let mut matchers = Vec::with_capacity(builders.len());
        let mut built: Vec<(FieldId, FieldBuilder)> = builders.into_iter().collect();
        built.sort_unstable_by_key(|(f, _)| *f);
        for (f, b) in built {
            field_index[f as usize] = matchers.len() as u32;
            matchers.push(b.build());
        }
        let states = slot_cond.len()
            + matchers.iter().map(FieldMatcher::states).sum::<usize>()
            + lazy_matchers.iter().map(|(_, m)| m.states()).sum::<usize>();
        Segment {
            field_index,
            matchers,
            slot_cond,
            conds: conds.len() as u32,
            lazy,
            lazy_matchers,
            anchors,
            subs,
            absent_only,
            patterns: names,
            states,
        }
    }

    /// Every field this segment's patterns use, with its matcher.
    pub fn matchers(&self) -> impl Iterator<Item = (FieldId, &FieldMatcher)> {
        self.field_index
            .iter()
            .enumerate()
            .filter(|&(_, &i)| i != NO_MATCHER)
            .map(|(f, &i)| (f as FieldId, &self.matchers[i as usize]))
    }

    /// This segment's matcher for `field`, if its patterns use the field.
    #[inline]
    pub fn matcher(&self, field: FieldId) -> Option<&FieldMatcher> {
        match self.field_index.get(field as usize) {
            Some(&i) if i != NO_MATCHER => Some(&self.matchers[i as usize]),
            _ => None,
        }
    }
}

/// Every condition id of `0..conds` once: first each anchor's, in anchor
/// order, followed by the other conditions of its candidates as they come,
/// then any condition no candidate names.
fn condition_order(conds: usize, entries: &[Entry], others: &[Other]) -> Vec<u32> {
    let mut by_anchor: Vec<u32> = (0..entries.len() as u32).collect();
    by_anchor.sort_by_key(|&e| entries[e as usize].anchor);
    let mut seen = vec![false; conds];
    let mut order = Vec::with_capacity(conds);
    let mut take = |c: u32| {
        if !seen[c as usize] {
            seen[c as usize] = true;
            order.push(c);
        }
    };
    for &e in &by_anchor {
        let e = &entries[e as usize];
        take(e.anchor);
        for o in &others[e.others.start as usize..e.others.end as usize] {
            take(o.cond);
        }
    }
    for c in 0..conds as u32 {
        take(c);
    }
    order
}
