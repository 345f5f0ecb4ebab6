//! Conditions: what one slot of a sub-pattern asks of its field — the field
//! and its OR-ed predicate list. Sub-patterns that state the same condition
//! share it, so a value matcher reports each distinct condition once per
//! leaf, however many rules state it (`"source": ["aws.ec2"]` in 5,000
//! tenant rules is one condition, not 5,000 slots).
//!
//! Two conditions are the same when their canonical encodings are equal;
//! the encoding is exact (float64 values by bit pattern), so sharing never
//! merges predicates that could answer differently.

use crate::paths::FieldId;
use crate::pattern::Predicate;
use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};
use std::hash::BuildHasher;

/// Assigns dense ids to distinct conditions, counts how many slots state
/// each, and how many distinct values the conditions name per field.
/// Borrows the predicates from the patterns being compiled.
#[derive(Default)]
pub struct Conditions<'a> {
    /// Hash of a condition's encoding -> the first condition with that hash.
    ids: FxHashMap<u64, u32>,
    /// Conditions whose hash was taken by a different one (in practice none).
    collided: Vec<u32>,
    /// Per condition: its field and predicates, as first stated.
    pub stated: Vec<(FieldId, &'a [Predicate])>,
    /// Per condition: how many slots state it.
    pub shared_by: Vec<u32>,
    /// Hashes of distinct `(field, value predicate)` pairs, and their count
    /// per field. Only an estimate rests on these, so a hash will do.
    values: FxHashSet<u64>,
    distinct: FxHashMap<FieldId, u32>,
    buf: Vec<u8>,
    other: Vec<u8>,
}

impl<'a> Conditions<'a> {
    /// The id of `(field, preds)`, and whether it is new.
    pub fn intern(&mut self, field: FieldId, preds: &'a [Predicate]) -> (u32, bool) {
        encode_condition(field, preds, &mut self.buf);
        let hash = FxBuildHasher.hash_one(self.buf.as_slice());
        let first = self.ids.get(&hash).copied();
        let candidates = first.into_iter().chain(self.collided.iter().copied());
        let mut found = None;
        for id in candidates {
            let (f, p) = self.stated[id as usize];
            encode_condition(f, p, &mut self.other);
            if self.other == self.buf {
                found = Some(id);
                break;
            }
        }
        if let Some(id) = found {
            self.shared_by[id as usize] += 1;
            return (id, false);
        }
        let id = self.shared_by.len() as u32;
        if first.is_some() {
            self.collided.push(id);
        } else {
            self.ids.insert(hash, id);
        }
        self.stated.push((field, preds));
        self.shared_by.push(1);
        for p in preds.iter().filter(|p| is_value(p)) {
            self.buf.clear();
            self.buf.extend_from_slice(&field.to_le_bytes());
            encode(p, &mut self.buf);
            if self.values.insert(FxBuildHasher.hash_one(self.buf.as_slice())) {
                *self.distinct.entry(field).or_default() += 1;
            }
        }
        (id, true)
    }

    /// The selectivity score of condition `id`;
    /// lower is more selective. It estimates how many sub-patterns become
    /// candidates per event when this condition anchors them: how many share
    /// it, times a guess of how often it holds. A value predicate is guessed
    /// to hold for one in as many values as the segment's patterns name for
    /// the field (so an account named by 10 rules among 1,000 accounts beats
    /// a source named by 5,000 rules among 10 sources); ranges, `exists` and
    /// `anything-but` hold for a wide share of values; a wildcard is priced
    /// highest, as each one also adds NFA states every value of its field walks.
    pub fn score(&self, id: u32) -> u64 {
        let (field, preds) = self.stated[id as usize];
        let values = self.distinct.get(&field).copied().unwrap_or(0).max(1) as u64;
        let p: u64 = preds
            .iter()
            .map(|p| match p {
                Predicate::Exact(_)
                | Predicate::IpEquals(_)
                | Predicate::NumEquals(_)
                | Predicate::NumText(_)
                | Predicate::EqualsFold(_) => ONE / values,
                Predicate::Prefix(_)
                | Predicate::Suffix(_)
                | Predicate::PrefixFold(_)
                | Predicate::SuffixFold(_) => 2 * ONE / values,
                Predicate::True | Predicate::False | Predicate::Null => ONE / 2,
                Predicate::Cidr(_) | Predicate::Range { .. } => ONE / 2,
                Predicate::Exists | Predicate::AnythingBut(_) => ONE,
                Predicate::Wildcard(_) => 4 * ONE,
            })
            .sum();
        self.shared_by[id as usize] as u64 * p.max(1)
    }

    pub fn len(&self) -> usize {
        self.shared_by.len()
    }
}

/// The exact encoding of a condition: its field, then its predicates.
fn encode_condition(field: FieldId, preds: &[Predicate], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&field.to_le_bytes());
    encode_list(preds, out);
}

fn encode_list(preds: &[Predicate], out: &mut Vec<u8>) {
    out.extend_from_slice(&(preds.len() as u32).to_le_bytes());
    for p in preds {
        encode(p, out);
    }
}

