//! Patterns: parsing EventBridge's pattern language, checking it with
//! EventBridge's error texts, and expanding it into sub-patterns.
//!
//! A pattern is the OR of its *sub-patterns*. A sub-pattern is an AND of
//! field constraints: for each field path, a list of value predicates (OR-ed),
//! plus a list of paths that must be absent. `$or` branches and
//! `exists: false` alternatives are multiplied out here, so the automaton only
//! ever sees plain conjunctions.

use crate::casefold::fold;
use crate::error::PatternError;
use crate::ip::{self, IpKey, IpRange};
use crate::json::{self, Json};
use crate::number::{self, LiteralNumber};
use crate::wildcard::{self, Wildcard};
use std::collections::BTreeMap;

/// A test on one leaf value of an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// The string equals this text.
    Exact(Box<str>),
    /// The string is an IP address equal to this one (from a literal that is an address).
    /// Boxed, as are `Cidr`'s bounds: their `u128`s would make every predicate 64 bytes.
    IpEquals(Box<IpKey>),
    /// The number has this float64 value.
    NumEquals(f64),
    /// The number is written exactly like this (integer literals beyond 2^53).
    NumText(Box<str>),
    True,
    False,
    Null,
    Prefix(Box<str>),
    Suffix(Box<str>),
    /// Folded prefix / suffix / equality (`equals-ignore-case`); the text is folded already.
    PrefixFold(Box<str>),
    SuffixFold(Box<str>),
    EqualsFold(Box<str>),
    /// A wildcard with at least one star; byte tokens, `None` a star.
    Wildcard(Vec<Option<u8>>),
    /// A numeric range with optional bounds; `(value, inclusive)`.
    Range {
        low: Option<(f64, bool)>,
        high: Option<(f64, bool)>,
    },
    Cidr(Box<IpRange>),
    /// Any leaf value at all.
    Exists,
    /// Any leaf value that none of these predicates matches.
    AnythingBut(Vec<Predicate>),
}

/// One conjunction: every field must be satisfied, every absent path absent.
#[derive(Debug, Clone, PartialEq)]
pub struct SubPattern {
    /// Field path (keys joined with `.`) and its OR-ed predicates, sorted by path.
    pub fields: Vec<(String, Vec<Predicate>)>,
    /// Paths that must have no leaf value (compatible with the chosen leaves).
    pub absent: Vec<String>,
}

/// A checked pattern, expanded into sub-patterns.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub subpatterns: Vec<SubPattern>,
}

/// Limits applied while compiling a pattern.
#[derive(Debug, Clone, Copy)]
pub struct PatternLimits {
    pub max_fields: usize,
    pub max_subpatterns: usize,
}

impl Default for PatternLimits {
    fn default() -> Self {
        PatternLimits { max_fields: 256, max_subpatterns: 1024 }
    }
}

/// One alternative of a match list: a predicate, or "the field is absent".
#[derive(Debug, Clone, PartialEq)]
enum Alt {
    Pred(Predicate),
    Absent,
}

/// A field of a conjunction: how many `$or` branches it sits in, and its
/// alternatives. Where two spellings give the same path, the one deeper in
/// `$or` branches wins ("a field inside a branch replaces the same outer
/// field"), and between equals the later one.
type Field = (u32, Vec<Alt>);

/// A conjunction before `exists: false` is split off: path -> field.
type Conj = BTreeMap<String, Field>;

const OPERATORS: &[&str] = &[
    "prefix",
    "suffix",
    "equals-ignore-case",
    "wildcard",
    "anything-but",
    "numeric",
    "exists",
    "cidr",
    "exactly",
];

fn err<T>(reason: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError::new(reason))
}

/// Parses JSON text into a value that keeps key order and number text.
pub fn parse_json(text: &str) -> Result<Json, PatternError> {
    json::parse(text).map_err(PatternError::new)
}

/// Parses, checks and expands a pattern given as JSON text.
pub fn compile(text: &str, limits: PatternLimits) -> Result<Pattern, PatternError> {
    compile_value(&parse_json(text)?, limits)
}

