//! The `quamina` crate (a Rust port of Quamina) against fastbridge's own Rust
//! API, on the benchmark suite's data files and rule sets.
//!
//! `fastbridge bench` writes a manifest (data files, rule sets, timings) and
//! runs this bench with `FASTBRIDGE_BENCH_MANIFEST` pointing at it. By hand:
//!
//! ```sh
//! FASTBRIDGE_BENCH_MANIFEST=~/.cache/fastbridge-bench/results/<run>/rust/manifest.json \
//!     cargo bench --bench quamina_peer
//! ```
//!
//! For every rule set and engine it builds a machine (timing the build),
//! counts matches per rule over all events, and, when the engine took every
//! pattern, measures matching all events with criterion (flat sampling; one
//! iteration = one pass over the events). Counts, build times and any
//! rejected pattern go to the manifest's `results` file; the timings are in
//! criterion's `estimates.json` files under `CRITERION_HOME`.

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use serde_json::{json, Map, Value};

/// Must match the `quamina` version pinned in Cargo.toml.
const QUAMINA_VERSION: &str = "0.7.0";

struct RuleSet {
    id: String,
    data: PathBuf,
    limit: usize,
    rules: Vec<(String, String)>,
}

fn main() {
    let Some(manifest_path) = std::env::var_os("FASTBRIDGE_BENCH_MANIFEST") else {
        eprintln!(
            "quamina_peer: FASTBRIDGE_BENCH_MANIFEST is not set; run `fastbridge bench`, \
             which writes the manifest and runs this bench (see benches/README.md)"
        );
        return;
    };
    let manifest_path = PathBuf::from(manifest_path);
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(&manifest_path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest_path.display())),
    )
    .unwrap_or_else(|e| panic!("{} is not JSON: {e}", manifest_path.display()));
    let results_path =
        PathBuf::from(manifest["results"].as_str().expect("manifest: results (a path)"));
    let seconds = |key: &str, default: f64| {
        Duration::from_secs_f64(manifest[key].as_f64().unwrap_or(default))
    };
    let mut criterion = Criterion::default()
        .sample_size(10)
        .measurement_time(seconds("measure_seconds", 3.0))
        .warm_up_time(seconds("warmup_seconds", 1.0))
        .configure_from_args();

    let mut files: HashMap<PathBuf, Arc<Vec<Vec<u8>>>> = HashMap::new();
    let mut out = Map::new();
    for rule_set in rule_sets(&manifest) {
        let all = files
            .entry(rule_set.data.clone())
            .or_insert_with(|| Arc::new(read_lines(&rule_set.data)))
            .clone();
        let n = if rule_set.limit == 0 { all.len() } else { rule_set.limit.min(all.len()) };
        let events = &all[..n];
        let bytes: usize = events.iter().map(Vec::len).sum();
        eprintln!("quamina_peer: {} ({} rules, {} events)", rule_set.id, rule_set.rules.len(), n);

        let fastbridge = build_fastbridge(&rule_set.rules);
        let quamina = build_quamina(&rule_set.rules);
        let mut entry = Map::new();
        entry.insert("events".into(), json!(n));
        entry.insert("bytes".into(), json!(bytes));
        entry.insert(
            "fastbridge".into(),
            report(&fastbridge, |m: &fastbridge::Machine| {
                count(events, |e| {
                    m.rules_for_event(e)
                        .map(|names| names.iter().map(|s| s.to_string()).collect())
                        .map_err(|err| err.to_string())
                })
            }),
        );
        entry.insert(
            "quamina".into(),
            report(&quamina, |q: &quamina::Quamina<String>| {
                count(events, |e| q.matches_for_event(e).map_err(|err| err.to_string()))
            }),
        );
        out.insert(rule_set.id.clone(), Value::Object(entry));
        // Written after every rule set, so a run cut short still reports what it did.
        write_results(&results_path, &out);

        let mut group = criterion.benchmark_group(&rule_set.id);
        group.sampling_mode(SamplingMode::Flat);
        group.throughput(Throughput::Elements(n as u64));
        if let Ok((m, _)) = &fastbridge {
            group.bench_function("fastbridge", |b| {
                b.iter(|| {
                    for e in events {
                        let _ = black_box(m.rules_for_event(black_box(e)));
                    }
                })
            });
        }
        if let Ok((q, _)) = &quamina {
            group.bench_function("quamina", |b| {
                b.iter(|| {
                    for e in events {
                        let _ = black_box(q.matches_for_event(black_box(e)));
                    }
                })
            });
        }
        group.finish();
    }
    criterion.final_summary();
    write_results(&results_path, &out);
}

