//! The machine's rule management: segments, deletion, batches, threads.

use fastbridge::{Config, Error, EventErrorKind, Machine};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn names(m: &Machine, event: &str) -> Vec<String> {
    m.rules_for_event(event.as_bytes()).unwrap().iter().map(|s| s.to_string()).collect()
}

/// A small deterministic generator, so the test needs no dependency.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn pattern(i: u64) -> String {
    match i % 5 {
        0 => format!(r#"{{"a": ["v{}"]}}"#, i % 13),
        1 => format!(r#"{{"b": [{{"numeric": [">", {}]}}]}}"#, i % 17),
        2 => format!(r#"{{"a": [{{"prefix": "v{}"}}], "c": [{{"exists": false}}]}}"#, i % 3),
        3 => format!(r#"{{"$or": [{{"a": ["v{}"]}}, {{"b": [{}]}}]}}"#, i % 7, i % 11),
        _ => format!(r#"{{"d": {{"e": ["x{}"], "f": [{{"anything-but": "y"}}]}}}}"#, i % 4),
    }
}

fn event(i: u64) -> String {
    format!(
        r#"{{"a": "v{}", "b": {}, {} "d": [{{"e": "x{}", "f": "y"}}, {{"e": "x{}", "f": "z"}}]}}"#,
        i % 13,
        i % 19,
        if i.is_multiple_of(2) { r#""c": 1,"# } else { "" },
        i % 4,
        (i + 1) % 4
    )
}

#[test]
fn incremental_equals_batch() {
    // Add and delete rules one at a time; after every few steps, a machine
    // compiled from scratch with the surviving rules must answer the same.
    let m = Machine::default();
    let mut live: Vec<(String, String)> = Vec::new();
    let mut rng = Lcg(7);
    for step in 0..400u64 {
        if rng.next(3) > 0 || live.is_empty() {
            let p = pattern(rng.next(1000));
            let name = format!("r{}", rng.next(60));
            m.add_rule(&name, &p).unwrap();
            live.push((name, p));
        } else {
            let k = rng.next(live.len() as u64) as usize;
            let (name, p) = live.remove(k);
            if rng.next(2) == 0 {
                let removed = m.delete_rule(&name, Some(&p)).unwrap();
                assert!(removed >= 1);
                // Equal patterns under one name go together.
                let before = live.len();
                live.retain(|(n, q)| !(n == &name && q == &p));
                assert_eq!(removed, 1 + before - live.len());
            } else {
                let removed = m.delete_rule(&name, None).unwrap();
                let before = live.len();
                live.retain(|(n, _)| n != &name);
                assert_eq!(removed, 1 + before - live.len());
            }
        }
        if step % 20 == 19 {
            let fresh = Machine::default();
            fresh.add_rules(live.iter().map(|(n, p)| (n.as_str(), p.as_str()))).unwrap();
            for i in 0..40 {
                let e = event(i);
                assert_eq!(names(&m, &e), names(&fresh, &e), "step {step}, event {e}");
            }
            let stats = m.stats();
            assert_eq!(stats.patterns, live.len());
            assert!(stats.segments <= 12, "{stats:?}");
        }
    }
}

#[test]
fn batch_is_atomic() {
    let m = Machine::default();
    let err = m.add_rules([("ok", r#"{"a": ["1"]}"#), ("bad", r#"{"a": "1"}"#)]).unwrap_err();
    assert!(matches!(err, Error::Pattern(_)));
    assert_eq!(m.stats().rules, 0);
    // The paths of a failed batch are not kept either (nor after a later
    // batch: the one path of that batch is counted once).
    assert_eq!(m.stats().fields, 0);
    m.add_rule("x", r#"{"b": ["1"]}"#).unwrap();
    let err = m.add_rules([("y", r#"{"c": ["1"]}"#), ("bad", r#"{"d": "1"}"#)]).unwrap_err();
    assert!(matches!(err, Error::Pattern(_)));
    assert_eq!(m.stats().fields, 1);
    assert_eq!(names(&m, r#"{"b": "1", "c": "1"}"#), vec!["x".to_string()]);
}

#[test]
fn state_limit() {
    let m = Machine::new(Config { max_states: 3, ..Config::default() });
    m.add_rule("a", r#"{"a": ["1"], "b": ["2"]}"#).unwrap();
    let err = m.add_rule("b", r#"{"a": ["1"], "b": ["2"]}"#).unwrap_err();
    assert!(matches!(err, Error::Limit(l) if l.limit_name == "max_states" && l.given == 4));
    let err = m.add_rule("c", r#"{"c": ["1"], "d": ["2"]}"#).unwrap_err();
    assert!(matches!(err, Error::Limit(_)));
    assert_eq!(m.stats().fields, 2);
}

#[test]
fn consistency_budget() {
    let m = Machine::new(Config { max_consistency_steps: 50, ..Config::default() });
    m.add_rule("r", r#"{"x": {"a": ["1"], "b": ["2"], "c": ["3"]}}"#).unwrap();
    // Every field matches somewhere, but a=1 and c=3 never sit in the same
    // element: the search must try many combinations, and a tiny budget
    // turns that into a typed error.
    let items: Vec<String> = (0..30)
        .map(|i| format!(r#"{{"a": "{}", "b": "2", "c": "{}"}}"#, 1 - i % 2, 3 * (i % 2)))
        .collect();
    let ev = format!(r#"{{"x": [{}]}}"#, items.join(","));
    let err = m.rules_for_event(ev.as_bytes()).unwrap_err();
    assert!(matches!(err.kind, EventErrorKind::TooComplex { limit: 50 }));
    let roomy = Machine::default();
    roomy.add_rule("r", r#"{"x": {"a": ["1"], "b": ["2"], "c": ["3"]}}"#).unwrap();
    assert!(roomy.rules_for_event(ev.as_bytes()).unwrap().is_empty());
}

#[test]
fn threads_read_while_one_writes() {
    let m = Arc::new(Machine::default());
    m.add_rule("stable", r#"{"k": [1]}"#).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let readers: Vec<_> = (0..3)
        .map(|t| {
            let (m, stop, started) = (m.clone(), stop.clone(), started.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while n == 0 || !stop.load(Ordering::Relaxed) {
                    if n == 1 {
                        started.fetch_add(1, Ordering::Relaxed);
                    }
                    let j = (n + t) % 50;
                    let got = names(&m, &format!(r#"{{"k": 1, "n": {j}}}"#));
                    assert!(got.contains(&"stable".to_string()), "{got:?}");
                    for r in &got {
                        assert!(r == "stable" || r == &format!("c{j}"), "{r} for n={j}");
                    }
                    n += 1;
                }
                n
            })
        })
        .collect();
    // The writer starts once every reader is reading, so they overlap.
    while started.load(Ordering::Relaxed) < 3 {
        std::thread::yield_now();
    }
    for round in 0..4 {
        for j in 0..50 {
            m.add_rule(&format!("c{j}"), &format!(r#"{{"n": [{j}]}}"#)).unwrap();
        }
        for j in (round % 2..50).step_by(2) {
            m.delete_rule(&format!("c{j}"), None).unwrap();
        }
    }
    stop.store(true, Ordering::Relaxed);
    let total: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(total > 0);
}

#[test]
fn numbers_reach_lazy_conditions_through_the_number_gate() {
    // The range anchors nothing (the account does), so it is a lazy
    // condition: the scanner's number gate must still let the amount through.
    let m = Machine::default();
    for i in 0..50 {
        m.add_rule(
            &format!("t{i}"),
            &format!(
                r#"{{"account": ["a{i}"], "detail": {{"amount": [{{"numeric": [">", 100]}}]}}}}"#
            ),
        )
        .unwrap();
    }
    m.add_rule("eq", r#"{"account": ["a7"], "detail": {"amount": [250.0]}}"#).unwrap();
    let hit = names(&m, r#"{"account": "a7", "detail": {"amount": 250}}"#);
    assert_eq!(hit, vec!["eq".to_string(), "t7".to_string()]);
    assert!(names(&m, r#"{"account": "a7", "detail": {"amount": 99}}"#).is_empty());
    assert_eq!(names(&m, r#"{"account": "a8", "detail": {"amount": [3, 2.5e2]}}"#), vec!["t8"]);
}

#[test]
fn batches_answer_like_single_events() {
    // Several segments (rules added one by one), rules of two patterns, a
    // few bad events: both batch forms, on 1 to 3 threads, with and without
    // stopping at the first error, answer each event as `rules_for_event`.
    let m = Machine::default();
    for i in 0..60 {
        m.add_rule(&format!("r{}", i % 45), &pattern(i)).unwrap();
    }
    let mut events: Vec<Vec<u8>> = (0..50).map(|i| event(i).into_bytes()).collect();
    events[17] = b"{\"a\": ".to_vec();
    events[33] = b"[1]".to_vec();
    let single: Vec<_> = events.iter().map(|e| m.rules_for_event(e)).collect();
    assert!(single.iter().filter(|r| r.as_ref().is_ok_and(|n| n.len() > 1)).count() > 10);
    let snap = m.snapshot();
    for threads in 1..=3 {
        for stop in [false, true] {
            let want = if stop { &single[..18] } else { &single[..] };
            let (_, got) = m.rules_for_events(&events, threads, stop);
            assert_eq!(got, want, "threads {threads}, stop {stop}");
            let pairs = snap.matches_for_events(&events, threads, stop);
            assert_eq!(pairs.events.len(), want.len());
            for (r, w) in pairs.events.iter().zip(want) {
                match (r, w) {
                    (Ok(range), Ok(names)) => {
                        let mut got: Vec<_> = pairs.pairs[range.clone()]
                            .iter()
                            .map(|&p| snap.name(p).clone())
                            .collect();
                        got.sort();
                        got.dedup();
                        assert_eq!(&got, names);
                    }
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                    _ => panic!("{r:?} against {w:?}"),
                }
            }
        }
    }
}