/// Checks and expands a pattern given as a parsed JSON value.
pub fn compile_value(value: &Json, limits: PatternLimits) -> Result<Pattern, PatternError> {
    let Json::Object(obj) = value else {
        return err("Filter is not an object");
    };
    let mut parser = Parser { limits };
    let conjs = parser.object(obj, "", 0)?;
    let mut subpatterns = Vec::new();
    for conj in conjs {
        parser.split_absent(conj, &mut subpatterns)?;
    }
    Ok(Pattern { subpatterns })
}

struct Parser {
    limits: PatternLimits,
}

/// Adds `field` at `path` unless a field from deeper inside `$or` branches is there.
fn merge(c: &mut Conj, path: &str, field: Field) {
    match c.get(path) {
        Some(old) if old.0 > field.0 => {}
        _ => {
            c.insert(path.to_string(), field);
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{}.{}", prefix, key)
    }
}

impl Parser {
    fn too_many(&self, n: usize) -> Result<(), PatternError> {
        if n > self.limits.max_subpatterns {
            return err(format!(
                "Pattern expands into more than {} sub-patterns",
                self.limits.max_subpatterns
            ));
        }
        Ok(())
    }

    /// Cross product of the conjunctions so far with one group of alternatives.
    fn multiply(&self, acc: Vec<Conj>, group: Vec<Conj>) -> Result<Vec<Conj>, PatternError> {
        self.too_many(acc.len().saturating_mul(group.len()))?;
        let mut out = Vec::with_capacity(acc.len() * group.len());
        for a in &acc {
            for g in &group {
                let mut c = a.clone();
                for (k, v) in g {
                    merge(&mut c, k, v.clone());
                }
                out.push(c);
            }
        }
        Ok(out)
    }

    /// An object of the pattern at `prefix`, inside `or_depth` `$or` branches.
    fn object(
        &mut self,
        obj: &[(String, Json)],
        prefix: &str,
        or_depth: u32,
    ) -> Result<Vec<Conj>, PatternError> {
        if obj.is_empty() {
            return err("Empty objects are not allowed");
        }
        let mut plain = Conj::new();
        let mut nested: Vec<Vec<Conj>> = Vec::new();
        let mut or_group: Option<Vec<Conj>> = None;
        for (key, value) in obj {
            if key == "$or" {
                or_group = Some(self.or(value, prefix, or_depth + 1)?);
                continue;
            }
            if or_depth > 0 && OPERATORS.contains(&key.as_str()) {
                return err(format!(
                    "{} is Ruler reserved fieldName which cannot be used inside $or.",
                    key
                ));
            }
            let path = join(prefix, key);
            match value {
                Json::Object(inner) => nested.push(self.object(inner, &path, or_depth)?),
                Json::Array(items) => {
                    let field = (or_depth, self.match_list(items)?);
                    merge(&mut plain, &path, field);
                }
                _ => return err(format!("\"{}\" must be an object or an array", key)),
            }
        }
        let mut acc = vec![plain];
        for group in nested {
            acc = self.multiply(acc, group)?;
        }
        if let Some(group) = or_group {
            acc = self.multiply(acc, group)?;
        }
        Ok(acc)
    }

    fn or(&mut self, value: &Json, prefix: &str, depth: u32) -> Result<Vec<Conj>, PatternError> {
        let Json::Array(branches) = value else {
            return err("It must be an Array followed with $or.");
        };
        let mut alts = Vec::new();
        for b in branches {
            let Json::Object(obj) = b else {
                return err("Only JSON object is allowed in array of $or relationship.");
            };
            alts.extend(self.object(obj, prefix, depth)?);
            self.too_many(alts.len())?;
        }
        if branches.len() < 2 {
            return err("There must have at least 2 Objects in $or relationship.");
        }
        Ok(alts)
    }

    fn match_list(&mut self, items: &[Json]) -> Result<Vec<Alt>, PatternError> {
        if items.is_empty() {
            return err("Empty arrays are not allowed");
        }
        let mut alts = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Json::String(s) => {
                    alts.push(Alt::Pred(Predicate::Exact(s.as_str().into())));
                    if let Some(key) = ip::parse(s) {
                        alts.push(Alt::Pred(Predicate::IpEquals(Box::new(key))));
                    }
                }
                Json::Number(n) => alts.push(Alt::Pred(match number::literal(n)? {
                    LiteralNumber::Float(v) => Predicate::NumEquals(v),
                    LiteralNumber::Text(t) => Predicate::NumText(t),
                })),
                Json::Bool(true) => alts.push(Alt::Pred(Predicate::True)),
                Json::Bool(false) => alts.push(Alt::Pred(Predicate::False)),
                Json::Null => alts.push(Alt::Pred(Predicate::Null)),
                Json::Array(_) => {
                    return err("Match value must be String, number, true, false, or null")
                }
                Json::Object(op) => {
                    let alt = self.operator(op)?;
                    // `exactly` is the explicit spelling of a literal, IP addresses included.
                    if let (Some((name, _)), Alt::Pred(Predicate::Exact(s))) = (op.first(), &alt) {
                        if let Some(key) = ip::parse(s).filter(|_| name == "exactly") {
                            alts.push(Alt::Pred(Predicate::IpEquals(Box::new(key))));
                        }
                    }
                    alts.push(alt);
                }
            }
        }
        Ok(alts)
    }

    fn operator(&mut self, op: &[(String, Json)]) -> Result<Alt, PatternError> {
        let mut entries = op.iter();
        let (name, value) = match (entries.next(), entries.next()) {
            (None, _) => return err("Empty objects are not allowed"),
            (Some(e), None) => e,
            (Some(_), Some(_)) => return err("Only one key allowed in match expression"),
        };
        let pred = match name.as_str() {
            "exactly" => match value {
                Json::String(s) => Predicate::Exact(s.as_str().into()),
                _ => return err("exactly match pattern must be a string"),
            },
            "prefix" => match affix(value, "prefix")? {
                (s, false) => Predicate::Prefix(s.into()),
                (s, true) => Predicate::PrefixFold(fold(&s).into()),
            },
            "suffix" => match affix(value, "suffix")? {
                (s, false) => Predicate::Suffix(s.into()),
                (s, true) => Predicate::SuffixFold(fold(&s).into()),
            },
            "equals-ignore-case" => match value {
                Json::String(s) => Predicate::EqualsFold(fold(s).into()),
                _ => return err("equals-ignore-case match pattern must be a string"),
            },
            "wildcard" => match value {
                Json::String(s) => wildcard_predicate(s)?,
                _ => return err("wildcard match pattern must be a string"),
            },
            "numeric" => numeric(value)?,
            "exists" => match value {
                Json::Bool(true) => Predicate::Exists,
                Json::Bool(false) => return Ok(Alt::Absent),
                _ => return err("exists match pattern must be either true or false."),
            },
            "cidr" => match value {
                Json::String(s) => Predicate::Cidr(Box::new(ip::parse_cidr(s)?)),
                _ => return err("prefix match pattern must be a string"),
            },
            "anything-but" => Predicate::AnythingBut(anything_but(value)?),
            other => return err(format!("Unrecognized match type {}", other)),
        };
        Ok(Alt::Pred(pred))
    }

    /// Splits `exists: false` alternatives off into their own sub-patterns.
    fn split_absent(&self, conj: Conj, out: &mut Vec<SubPattern>) -> Result<(), PatternError> {
        let fields = conj.len();
        if fields > self.limits.max_fields {
            return err(format!(
                "Too many fields in pattern: {} (limit {})",
                fields, self.limits.max_fields
            ));
        }
        let mut partial = vec![SubPattern { fields: Vec::new(), absent: Vec::new() }];
        for (path, (_, alts)) in conj {
            let preds: Vec<Predicate> = alts
                .iter()
                .filter_map(|a| match a {
                    Alt::Pred(p) => Some(p.clone()),
                    Alt::Absent => None,
                })
                .collect();
            let absent = alts.contains(&Alt::Absent);
            match (preds.is_empty(), absent) {
                (false, false) => {
                    partial.iter_mut().for_each(|s| s.fields.push((path.clone(), preds.clone())))
                }
                (true, _) => partial.iter_mut().for_each(|s| s.absent.push(path.clone())),
                (false, true) => {
                    self.too_many(out.len() + partial.len() * 2)?;
                    let mut with_absent = partial.clone();
                    with_absent.iter_mut().for_each(|s| s.absent.push(path.clone()));
                    partial.iter_mut().for_each(|s| s.fields.push((path.clone(), preds.clone())));
                    partial.extend(with_absent);
                }
            }
        }
        out.extend(partial);
        self.too_many(out.len())
    }
}

