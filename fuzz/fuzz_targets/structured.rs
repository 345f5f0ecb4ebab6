//! Fuzz target `structured`: a small random pattern and event from a tiny
//! vocabulary, built with `arbitrary`, and `fastbridge::matches` compared
//! with an obviously-correct checker for that subset (written from
//! `shared/SEMANTICS.md`).
//!
//! The subset: field paths `a`, `b`, `c`, `o.a`, `o.b`, `o.p.a`, `p.a`
//! (written nested, dotted, or mixed); values exact strings, numbers (by
//! float64 value), `true`/`false`/`null`, `prefix`, `suffix`,
//! `equals-ignore-case` (ASCII), `wildcard` (no escapes), `numeric` ranges,
//! `exists` true/false, `anything-but` (string list, number list, prefix);
//! one top-level `$or` whose branches replace same-path outer fields. Events:
//! objects up to three levels, keys from the same names (also dotted), leaf
//! values or arrays of leaves (nested arrays too), never arrays of objects,
//! no duplicate keys; strings and keys may be written with `\u` escapes and
//! the text may have extra whitespace.
//!
//! `FUZZ_PRINT=1` prints every generated case. With `FUZZ_AVOID_KNOWN_BUGS=1`
//! in the environment, dotted event keys are written before the other keys of
//! their object (see fuzz/README.md, bug 1: this steps around that bug, so
//! that a long run can look for others).

#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::OnceLock;

const STRS: &[&str] = &["x", "y", "xy", "yx", "X", "Xy", ""];
/// Event number texts used as they are (others are respellings of pattern numbers).
const EVENT_NUMS: &[&str] = &[
    "0", "-0", "1", "1.0", "1e0", "10e-1", "-2", "1.5", "15e-1", "2", "5", "0.5e1", "0e10", "-0.000",
    "1e400", "-1e400", "1e-400", "9007199254740993", "0.30000000000000001", "3e-1",
    "1.0000000000000000000001", "5e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
    "1.7976931348623157e308", "1.7976931348623159e308", "12345678901234567890123456789",
];
/// Pattern numbers: at most 17 significant digits, no integer beyond 2^53
/// (those are text literals, outside this checker).
const PATTERN_NUMS: &[&str] = &[
    "0", "1", "-2", "1.5", "2", "5", "0.1", "0.3", "0.30000000000000004", "1e300", "-1e300",
    "1e-300", "9007199254740992", "123456.789", "4.9e-324", "-0.5",
];
const WILDCARDS: &[&str] = &["*", "x*", "*y", "x*y", "*x*", "X*", "y*x"];
const PATHS: &[&str] = &["a", "b", "c", "o.a", "o.b", "o.p.a", "p.a"];
const EVENT_KEYS: &[&str] = &["a", "b", "c", "o", "p", "o.a", "p.a", "o.p"];

fn num(t: &str) -> f64 {
    t.parse().expect("vocabulary numbers parse")
}

/// The float64 of an event number (SEMANTICS.md): none when parsing overflows
/// or a non-zero text rounds to zero.
fn event_num(t: &str) -> Option<f64> {
    let v: f64 = t.parse().ok()?;
    let mantissa = t.split(['e', 'E']).next().unwrap_or("");
    let nonzero = mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
    (v.is_finite() && !(v == 0.0 && nonzero)).then_some(v)
}

/// Another spelling of a pattern number: digits moved around the point,
/// trailing zeros, an exponent, and perhaps digits far past the 17th.
fn respell(u: &mut Unstructured, t: &str) -> Result<String> {
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t),
    };
    let (mant, exp) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().expect("vocabulary exponent")),
        None => (body, 0),
    };
    let (ip, fp) = mant.split_once('.').unwrap_or((mant, ""));
    let mut digits: String = format!("{ip}{fp}").trim_start_matches('0').to_string();
    let mut exp = exp - fp.len() as i64;
    if digits.is_empty() {
        digits.push('0');
    }
    if digits != "0" {
        for _ in 0..u.int_in_range(0..=3)? {
            digits.push('0');
            exp -= 1;
        }
        if u.ratio(1, 4)? {
            // A tiny change: far past float64 precision, or in the 17th-20th digit.
            let tail = *u.choose(&["0000000000000000001", "9999999999999999999", "1", "9", "5", "49999"])?;
            let width = u.int_in_range(15..=17)?;
            while digits.len() < width {
                digits.push('0');
                exp -= 1;
            }
            digits.push_str(tail);
            exp -= tail.len() as i64;
        }
    }
    // The value is digits x 10^exp; put the point after `split` digits.
    let split = u.int_in_range(1..=digits.len())?;
    let (int, frac) = digits.split_at(split);
    let e = exp + frac.len() as i64;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(int);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    if e != 0 || u.ratio(1, 4)? {
        out.push(*u.choose(&['e', 'E'])?);
        if e >= 0 && u.arbitrary()? {
            out.push('+');
        }
        let _ = write!(out, "{e}");
    }
    Ok(out)
}

