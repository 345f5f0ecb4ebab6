//! Wildcard patterns: parsing with EventBridge's escape rules, the complexity
//! score that bounds them, and a combined NFA that runs every wildcard of one
//! field over a value in a single pass.
//!
//! A wildcard is a sequence of tokens, each a literal or a star. Its NFA has
//! states `0..=m` for `m` tokens; state `i` means "tokens `0..i` consumed". A
//! star at `i` loops on any input and also moves to `i + 1` without input.

use crate::error::PatternError;
use rustc_hash::FxHashSet;
use std::collections::VecDeque;

/// The highest complexity score accepted (see [`complexity`]).
pub const MAX_COMPLEXITY: usize = 10;

const TOO_COMPLEX: &str = "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum CharTok {
    Lit(char),
    Star,
}

/// A checked wildcard: its literal text if it has no star, else its byte tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wildcard {
    /// No unescaped star: an exact match on this text.
    Exact(String),
    /// Byte tokens; `None` is a star.
    Tokens(Vec<Option<u8>>),
}

/// Parses and checks a wildcard pattern (escapes, consecutive stars, complexity).
pub fn parse(pattern: &str) -> Result<Wildcard, PatternError> {
    let mut toks = Vec::new();
    let mut chars = pattern.chars().enumerate();
    let mut last_was_star = false;
    while let Some((pos, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, e @ ('*' | '\\'))) => {
                    toks.push(CharTok::Lit(e));
                    last_was_star = false;
                }
                _ => {
                    return Err(PatternError::new(format!(
                        "Invalid escape character at pos {}",
                        pos
                    )))
                }
            },
            '*' => {
                if last_was_star {
                    return Err(PatternError::new(format!(
                        "Consecutive wildcard characters at pos {}",
                        pos
                    )));
                }
                toks.push(CharTok::Star);
                last_was_star = true;
            }
            c => {
                toks.push(CharTok::Lit(c));
                last_was_star = false;
            }
        }
    }
    if !toks.contains(&CharTok::Star) {
        return Ok(Wildcard::Exact(
            toks.iter()
                .map(|t| match t {
                    CharTok::Lit(c) => *c,
                    CharTok::Star => unreachable!("no star here"),
                })
                .collect(),
        ));
    }
    if complexity(&toks).is_none_or(|score| score > MAX_COMPLEXITY) {
        return Err(PatternError::new(TOO_COMPLEX));
    }
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4];
    for t in &toks {
        match t {
            CharTok::Star => bytes.push(None),
            CharTok::Lit(c) => bytes.extend(c.encode_utf8(&mut buf).bytes().map(Some)),
        }
    }
    Ok(Wildcard::Tokens(bytes))
}

fn closure(toks: &[CharTok], set: &mut Vec<u32>) {
    let mut i = 0;
    while i < set.len() {
        let s = set[i] as usize;
        if s < toks.len() && toks[s] == CharTok::Star && !set.contains(&(s as u32 + 1)) {
            set.push(s as u32 + 1);
        }
        i += 1;
    }
    set.sort_unstable();
}

/// The complexity score: the largest number of inner states (neither the
/// start nor the accepting state) active at once, over every input string.
///
/// Explores the reachable sets of active states breadth first. From a set,
/// only the characters its literal states name lead anywhere different from
/// "any other character", so each set has a handful of successors. The search
/// stops as soon as a set scores above the bound, which keeps every set small,
/// and gives up (`None`) after a budget of sets proportional to the pattern.
fn complexity(toks: &[CharTok]) -> Option<usize> {
    let m = toks.len();
    let budget = 10_000usize.max(4 * (m + 1));
    let mut start = vec![0u32];
    closure(toks, &mut start);
    let mut seen: FxHashSet<Vec<u32>> = FxHashSet::default();
    let mut queue = VecDeque::new();
    seen.insert(start.clone());
    queue.push_back(start);
    let mut best = 0;
    while let Some(set) = queue.pop_front() {
        best = best.max(set.iter().filter(|&&s| s > 0 && (s as usize) < m).count());
        if best > MAX_COMPLEXITY {
            return Some(best);
        }
        let mut inputs: Vec<Option<char>> = set
            .iter()
            .filter_map(|&s| match toks.get(s as usize) {
                Some(CharTok::Lit(c)) => Some(Some(*c)),
                _ => None,
            })
            .collect();
        inputs.sort_unstable();
        inputs.dedup();
        inputs.push(None); // a character no literal state names
        for a in inputs {
            let mut next = Vec::new();
            for &s in &set {
                let s = s as usize;
                if s >= m {
                    continue;
                }
                match toks[s] {
                    CharTok::Star => next.push(s as u32),
                    CharTok::Lit(c) if Some(c) == a => next.push(s as u32 + 1),
                    CharTok::Lit(_) => {}
                }
            }
            next.sort_unstable();
            next.dedup();
            closure(toks, &mut next);
            next.dedup();
            if !next.is_empty() && seen.insert(next.clone()) {
                if seen.len() > budget {
                    return None;
                }
                queue.push_back(next);
            }
        }
    }
    Some(best)
}

