//! Value matchers: all predicates of all sub-patterns on one field, compiled
//! into shared tables, so one leaf value is tested against every rule on that
//! field at once. A matcher reports *targets*: a slot (one field of one
//! sub-pattern) whose predicate holds, or an `anything-but` entry whose
//! exclusion holds (that entry then does not fire).

use crate::casefold::with_folded;
use crate::ip::{self, IpKey};
use crate::json::NumWindow;
use crate::number::{self, eq_key, order_key};
use crate::pattern::Predicate;
use crate::scanner::Leaf;
use crate::tables::{Bound, ByteTrie, ExactBuilder, ExactTable, IntervalIndex};
use crate::wildcard::WildcardSet;
use rustc_hash::FxHashMap;

/// Target flag: the rest is an anything-but entry, not a slot.
const EXCLUSION: u32 = 1 << 31;

/// All predicates on one field, ready to match.
#[derive(Debug, Clone, Default)]
pub struct FieldMatcher {
    exact: ExactTable,
    num_eq: FxHashMap<u64, Vec<u32>>,
    /// The float64 values of `num_eq`, sorted, to rule numbers out cheaply.
    num_eq_sorted: Vec<f64>,
    num_text: ExactTable,
    ip_eq: FxHashMap<IpKey, Vec<u32>>,
    on_true: Vec<u32>,
    on_false: Vec<u32>,
    on_null: Vec<u32>,
    exists: Vec<u32>,
    prefix: ByteTrie,
    suffix: ByteTrie,
    fold_eq: ExactTable,
    fold_prefix: ByteTrie,
    fold_suffix: ByteTrie,
    wildcards: WildcardSet,
    wildcard_targets: Vec<u32>,
    ranges: IntervalIndex<u64>,
    cidr: IntervalIndex<(u8, u128)>,
    /// anything-but entries: the slots each fires when not excluded.
    anything_but: Vec<u32>,
    uses_fold: bool,
    uses_ip: bool,
    uses_float: bool,
}

/// What a field's predicates, over every segment, can do with a number
/// leaf — so the scanner can drop the many numbers no rule can use (the
/// coordinates of a GeoJSON event) before they cost a leaf.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum NumGate {
    /// No predicate fires for a number.
    Never,
    /// Only float64 equality with these values (sorted) can fire; `window`
    /// is kept beside them (see [`window`](Self::window)).
    Values { values: Vec<f64>, window: NumWindow },
    /// Anything may fire: ranges, `exists`, `anything-but`, integer texts.
    #[default]
    Always,
}

impl NumGate {
    /// The gate of a field tested by matchers with gates `self` and `other`.
    pub fn union(self, other: NumGate) -> NumGate {
        match (self, other) {
            (NumGate::Always, _) | (_, NumGate::Always) => NumGate::Always,
            (NumGate::Never, g) | (g, NumGate::Never) => g,
            (NumGate::Values { values: mut a, .. }, NumGate::Values { values: b, .. }) => {
                a.extend(b);
                NumGate::values(a)
            }
        }
    }

    /// The gate letting through numbers equal to one of `values`.
    pub fn values(mut values: Vec<f64>) -> NumGate {
        values.sort_by(f64::total_cmp);
        values.dedup();
        let window = match (values.first(), values.last()) {
            (Some(&first), Some(&last)) => {
                NumWindow::new(first - first.abs() * 2e-9, last + last.abs() * 2e-9)
            }
            _ => NumWindow::EMPTY,
        };
        NumGate::Values { values, window }
    }

    /// The values a number must lie between to fire anything here (with the
    /// same doubled tolerance as [`admits`](Self::admits)): `None` when any
    /// number may, an empty window when none can.
    #[inline]
    pub fn window(&self) -> Option<&NumWindow> {
        match self {
            NumGate::Always => None,
            NumGate::Never => Some(&NumWindow::EMPTY),
            NumGate::Values { window, .. } => Some(window),
        }
    }

    /// Whether a number read as `d` may fire some predicate.
    #[inline]
    pub fn admits(&self, d: &number::Decimal) -> bool {
        match self {
            NumGate::Always => true,
            NumGate::Never => false,
            NumGate::Values { values, window } => {
                // Most numbers fall outside all the values at once: one
                // comparison with the outermost ones (tolerance doubled).
                let a = d.approx();
                let (below, above) = (window.low, window.high);
                if a.is_finite() && (a != 0.0 || d.mantissa == 0) && (a < below || a > above) {
                    return false;
                }
                Near::of(d).may_equal_any(values)
            }
        }
    }
}

/// A number's approximation and the interval it may stand for.
struct Near {
    approx: f64,
    low: f64,
    high: f64,
    /// False when the approximation says nothing (overflow, underflow).
    usable: bool,
}