// ---------------------------------------------------------------- JSON text

/// A JSON value to write; numbers keep their text.
#[derive(Debug, Clone)]
enum J {
    Obj(Vec<(String, J)>),
    Arr(Vec<J>),
    Str(String),
    Num(String),
    Bool(bool),
    Null,
}

struct Style<'a, 'b> {
    u: Option<&'a mut Unstructured<'b>>,
}

impl Style<'_, '_> {
    fn bit(&mut self) -> bool {
        match self.u.as_mut() {
            // One in five; an exhausted input reads 0, so: no.
            Some(u) => u.arbitrary::<u8>().is_ok_and(|b| b > 204),
            None => false,
        }
    }
    fn ws(&mut self, out: &mut String) {
        if self.bit() {
            out.push_str(if self.bit() { "\n\t " } else { " " });
        }
    }
    fn string(&mut self, s: &str, out: &mut String) {
        out.push('"');
        if self.bit() {
            for c in s.chars() {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        } else {
            out.push_str(s); // the vocabulary needs no escaping
        }
        out.push('"');
    }
    fn write(&mut self, j: &J, out: &mut String) {
        self.ws(out);
        match j {
            J::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.ws(out);
                    self.string(k, out);
                    self.ws(out);
                    out.push(':');
                    self.write(v, out);
                }
                self.ws(out);
                out.push('}');
            }
            J::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.write(v, out);
                }
                self.ws(out);
                out.push(']');
            }
            J::Str(s) => self.string(s, out),
            J::Num(t) => out.push_str(t),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Null => out.push_str("null"),
        }
        self.ws(out);
    }
}

/// Puts `value` at `keys` in an object, merging with objects already there.
fn insert(members: &mut Vec<(String, J)>, keys: &[String], value: J) {
    if keys.len() == 1 {
        members.push((keys[0].clone(), value));
        return;
    }
    for (k, v) in members.iter_mut() {
        if *k == keys[0] {
            if let J::Obj(inner) = v {
                insert(inner, &keys[1..], value);
                return;
            }
        }
    }
    let mut inner = Vec::new();
    insert(&mut inner, &keys[1..], value);
    members.push((keys[0].clone(), J::Obj(inner)));
}

// ---------------------------------------------------------------- events