/// Every wildcard of one field in one NFA, simulated over a value's bytes.
#[derive(Debug, Clone, Default)]
pub struct WildcardSet {
    /// Byte tokens of all patterns laid end to end; `None` is a star.
    toks: Vec<Option<u8>>,
    /// For each state: the pattern it belongs to, if it is that pattern's accepting state.
    accepting: Vec<Option<u32>>,
    /// Start states of all patterns, epsilon closure included.
    start: Vec<u32>,
    /// Number of patterns.
    patterns: u32,
    /// Where each pattern's tokens begin in `toks` (its accepting state's
    /// placeholder ends them).
    bases: Vec<u32>,
}

/// Up to this many patterns, `find` runs the greedy glob once per pattern
/// instead of simulating the NFA: no per-value state sets to allocate, and a
/// pattern whose first literal differs is ruled out by one comparison. Both
/// cost at most the value's length times the tokens, and answer the same.
const GLOB_EACH: u32 = 16;

impl WildcardSet {
    /// Adds a pattern's tokens; returns its index in this set.
    pub fn push(&mut self, tokens: &[Option<u8>]) -> usize {
        let index = self.patterns as usize;
        self.patterns += 1;
        let base = self.toks.len() as u32;
        self.bases.push(base);
        // States base..=base+m; the accepting state's token slot holds a
        // never-matching literal-free marker (we never step from it).
        self.toks.extend_from_slice(tokens);
        self.toks.push(Some(0)); // placeholder for the accepting state
        self.accepting.extend(std::iter::repeat_n(None, tokens.len()));
        self.accepting.push(Some(index as u32));
        let mut s = base;
        self.start.push(s);
        while (s - base) < tokens.len() as u32 && tokens[(s - base) as usize].is_none() {
            s += 1;
            self.start.push(s);
        }
        index
    }

    pub fn is_empty(&self) -> bool {
        self.start.is_empty()
    }

    /// Number of NFA states.
    pub fn states(&self) -> usize {
        self.toks.len()
    }

    #[inline]
    fn add(&self, s: u32, set: &mut Vec<u32>, mark: &mut [bool]) {
        let mut s = s;
        loop {
            if mark[s as usize] {
                return;
            }
            mark[s as usize] = true;
            set.push(s);
            if self.accepting[s as usize].is_none() && self.toks[s as usize].is_none() {
                s += 1;
            } else {
                return;
            }
        }
    }

    /// Calls `hit` with the index of every pattern that matches `value` entirely.
    pub fn find(&self, value: &[u8], mut hit: impl FnMut(usize)) {
        if self.patterns <= GLOB_EACH {
            // A few patterns (one for a lazy condition's own matcher): no NFA needed.
            for (i, &base) in self.bases.iter().enumerate() {
                let end = self.bases.get(i + 1).map_or(self.toks.len(), |&e| e as usize) - 1;
                if glob(&self.toks[base as usize..end], value) {
                    hit(i);
                }
            }
            return;
        }
        let n = self.toks.len();
        let mut mark = vec![false; n];
        let mut cur: Vec<u32> = Vec::with_capacity(self.start.len());
        for &s in &self.start {
            self.add(s, &mut cur, &mut mark);
        }
        for &s in &cur {
            mark[s as usize] = false;
        }
        let mut next: Vec<u32> = Vec::with_capacity(cur.len());
        for &b in value {
            if cur.is_empty() {
                return;
            }
            next.clear();
            for &s in &cur {
                let su = s as usize;
                if self.accepting[su].is_some() {
                    continue;
                }
                match self.toks[su] {
                    None => self.add(s, &mut next, &mut mark),
                    Some(c) if c == b => self.add(s + 1, &mut next, &mut mark),
                    Some(_) => {}
                }
            }
            for &s in &next {
                mark[s as usize] = false;
            }
            std::mem::swap(&mut cur, &mut next);
        }
        for &s in &cur {
            if let Some(p) = self.accepting[s as usize] {
                hit(p as usize);
            }
        }
    }
}

