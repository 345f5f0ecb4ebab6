//! Helpers shared by the crate's unit tests.

/// A small deterministic generator (xorshift) for the randomized tests.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// A number below `n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    /// One of `from`.
    pub(crate) fn pick<'x>(&mut self, from: &[&'x str]) -> &'x str {
        from[self.below(from.len())]
    }
}

/// Byte strings close to each other: `abc…` of every length from 0 to 20,
/// and each with the byte at one position replaced by each of `with(at)`.
pub(crate) fn one_byte_apart(with: impl Fn(usize) -> Vec<u8>) -> Vec<Vec<u8>> {
    let base: Vec<u8> = (0..20u8).map(|i| b'a' + i).collect();
    let mut out = Vec::new();
    for len in 0..=20 {
        let key = base[..len].to_vec();
        for at in 0..len {
            for b in with(at) {
                let mut other = key.clone();
                other[at] = b;
                out.push(other);
            }
        }
        out.push(key);
    }
    out
}
