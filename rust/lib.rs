//! # fastbridge
//!
//! EventBridge-style event-pattern matching. Any number of patterns are
//! compiled into one machine; an event, as raw JSON bytes, is scanned once
//! and the machine answers which rules match it.
//!
//! ```
//! use fastbridge::Machine;
//!
//! let m = Machine::default();
//! m.add_rule("ec2-running", r#"{"source": ["aws.ec2"], "detail": {"state": ["running"]}}"#).unwrap();
//! m.add_rule("big-orders", r#"{"detail": {"total": [{"numeric": [">", 100]}]}}"#).unwrap();
//! let hits = m.rules_for_event(br#"{"source": "aws.ec2", "detail": {"state": "running"}}"#).unwrap();
//! assert_eq!(hits.len(), 1);
//! assert_eq!(&*hits[0], "ec2-running");
//! ```
//!
//! The pieces, in the order an event meets them:
//!
//! - [`pattern`] parses and checks patterns (EventBridge's error texts) and
//!   expands `$or` and `exists: false` into plain conjunctions (sub-patterns).
//! - `paths` keeps every field path a pattern uses in a trie over path segments.
//! - `scanner` walks the raw event JSON once, skipping members no pattern uses.
//! - `values` matches a leaf value against every predicate on its field at
//!   once (hash tables, byte tries, interval indexes, one wildcard NFA).
//! - `matching` turns the conditions that held into candidates by their anchor
//!   condition, checks each candidate's other conditions and array consistency.
//! - [`Machine`] holds segments of compiled patterns behind an atomic pointer.
//!
//! `DESIGN.md` at the repository root walks through the whole design.

mod anchors;
pub mod casefold;
mod compiled;
mod conditions;
pub mod config;
pub mod error;
pub mod ip;
pub mod json;
mod lazy;
mod machine;
mod matching;
pub mod number;
mod numblocks;
mod paths;
pub mod pattern;
pub mod scanner;
mod segment;
mod tables;
#[cfg(test)]
mod testing;
mod values;
pub mod wildcard;

#[cfg(feature = "python")]
mod python;

pub use config::Config;
pub use error::{Error, EventError, EventErrorKind, LimitError, PatternError};
pub use machine::{BatchMatches, Machine, Matches, Snapshot, SnapshotMatches, Stats};

/// Does `pattern` (JSON text) match `event` (JSON bytes)? A one-shot check,
/// like EventBridge's `TestEventPattern` without its envelope check.
pub fn matches(pattern: &str, event: &[u8]) -> Result<bool, Error> {
    let m = Machine::default();
    m.add_rule("pattern", pattern)?;
    Ok(!m.rules_for_event(event)?.is_empty())
}

/// Checks a pattern; `Ok(())` when EventBridge would accept it.
pub fn validate_pattern(pattern: &str) -> Result<(), PatternError> {
    pattern::compile(pattern, pattern::PatternLimits::default()).map(|_| ())
}
