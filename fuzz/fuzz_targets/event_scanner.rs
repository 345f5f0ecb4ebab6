//! Fuzz target `event_scanner`: arbitrary bytes as an event, against a
//! machine holding a fixed set of rules that use every operator, and against
//! a second machine with three rules on few fields (where the scanner's early
//! exit happens often).
//!
//! Checks:
//! - nothing panics;
//! - when serde_json accepts the bytes and the top level is an object (and the
//!   input is at most 1 MiB and nests at most 1000 levels), `rules_for_event`
//!   returns `Ok` (the array-consistency step budget, `TooComplex`, excepted);
//! - for such an input without duplicate keys in any object, the answer does
//!   not change when the event is re-serialized by serde_json (other
//!   whitespace, other string escapes, same key order, same number text),
//!   nor when the members of every object are put in reverse order (key
//!   order carries no meaning in JSON; arrays keep their order).
//!
//! The converse (serde_json rejects, the scanner says Ok) is allowed: the
//! scanner stops once the last object holding used members has given all of
//! them (at the top level or inside it; see `scanner.rs`).

#![no_main]

use fastbridge::{EventErrorKind, Machine};
use libfuzzer_sys::fuzz_target;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

/// One or more rules per operator form.
pub const RULES: &[(&str, &str)] = &[
    ("exact", r#"{"source": ["aws.ec2", "aws.s3"], "detail-type": ["EC2 Instance State-change Notification"]}"#),
    ("prefix", r#"{"detail-type": [{"prefix": "EC2"}], "detail": {"state": [{"prefix": ""}]}}"#),
    ("suffix", r#"{"detail": {"file": [{"suffix": ".png"}, {"suffix": {"equals-ignore-case": ".JPG"}}]}}"#),
    ("ignore-case", r#"{"detail": {"state": [{"equals-ignore-case": "RUNNING"}], "owner": [{"prefix": {"equals-ignore-case": "ÄD"}}]}}"#),
    ("wildcard", r#"{"resources": [{"wildcard": "arn:aws:*:us-east-1:*"}, {"wildcard": "*\\*x"}]}"#),
    ("anything-but-strings", r#"{"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}, "source": [{"anything-but": "aws.s3"}]}"#),
    ("anything-but-numbers", r#"{"detail": {"count": [{"anything-but": [0, 1.5]}], "price": [{"anything-but": 7}]}}"#),
    ("anything-but-forms", r#"{"detail": {"file": [{"anything-but": {"suffix": [".tmp", ".bak"]}}], "owner": [{"anything-but": {"equals-ignore-case": ["root", "ADMIN"]}}], "path": [{"anything-but": {"wildcard": "/tmp/*"}}], "kind": [{"anything-but": {"prefix": "x-"}}]}}"#),
    ("numeric", r#"{"detail": {"count": [{"numeric": [">", 0, "<=", 100]}], "price": [{"numeric": ["=", 3.5]}, {"numeric": ["<", -1e300]}, {"numeric": [">=", 1e15]}]}}"#),
    ("exists", r#"{"detail": {"state": [{"exists": true}], "error": [{"exists": false}]}, "source": [{"exists": true}]}"#),
    ("cidr", r#"{"detail": {"ip": [{"cidr": "10.0.0.0/8"}, {"cidr": "2001:db8::/32"}, "192.168.1.1", "::ffff:1.2.3.4"]}}"#),
    ("or", r#"{"source": ["aws.ec2"], "$or": [{"detail": {"count": [{"numeric": [">", 10]}]}}, {"detail": {"state": ["pending"]}}, {"detail-type": [{"prefix": "Spot"}], "$or": [{"region": ["us-east-1"]}, {"account": [{"exists": false}]}]}]}"#),
    ("array-objects", r#"{"detail": {"items": {"name": ["apple", "pear"], "qty": [{"numeric": [">=", 2]}], "tags": {"k": ["color"], "v": ["red"]}}}}"#),
    ("array-absent", r#"{"detail": {"items": {"name": ["pear"], "qty": [{"exists": false}]}}}"#),
    ("literals", r#"{"detail": {"flag": [true, null], "big": [123456789012345678], "name": [{"exactly": "x"}], "off": [false, 0, "0"]}}"#),
    ("dotted", r#"{"detail.meta.tag": ["t1", "t\u00e9"], "detail": {"a.b": [{"exists": true}]}}"#),
    ("only-absent", r#"{"missing": [{"exists": false}], "detail": {"gone": [{"exists": false}]}}"#),
];

/// A few rules on few fields, so that the scanner's early exit (stop once
/// every used member of an object was seen) happens often.
pub const SPARSE_RULES: &[(&str, &str)] = &[
    ("sparse-source", r#"{"source": [{"prefix": "aws."}]}"#),
    ("sparse-state", r#"{"detail": {"state": ["running", {"exists": false}]}}"#),
    ("sparse-deep", r#"{"detail": {"x": {"y": [1, "1"]}}}"#),
    // One number between two integers: arrays of numbers there are passed
    // by their text, 64 bytes at a time where they can be.
    ("sparse-points", r#"{"detail": {"points": [37.807807921694092]}}"#),
];

fn build(rules: &[(&str, &str)]) -> Machine {
    let m = Machine::default();
    for (name, pattern) in rules {
        m.add_rule(name, pattern).unwrap_or_else(|e| panic!("rule {name}: {e}"));
    }
    m
}

fn machines() -> &'static [Machine; 2] {
    static M: OnceLock<[Machine; 2]> = OnceLock::new();
    M.get_or_init(|| [build(RULES), build(SPARSE_RULES)])
}

/// Deserializes any JSON value, failing on a duplicate key in any object.
struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDupVisitor)
    }
}

struct NoDupVisitor;

impl<'de> Visitor<'de> for NoDupVisitor {
    type Value = NoDuplicateKeys;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(NoDuplicateKeys)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // With arbitrary_precision, numbers arrive as a one-entry map with a
        // private key; that is fine here (one key, no duplicates).
        let mut keys = HashSet::new();
        while let Some(k) = map.next_key::<String>()? {
            if !keys.insert(k) {
                return Err(serde::de::Error::custom("duplicate key"));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(NoDuplicateKeys)
    }
}

/// Deepest nesting of objects and arrays, counting brackets outside strings.
fn depth(bytes: &[u8]) -> usize {
    let (mut d, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                d += 1;
                max = max.max(d);
            }
            b'}' | b']' => d = d.saturating_sub(1),
            _ => {}
        }
    }
    max
}

fuzz_target!(|data: &[u8]| {
    for m in machines() {
        check(m, data);
    }
});

fn check(m: &Machine, data: &[u8]) {
    let got = m.rules_for_event(data);

    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if !value.is_object() || data.len() > 1 << 20 || depth(data) > 1000 {
        return;
    }
    let names = match got {
        Ok(names) => names,
        Err(e) if matches!(e.kind, EventErrorKind::TooComplex { .. }) => return,
        Err(e) => panic!("serde_json accepts this object event, the scanner rejects it: {e} ({e:?})"),
    };
    if serde_json::from_slice::<NoDuplicateKeys>(data).is_err() {
        return;
    }
    same_answer(m, &names, &serde_json::to_vec(&value).expect("serializes"), "re-serialized");
    if avoid_known_bugs() && has_dotted_key(&value) {
        return;
    }
    same_answer(m, &names, &serde_json::to_vec(&reversed(&value)).expect("serializes"), "with keys reversed");
}

/// The answer for `other`, the same event written differently, must be `names`.
fn same_answer(m: &Machine, names: &[std::sync::Arc<str>], other: &[u8], how: &str) {
    match m.rules_for_event(other) {
        Ok(got) => assert_eq!(
            names,
            &got[..],
            "the same event, {how}, matches differently; {how}: {}",
            String::from_utf8_lossy(other)
        ),
        Err(e) if matches!(e.kind, EventErrorKind::TooComplex { .. }) => {}
        Err(e) => panic!("the same event, {how}, is rejected: {e}; {how}: {}", String::from_utf8_lossy(other)),
    }
}

/// The value with the members of every object in reverse order (arrays kept).
fn reversed(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => Value::Object(m.iter().rev().map(|(k, v)| (k.clone(), reversed(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(reversed).collect()),
        other => other.clone(),
    }
}

fn has_dotted_key(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('.') || has_dotted_key(v)),
        Value::Array(items) => items.iter().any(has_dotted_key),
        _ => false,
    }
}

/// `FUZZ_AVOID_KNOWN_BUGS=1`: skip the key-order check for events with a
/// dotted key (fuzz/README.md, bug 1), so that a long run can find others.
fn avoid_known_bugs() -> bool {
    static FLAG: OnceLock<bool> = OnceLock::new();
    *FLAG.get_or_init(|| std::env::var("FUZZ_AVOID_KNOWN_BUGS").is_ok_and(|v| v == "1"))
}