/// Does one wildcard's tokens match all of `value`? The classic greedy scan:
/// on a mismatch, go back to the last star and let it take one more byte.
/// With the star as the only operator this answers exactly as the NFA does
/// (a later star can always do what an earlier one would have), and each
/// retry only moves forward in `value` from the last star's start.
pub fn glob(tokens: &[Option<u8>], value: &[u8]) -> bool {
    let (mut t, mut v) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        match tokens.get(t) {
            Some(None) => {
                star = Some((t, v));
                t += 1;
            }
            Some(Some(c)) if *c == value[v] => {
                t += 1;
                v += 1;
            }
            _ => match star {
                Some((st, sv)) => {
                    t = st + 1;
                    v = sv + 1;
                    star = Some((st, sv + 1));
                }
                None => return false,
            },
        }
    }
    tokens[t.min(tokens.len())..].iter().all(Option::is_none)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(p: &str) -> usize {
        let toks: Vec<CharTok> =
            p.chars().map(|c| if c == '*' { CharTok::Star } else { CharTok::Lit(c) }).collect();
        complexity(&toks).unwrap()
    }

    #[test]
    fn scores() {
        assert_eq!(score("*:*:*:*:*:event-bus/*"), 11);
        assert_eq!(score("/Users/*/dir/dir/dir/dir/dir/doc.txt"), 8);
        assert!(parse("*:*:*:*:*:event-bus/*").is_err());
        assert!(parse("/Users/*/dir/dir/dir/dir/dir/doc.txt").is_ok());
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse("arn:aws:events:us-east-1:**:event-bus/*").unwrap_err().reason,
            "Consecutive wildcard characters at pos 26"
        );
        assert_eq!(parse("a\\b").unwrap_err().reason, "Invalid escape character at pos 1");
        assert_eq!(parse("a\\").unwrap_err().reason, "Invalid escape character at pos 1");
        assert_eq!(parse("a\\*").unwrap(), Wildcard::Exact("a*".into()));
        assert!(matches!(parse("\\**").unwrap(), Wildcard::Tokens(_)));
    }

    fn matches(p: &str, v: &str) -> bool {
        let Wildcard::Tokens(t) = parse(p).unwrap() else {
            return false;
        };
        let mut set = WildcardSet::default();
        set.push(&t);
        let mut hit = false;
        set.find(v.as_bytes(), |_| hit = true);
        hit
    }

    #[test]
    fn matching() {
        assert!(matches("*", ""));
        assert!(matches("h*llo", "hllo"));
        assert!(matches("h*llo", "hello"));
        assert!(!matches("h*llo", "hellox"));
        assert!(matches("*/dir/*", "/a/dir/b"));
        assert!(matches("2*0*1*7", "2607117"));
        assert!(matches("a*", "añ"));
    }

    #[test]
    fn one_pattern_glob_equals_nfa() {
        let patterns = ["*", "a*", "*a", "a*b", "*a*b*", "ab*ba", "a*a*a", "*aa*", "a**"];
        let values = ["", "a", "b", "ab", "ba", "aab", "abba", "abab", "aaa", "baab", "abbba"];
        for p in patterns {
            let Ok(Wildcard::Tokens(t)) = parse(p) else { continue };
            // More than GLOB_EACH patterns force the NFA; the others never match.
            let mut nfa = WildcardSet::default();
            nfa.push(&t);
            for _ in 0..GLOB_EACH {
                nfa.push(&[Some(b'#')]);
            }
            for v in values {
                let mut want = false;
                nfa.find(v.as_bytes(), |i| want |= i == 0);
                assert_eq!(glob(&t, v.as_bytes()), want, "{} on {}", p, v);
            }
        }
    }

    #[test]
    fn combined() {
        let mut set = WildcardSet::default();
        for p in ["143*", "2*0*1*7", "*218", "3*5*2", "VA*IL"] {
            let Wildcard::Tokens(t) = parse(p).unwrap() else { panic!() };
            set.push(&t);
        }
        let mut hits = vec![];
        set.find(b"2607218", |i| hits.push(i));
        assert_eq!(hits, vec![2]);
        hits.clear();
        set.find(b"VACSTWIL", |i| hits.push(i));
        assert_eq!(hits, vec![4]);
    }

    /// A set within GLOB_EACH (a glob per pattern) and the same patterns
    /// past it (the NFA) report the same patterns for every value.
    #[test]
    fn glob_each_equals_nfa() {
        let patterns = ["*", "a*", "*a", "a*b", "*a*b*", "ab*ba", "a*a*a", "*aa*", "b*", "*b*a"];
        let values = ["", "a", "b", "ab", "ba", "aab", "abba", "abab", "aaa", "baab", "abbba"];
        let mut few = WildcardSet::default();
        let mut many = WildcardSet::default();
        for p in patterns {
            let Ok(Wildcard::Tokens(t)) = parse(p) else { panic!("{p}") };
            few.push(&t);
            many.push(&t);
        }
        while many.patterns <= GLOB_EACH {
            many.push(&[Some(b'#')]);
        }
        for v in values {
            let (mut a, mut b) = (vec![], vec![]);
            few.find(v.as_bytes(), |i| a.push(i));
            many.find(v.as_bytes(), |i| b.push(i));
            b.sort_unstable();
            assert_eq!(a, b, "{v}");
        }
    }
}
