//! Numbers: which texts mean a float64, and an order-preserving key for ranges.
//!
//! A pattern number must denote one float64 unambiguously: finite, not a
//! non-zero value rounded to zero, and at most 17 significant digits (17
//! digits name every float64; more would promise precision that float64
//! comparison cannot keep). A bare integer literal beyond 2^53 is instead a
//! *text* literal, matched against the event number's text.

use crate::error::PatternError;

/// What a number literal in a match list means.
#[derive(Debug, Clone, PartialEq)]
pub enum LiteralNumber {
    /// Compare by float64 value.
    Float(f64),
    /// Compare by the exact text of the event number.
    Text(Box<str>),
}

fn cannot_compare(text: &str) -> PatternError {
    PatternError::new(format!("Cannot compare number : {}", text))
}

/// Digits of the mantissa without leading and trailing zeros.
fn significant_digits(text: &str) -> usize {
    let mantissa = text.split(['e', 'E']).next().unwrap_or("");
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let start = digits.iter().position(|&d| d != b'0');
    match start {
        None => 0,
        Some(s) => {
            let end = digits.iter().rposition(|&d| d != b'0').unwrap_or(s);
            end + 1 - s
        }
    }
}

fn is_integer_syntax(text: &str) -> bool {
    let body = text.strip_prefix('-').unwrap_or(text);
    !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit())
}

/// True when an integer-syntax text has magnitude above 2^53.
fn beyond_2_pow_53(text: &str) -> bool {
    const LIMIT: &str = "9007199254740992";
    let body = text
        .strip_prefix('-')
        .unwrap_or(text)
        .trim_start_matches('0');
    body.len() > LIMIT.len() || (body.len() == LIMIT.len() && body > LIMIT)
}

/// A number used as an operand (`numeric`, `anything-but`): must be a float64.
pub fn operand(text: &str) -> Result<f64, PatternError> {
    let sig = significant_digits(text);
    if sig > 17 {
        return Err(cannot_compare(text));
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && !(v == 0.0 && sig > 0) => Ok(if v == 0.0 { 0.0 } else { v }),
        _ => Err(cannot_compare(text)),
    }
}

/// A bare number in a match list.
pub fn literal(text: &str) -> Result<LiteralNumber, PatternError> {
    if is_integer_syntax(text) && beyond_2_pow_53(text) {
        return Ok(LiteralNumber::Text(text.into()));
    }
    operand(text).map(LiteralNumber::Float)
}

/// The float64 value of an event number's text (already checked to be JSON
/// number syntax), or `None` when it has none (overflow, or a non-zero value
/// that rounds to zero).
#[inline]
pub fn event_value(text: &[u8]) -> Option<f64> {
    // JSON number syntax is ASCII.
    let s = std::str::from_utf8(text).ok()?;
    let v: f64 = s.parse().ok()?;
    if !v.is_finite() {
        return None;
    }
    if v == 0.0 {
        if significant_digits(s) > 0 {
            return None;
        }
        return Some(0.0);
    }
    Some(v)
}

/// Hash key of a float64: equal values, equal keys (`-0` and `0` agree).
#[inline]
pub fn eq_key(v: f64) -> u64 {
    if v == 0.0 {
        0
    } else {
        v.to_bits()
    }
}

/// A key whose unsigned order is the numeric order of finite float64s.
#[inline]
pub fn order_key(v: f64) -> u64 {
    let v = if v == 0.0 { 0.0 } else { v };
    let bits = v.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(literal("5").unwrap(), LiteralNumber::Float(5.0));
        assert_eq!(literal("0.10").unwrap(), LiteralNumber::Float(0.1));
        assert_eq!(
            literal("123456789012345678").unwrap(),
            LiteralNumber::Text("123456789012345678".into())
        );
        assert!(literal("1e400").is_err());
        assert!(literal("1e-400").is_err());
        assert!(literal("1.00000000000000000001").is_err());
        assert_eq!(literal("1e300").unwrap(), LiteralNumber::Float(1e300));
        assert_eq!(literal("-0").unwrap(), LiteralNumber::Float(0.0));
        assert_eq!(
            literal("37.807807921694092").unwrap(),
            LiteralNumber::Float("37.807807921694092".parse().unwrap())
        );
    }

    #[test]
    fn order() {
        let xs = [-1e300, -5.5, -0.0, 0.0, 1e-300, 3.0, 1e300];
        for w in xs.windows(2) {
            assert!(order_key(w[0]) <= order_key(w[1]));
        }
        assert_eq!(order_key(-0.0), order_key(0.0));
    }

    #[test]
    fn events() {
        assert_eq!(event_value(b"5e0"), Some(5.0));
        assert_eq!(event_value(b"1e400"), None);
        assert_eq!(event_value(b"1e-400"), None);
        assert_eq!(event_value(b"0e10"), Some(0.0));
        assert_eq!(
            event_value(b"-122.422003528252475"),
            Some("-122.422003528252475".parse().unwrap())
        );
    }
}