/// The argument of `prefix` / `suffix`: a string, or `{"equals-ignore-case": string}`.
fn affix(value: &Json, name: &str) -> Result<(String, bool), PatternError> {
    match value {
        Json::String(s) => Ok((s.clone(), false)),
        Json::Object(m) if m.len() == 1 && m[0].0 == "equals-ignore-case" => match &m[0].1 {
            Json::String(s) => Ok((s.clone(), true)),
            _ => err("equals-ignore-case match pattern must be a string"),
        },
        _ => err(format!("{} match pattern must be a string", name)),
    }
}

fn wildcard_predicate(s: &str) -> Result<Predicate, PatternError> {
    Ok(match wildcard::parse(s)? {
        Wildcard::Exact(text) => Predicate::Exact(text.into()),
        Wildcard::Tokens(t) => Predicate::Wildcard(t),
    })
}

fn operand_name(op: &str) -> &str {
    if op == "=" {
        "equals"
    } else {
        op
    }
}

fn json_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn numeric(value: &Json) -> Result<Predicate, PatternError> {
    let Json::Array(items) = value else {
        return err("Value of numeric must be an array.");
    };
    if items.is_empty() {
        return err("Empty arrays are not allowed");
    }
    let op_at = |i: usize| -> Option<&str> {
        match items.get(i) {
            Some(Json::String(s)) => Some(s.as_str()),
            _ => None,
        }
    };
    let number_after = |i: usize, op: &str| -> Result<f64, PatternError> {
        match items.get(i) {
            Some(Json::Number(n)) => number::operand(n),
            _ => err(format!("Value of {} must be numeric", operand_name(op))),
        }
    };
    let first = match op_at(0) {
        Some(op @ ("=" | "<" | "<=" | ">" | ">=")) => op,
        _ => return err(format!("Unrecognized numeric range operator: {}", json_text(&items[0]))),
    };
    let v = number_after(1, first)?;
    match first {
        "=" => {
            if items.len() > 2 {
                return err("Too many elements in numeric expression");
            }
            Ok(Predicate::NumEquals(v))
        }
        "<" | "<=" => {
            if items.len() > 2 {
                return err("Too many terms in numeric range expression");
            }
            Ok(Predicate::Range { low: None, high: Some((v, first == "<=")) })
        }
        _ => {
            let low = Some((v, first == ">="));
            if items.len() == 2 {
                return Ok(Predicate::Range { low, high: None });
            }
            let second = match op_at(2) {
                Some(op @ ("<" | "<=")) => op,
                _ => return err(format!("Bad numeric range operator: {}", json_text(&items[2]))),
            };
            let top = number_after(3, second)?;
            if items.len() > 4 {
                return err("Too many terms in numeric range expression");
            }
            if v >= top {
                return err("Bottom must be less than top");
            }
            Ok(Predicate::Range { low, high: Some((top, second == "<=")) })
        }
    }
}