impl Near {
    #[inline]
    fn of(d: &number::Decimal) -> Near {
        const TOLERANCE: f64 = 1e-9;
        let a = d.approx();
        let usable = a.is_finite() && (a != 0.0 || d.mantissa == 0);
        let (low, high) = if a < 0.0 {
            (a * (1.0 + TOLERANCE), a * (1.0 - TOLERANCE))
        } else {
            (a * (1.0 - TOLERANCE), a * (1.0 + TOLERANCE))
        };
        Near { approx: a, low, high, usable }
    }

    /// Whether the number may equal one of `sorted` values.
    #[inline]
    fn may_equal_any(&self, sorted: &[f64]) -> bool {
        if !self.usable {
            return true;
        }
        let i = sorted.partition_point(|&p| p < self.low);
        i < sorted.len() && sorted[i] <= self.high
    }
}

/// A range to index: low bound, high bound, target.
type RangeEntry<K> = (Bound<K>, Bound<K>, u32);

/// Collects predicates for one field, then builds a [`FieldMatcher`].
#[derive(Default)]
pub struct FieldBuilder {
    m: FieldMatcher,
    exact: ExactBuilder,
    num_text: ExactBuilder,
    fold_eq: ExactBuilder,
    ranges: Vec<RangeEntry<u64>>,
    cidrs: Vec<RangeEntry<(u8, u128)>>,
}

impl FieldBuilder {
    /// Adds `pred` for `slot`.
    pub fn add(&mut self, slot: u32, pred: &Predicate) {
        if let Predicate::AnythingBut(exclusions) = pred {
            let entry = self.m.anything_but.len() as u32;
            self.m.anything_but.push(slot);
            for e in exclusions {
                self.add_target(entry | EXCLUSION, e);
            }
        } else {
            self.add_target(slot, pred);
        }
    }

    fn add_target(&mut self, t: u32, pred: &Predicate) {
        let m = &mut self.m;
        match pred {
            Predicate::Exact(s) => self.exact.push(s.as_bytes(), t),
            Predicate::IpEquals(k) => {
                m.uses_ip = true;
                m.ip_eq.entry(**k).or_default().push(t)
            }
            Predicate::NumEquals(v) => {
                m.uses_float = true;
                m.num_eq.entry(eq_key(*v)).or_default().push(t)
            }
            Predicate::NumText(s) => self.num_text.push(s.as_bytes(), t),
            Predicate::True => m.on_true.push(t),
            Predicate::False => m.on_false.push(t),
            Predicate::Null => m.on_null.push(t),
            Predicate::Exists => m.exists.push(t),
            Predicate::Prefix(s) => m.prefix.insert(s.bytes(), t),
            Predicate::Suffix(s) => m.suffix.insert(s.bytes().rev(), t),
            Predicate::PrefixFold(s) => {
                m.uses_fold = true;
                m.fold_prefix.insert(s.bytes(), t)
            }
            Predicate::SuffixFold(s) => {
                m.uses_fold = true;
                m.fold_suffix.insert(s.bytes().rev(), t)
            }
            Predicate::EqualsFold(s) => {
                m.uses_fold = true;
                self.fold_eq.push(s.as_bytes(), t)
            }
            Predicate::Wildcard(tokens) => {
                m.wildcards.push(tokens);
                m.wildcard_targets.push(t);
            }
            Predicate::Range { low, high } => {
                m.uses_float = true;
                self.ranges.push((
                    low.map(|(v, i)| (order_key(v), i)),
                    high.map(|(v, i)| (order_key(v), i)),
                    t,
                ));
            }
            Predicate::Cidr(r) => {
                m.uses_ip = true;
                self.cidrs.push((
                    Some(((r.family, r.low), true)),
                    Some(((r.family, r.high), true)),
                    t,
                ));
            }
            Predicate::AnythingBut(_) => unreachable!("anything-but cannot nest"),
        }
    }

    pub fn build(mut self) -> FieldMatcher {
        let mut values: Vec<f64> = self.m.num_eq.keys().map(|&k| f64::from_bits(k)).collect();
        values.sort_unstable_by(f64::total_cmp);
        self.m.num_eq_sorted = values;
        self.m.exact = self.exact.build();
        self.m.num_text = self.num_text.build();
        self.m.fold_eq = self.fold_eq.build();
        self.m.ranges = IntervalIndex::build(&self.ranges);
        self.m.cidr = IntervalIndex::build(&self.cidrs);
        self.m
    }
}

/// Per-thread buffers a matcher needs.
#[derive(Default)]
pub struct ValueScratch {
    excluded: Vec<u32>,
}

impl FieldMatcher {
    /// States this matcher adds to the machine (for limits and stats).
    pub fn states(&self) -> usize {
        self.prefix.nodes()
            + self.suffix.nodes()
            + self.fold_prefix.nodes()
            + self.fold_suffix.nodes()
            + self.wildcards.states()
    }

