//! The evaluator of one lazy condition (see `segment.rs`): is the condition
//! true of one leaf? A lazy condition is looked at only for candidates, so
//! what matters is touching little memory, not sharing tables: the common
//! shapes — wildcards, ranges, `exists`, string tests and `anything-but` of
//! string tests — are kept as their predicates and tested one by one.
//! Anything else (numbers compared for equality, addresses, booleans, null,
//! cidr) goes through a [`FieldMatcher`] of its own, so every answer is the
//! shared matchers' answer.

use crate::casefold::with_folded;
use crate::number::{event_value, order_key};
use crate::pattern::Predicate;
use crate::scanner::Leaf;
use crate::values::{FieldBuilder, FieldMatcher, NumGate, ValueScratch};
use crate::wildcard;

/// One lazy condition, ready to test leaves.
#[derive(Debug)]
pub enum LazyMatcher {
    /// Predicates tested directly (all of a direct kind).
    Direct(Box<[Predicate]>),
    /// A value matcher holding only this condition.
    General(Box<FieldMatcher>),
}

impl LazyMatcher {
    pub fn new(preds: &[Predicate]) -> LazyMatcher {
        if preds.iter().all(direct) {
            return LazyMatcher::Direct(preds.into());
        }
        let mut b = FieldBuilder::default();
        for p in preds {
            b.add(0, p);
        }
        LazyMatcher::General(Box::new(b.build()))
    }

    /// What this condition can do with a number leaf (conservatively:
    /// direct predicates may test numbers).
    pub fn num_gate(&self) -> NumGate {
        match self {
            LazyMatcher::Direct(_) => NumGate::Always,
            LazyMatcher::General(m) => m.num_gate(),
        }
    }

    /// Does the condition hold for `leaf`?
    pub fn holds(&self, leaf: Leaf<'_>, scratch: &mut ValueScratch) -> bool {
        match self {
            LazyMatcher::Direct(preds) => {
                let mut number = None;
                preds.iter().any(|p| holds(p, leaf, &mut number))
            }
            LazyMatcher::General(m) => {
                let mut any = false;
                m.eval(leaf, scratch, &mut |_| any = true);
                any
            }
        }
    }

    /// States it adds to the machine (for limits and stats).
    pub fn states(&self) -> usize {
        match self {
            LazyMatcher::Direct(preds) => preds
                .iter()
                .map(|p| match p {
                    Predicate::Wildcard(t) => t.len() + 1,
                    _ => 0,
                })
                .sum(),
            LazyMatcher::General(m) => m.states(),
        }
    }
}

/// String tests that are tested directly, also inside `anything-but`.
fn direct_string(p: &Predicate) -> bool {
    matches!(
        p,
        Predicate::Exact(_)
            | Predicate::Prefix(_)
            | Predicate::Suffix(_)
            | Predicate::PrefixFold(_)
            | Predicate::SuffixFold(_)
            | Predicate::EqualsFold(_)
            | Predicate::Wildcard(_)
    )
}

fn direct(p: &Predicate) -> bool {
    match p {
        Predicate::Exists | Predicate::Range { .. } => true,
        Predicate::AnythingBut(exclusions) => exclusions.iter().all(direct_string),
        _ => direct_string(p),
    }
}

/// One direct predicate on one leaf, as the shared matchers answer it:
/// string tests only on strings, ranges only on numbers (by their exact
/// float64, through the same order keys as the interval index), `exists` on
/// every leaf, `anything-but` on every leaf none of its exclusions holds for.
/// `number` caches the leaf's float64.
fn holds(p: &Predicate, leaf: Leaf<'_>, number: &mut Option<Option<f64>>) -> bool {
    match (p, leaf) {
        (Predicate::Exists, _) => true,
        (Predicate::AnythingBut(exclusions), _) => {
            !exclusions.iter().any(|e| holds(e, leaf, number))
        }
        (Predicate::Range { low, high }, Leaf::Num(text, _)) => {
            let Some(v) = *number.get_or_insert_with(|| event_value(text)) else {
                return false;
            };
            let k = order_key(v);
            let above = low.is_none_or(|(l, incl)| {
                let lk = order_key(l);
                k > lk || incl && k == lk
            });
            let below = high.is_none_or(|(h, incl)| {
                let hk = order_key(h);
                k < hk || incl && k == hk
            });
            above && below
        }
        (Predicate::Exact(t), Leaf::Str(s)) => s == &**t,
        (Predicate::Prefix(t), Leaf::Str(s)) => s.starts_with(&**t),
        (Predicate::Suffix(t), Leaf::Str(s)) => s.ends_with(&**t),
        (Predicate::PrefixFold(t), Leaf::Str(s)) => with_folded(s, |f| f.starts_with(t.as_bytes())),
        (Predicate::SuffixFold(t), Leaf::Str(s)) => with_folded(s, |f| f.ends_with(t.as_bytes())),
        (Predicate::EqualsFold(t), Leaf::Str(s)) => with_folded(s, |f| f == t.as_bytes()),
        (Predicate::Wildcard(tokens), Leaf::Str(s)) => wildcard::glob(tokens, s.as_bytes()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::{compile, PatternLimits};

    /// Direct answers equal a shared matcher's, over many shapes and leaves.
    #[test]
    fn direct_equals_general() {
        let lists = [
            r#"[{"wildcard": "a*c"}, {"prefix": "x"}]"#,
            r#"[{"numeric": [">", 0, "<=", 5]}]"#,
            r#"[{"numeric": [">=", -0.0]}, {"numeric": ["<", -1e300]}]"#,
            r#"[{"exists": true}]"#,
            r#"[{"anything-but": ["abc", "x"]}]"#,
            r#"[{"anything-but": {"prefix": "a"}}]"#,
            r#"[{"anything-but": {"suffix": "c"}}]"#,
            r#"[{"anything-but": {"equals-ignore-case": ["ABC"]}}]"#,
            r#"[{"anything-but": {"wildcard": "*b*"}}]"#,
            r#"[{"equals-ignore-case": "ÄbC"}, {"suffix": {"equals-ignore-case": "C"}}]"#,
            r#"[{"prefix": {"equals-ignore-case": "Ab"}}, "abc"]"#,
        ];
        let leaves = [
            Leaf::Str("abc"),
            Leaf::Str("ABC"),
            Leaf::Str("äbc"),
            Leaf::Str("xyz"),
            Leaf::Str(""),
            Leaf::Num("0", None),
            Leaf::Num("-0", None),
            Leaf::Num("5", None),
            Leaf::Num("5.0000000000000001", None),
            Leaf::Num("1e400", None),
            Leaf::Num("-1e301", None),
            Leaf::True,
            Leaf::Null,
        ];
        let mut scratch = ValueScratch::default();
        for list in lists {
            let pattern = compile(&format!(r#"{{"f": {}}}"#, list), PatternLimits::default())
                .unwrap_or_else(|e| panic!("{}: {:?}", list, e));
            let preds = &pattern.subpatterns[0].fields[0].1;
            assert!(preds.iter().all(direct), "{}", list);
            let mut b = FieldBuilder::default();
            for p in preds {
                b.add(0, p);
            }
            let general = LazyMatcher::General(Box::new(b.build()));
            let direct = LazyMatcher::new(preds);
            for leaf in leaves {
                assert_eq!(
                    direct.holds(leaf, &mut scratch),
                    general.holds(leaf, &mut scratch),
                    "{} on {:?}",
                    list,
                    leaf
                );
            }
        }
    }
}
