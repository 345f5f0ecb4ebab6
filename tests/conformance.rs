//! Runs the conformance corpora through the engine: AWS's recorded cases
//! (from `../shared`, skipped with a message when absent) and our own cases
//! under `tests/cases/`.

use fastbridge::{matches, Error};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Pattern or event text of a case: `<key>_text` if present, else `<key>` re-serialized.
fn text(case: &Value, key: &str) -> String {
    match case.get(format!("{key}_text")) {
        Some(Value::String(s)) => s.clone(),
        _ => case[key].to_string(),
    }
}

fn run(case: &Value) -> Result<(), String> {
    let name = case["name"].as_str().unwrap_or("?");
    let pattern = text(case, "pattern");
    let event = text(case, "event");
    let got = matches(&pattern, event.as_bytes());
    match (&case["expected"], got) {
        (Value::Bool(want), Ok(got)) if *want == got => Ok(()),
        (Value::String(e), Err(Error::Pattern(err))) if e == "error" => {
            let want_message = case.get("error_message").and_then(Value::as_str);
            let want_reason = case.get("reason").and_then(Value::as_str);
            match (want_message, want_reason) {
                (Some(m), _) if m == err.to_string() => Ok(()),
                (None, Some(r)) if r == err.reason => Ok(()),
                (None, None) => Ok(()),
                _ => Err(format!("{name}: wrong error: {err} (expected {want_message:?} / {want_reason:?})")),
            }
        }
        (want, got) => Err(format!("{name}: expected {want}, got {got:?}")),
    }
}

fn run_file(path: &Path) -> (usize, Vec<String>) {
    let data: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = data.as_array().expect("a case file is a JSON array");
    let failures: Vec<String> = cases.iter().filter_map(|c| run(c).err()).collect();
    (cases.len(), failures)
}

#[test]
fn aws_recorded() {
    let path = root().join("../shared/conformance/aws-recorded.json");
    if !path.exists() {
        eprintln!("skipped: {} is absent (the shared folder sits beside the project root)", path.display());
        return;
    }
    let (n, failures) = run_file(&path);
    assert_eq!(n, 155, "the AWS corpus has 155 cases");
    assert!(failures.is_empty(), "{} of {n} failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn own_cases() {
    let dir = root().join("tests/cases");
    let mut total = 0;
    let mut failures = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/cases exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for f in &files {
        let (n, fails) = run_file(f);
        total += n;
        failures.extend(fails);
    }
    assert!(total > 0, "no cases found under {}", dir.display());
    assert!(failures.is_empty(), "{} of {total} failed:\n{}", failures.len(), failures.join("\n"));
}
