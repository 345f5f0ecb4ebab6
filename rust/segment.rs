//! A segment: a group of patterns compiled together. Each sub-pattern owns a
//! run of *slots*, one per positive field; each field of the machine that the
//! segment's patterns use gets one [`FieldMatcher`] whose targets are slots.
//! A machine is a few segments (see `machine.rs`); matching runs every
//! segment's matcher for each leaf the scanner reports.

use crate::paths::FieldId;
use crate::pattern::Pattern;
use crate::values::{FieldBuilder, FieldMatcher};
use rustc_hash::FxHashMap;
use std::sync::Arc;

const NO_MATCHER: u32 = u32::MAX;

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
    /// Slot -> sub-pattern.
    pub slot_sub: Vec<u32>,
    pub subs: Vec<SubInfo>,
    /// Sub-patterns with no positive field (only `exists: false`).
    pub absent_only: Vec<u32>,
    /// `(pattern id, rule name)` per pattern of the segment.
    pub patterns: Vec<(PatternId, Arc<str>)>,
    /// Automaton size: slots plus value-matcher states.
    pub states: usize,
}

impl Segment {
    /// Compiles `patterns`; `field_of` maps a path to its field id.
    pub fn build(
        patterns: &[(PatternId, Arc<str>, Arc<Pattern>)],
        field_of: &mut impl FnMut(&str) -> FieldId,
    ) -> Segment {
        let mut builders: FxHashMap<FieldId, FieldBuilder> = FxHashMap::default();
        let mut slot_sub = Vec::new();
        let mut subs = Vec::new();
        let mut absent_only = Vec::new();
        let mut names = Vec::with_capacity(patterns.len());
        for (pi, (id, name, pattern)) in patterns.iter().enumerate() {
            names.push((*id, name.clone()));
            for sp in &pattern.subpatterns {
                let sub = subs.len() as u32;
                let first_slot = slot_sub.len() as u32;
                for (path, preds) in &sp.fields {
                    let slot = slot_sub.len() as u32;
                    slot_sub.push(sub);
                    let b = builders.entry(field_of(path)).or_default();
                    for p in preds {
                        b.add(slot, p);
                    }
                }
                let absent: Box<[FieldId]> = sp.absent.iter().map(|p| field_of(p)).collect();
                if sp.fields.is_empty() {
                    absent_only.push(sub);
                }
                subs.push(SubInfo {
                    first_slot,
                    slots: sp.fields.len() as u32,
                    absent,
                    pattern: pi as u32,
                });
            }
        }
        let top = builders.keys().max().map_or(0, |&f| f as usize + 1);
        let mut field_index = vec![NO_MATCHER; top];
        let mut matchers = Vec::with_capacity(builders.len());
        let mut built: Vec<(FieldId, FieldBuilder)> = builders.into_iter().collect();
        built.sort_unstable_by_key(|(f, _)| *f);
        for (f, b) in built {
            field_index[f as usize] = matchers.len() as u32;
            matchers.push(b.build());
        }
        let states = slot_sub.len() + matchers.iter().map(FieldMatcher::states).sum::<usize>();
        Segment { field_index, matchers, slot_sub, subs, absent_only, patterns: names, states }
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
