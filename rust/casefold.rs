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

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folding() {
        assert_eq!(fold("Ä"), fold("ä"));
        assert_ne!(fold("ß"), fold("SS"));
        assert_ne!(fold("ς"), fold("Σ"));
        assert_ne!(fold("ı"), fold("I"));
        assert_eq!(fold("EC2 Instance"), "ec2 instance");
    }
}
