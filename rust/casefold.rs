//! Case folding for `equals-ignore-case`: each character is replaced by its
//! Unicode lowercase mapping when that mapping is one character, else kept.
//! So `Ä`/`ä` agree while `ß`/`SS`, `ς`/`Σ` and `ı`/`I` do not.

use std::borrow::Cow;

#[inline]
fn fold_char(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// The folded form of `s`; borrowed when nothing changes (the common ASCII
/// lower-case case).
pub fn fold(s: &str) -> Cow<'_, str> {
    if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        return Cow::Borrowed(s);
    }
    if s.is_ascii() {
        return Cow::Owned(s.to_ascii_lowercase());
    }
    Cow::Owned(s.chars().map(fold_char).collect())
}

/// Calls `f` with the bytes of `fold(s)`. A short ASCII `s` (the common
/// case: street names, ids) is lowered into a stack buffer, so nothing is
/// allocated; `fold` lowers ASCII the same way.
#[inline]
pub fn with_folded<R>(s: &str, f: impl FnOnce(&[u8]) -> R) -> R {
    const SHORT: usize = 64;
    if s.len() <= SHORT && s.is_ascii() {
        let mut buf = [0u8; SHORT];
        let out = &mut buf[..s.len()];
        for (d, b) in out.iter_mut().zip(s.bytes()) {
            *d = b.to_ascii_lowercase();
        }
        return f(out);
    }
    f(fold(s).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::{fold, with_folded};

    #[test]
    fn with_folded_is_fold() {
        let long = "Ab".repeat(40);
        for s in ["", "abc", "EC2 Instance", "JEFFERSON", "Ä-Straße", "ΣΑΣ", &long, "x\u{7f}Y"]
        {
            with_folded(s, |b| assert_eq!(b, fold(s).as_bytes(), "{s}"));
        }
    }

    #[test]
    fn folding() {
        assert_eq!(fold("Ä"), fold("ä"));
        assert_ne!(fold("ß"), fold("SS"));
        assert_ne!(fold("ς"), fold("Σ"));
        assert_ne!(fold("ı"), fold("I"));
        assert_eq!(fold("EC2 Instance"), "ec2 instance");
    }
}