const ANYTHING_BUT_SHAPE: &str =
    "Value of anything-but must be an array or single string/number value.";

/// The exclusions of an `anything-but`, as positive predicates.
fn anything_but(value: &Json) -> Result<Vec<Predicate>, PatternError> {
    match value {
        Json::String(s) => Ok(vec![Predicate::Exact(s.as_str().into())]),
        Json::Number(n) => Ok(vec![Predicate::NumEquals(number::operand(n)?)]),
        Json::Array(items) => {
            if items.is_empty() {
                return err("Empty arrays are not allowed");
            }
            // Types first, over the whole list; numbers are read after.
            if items.iter().any(|i| !matches!(i, Json::String(_) | Json::Number(_))) {
                return err("Inside anything but list, start|null|boolean is not supported.");
            }
            let strings = items.iter().any(|i| matches!(i, Json::String(_)));
            let numbers = items.iter().any(|i| matches!(i, Json::Number(_)));
            if strings && numbers {
                return err("Inside anything but list, either all values are number or string, mixed type is not supported");
            }
            items
                .iter()
                .map(|item| match item {
                    Json::String(s) => Ok(Predicate::Exact(s.as_str().into())),
                    Json::Number(n) => Ok(Predicate::NumEquals(number::operand(n)?)),
                    _ => unreachable!("checked above"),
                })
                .collect()
        }
        Json::Object(m) => {
            let mut entries = m.iter();
            let (name, inner) = match (entries.next(), entries.next()) {
                (None, _) => return err(ANYTHING_BUT_SHAPE),
                (Some(e), None) => e,
                (Some(_), Some(_)) => return err("Only one key allowed in match expression"),
            };
            match name.as_str() {
                "prefix" | "suffix" => {
                    let one = |v: &Json| -> Result<Predicate, PatternError> {
                        match v {
                            Json::String(s) if s.is_empty() => {
                                err("Null prefix/suffix not allowed")
                            }
                            Json::String(s) if name == "prefix" => {
                                Ok(Predicate::Prefix(s.as_str().into()))
                            }
                            Json::String(s) => Ok(Predicate::Suffix(s.as_str().into())),
                            Json::Object(_) => err(ANYTHING_BUT_SHAPE),
                            _ => err("prefix/suffix match pattern must be a string"),
                        }
                    };
                    list_or_one(inner, one)
                }
                "equals-ignore-case" => list_or_one(inner, |v| {
                    match v {
                    Json::String(s) => Ok(Predicate::EqualsFold(fold(s).into())),
                    _ => err("Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."),
                }
                }),
                "wildcard" => list_or_one(inner, |v| match v {
                    Json::String(s) => wildcard_predicate(s),
                    _ => err("wildcard match pattern must be a string"),
                }),
                other => err(format!("Unsupported anything-but pattern: {}", other)),
            }
        }
        _ => err(ANYTHING_BUT_SHAPE),
    }
}