fn rule_sets(manifest: &Value) -> Vec<RuleSet> {
    manifest["rulesets"]
        .as_array()
        .expect("manifest: rulesets (an array)")
        .iter()
        .map(|r| RuleSet {
            id: r["id"].as_str().expect("ruleset id").to_owned(),
            data: PathBuf::from(r["data"].as_str().expect("ruleset data path")),
            limit: r["limit"].as_u64().unwrap_or(0) as usize,
            rules: r["rules"]
                .as_array()
                .expect("ruleset rules")
                .iter()
                .map(|pair| {
                    (
                        pair[0].as_str().expect("rule name").to_owned(),
                        pair[1].as_str().expect("rule pattern").to_owned(),
                    )
                })
                .collect(),
        })
        .collect()
}

fn read_lines(path: &Path) -> Vec<Vec<u8>> {
    let data =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    data.split(|&b| b == b'\n').filter(|line| !line.is_empty()).map(<[u8]>::to_vec).collect()
}

/// A machine holding every rule, and the seconds it took; or the first rule it rejected.
fn build_fastbridge(rules: &[(String, String)]) -> Result<(fastbridge::Machine, f64), String> {
    let start = Instant::now();
    let m = fastbridge::Machine::default();
    for (name, pattern) in rules {
        m.add_rule(name, pattern).map_err(|e| format!("rejects {name} {pattern}: {e}"))?;
    }
    Ok((m, start.elapsed().as_secs_f64()))
}

fn build_quamina(rules: &[(String, String)]) -> Result<(quamina::Quamina<String>, f64), String> {
    let start = Instant::now();
    let mut q = quamina::Quamina::<String>::new();
    for (name, pattern) in rules {
        q.add_pattern(name.clone(), pattern)
            .map_err(|e| format!("rejects {name} {pattern}: {e}"))?;
    }
    Ok((q, start.elapsed().as_secs_f64()))
}

struct Counts {
    per_rule: BTreeMap<String, u64>,
    errors: u64,
    first_error: Option<String>,
}

fn count(
    events: &[Vec<u8>],
    mut matcher: impl FnMut(&[u8]) -> Result<Vec<String>, String>,
) -> Counts {
    let mut counts = Counts { per_rule: BTreeMap::new(), errors: 0, first_error: None };
    for event in events {
        match matcher(event) {
            Ok(mut names) => {
                names.sort_unstable();
                names.dedup();
                for name in names {
                    *counts.per_rule.entry(name).or_insert(0) += 1;
                }
            }
            Err(e) => {
                counts.errors += 1;
                counts.first_error.get_or_insert(e);
            }
        }
    }
    counts
}

fn report<M>(built: &Result<(M, f64), String>, counter: impl FnOnce(&M) -> Counts) -> Value {
    match built {
        Err(reason) => json!({"status": "unsupported", "reason": reason}),
        Ok((machine, seconds)) => {
            let counts = counter(machine);
            json!({
                "status": "ok",
                "build_seconds": seconds,
                "counts": counts.per_rule,
                "errors": counts.errors,
                "first_error": counts.first_error,
            })
        }
    }
}

fn write_results(path: &Path, rule_sets: &Map<String, Value>) {
    let doc = json!({
        "quamina_version": QUAMINA_VERSION,
        "fastbridge_version": env!("CARGO_PKG_VERSION"),
        "rulesets": rule_sets,
    });
    let text = serde_json::to_string_pretty(&doc).expect("results serialize");
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}