fn text(s: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn bound(b: &Option<(f64, bool)>, out: &mut Vec<u8>) {
    match b {
        None => out.push(0),
        Some((v, inclusive)) => {
            out.push(1 + *inclusive as u8);
            out.extend_from_slice(&v.to_bits().to_le_bytes());
        }
    }
}

/// A prefix-free encoding: a tag byte, then length-prefixed fields.
fn encode(p: &Predicate, out: &mut Vec<u8>) {
    match p {
        Predicate::Exact(s) => {
            out.push(0);
            text(s, out);
        }
        Predicate::IpEquals(k) => {
            out.push(1);
            out.push(k.family);
            out.extend_from_slice(&k.bits.to_le_bytes());
        }
        Predicate::NumEquals(v) => {
            out.push(2);
            out.extend_from_slice(&v.to_bits().to_le_bytes());
        }
        Predicate::NumText(s) => {
            out.push(3);
            text(s, out);
        }
        Predicate::True => out.push(4),
        Predicate::False => out.push(5),
        Predicate::Null => out.push(6),
        Predicate::Prefix(s) => {
            out.push(7);
            text(s, out);
        }
        Predicate::Suffix(s) => {
            out.push(8);
            text(s, out);
        }
        Predicate::PrefixFold(s) => {
            out.push(9);
            text(s, out);
        }
        Predicate::SuffixFold(s) => {
            out.push(10);
            text(s, out);
        }
        Predicate::EqualsFold(s) => {
            out.push(11);
            text(s, out);
        }
        Predicate::Wildcard(tokens) => {
            out.push(12);
            out.extend_from_slice(&(tokens.len() as u32).to_le_bytes());
            for t in tokens {
                match t {
                    None => out.push(0),
                    Some(b) => out.extend_from_slice(&[1, *b]),
                }
            }
        }
        Predicate::Range { low, high } => {
            out.push(13);
            bound(low, out);
            bound(high, out);
        }
        Predicate::Cidr(r) => {
            out.push(14);
            out.push(r.family);
            out.extend_from_slice(&r.low.to_le_bytes());
            out.extend_from_slice(&r.high.to_le_bytes());
        }
        Predicate::Exists => out.push(15),
        Predicate::AnythingBut(exclusions) => {
            out.push(16);
            encode_list(exclusions, out);
        }
    }
}

/// Fixed-point one for the guessed share of values a predicate holds for.
const ONE: u64 = 1 << 16;

/// Predicates that name values: they count toward a field's distinct values.
fn is_value(p: &Predicate) -> bool {
    matches!(
        p,
        Predicate::Exact(_)
            | Predicate::IpEquals(_)
            | Predicate::NumEquals(_)
            | Predicate::NumText(_)
            | Predicate::EqualsFold(_)
            | Predicate::Prefix(_)
            | Predicate::Suffix(_)
            | Predicate::PrefixFold(_)
            | Predicate::SuffixFold(_)
    )
}

/// Does some predicate hold for a wide share of values, or cost a walk
/// per value? Such a condition is best checked only for candidates.
pub fn is_broad(preds: &[Predicate]) -> bool {
    preds.iter().any(|p| {
        matches!(
            p,
            Predicate::Wildcard(_)
                | Predicate::Range { .. }
                | Predicate::Cidr(_)
                | Predicate::Exists
                | Predicate::AnythingBut(_)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_and_distinct() {
        let mut c = Conditions::default();
        let a = [Predicate::Exact("x".into())];
        let b = [Predicate::Prefix("x".into())];
        assert_eq!(c.intern(1, &a), (0, true));
        assert_eq!(c.intern(1, &a), (0, false));
        assert_eq!(c.intern(2, &a), (1, true));
        assert_eq!(c.intern(1, &b), (2, true));
        assert_eq!(c.shared_by, vec![2, 1, 1]);
    }

    #[test]
    fn floats_by_bits() {
        let r = |v: f64| [Predicate::Range { low: Some((v, false)), high: None }];
        let (zero, minus_zero) = (r(0.0), r(-0.0));
        let mut c = Conditions::default();
        assert_eq!(c.intern(0, &zero).0, 0);
        assert_eq!(c.intern(0, &minus_zero).0, 1);
        assert_eq!(c.intern(0, &zero).0, 0);
    }

    #[test]
    fn hash_collisions_are_told_apart() {
        let a = [Predicate::Exact("a".into())];
        let b = [Predicate::Exact("b".into())];
        let mut c = Conditions::default();
        assert_eq!(c.intern(0, &a), (0, true));
        // Pretend `b` hashes like `a`: it must still get its own id, once.
        let mut buf = Vec::new();
        encode_condition(0, &b, &mut buf);
        c.ids.insert(FxBuildHasher.hash_one(buf.as_slice()), 0);
        assert_eq!(c.intern(0, &b), (1, true));
        assert_eq!(c.intern(0, &b), (1, false));
        assert_eq!(c.intern(0, &a), (0, false));
        assert_eq!(c.collided, vec![1]);
    }

    #[test]
    fn prefix_free() {
        // ["ab"] and ["a", "b"]-like splits must not collide.
        let mut c = Conditions::default();
        let one = [Predicate::Exact("ab".into())];
        let two = [Predicate::Exact("a".into()), Predicate::Exact("b".into())];
        assert_ne!(c.intern(0, &one).0, c.intern(0, &two).0);
    }

    #[test]
    fn scores_prefer_rare_values() {
        // 100 accounts, 10 rules each; 2 sources, 500 rules each; 10 rules
        // also say `exists` on a third field.
        let exact = |s: String| vec![Predicate::Exact(s.into())];
        let accounts: Vec<_> = (0..100).map(|i| exact(format!("a{}", i))).collect();
        let sources: Vec<_> = (0..2).map(|i| exact(format!("s{}", i))).collect();
        let exists = [Predicate::Exists];
        let mut c = Conditions::default();
        let (mut account, mut source, mut any) = (0, 0, 0);
        for i in 0..1000 {
            account = c.intern(0, &accounts[i % 100]).0;
            source = c.intern(1, &sources[i % 2]).0;
            if i < 10 {
                any = c.intern(2, &exists).0;
            }
        }
        let (a, s, e) = (c.score(account), c.score(source), c.score(any));
        assert!(a < s && a < e, "{} {} {}", a, s, e);
    }
}