fn list_or_one(
    value: &Json,
    one: impl Fn(&Json) -> Result<Predicate, PatternError>,
) -> Result<Vec<Predicate>, PatternError> {
    match value {
        Json::Array(items) => {
            if items.is_empty() {
                return err("Empty arrays are not allowed");
            }
            items.iter().map(one).collect()
        }
        v => Ok(vec![one(v)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(p: &str) -> String {
        compile(p, PatternLimits::default()).unwrap_err().reason
    }

    #[test]
    fn expansion() {
        let p = compile(
            r#"{"a": ["1"], "$or": [{"a": ["2"]}, {"b": ["3"]}]}"#,
            PatternLimits::default(),
        )
        .unwrap();
        assert_eq!(p.subpatterns.len(), 2);
        assert_eq!(p.subpatterns[0].fields, vec![("a".into(), vec![Predicate::Exact("2".into())])]);
        assert_eq!(p.subpatterns[1].fields.len(), 2);
        let p =
            compile(r#"{"a": {"b.c": [{"exists": false}, 1]}}"#, PatternLimits::default()).unwrap();
        assert_eq!(p.subpatterns.len(), 2);
        assert_eq!(p.subpatterns[1].absent, vec!["a.b.c".to_string()]);
    }

    #[test]
    fn errors() {
        assert_eq!(reason("[1]"), "Filter is not an object");
        assert_eq!(reason(r#"{"int": 42}"#), "\"int\" must be an object or an array");
        assert_eq!(
            reason(r#"{"a": [{"numeric": [">", 0, ">", 0]}]}"#),
            "Bad numeric range operator: >"
        );
        assert_eq!(reason(r#"{"a": [{"numeric": [">", 0, "<"]}]}"#), "Value of < must be numeric");
        assert_eq!(
            reason(r#"{"a": [{"numeric": ["=", 1, "<", 2]}]}"#),
            "Too many elements in numeric expression"
        );
        assert_eq!(
            reason(r#"{"a": [{"numeric": [">", 5, "<", 2]}]}"#),
            "Bottom must be less than top"
        );
        assert_eq!(reason(r#"{"a": [1e400]}"#), "Cannot compare number : 1e400");
        assert_eq!(
            reason(r#"{"$or": [{"prefix": ["a"]}, {"b": [1]}]}"#),
            "prefix is Ruler reserved fieldName which cannot be used inside $or."
        );
        assert_eq!(
            reason(r#"{"$or": [{"a": [1]}]}"#),
            "There must have at least 2 Objects in $or relationship."
        );
    }
}
