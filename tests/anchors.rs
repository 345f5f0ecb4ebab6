//! The anchor index: sub-patterns are looked at only when their most
//! selective condition holds, and their other conditions are checked after
//! the scan. These tests pin down that the answers are those of each rule
//! on its own, whatever is shared, whichever field the event shows first,
//! inside arrays, across `$or`, and after deletions.

use fastbridge::Machine;

fn names(m: &Machine, event: &str) -> Vec<String> {
    m.rules_for_event(event.as_bytes()).unwrap().iter().map(|s| s.to_string()).collect()
}

/// Every rule of `rules` that matches `event` when it is alone in a machine.
fn alone(rules: &[(String, String)], event: &str) -> Vec<String> {
    let mut out: Vec<String> = rules
        .iter()
        .filter(|(_, p)| fastbridge::matches(p, event.as_bytes()).unwrap())
        .map(|(n, _)| n.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn machine(rules: &[(String, String)]) -> Machine {
    let m = Machine::default();
    m.add_rules(rules.iter().map(|(n, p)| (n.as_str(), p.as_str()))).unwrap();
    m
}

const SOURCES: [&str; 3] = ["aws.ec2", "aws.s3", "com.acme.orders"];

/// Tenant rules: a rare `account`, a `source` shared by a third of all rules.
fn tenants(n: usize, accounts: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let p = format!(
                r#"{{"account": ["a{}"], "source": ["{}"], "detail": {{"n": [{{"numeric": [">", {}]}}]}}}}"#,
                i % accounts,
                SOURCES[i % 3],
                i % 5
            );
            (format!("r{:05}", i), p)
        })
        .collect()
}

