//! Runs the conformance corpora through the engine: AWS's recorded cases
//! (from `../shared`, skipped with a message when absent) and our own cases
//! under `tests/cases/`. Case files are read with the crate's own JSON reader,
//! which keeps member order and number text exactly as written.

use fastbridge::json::{self, Json};
use fastbridge::{matches, Error};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn get<'a>(case: &'a Json, key: &str) -> Option<&'a Json> {
    match case {
        Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

fn get_str<'a>(case: &'a Json, key: &str) -> Option<&'a str> {
    match get(case, key) {
        Some(Json::String(s)) => Some(s),
        _ => None,
    }
}

/// Pattern or event text of a case: `<key>_text` if present, else `<key>` re-written.
fn text(case: &Json, key: &str) -> String {
    get_str(case, &format!("{key}_text"))
        .map(str::to_string)
        .unwrap_or_else(|| get(case, key).map(Json::to_string).unwrap_or_default())
}

fn run(case: &Json) -> Result<(), String> {
    let name = get_str(case, "name").unwrap_or("?");
    let got = matches(&text(case, "pattern"), text(case, "event").as_bytes());
    match (get(case, "expected"), got) {
        (Some(Json::Bool(want)), Ok(got)) if *want == got => Ok(()),
        (Some(Json::String(e)), Err(Error::Pattern(err))) if e == "error" => {
            match (get_str(case, "error_message"), get_str(case, "reason")) {
                (Some(m), _) if m == err.to_string() => Ok(()),
                (None, Some(r)) if r == err.reason => Ok(()),
                (m, r) => Err(format!("{name}: wrong error: {err} (expected {m:?} / {r:?})")),
            }
        }
        (want, got) => Err(format!("{name}: expected {want:?}, got {got:?}")),
    }
}

fn run_file(path: &Path) -> (usize, Vec<String>) {
    let data = json::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    let Json::Array(cases) = data else { panic!("{} is not a JSON array", path.display()) };
    let failures: Vec<String> = cases.iter().filter_map(|c| run(c).err()).collect();
    (cases.len(), failures)
}

#[test]
fn aws_recorded() {
    let path = root().join("../shared/conformance/aws-recorded.json");
    if !path.exists() {
        eprintln!(
            "skipped: {} is absent (the shared folder sits beside the project root)",
            path.display()
        );
        return;
    }
    let (n, failures) = run_file(&path);
    assert_eq!(n, 155, "the AWS corpus has 155 cases");
    assert!(failures.is_empty(), "{} of {n} failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn own_cases() {
    let dir = root().join("tests/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/cases exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut total = 0;
    let mut failures = Vec::new();
    for f in &files {
        let (n, fails) = run_file(f);
        total += n;
        failures.extend(fails);
    }
    assert!(total >= 250, "only {total} cases under {}", dir.display());
    assert!(failures.is_empty(), "{} of {total} failed:\n{}", failures.len(), failures.join("\n"));
}
