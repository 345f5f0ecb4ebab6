//! Size limits. Every limit is checked; exceeding one is a typed error, never
//! a crash or unbounded memory.

/// Limits of a [`crate::Machine`]. `Config::default()` gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Fields in one sub-pattern (after `$or` expansion). EventBridge allows 256.
    pub max_fields_per_pattern: usize,
    /// Sub-patterns one pattern may expand into (`$or` branches multiplied out,
    /// `exists: false` alternatives split off).
    pub max_subpatterns_per_pattern: usize,
    /// States of the whole machine: the sum over all sub-patterns of their
    /// fields, plus the automaton states of every wildcard.
    pub max_states: usize,
    /// Largest event accepted, in bytes.
    pub max_event_bytes: usize,
    /// Deepest nesting of objects and arrays accepted in an event.
    pub max_depth: usize,
    /// Work budget for the array-consistency search of one sub-pattern on one event.
    pub max_consistency_steps: usize,
}

impl Config {
    /// Every limit with its name, in one place (for reading a configuration
    /// by name, or writing it out).
    pub fn fields_mut(&mut self) -> [(&'static str, &mut usize); 6] {
        [
            ("max_fields_per_pattern", &mut self.max_fields_per_pattern),
            ("max_subpatterns_per_pattern", &mut self.max_subpatterns_per_pattern),
            ("max_states", &mut self.max_states),
            ("max_event_bytes", &mut self.max_event_bytes),
            ("max_depth", &mut self.max_depth),
            ("max_consistency_steps", &mut self.max_consistency_steps),
        ]
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_fields_per_pattern: 256,
            max_subpatterns_per_pattern: 1024,
            max_states: 50_000_000,
            max_event_bytes: 1 << 20,
            max_depth: 1000,
            max_consistency_steps: 1_000_000,
        }
    }
}