#[test]
fn rare_anchor_common_slot() {
    let rules = tenants(3000, 300);
    let m = machine(&rules);
    for acct in [0, 7, 299] {
        for (s, source) in SOURCES.iter().enumerate() {
            for n in [0, 3, 9] {
                let e = format!(
                    r#"{{"account": "a{}", "source": "{}", "detail": {{"n": {}}}}}"#,
                    acct, source, n
                );
                let expected: Vec<String> = (0..3000)
                    .filter(|i| i % 300 == acct && i % 3 == s && n > i % 5)
                    .map(|i| format!("r{:05}", i))
                    .collect();
                assert_eq!(names(&m, &e), expected, "{}", e);
            }
        }
    }
    assert!(names(&m, r#"{"account": "a1", "source": "aws.sqs", "detail": {"n": 9}}"#).is_empty());
    assert!(names(&m, r#"{"source": "aws.ec2", "detail": {"n": 9}}"#).is_empty());
}

#[test]
fn anchor_before_or_after_the_other_fields() {
    let rules = tenants(600, 60);
    let m = machine(&rules);
    let orders = [
        r#"{"account": "a4", "source": "aws.s3", "detail": {"n": 7}}"#,
        r#"{"source": "aws.s3", "account": "a4", "detail": {"n": 7}}"#,
        r#"{"detail": {"n": 7}, "source": "aws.s3", "account": "a4"}"#,
        r#"{"detail.n": 7, "source": "aws.s3", "account": "a4"}"#,
    ];
    let first = names(&m, orders[0]);
    assert!(!first.is_empty());
    for e in orders {
        assert_eq!(names(&m, e), first, "{}", e);
        assert_eq!(names(&m, e), alone(&rules, e), "{}", e);
    }
}

#[test]
fn arrays_pin_the_candidates_leaves() {
    // Many rules share `tag`; the rare anchor is `account`. Tag and qty
    // must come from the same element of `items`.
    let mut rules: Vec<(String, String)> = (0..500)
        .map(|i| {
            let p = format!(
                r#"{{"account": ["a{}"], "items": {{"tag": ["gift"], "qty": [{}]}}}}"#,
                i % 50,
                i % 4
            );
            (format!("r{:03}", i), p)
        })
        .collect();
    rules.push((
        "absent".into(),
        r#"{"account": ["a3"], "items": {"tag": ["gift"], "gone": [{"exists": false}]}}"#.into(),
    ));
    let m = machine(&rules);
    let events = [
        r#"{"account": "a3", "items": [{"tag": "gift", "qty": 3}, {"tag": "sale", "qty": 1}]}"#,
        r#"{"items": [{"tag": "sale", "qty": 3}, {"tag": "gift", "qty": 1}], "account": "a3"}"#,
        r#"{"account": "a3", "items": [{"tag": "gift", "qty": 1, "gone": 1}, {"tag": "gift", "qty": 3}]}"#,
        r#"{"account": ["a3", "a1"], "items": [{"tag": ["gift"], "qty": [1, 3]}]}"#,
        r#"{"account": "a3", "items": [{"tag": "gift", "gone": 1}]}"#,
    ];
    for e in events {
        assert_eq!(names(&m, e), alone(&rules, e), "{}", e);
    }
    assert_eq!(names(&m, events[0]), ["absent", "r003", "r103", "r203", "r303", "r403"]);
    assert_eq!(names(&m, events[1]), ["absent", "r053", "r153", "r253", "r353", "r453"]);
}

#[test]
fn or_branches_anchor_separately() {
    let rules: Vec<(String, String)> = (0..400)
        .map(|i| {
            let p = format!(
                r#"{{"account": ["a{}"], "$or": [{{"source": ["aws.ec2"], "state": ["s{}"]}}, {{"id": ["x{}"]}}, {{"source": [{{"prefix": "aws."}}], "n": [{{"exists": true}}]}}]}}"#,
                i % 40,
                i % 3,
                i
            );
            (format!("r{:03}", i), p)
        })
        .collect();
    let m = machine(&rules);
    let events = [
        r#"{"account": "a5", "source": "aws.ec2", "state": "s1"}"#,
        r#"{"id": "x45", "account": "a5"}"#,
        r#"{"account": "a5", "id": "x46"}"#,
        r#"{"source": "aws.s3", "n": null, "account": "a6"}"#,
        r#"{"source": "aws.s3", "account": "a6"}"#,
    ];
    for e in events {
        assert_eq!(names(&m, e), alone(&rules, e), "{}", e);
    }
    assert_eq!(names(&m, events[1]), ["r045"]);
    assert_eq!(names(&m, events[3]).len(), 10);
}

#[test]
fn broad_only_and_identical_rules() {
    // No exact value anywhere: the anchor is the least shared broad condition.
    let mut rules: Vec<(String, String)> = (0..300)
        .map(|i| {
            let p = format!(
                r#"{{"a": [{{"exists": true}}], "b": [{{"anything-but": ["v{}"]}}], "c": [{{"numeric": [">=", {}]}}]}}"#,
                i % 7,
                i % 11
            );
            (format!("b{:03}", i), p)
        })
        .collect();
    // The same pattern under many names shares every condition.
    for i in 0..50 {
        rules.push((format!("same{:02}", i), r#"{"a": ["x"], "b": ["v1"]}"#.into()));
    }
    let m = machine(&rules);
    for e in [
        r#"{"a": "x", "b": "v1", "c": 5}"#,
        r#"{"c": 10, "b": "v3", "a": 0}"#,
        r#"{"a": "x", "b": "v1"}"#,
        r#"{"a": ["x", "y"], "b": ["v1", "v2"], "c": [0, 10]}"#,
    ] {
        assert_eq!(names(&m, e), alone(&rules, e), "{}", e);
    }
    assert_eq!(names(&m, r#"{"a": "x", "b": "v1"}"#).len(), 50);
}

#[test]
fn deletion_keeps_the_index_right() {
    let rules = tenants(1200, 100);
    let m = Machine::default();
    // One by one, so several segments hold them.
    for (n, p) in &rules {
        m.add_rule(n, p).unwrap();
    }
    let e = r#"{"account": "a5", "source": "aws.s3", "detail": {"n": 9}}"#;
    let before = names(&m, e);
    assert_eq!(before, alone(&rules, e));
    assert!(before.len() >= 2);
    let gone = before[0].clone();
    assert_eq!(m.delete_rule(&gone, None).unwrap(), 1);
    let kept: Vec<(String, String)> = rules.iter().filter(|r| r.0 != gone).cloned().collect();
    assert_eq!(names(&m, e), alone(&kept, e));
    // Deleting every rule of the tenant but one.
    for (n, _) in kept.iter().filter(|r| r.1.contains(r#""a5""#)).skip(1) {
        m.delete_rule(n, None).unwrap();
    }
    let left: Vec<(String, String)> =
        kept.iter().filter(|r| !r.1.contains(r#""a5""#)).cloned().collect();
    let after = names(&m, e);
    assert!(after.len() <= 1);
    assert!(alone(&left, e).is_empty());
}

/// A small deterministic generator, so the test needs no dependency.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn value(g: &mut Lcg) -> String {
    match g.next(9) {
        0 => format!(r#""v{}""#, g.next(4)),
        1 => format!(r#"{{"prefix": "v{}"}}"#, g.next(3)),
        2 => format!(r#"{{"numeric": [">", {}]}}"#, g.next(4)),
        3 => format!(r#"{{"anything-but": ["v{}"]}}"#, g.next(4)),
        4 => r#"{"exists": true}"#.to_string(),
        5 => r#"{"exists": false}"#.to_string(),
        6 => format!(r#"{{"equals-ignore-case": "V{}"}}"#, g.next(4)),
        7 => format!(r#"{{"wildcard": "v*{}"}}"#, g.next(4)),
        _ => format!("{}", g.next(4)),
    }
}

fn random_pattern(g: &mut Lcg) -> String {
    let mut fields = Vec::new();
    for (i, f) in ["k", "x.y", "x.z", "arr.p", "arr.q"].iter().enumerate() {
        if g.next(2) == 0 || (i == 4 && fields.is_empty()) {
            let vals: Vec<String> = (0..1 + g.next(2)).map(|_| value(g)).collect();
            fields.push(format!(r#""{}": [{}]"#, f, vals.join(", ")));
        }
    }
    if g.next(4) == 0 {
        format!(r#"{{"$or": [{{{}}}, {{"k": ["v{}"]}}]}}"#, fields.join(", "), g.next(4))
    } else {
        format!("{{{}}}", fields.join(", "))
    }
}

fn random_event(g: &mut Lcg) -> String {
    let leaf = |g: &mut Lcg| match g.next(4) {
        0 => format!(r#""v{}""#, g.next(5)),
        1 => format!("{}", g.next(5)),
        2 => format!(r#""V{}x""#, g.next(4)),
        _ => "null".to_string(),
    };
    let mut members = Vec::new();
    if g.next(3) != 0 {
        members.push(format!(r#""k": {}"#, leaf(g)));
    }
    if g.next(3) != 0 {
        members.push(format!(r#""x": {{"y": {}, "z": {}}}"#, leaf(g), leaf(g)));
    }
    if g.next(3) != 0 {
        let elems: Vec<String> =
            (0..g.next(3)).map(|_| format!(r#"{{"p": {}, "q": {}}}"#, leaf(g), leaf(g))).collect();
        members.push(format!(r#""arr": [{}]"#, elems.join(", ")));
    }
    // Shuffle member order, so anchors are seen before and after the rest.
    for i in (1..members.len()).rev() {
        let j = g.next(i as u64 + 1) as usize;
        members.swap(i, j);
    }
    format!("{{{}}}", members.join(", "))
}

#[test]
fn shared_machine_equals_each_rule_alone() {
    let mut g = Lcg(7);
    let mut rules = Vec::new();
    for i in 0..300 {
        let p = random_pattern(&mut g);
        if fastbridge::validate_pattern(&p).is_ok() {
            rules.push((format!("p{:03}", i), p));
        }
    }
    assert!(rules.len() > 200);
    let m = machine(&rules);
    let singles: Vec<(&String, Machine)> =
        rules.iter().map(|r| (&r.0, machine(std::slice::from_ref(r)))).collect();
    for _ in 0..400 {
        let e = random_event(&mut g);
        let expected: Vec<String> = singles
            .iter()
            .filter(|(_, one)| !names(one, &e).is_empty())
            .map(|(n, _)| n.to_string())
            .collect();
        assert_eq!(names(&m, &e), expected, "{}", e);
    }
}

#[test]
fn one_arrayed_condition_needs_no_search_but_keeps_the_budget() {
    let rule = r#"{"a": ["1"], "x": {"b": ["2"], "c": [{"exists": true}]}}"#;
    let one = r#"{"a": "1", "x": [{"b": "2"}, {"b": "3"}], "x.c": 0}"#;
    let two = r#"{"a": "1", "x": [{"b": "2"}, {"c": 0}]}"#;
    let m = Machine::default();
    m.add_rule("r", rule).unwrap();
    assert_eq!(names(&m, one), ["r"]);
    // Two conditions held inside the same array, in different elements.
    assert!(names(&m, two).is_empty());
    // Under a budget too small for even a one-slot search, the answer is
    // the search's: too complex.
    let tiny = Machine::new(fastbridge::Config { max_consistency_steps: 2, ..Default::default() });
    tiny.add_rule("r", rule).unwrap();
    assert!(tiny.rules_for_event(one.as_bytes()).is_err());
}
