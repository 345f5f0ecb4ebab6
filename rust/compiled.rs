//! A checked pattern as the machine keeps it between compilations of its
//! segments (merges and deletions rebuild a segment from these, nothing is
//! parsed again). It holds what building a segment reads and nothing else:
//! field ids instead of paths, and the whole pattern in two exactly sized
//! blocks — every predicate, and the words that say which field each run of
//! predicates belongs to. A [`Pattern`] of nested vectors, with its spare
//! capacity and a path string per field, cost about 750 bytes for a
//! two-field exact rule; this about 200.

use crate::paths::FieldId;
use crate::pattern::{Pattern, Predicate};

#[derive(Debug)]
pub struct Compiled {
    /// The predicates of every field of every sub-pattern, in order.
    preds: Box<[Predicate]>,
    /// Per sub-pattern: `[fields, absent, (field, predicates)..., absent field...]`.
    shape: Box<[u32]>,
}

/// One sub-pattern of a [`Compiled`] pattern.
#[derive(Debug, Clone, Copy)]
pub struct Sub<'a> {
    /// `(field, number of predicates)` pairs, flattened.
    fields: &'a [u32],
    /// The predicates of its fields, in order.
    preds: &'a [Predicate],
    /// Fields that must be absent.
    pub absent: &'a [FieldId],
}

impl Compiled {
    /// Takes `pattern` apart; `field_of` maps a path to its field id.
    pub fn new(pattern: Pattern, mut field_of: impl FnMut(&str) -> FieldId) -> Compiled {
        let subs = &pattern.subpatterns;
        let n_preds = subs.iter().flat_map(|s| &s.fields).map(|(_, p)| p.len()).sum();
        let n_words = subs.iter().map(|s| 2 + 2 * s.fields.len() + s.absent.len()).sum();
        let mut preds = Vec::with_capacity(n_preds);
        let mut shape = Vec::with_capacity(n_words);
        for sp in pattern.subpatterns {
            shape.push(sp.fields.len() as u32);
            shape.push(sp.absent.len() as u32);
            for (path, list) in sp.fields {
                shape.push(field_of(&path));
                shape.push(list.len() as u32);
                preds.extend(list);
            }
            shape.extend(sp.absent.iter().map(|p| field_of(p)));
        }
        Compiled { preds: preds.into_boxed_slice(), shape: shape.into_boxed_slice() }
    }

    /// Its sub-patterns, in order.
    pub fn subpatterns(&self) -> Subs<'_> {
        Subs { shape: &self.shape, preds: &self.preds }
    }

    /// Automaton states it adds: a slot per field and absent field, and a
    /// state per wildcard token and one more per wildcard.
    pub fn states(&self) -> usize {
        let wildcards: usize = self
            .preds
            .iter()
            .map(|p| match p {
                Predicate::Wildcard(t) => t.len() + 1,
                _ => 0,
            })
            .sum();
        self.subpatterns().map(|s| s.len() + s.absent.len()).sum::<usize>() + wildcards
    }
}

impl<'a> Sub<'a> {
    /// Number of positive fields.
    pub fn len(&self) -> usize {
        self.fields.len() / 2
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Each positive field with its OR-ed predicates.
    pub fn fields(&self) -> impl Iterator<Item = (FieldId, &'a [Predicate])> + 'a {
        let mut preds = self.preds;
        self.fields.chunks_exact(2).map(move |w| {
            let (these, rest) = preds.split_at(w[1] as usize);
            preds = rest;
            (w[0], these)
        })
    }
}

/// Iterator over the sub-patterns of a [`Compiled`] pattern.
pub struct Subs<'a> {
    shape: &'a [u32],
    preds: &'a [Predicate],
}

impl<'a> Iterator for Subs<'a> {
    type Item = Sub<'a>;

    fn next(&mut self) -> Option<Sub<'a>> {
        let [fields, absent, rest @ ..] = self.shape else {
            return None;
        };
        let (fields, rest) = rest.split_at(2 * *fields as usize);
        let (absent, rest) = rest.split_at(*absent as usize);
        let n: usize = fields.chunks_exact(2).map(|w| w[1] as usize).sum();
        let (preds, tail) = self.preds.split_at(n);
        self.shape = rest;
        self.preds = tail;
        Some(Sub { fields, preds, absent })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::{compile, PatternLimits};

    #[test]
    fn predicates_stay_small() {
        // Every stored predicate costs this much; the rare big ones are boxed.
        assert!(std::mem::size_of::<Predicate>() <= 32);
    }

    #[test]
    fn same_parts_as_the_pattern() {
        let text = r#"{"a": ["x", "y"], "b": [{"exists": false}, {"prefix": "p"}],
                       "$or": [{"c": [1]}, {"d": [{"wildcard": "*z"}], "e": [{"exists": false}]}]}"#;
        let pattern = compile(text, PatternLimits::default()).unwrap();
        let mut paths: Vec<String> = Vec::new();
        let compiled = Compiled::new(pattern.clone(), |p| {
            let at = paths.iter().position(|q| q == p).unwrap_or(paths.len());
            if at == paths.len() {
                paths.push(p.to_string());
            }
            at as FieldId
        });
        let subs: Vec<Sub> = compiled.subpatterns().collect();
        assert_eq!(subs.len(), pattern.subpatterns.len());
        let mut states = 0;
        for (sub, sp) in subs.iter().zip(&pattern.subpatterns) {
            let fields: Vec<(&str, &[Predicate])> =
                sub.fields().map(|(f, p)| (paths[f as usize].as_str(), p)).collect();
            let want: Vec<(&str, &[Predicate])> =
                sp.fields.iter().map(|(p, l)| (p.as_str(), l.as_slice())).collect();
            assert_eq!(fields, want);
            assert_eq!(sub.len(), sp.fields.len());
            let absent: Vec<&str> =
                sub.absent.iter().map(|&f| paths[f as usize].as_str()).collect();
            assert_eq!(absent, sp.absent);
            states += sp.fields.len() + sp.absent.len();
            for (_, preds) in &sp.fields {
                for p in preds {
                    if let Predicate::Wildcard(t) = p {
                        states += t.len() + 1;
                    }
                }
            }
        }
        assert_eq!(compiled.states(), states);
        assert!(subs.iter().any(|s| !s.absent.is_empty()));
    }
}
