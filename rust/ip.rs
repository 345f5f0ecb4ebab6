//! IP addresses for `cidr` and for literal strings that are addresses.
//! Addresses become `(family, u128)` keys so that ranges are integer intervals.

use crate::error::PatternError;
use std::net::{Ipv4Addr, Ipv6Addr};

/// An address as an ordered key: family 4 or 6, and its bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpKey {
    pub family: u8,
    pub bits: u128,
}

/// Parses a standard IPv4 dotted quad or IPv6 address (no zone).
pub fn parse(s: &str) -> Option<IpKey> {
    if s.is_empty() || s.len() > 45 {
        return None;
    }
    if let Ok(v4) = s.parse::<Ipv4Addr>() {
        return Some(IpKey { family: 4, bits: u32::from(v4) as u128 });
    }
    if let Ok(v6) = s.parse::<Ipv6Addr>() {
        return Some(IpKey { family: 6, bits: u128::from(v6) });
    }
    None
}

/// An inclusive range of addresses of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    pub family: u8,
    pub low: u128,
    pub high: u128,
}

/// Parses `ADDR/BITS` with EventBridge's checks and messages, in its order.
pub fn parse_cidr(text: &str) -> Result<IpRange, PatternError> {
    let mut parts = text.split('/');
    let (addr, mask) = match (parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(m), None) => (a, m),
        _ => return Err(PatternError::new("Malformed CIDR, one '/' required")),
    };
    if mask.is_empty() || !mask.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PatternError::new("Malformed CIDR, mask bits must be an integer"));
    }
    let key = parse(addr)
        .ok_or_else(|| PatternError::new(format!("Nonstandard IP address: {}", addr)))?;
    let width: u32 = if key.family == 4 { 32 } else { 128 };
    let bits: u32 = match mask.trim_start_matches('0').len() {
        0 => 0,
        n if n > 3 => u32::MAX,
        _ => mask.parse().unwrap_or(u32::MAX),
    };
    if bits >= width {
        return Err(PatternError::new(if key.family == 4 {
            "IPv4 mask bits must be < 32"
        } else {
            "IPv6 mask bits must be < 128"
        }));
    }
    let host_bits = width - bits;
    let host_mask: u128 = if host_bits >= 128 { u128::MAX } else { (1u128 << host_bits) - 1 };
    Ok(IpRange { family: key.family, low: key.bits & !host_mask, high: key.bits | host_mask })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        let r = parse_cidr("10.0.0.5/24").unwrap();
        assert_eq!(r.low, u32::from(Ipv4Addr::new(10, 0, 0, 0)) as u128);
        assert_eq!(r.high, u32::from(Ipv4Addr::new(10, 0, 0, 255)) as u128);
        assert_eq!(
            parse_cidr("bad-filter").unwrap_err().reason,
            "Malformed CIDR, one '/' required"
        );
        assert_eq!(
            parse_cidr("bad-/64filter").unwrap_err().reason,
            "Malformed CIDR, mask bits must be an integer"
        );
        assert_eq!(
            parse_cidr("xx.11.xx/8").unwrap_err().reason,
            "Nonstandard IP address: xx.11.xx"
        );
        assert_eq!(parse_cidr("1.2.3.4/32").unwrap_err().reason, "IPv4 mask bits must be < 32");
        assert_eq!(parse_cidr("::/128").unwrap_err().reason, "IPv6 mask bits must be < 128");
        assert!(parse_cidr("2001:db8:1234:1a00::/64").is_ok());
        assert!(parse("10.0.0.01").is_none());
        assert_eq!(parse("2001:db8::1"), parse("2001:0db8:0:0:0:0:0:1"));
    }
}
