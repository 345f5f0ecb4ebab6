//! Fuzz target `pattern_compiler`: arbitrary bytes as a pattern.
//!
//! If the bytes are UTF-8 they are compiled as a pattern (and, for good
//! measure, parsed as a wildcard). Nothing may panic. The pattern JSON reader
//! (`fastbridge::json`) must accept exactly what serde_json accepts, read the
//! same value, and print text that reads back the same. When the pattern
//! compiles:
//! - `validate_pattern` agrees, and a `Machine` accepts it;
//! - matching a few fixed events must not panic, and a rule's answer must not
//!   depend on which other rules the machine holds (the pattern alone vs. the
//!   pattern beside a fixed set of rules, whose own answers must not change);
//! - deleting it by its text removes exactly that pattern.

#![no_main]

use fastbridge::pattern::{compile, PatternLimits};
use fastbridge::{EventErrorKind, Machine};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

/// Small, valid events that the seed patterns' fields appear in.
const EVENTS: &[&[u8]] = &[
    br#"{"version":"0","id":"1","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"123456789012","time":"2022-07-13T13:48:01Z","region":"us-east-1","resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f","10.0.0.1"],"detail":{"instance-id":"i-b188560f","state":"running","count":5,"price":-1.5e2,"ip":"10.0.0.1","flag":true,"none":null,"tags":["a","B",3],"items":[{"name":"apple","qty":3},{"name":"pear"}],"c.d":"dotted","nested":{"deep":{"x":"y"}}}}"#,
    br#"{"a":"x","b":1,"c":[true,null,"1",[2.5,"y"]],"d":{"e":"f","g":[{"h":1},{"h":"2"}]},"e":[],"f":{}}"#,
    br#"{}"#,
];

/// Rules that share the machine with the fuzzed pattern.
const FIXED_RULES: &[(&str, &str)] = &[
    ("fixed-exact", r#"{"source": ["aws.ec2"], "detail": {"state": ["running"]}}"#),
    ("fixed-prefix", r#"{"detail-type": [{"prefix": "EC2"}], "a": [{"exists": false}]}"#),
    ("fixed-num", r#"{"detail": {"count": [{"numeric": [">", 1, "<=", 5]}]}}"#),
    ("fixed-array", r#"{"detail": {"items": {"name": ["pear"], "qty": [{"exists": false}]}}}"#),
    ("fixed-or", r#"{"$or": [{"a": ["x"]}, {"b": [1]}], "c": [{"anything-but": "z"}]}"#),
    ("fixed-wild", r#"{"resources": [{"wildcard": "arn:*:ec2:*"}], "d": {"e": [{"equals-ignore-case": "F"}]}}"#),
];

const NAME: &str = "~fuzzed";

/// What the fixed rules alone answer for each event.
fn base_answers() -> &'static Vec<Vec<Arc<str>>> {
    static BASE: OnceLock<Vec<Vec<Arc<str>>>> = OnceLock::new();
    BASE.get_or_init(|| {
        let m = Machine::default();
        m.add_rules(FIXED_RULES.iter().copied()).expect("fixed rules compile");
        EVENTS.iter().map(|e| m.rules_for_event(e).expect("fixed events are valid")).collect()
    })
}

/// The pattern JSON reader against serde_json: the same texts are JSON
/// (serde_json stops at 128 levels, fastbridge at 512: deeper texts are
/// skipped), and what fastbridge reads prints back to text it reads the same.
fn check_json_reader(text: &str) {
    let ours = fastbridge::json::parse(text);
    let theirs = serde_json::from_str::<serde_json::Value>(text);
    if let Err(e) = &theirs {
        if e.to_string().starts_with("recursion limit exceeded") {
            return;
        }
    }
    match (&ours, &theirs) {
        (Ok(_), Ok(_)) | (Err(_), Err(_)) => {}
        (Ok(v), Err(e)) => panic!("fastbridge::json reads {v:?}, serde_json rejects: {e}"),
        (Err(e), Ok(v)) => panic!("fastbridge::json rejects ({e}), serde_json reads {v}"),
    }
    if let (Ok(v), Ok(sv)) = (ours, theirs) {
        let printed = v.to_string();
        let again = fastbridge::json::parse(&printed)
            .unwrap_or_else(|e| panic!("printed JSON {printed:?} does not read back: {e}"));
        assert_eq!(v, again, "printed JSON {printed:?} reads back differently");
        // Same value: compare through serde_json (key order and number text kept).
        let via_serde: serde_json::Value = serde_json::from_str(&printed).expect("serde_json reads our print");
        assert_eq!(sv, via_serde, "fastbridge::json and serde_json read different values; ours printed: {printed}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = fastbridge::wildcard::parse(text);
    check_json_reader(text);
    let compiled = compile(text, PatternLimits::default());
    assert_eq!(
        compiled.is_ok(),
        fastbridge::validate_pattern(text).is_ok(),
        "compile and validate_pattern disagree"
    );
    let Ok(_pattern) = compiled else { return };

    let alone = Machine::default();
    if let Err(e) = alone.add_rule(NAME, text) {
        panic!("pattern compiles but Machine::add_rule rejects it: {e}");
    }
    let shared = Machine::default();
    shared.add_rules(FIXED_RULES.iter().copied()).expect("fixed rules compile");
    if let Err(e) = shared.add_rule(NAME, text) {
        panic!("pattern compiles but Machine::add_rule (beside other rules) rejects it: {e}");
    }
    let base = base_answers();
    for (i, event) in EVENTS.iter().enumerate() {
        let a = alone.rules_for_event(event);
        let s = shared.rules_for_event(event);
        match (a, s) {
            (Ok(a), Ok(s)) => {
                let hit_alone = a.iter().any(|n| &**n == NAME);
                assert_eq!(a.len(), usize::from(hit_alone), "a one-rule machine answered {a:?}");
                let hit_shared = s.iter().any(|n| &**n == NAME);
                assert_eq!(
                    hit_alone, hit_shared,
                    "event #{i}: the pattern matches alone={hit_alone} but beside other rules={hit_shared}"
                );
                let others: Vec<_> = s.into_iter().filter(|n| &**n != NAME).collect();
                assert_eq!(&others, &base[i], "event #{i}: adding the pattern changed other rules' answers");
            }
            // The consistency search has a step budget; running out is a typed error.
            (Err(e), _) | (_, Err(e)) if matches!(e.kind, EventErrorKind::TooComplex { .. }) => {}
            (a, s) => panic!("event #{i} is valid, yet alone={a:?} shared={s:?}"),
        }
    }

    assert_eq!(alone.delete_rule(NAME, Some(text)), Ok(1), "deleting the pattern by its own text");
    for event in EVENTS {
        assert_eq!(alone.rules_for_event(event), Ok(vec![]), "no rule left, yet a match");
    }
    assert_eq!(shared.delete_rule(NAME, None), Ok(1));
    for (i, event) in EVENTS.iter().enumerate() {
        assert_eq!(shared.rules_for_event(event).as_ref(), Ok(&base[i]), "after deleting the pattern");
    }
});