    /// Float64 equality and ranges for an event number. Parsing a float
    /// exactly costs more than the rest of the leaf, so a cheap approximation
    /// (`number::decimal`, exact to far better than 1e-12) rules out what it
    /// can: a number not within 1e-9 of any pattern value cannot equal one,
    /// and a number not within 1e-9 of any range endpoint lies in the same
    /// ranges as its approximation. Only the rest is parsed exactly.
    #[inline]
    fn number(&self, text: &str, read: Option<number::Decimal>, fire: &mut impl FnMut(u32)) {
        // The scanner's reading of the text when it has one: the same value
        // `number::decimal` gives, without reading the digits again.
        debug_assert!(read.is_none_or(|d| d == number::decimal(text)), "{text}");
        let near = Near::of(&read.unwrap_or_else(|| number::decimal(text)));
        let mut exact: Option<Option<f64>> = None;
        let mut value = || *exact.get_or_insert_with(|| number::event_value(text));
        if !self.num_eq_sorted.is_empty() && near.may_equal_any(&self.num_eq_sorted) {
            if let Some(v) = value() {
                if let Some(ts) = self.num_eq.get(&eq_key(v)) {
                    ts.iter().for_each(|&t| fire(t));
                }
            }
        }
        if !self.ranges.is_empty() {
            let (approx, low, high) =
                (order_key(near.approx), order_key(near.low), order_key(near.high));
            if !(near.usable && self.ranges.find_clear_of(approx, low, high, fire)) {
                if let Some(v) = value() {
                    self.ranges.find(order_key(v), fire);
                }
            }
        }
    }

    /// What this matcher can do with a number leaf (see [`NumGate`]).
    pub fn num_gate(&self) -> NumGate {
        let only_eq = self.exists.is_empty()
            && self.anything_but.is_empty()
            && self.num_text.is_empty()
            && self.ranges.is_empty();
        match (only_eq, self.num_eq_sorted.is_empty()) {
            (false, _) => NumGate::Always,
            (true, true) => NumGate::Never,
            (true, false) => NumGate::values(self.num_eq_sorted.clone()),
        }
    }

    /// The string matchers, out of line: a number leaf's matching then
    /// does none of their set-up.
    #[inline(never)]
    fn string(&self, s: &str, mut fire: impl FnMut(u32)) {
        let bytes = s.as_bytes();
        if !self.exact.is_empty() {
            self.exact.get(bytes).iter().for_each(|&t| fire(t));
        }
        if !self.prefix.is_empty() {
            self.prefix.find_prefixes(bytes.iter().copied(), &mut fire);
        }
        if !self.suffix.is_empty() {
            self.suffix.find_prefixes(bytes.iter().rev().copied(), &mut fire);
        }
        if self.uses_fold {
            with_folded(s, |fb| {
                self.fold_eq.get(fb).iter().for_each(|&t| fire(t));
                if !self.fold_prefix.is_empty() {
                    self.fold_prefix.find_prefixes(fb.iter().copied(), &mut fire);
                }
                if !self.fold_suffix.is_empty() {
                    self.fold_suffix.find_prefixes(fb.iter().rev().copied(), &mut fire);
                }
            });
        }
        if !self.wildcards.is_empty() {
            self.wildcards.find(bytes, |i| fire(self.wildcard_targets[i]));
        }
        if self.uses_ip {
            if let Some(key) = ip::parse(s) {
                if let Some(ts) = self.ip_eq.get(&key) {
                    ts.iter().for_each(|&t| fire(t));
                }
                self.cidr.find((key.family, key.bits), &mut fire);
            }
        }
    }

    /// Reports every slot whose predicate on this field holds for `leaf`.
    #[inline]
    pub fn eval(&self, leaf: Leaf<'_>, scratch: &mut ValueScratch, hit: &mut impl FnMut(u32)) {
        let excluded = &mut scratch.excluded;
        excluded.clear();
        let mut fire = |t: u32| {
            if t & EXCLUSION != 0 {
                excluded.push(t & !EXCLUSION);
            } else {
                hit(t);
            }
        };
        self.exists.iter().for_each(|&t| fire(t));
        match leaf {
            Leaf::Str(s) => self.string(s, &mut fire),
            Leaf::Num(text, read) => {
                if !self.num_text.is_empty() {
                    self.num_text.get(text.as_bytes()).iter().for_each(|&t| fire(t));
                }
                if self.uses_float {
                    self.number(text, read, &mut fire);
                }
            }
            Leaf::True => self.on_true.iter().for_each(|&t| fire(t)),
            Leaf::False => self.on_false.iter().for_each(|&t| fire(t)),
            Leaf::Null => self.on_null.iter().for_each(|&t| fire(t)),
        }
        for (entry, &slot) in self.anything_but.iter().enumerate() {
            if !excluded.contains(&(entry as u32)) {
                hit(slot);
            }
        }
    }
}