#[derive(Debug, Clone, PartialEq)]
enum Leaf {
    Str(&'static str),
    Num(String),
    True,
    False,
    Null,
}

fn gen_leaf(u: &mut Unstructured) -> Result<Leaf> {
    Ok(match u.int_in_range(0..=9)? {
        0..=3 => Leaf::Str(*u.choose(STRS)?),
        4 => Leaf::Num(u.choose(EVENT_NUMS)?.to_string()),
        5 | 6 => {
            let t = *u.choose(PATTERN_NUMS)?;
            Leaf::Num(respell(u, t)?)
        }
        7 => Leaf::True,
        8 => Leaf::False,
        _ => Leaf::Null,
    })
}

fn leaf_json(l: &Leaf) -> J {
    match l {
        Leaf::Str(s) => J::Str(s.to_string()),
        Leaf::Num(t) => J::Num(t.to_string()),
        Leaf::True => J::Bool(true),
        Leaf::False => J::Bool(false),
        Leaf::Null => J::Null,
    }
}

/// An event value at `path`; its leaves are recorded in `leaves`.
fn gen_value(
    u: &mut Unstructured,
    level: usize,
    path: &str,
    leaves: &mut BTreeMap<String, Vec<Leaf>>,
) -> Result<J> {
    let kind = u.int_in_range(0..=5)?;
    Ok(match kind {
        3 | 4 => {
            // An array of leaves, possibly with nested arrays (flattened).
            let mut items = Vec::new();
            for _ in 0..u.int_in_range(0..=3)? {
                if u.ratio(1, 4)? {
                    let mut inner = Vec::new();
                    for _ in 0..u.int_in_range(0..=2)? {
                        let l = gen_leaf(u)?;
                        inner.push(leaf_json(&l));
                        leaves.entry(path.to_string()).or_default().push(l);
                    }
                    items.push(J::Arr(inner));
                } else {
                    let l = gen_leaf(u)?;
                    items.push(leaf_json(&l));
                    leaves.entry(path.to_string()).or_default().push(l);
                }
            }
            J::Arr(items)
        }
        5 if level < 3 => gen_object(u, level + 1, path, leaves)?,
        _ => {
            let l = gen_leaf(u)?;
            let j = leaf_json(&l);
            leaves.entry(path.to_string()).or_default().push(l);
            j
        }
    })
}

/// `FUZZ_PRINT=1`: print every generated case (to see what the generator makes).
fn print_cases() -> bool {
    static FLAG: OnceLock<bool> = OnceLock::new();
    *FLAG.get_or_init(|| std::env::var("FUZZ_PRINT").is_ok_and(|v| v == "1"))
}

fn avoid_known_bugs() -> bool {
    static FLAG: OnceLock<bool> = OnceLock::new();
    *FLAG.get_or_init(|| std::env::var("FUZZ_AVOID_KNOWN_BUGS").is_ok_and(|v| v == "1"))
}

fn gen_object(
    u: &mut Unstructured,
    level: usize,
    prefix: &str,
    leaves: &mut BTreeMap<String, Vec<Leaf>>,
) -> Result<J> {
    let mut members: Vec<(String, J)> = Vec::new();
    for _ in 0..u.int_in_range(0..=4)? {
        let key: &str = u.choose(EVENT_KEYS)?;
        if members.iter().any(|(k, _)| k == key) {
            continue; // no duplicate keys
        }
        let path = if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
        let value = gen_value(u, level, &path, leaves)?;
        members.push((key.to_string(), value));
    }
    if avoid_known_bugs() {
        members.sort_by_key(|(k, _)| !k.contains('.'));
    }
    Ok(J::Obj(members))
}

// ---------------------------------------------------------------- patterns

#[derive(Debug, Clone)]
enum Pred {
    Str(&'static str),
    Num(&'static str),
    True,
    False,
    Null,
    Prefix(&'static str),
    Suffix(&'static str),
    IgnoreCase(&'static str),
    Wildcard(&'static str),
    /// `numeric`: `(number, inclusive)` bounds; both `None` means `=`.
    Range(Option<(&'static str, bool)>, Option<(&'static str, bool)>, Option<&'static str>),
    Exists(bool),
    ButStrs(Vec<&'static str>),
    ButNums(Vec<&'static str>),
    ButPrefix(&'static str),
}

fn gen_pred(u: &mut Unstructured) -> Result<Pred> {
    Ok(match u.int_in_range(0..=14)? {
        0 => Pred::Str(*u.choose(STRS)?),
        1 => Pred::Num(*u.choose(PATTERN_NUMS)?),
        2 => [Pred::True, Pred::False, Pred::Null][u.int_in_range(0..=2)?].clone(),
        3 => Pred::Prefix(*u.choose(STRS)?),
        4 => Pred::Suffix(*u.choose(STRS)?),
        5 => Pred::IgnoreCase(*u.choose(STRS)?),
        6 => Pred::Wildcard(*u.choose(WILDCARDS)?),
        7 | 8 => {
            let lo = if u.arbitrary()? { Some((*u.choose(PATTERN_NUMS)?, u.arbitrary()?)) } else { None };
            let mut hi = if u.arbitrary()? { Some((*u.choose(PATTERN_NUMS)?, u.arbitrary()?)) } else { None };
            if let (Some(l), Some(h)) = (lo, hi) {
                if num(l.0) >= num(h.0) {
                    hi = None;
                }
            }
            if lo.is_none() && hi.is_none() {
                Pred::Range(None, None, Some(*u.choose(PATTERN_NUMS)?))
            } else {
                Pred::Range(lo, hi, None)
            }
        }
        9 | 10 => Pred::Exists(u.arbitrary()?),
        11 => Pred::ButStrs((0..u.int_in_range(1..=3)?).map(|_| u.choose(STRS).copied()).collect::<Result<_>>()?),
        12 => Pred::ButNums((0..u.int_in_range(1..=3)?).map(|_| u.choose(PATTERN_NUMS).copied()).collect::<Result<_>>()?),
        13 => Pred::ButPrefix(*u.choose(&STRS[..STRS.len() - 1])?), // not ""
        _ => Pred::Str(*u.choose(STRS)?),
    })
}

fn pred_json(p: &Pred) -> J {
    let op = |name: &str, v: J| J::Obj(vec![(name.to_string(), v)]);
    let s = |x: &str| J::Str(x.to_string());
    match p {
        Pred::Str(x) => s(x),
        Pred::Num(t) => J::Num(t.to_string()),
        Pred::True => J::Bool(true),
        Pred::False => J::Bool(false),
        Pred::Null => J::Null,
        Pred::Prefix(x) => op("prefix", s(x)),
        Pred::Suffix(x) => op("suffix", s(x)),
        Pred::IgnoreCase(x) => op("equals-ignore-case", s(x)),
        Pred::Wildcard(x) => op("wildcard", s(x)),
        Pred::Range(lo, hi, eq) => {
            let mut items = Vec::new();
            if let Some(t) = eq {
                items.extend([s("="), J::Num(t.to_string())]);
            }
            if let Some((t, incl)) = lo {
                items.extend([s(if *incl { ">=" } else { ">" }), J::Num(t.to_string())]);
            }
            if let Some((t, incl)) = hi {
                items.extend([s(if *incl { "<=" } else { "<" }), J::Num(t.to_string())]);
            }
            op("numeric", J::Arr(items))
        }
        Pred::Exists(b) => op("exists", J::Bool(*b)),
        Pred::ButStrs(xs) if xs.len() == 1 => op("anything-but", s(xs[0])),
        Pred::ButStrs(xs) => op("anything-but", J::Arr(xs.iter().map(|x| s(x)).collect())),
        Pred::ButNums(xs) if xs.len() == 1 => op("anything-but", J::Num(xs[0].to_string())),
        Pred::ButNums(xs) => op("anything-but", J::Arr(xs.iter().map(|t| J::Num(t.to_string())).collect())),
        Pred::ButPrefix(x) => op("anything-but", op("prefix", s(x))),
    }
}

/// Glob match: `*` is any run of characters (no escapes in the vocabulary).
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

/// Does one leaf satisfy one predicate (`exists: false` is handled per field)?
fn holds(p: &Pred, l: &Leaf) -> bool {
    match (p, l) {
        (Pred::Str(x), Leaf::Str(s)) => x == s,
        (Pred::Num(t), Leaf::Num(e)) => event_num(e) == Some(num(t)),
        (Pred::True, Leaf::True) | (Pred::False, Leaf::False) | (Pred::Null, Leaf::Null) => true,
        (Pred::Prefix(x), Leaf::Str(s)) => s.starts_with(x),
        (Pred::Suffix(x), Leaf::Str(s)) => s.ends_with(x),
        (Pred::IgnoreCase(x), Leaf::Str(s)) => x.eq_ignore_ascii_case(s),
        (Pred::Wildcard(x), Leaf::Str(s)) => glob(x.as_bytes(), s.as_bytes()),
        (Pred::Range(lo, hi, eq), Leaf::Num(e)) => {
            let Some(v) = event_num(e) else { return false };
            eq.is_none_or(|t| v == num(t))
                && lo.is_none_or(|(t, incl)| if incl { v >= num(t) } else { v > num(t) })
                && hi.is_none_or(|(t, incl)| if incl { v <= num(t) } else { v < num(t) })
        }
        (Pred::Exists(true), _) => true,
        (Pred::ButStrs(xs), l) => !matches!(l, Leaf::Str(s) if xs.contains(s)),
        (Pred::ButNums(xs), l) => {
            !matches!(l, Leaf::Num(e) if event_num(e).is_some_and(|v| xs.iter().any(|t| num(t) == v)))
        }
        (Pred::ButPrefix(x), l) => !matches!(l, Leaf::Str(s) if s.starts_with(x)),
        _ => false,
    }
}

type Conj = BTreeMap<&'static str, Vec<Pred>>;

fn field_holds(preds: &[Pred], leaves: &[Leaf]) -> bool {
    leaves.iter().any(|l| preds.iter().any(|p| holds(p, l)))
        || (leaves.is_empty() && preds.iter().any(|p| matches!(p, Pred::Exists(false))))
}

fn conj_holds(c: &Conj, leaves: &BTreeMap<String, Vec<Leaf>>) -> bool {
    c.iter().all(|(path, preds)| field_holds(preds, leaves.get(*path).map_or(&[], Vec::as_slice)))
}

fn gen_conj(u: &mut Unstructured, min: usize) -> Result<Conj> {
    let mut c = Conj::new();
    let n = u.int_in_range(min..=3)?;
    while c.len() < n {
        let path = *u.choose(PATHS)?;
        let mut preds = vec![gen_pred(u)?];
        for _ in 0..u.int_in_range(0..=2)? {
            preds.push(gen_pred(u)?);
        }
        c.insert(path, preds);
        if u.is_empty() {
            break;
        }
    }
    Ok(c)
}

/// Writes a conjunction's fields into an object, each path nested, dotted or mixed.
fn conj_json(u: &mut Unstructured, c: &Conj, members: &mut Vec<(String, J)>) -> Result<()> {
    for (path, preds) in c {
        let mut keys: Vec<String> = Vec::new();
        for (i, seg) in path.split('.').enumerate() {
            if i > 0 && u.arbitrary::<bool>()? {
                let last = keys.last_mut().expect("not the first segment");
                last.push('.');
                last.push_str(seg);
            } else {
                keys.push(seg.to_string());
            }
        }
        insert(members, &keys, J::Arr(preds.iter().map(pred_json).collect()));
    }
    Ok(())
}

/// The first half of the input makes the pattern, the second the event.
fn run(data: &[u8]) -> Result<()> {
    let (first, second) = data.split_at(data.len() / 2);
    let u = &mut Unstructured::new(first);
    let use_or = u.ratio(1, 3)?;
    let outer = gen_conj(u, if use_or { 0 } else { 1 })?;
    let mut branches = Vec::new();
    if use_or {
        for _ in 0..u.int_in_range(2..=3)? {
            branches.push(gen_conj(u, 1)?);
        }
    }
    let mut pattern_members = Vec::new();
    let or_first = u.arbitrary::<bool>()?;
    let or_json = |u: &mut Unstructured, members: &mut Vec<(String, J)>| -> Result<()> {
        if !branches.is_empty() {
            let mut bs = Vec::new();
            for b in &branches {
                let mut m = Vec::new();
                conj_json(u, b, &mut m)?;
                bs.push(J::Obj(m));
            }
            members.push(("$or".to_string(), J::Arr(bs)));
        }
        Ok(())
    };
    if or_first {
        or_json(u, &mut pattern_members)?;
    }
    conj_json(u, &outer, &mut pattern_members)?;
    if !or_first {
        or_json(u, &mut pattern_members)?;
    }

    let u = &mut Unstructured::new(second);
    let mut leaves = BTreeMap::new();
    let event = gen_object(u, 1, "", &mut leaves)?;

    let expected = if branches.is_empty() {
        conj_holds(&outer, &leaves)
    } else {
        branches.iter().any(|b| {
            let mut c = outer.clone();
            c.extend(b.iter().map(|(k, v)| (*k, v.clone())));
            conj_holds(&c, &leaves)
        })
    };

    let mut pattern_text = String::new();
    Style { u: None }.write(&J::Obj(pattern_members), &mut pattern_text);
    let mut event_text = String::new();
    Style { u: Some(u) }.write(&event, &mut event_text);

    if print_cases() {
        eprintln!("pattern: {pattern_text}\nevent:   {event_text}\nexpected: {expected}\n");
    }
    match fastbridge::matches(&pattern_text, event_text.as_bytes()) {
        Ok(got) => assert_eq!(
            got, expected,
            "\npattern: {pattern_text}\nevent:   {event_text}\nfastbridge says {got}, the checker says {expected}\nleaves: {leaves:?}"
        ),
        Err(e) => panic!("\npattern: {pattern_text}\nevent:   {event_text}\nerror: {e}"),
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});
