//! The engine's errors: one type per kind of bad input, each readable on its own.

use std::fmt;

/// The prefix EventBridge puts before every pattern-rejection reason.
pub const PATTERN_ERROR_PREFIX: &str = "Event pattern is not valid. Reason: ";

/// A pattern was rejected. `reason` is EventBridge's reason text; `Display`
/// gives the full message (`Event pattern is not valid. Reason: ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    pub reason: String,
}

impl PatternError {
    pub fn new(reason: impl Into<String>) -> Self {
        PatternError { reason: reason.into() }
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", PATTERN_ERROR_PREFIX, self.reason)
    }
}

impl std::error::Error for PatternError {}

/// What was wrong with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventErrorKind {
    /// The bytes are not valid UTF-8.
    InvalidUtf8,
    /// The text is not well-formed JSON; the string says what was expected.
    Syntax(&'static str),
    /// The JSON is well formed but its top level is not an object.
    NotAnObject,
    /// A `\uD800`-style escape without its other half.
    LoneSurrogate,
    /// Nesting deeper than [`crate::Config::max_depth`].
    TooDeep { limit: usize },
    /// More bytes than [`crate::Config::max_event_bytes`].
    TooLarge { size: usize, limit: usize },
    /// Checking array consistency for one sub-pattern took more steps than
    /// [`crate::Config::max_consistency_steps`].
    TooComplex { limit: usize },
}

/// An event could not be matched. `offset` is the byte offset in the event
/// text where the problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError {
    pub kind: EventErrorKind,
    pub offset: usize,
}

impl EventError {
    pub(crate) fn new(kind: EventErrorKind, offset: usize) -> Self {
        EventError { kind, offset }
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            EventErrorKind::InvalidUtf8 => {
                write!(f, "event is not valid UTF-8 (at byte {})", self.offset)
            }
            EventErrorKind::Syntax(what) => {
                write!(f, "event is not valid JSON: {} at byte {}", what, self.offset)
            }
            EventErrorKind::NotAnObject => write!(f, "event is not a JSON object"),
            EventErrorKind::LoneSurrogate => {
                write!(f, "event has a lone surrogate escape at byte {}", self.offset)
            }
            EventErrorKind::TooDeep { limit } => {
                write!(f, "event nests deeper than {} levels (at byte {})", limit, self.offset)
            }
            EventErrorKind::TooLarge { size, limit } => {
                write!(f, "event is {} bytes, more than the limit of {}", size, limit)
            }
            EventErrorKind::TooComplex { limit } => {
                write!(f, "checking array consistency took more than {} steps", limit)
            }
        }
    }
}

impl std::error::Error for EventError {}

/// A configured size limit of the machine would be exceeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError {
    /// Which limit (`max_states`, `max_subpatterns`, ...).
    pub limit_name: &'static str,
    pub given: usize,
    pub limit: usize,
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "limit {} exceeded: {} given, at most {} allowed",
            self.limit_name, self.given, self.limit
        )
    }
}

impl std::error::Error for LimitError {}

/// Any error the machine can return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Pattern(PatternError),
    Event(EventError),
    Limit(LimitError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Pattern(e) => e.fmt(f),
            Error::Event(e) => e.fmt(f),
            Error::Limit(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl From<PatternError> for Error {
    fn from(e: PatternError) -> Self {
        Error::Pattern(e)
    }
}
impl From<EventError> for Error {
    fn from(e: EventError) -> Self {
        Error::Event(e)
    }
}
impl From<LimitError> for Error {
    fn from(e: LimitError) -> Self {
        Error::Limit(e)
    }
}
