//! Arrays of numbers passed 64 bytes at a time.
//!
//! A gated leaf whose array holds only numbers and arrays of numbers (the
//! coordinates of a GeoJSON event, most of its bytes) is where a scan of
//! citylots spends its time. Token by token, each number is a chain of
//! dependent steps: find its end, then look at the next byte, then start
//! the next number. Here each 64-byte block is first classified into bit
//! masks, one bit a byte (digit, `-`, `.`, `,`, `[`, `]`, space, `0`) —
//! with AVX2 when the CPU has it, else SSE2 (part of every x86_64), a byte
//! loop on other targets — and
//! the array's JSON grammar is checked on the masks with a few bit
//! operations a block: a `-` only first in a number and followed by a digit,
//! a `.` between digits and at most one in a number, no digit after a
//! leading `0`, and after each number or `]` a `,` or `]`, after each `,` a
//! number or `[`, after each `[` a number, `[` or `]` (the next byte that is
//! not a space is found by adding: a carry runs through a run of spaces).
//! The brackets are counted one by one to find where the array ends, and
//! only the numbers of the window's sign have their digits read
//! ([`NumWindow::outside_at_int_end`]).
//!
//! Anything else answers `None` and the scanner reads the array the
//! ordinary way, which reports what is wrong: an exponent, whitespace other
//! than spaces, a string, an object, malformed JSON, nesting past the
//! limit, or a number its text cannot turn away.

use crate::json::NumWindow;

/// One bit a byte of a 64-byte block (bit `i`: byte `i`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Masks {
    digit: u64,
    minus: u64,
    dot: u64,
    comma: u64,
    open: u64,
    close: u64,
    space: u64,
    zero: u64,
    // Set only by the classifiers' `OBJECTS` form ([`skip`]'s).
    quote: u64,
    colon: u64,
    open_brace: u64,
    close_brace: u64,
    backslash: u64,
    /// Bytes below 0x20.
    control: u64,
}

/// The masks of a block, byte by byte: what other targets use, and the
/// reference the SSE2 classifier is tested against.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn classify_bytes<const OBJECTS: bool>(block: &[u8; 64]) -> Masks {
    let mut m = Masks::default();
    for (i, &c) in block.iter().enumerate() {
        let bit = 1u64 << i;
        let set = match c {
            b'0'..=b'9' => &mut m.digit,
            b'-' => &mut m.minus,
            b'.' => &mut m.dot,
            b',' => &mut m.comma,
            b'[' => &mut m.open,
            b']' => &mut m.close,
            b' ' => &mut m.space,
            b'"' if OBJECTS => &mut m.quote,
            b':' if OBJECTS => &mut m.colon,
            b'{' if OBJECTS => &mut m.open_brace,
            b'}' if OBJECTS => &mut m.close_brace,
            b'\\' if OBJECTS => &mut m.backslash,
            0..=0x1f if OBJECTS => &mut m.control,
            _ => continue,
        };
        *set |= bit;
        if c == b'0' {
            m.zero |= bit;
        }
    }
    m
}

/// The masks of a block, sixteen bytes a step with SSE2.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn classify<const OBJECTS: bool>(block: &[u8; 64]) -> Masks {
    // SAFETY: the build enables SSE2 (the cfg above; every x86_64 target
    // does), so the CPU running this code has it: calling a function that
    // needs only SSE2 cannot meet a missing instruction.
    unsafe { classify_sse2::<OBJECTS>(block) }
}

/// The classifiers that compare a part of the block at a time (SSE2: 16
/// bytes, AVX2: 32): each class compared, the top bits of its bytes
/// gathered (`movemask`) and shifted into their place in the mask. One
/// body for both; the AVX-512 classifier gets its masks whole.
macro_rules! lane_classifier {
    (
        $(#[$attr:meta])*
        $name:ident, $lane:tt, $bits:ty,
        $set_words:ident, $set1:ident, $cmpeq:ident, $sub:ident, $min:ident, $movemask:ident
    ) => {
        $(#[$attr])*
        fn $name<const OBJECTS: bool>(block: &[u8; 64]) -> Masks {
            use core::arch::x86_64::{$cmpeq, $min, $movemask, $set1, $set_words, $sub};
            let mut m = Masks::default();
            let (zero, nine) = ($set1(b'0' as i8), $set1(9));
            for (k, lane) in block.chunks_exact($lane).enumerate() {
                let mut w = [0i64; $lane / 8];
                for (i, word) in w.iter_mut().enumerate() {
                    let mut bytes = [0u8; 8];
                    bytes.copy_from_slice(&lane[8 * i..8 * i + 8]);
                    *word = i64::from_le_bytes(bytes);
                }
                let v = lane_classifier!(@load $set_words, w, $lane);
                let shift = $lane * k;
                macro_rules! bits {
                    ($x:expr) => {
                        u64::from($movemask($x) as $bits) << shift
                    };
                }
                macro_rules! eq {
                    ($c:expr) => {
                        bits!($cmpeq(v, $set1($c as i8)))
                    };
                }
                // A digit less `0` is 0..=9: unchanged by a minimum with 9.
                let d = $sub(v, zero);
                m.digit |= bits!($cmpeq($min(d, nine), d));
                m.minus |= eq!(b'-');
                m.dot |= eq!(b'.');
                m.comma |= eq!(b',');
                m.open |= eq!(b'[');
                m.close |= eq!(b']');
                m.space |= eq!(b' ');
                m.zero |= bits!($cmpeq(v, zero));
                if OBJECTS {
                    m.quote |= eq!(b'"');
                    m.colon |= eq!(b':');
                    m.open_brace |= eq!(b'{');
                    m.close_brace |= eq!(b'}');
                    m.backslash |= eq!(b'\\');
                    let low = $set1(0x1f);
                    m.control |= bits!($cmpeq($min(v, low), v));
                }
            }
            m
        }
    };
    // The words highest first, as the `set` intrinsics take them.
    (@load $set_words:ident, $w:ident, 16) => { $set_words($w[1], $w[0]) };
    (@load $set_words:ident, $w:ident, 32) => { $set_words($w[3], $w[2], $w[1], $w[0]) };
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
lane_classifier!(
    #[target_feature(enable = "sse2")]
    classify_sse2,
    16,
    u16,
    _mm_set_epi64x,
    _mm_set1_epi8,
    _mm_cmpeq_epi8,
    _mm_sub_epi8,
    _mm_min_epu8,
    _mm_movemask_epi8
);

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn classify<const OBJECTS: bool>(block: &[u8; 64]) -> Masks {
    classify_bytes::<OBJECTS>(block)
}

/// `x` moved one byte on (bit `i` to `i + 1`), the previous block's last
/// bit coming in first.
#[inline(always)]
fn next_byte(x: u64, previous: u64) -> u64 {
    x << 1 | previous >> 63
}

/// The first byte that is not a space at or after each marked position
/// (`from`), a carry running through each run of spaces; `carry` comes in
/// from the previous block and goes out to the next.
#[inline(always)]
fn past_spaces(space: u64, from: u64, carry: &mut bool) -> u64 {
    let (s, a) = space.overflowing_add(from & space);
    let (s, b) = s.overflowing_add(u64::from(*carry));
    *carry = a || b;
    (s & !space) | (from & !space)
}

/// The first byte that is not a digit after each marked digit run start.
#[inline(always)]
fn past_digits(digit: u64, starts: u64, carry: &mut bool) -> u64 {
    let (s, a) = digit.overflowing_add(starts & digit);
    let (s, b) = s.overflowing_add(u64::from(*carry));
    *carry = a || b;
    s & !digit
}

/// The number tokens of a block, from its masks and the previous block's.
struct Numbers {
    /// Bytes of numbers (digits, `-`, `.`).
    bytes: u64,
    /// The first byte of each number, and the byte after each byte of one.
    starts: u64,
    after: u64,
    /// Each `0` that begins an integer part (carried to the next block).
    zero_start: u64,
    /// Where the grammar of a number breaks: a `-` not first or not before
    /// a digit, a `.` not between digits or a second one, a digit after a
    /// leading `0`.
    faults: u64,
}

#[inline(always)]
fn numbers(m: &Masks, prev: &Masks, prev_zero_start: u64, in_fraction: &mut bool) -> Numbers {
    let bytes = m.digit | m.minus | m.dot;
    let after = next_byte(bytes, prev.digit | prev.minus | prev.dot);
    let after_dot = next_byte(m.dot, prev.dot);
    let after_digit = next_byte(m.digit, prev.digit);
    let mut faults = m.minus & after;
    faults |= next_byte(m.minus, prev.minus) & !m.digit;
    faults |= m.dot & !after_digit;
    faults |= after_dot & !m.digit;
    let zero_start = m.zero & !after_digit & !after_dot;
    faults |= next_byte(zero_start, prev_zero_start) & m.digit;
    faults |= past_digits(m.digit, after_dot, in_fraction) & m.dot;
    Numbers { bytes, starts: bytes & !after, after, zero_start, faults }
}

/// The block at `at`, or the input's last bytes followed by zeros (a zero
/// byte is no byte these arrays may hold, so one not closed by then fails).
#[inline(always)]
fn block_at<'b>(b: &'b [u8], at: usize, tail: &'b mut [u8; 64]) -> Option<&'b [u8; 64]> {
    match b.get(at..).and_then(<[u8]>::first_chunk::<64>) {
        Some(block) => Some(block),
        None => {
            let rest = b.get(at..)?;
            tail[..rest.len()].copy_from_slice(rest);
            Some(tail)
        }
    }
}

/// Bit `i` is the parity of the set bits of `x` at or below `i`: over a
/// block's quotes, 1 from each opening quote up to its closing one.
#[inline(always)]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// The array whose `[` is at `b[open]`, when it holds only numbers without
/// exponents, arrays, and flat objects of numbers (`{"key": number, ...}`,
/// keys without escapes), nested at most `levels` deep counting itself,
/// with spaces as its only whitespace, and is valid JSON: where it ends,
/// just past its `]`. `None` otherwise. The skipper's way over arrays of
/// coordinates objects no rule looks into (CL2's `geometry.coordinates`).
pub(crate) fn skip(b: &[u8], open: usize, levels: usize) -> Option<usize> {
    if !looks_like_numbers(b, open) {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512bw") && std::is_x86_feature_detected!("pclmulqdq") {
        // SAFETY: the CPU has AVX-512 BW and PCLMULQDQ, just checked.
        return unsafe { skip_avx512(b, open, levels) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, just checked.
        return unsafe { skip_avx2(b, open, levels) };
    }
    skip_with(b, open, levels, classify::<true>, prefix_xor)
}

/// Whether the array at `b[open]` starts like one [`skip`] takes: its first
/// element (past any `[`) a number, or an object whose first member's
/// value is one. A few bytes read, so arrays of strings or of other
/// objects cost next to nothing.
fn looks_like_numbers(b: &[u8], open: usize) -> bool {
    let mut i = open;
    let ws = |i: usize| b.iter().skip(i).position(|&c| c != b' ').map_or(b.len(), |n| i + n);
    while b.get(i) == Some(&b'[') {
        i = ws(i + 1);
    }
    if b.get(i) == Some(&b'{') {
        i = ws(i + 1);
        if b.get(i) != Some(&b'"') {
            return false;
        }
        let Some(close) = b.iter().skip(i + 1).take(32).position(|&c| c == b'"') else {
            return false;
        };
        i = ws(i + close + 2);
        if b.get(i) != Some(&b':') {
            return false;
        }
        i = ws(i + 1);
    }
    matches!(b.get(i), Some(b'-' | b'0'..=b'9'))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn skip_avx2(b: &[u8], open: usize, levels: usize) -> Option<usize> {
    skip_with(b, open, levels, |block| classify_avx2::<true>(block), prefix_xor)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw,pclmulqdq")]
unsafe fn skip_avx512(b: &[u8], open: usize, levels: usize) -> Option<usize> {
    skip_with(b, open, levels, |block| classify_avx512::<true>(block), |x| prefix_xor_clmul(x))
}

/// [`prefix_xor`] as one carry-less multiplication by all ones.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "pclmulqdq")]
fn prefix_xor_clmul(x: u64) -> u64 {
    use core::arch::x86_64::{_mm_clmulepi64_si128, _mm_cvtsi128_si64, _mm_set_epi64x};
    let product = _mm_clmulepi64_si128::<0>(_mm_set_epi64x(0, x as i64), _mm_set_epi64x(0, -1));
    _mm_cvtsi128_si64(product) as u64
}

/// [`skip`] with the given classifier, inlined into each caller.
#[inline(always)]
fn skip_with(
    b: &[u8],
    open: usize,
    levels: usize,
    classify: impl Fn(&[u8; 64]) -> Masks,
    prefix_xor: impl Fn(u64) -> u64,
) -> Option<usize> {
    let mut at = open;
    let mut depth = 0usize;
    let mut prev = Masks::default();
    let (mut prev_zero_start, mut prev_close_quote) = (0u64, 0u64);
    let (mut prev_object_comma, mut prev_array_comma) = (0u64, 0u64);
    let mut in_fraction = false;
    // Whether the previous block ended inside a string, inside an object
    // (all ones or zero).
    let (mut in_string, mut in_object) = (0u64, 0u64);
    let mut carries = [false; 7];
    let mut tail = [0u8; 64];
    loop {
        let raw = classify(block_at(b, at, &mut tail)?);
        // With no backslash, each quote opens or closes a string.
        let string = prefix_xor(raw.quote) ^ in_string;
        in_string = 0u64.wrapping_sub(string >> 63);
        let outside = !string;
        let (open_quote, close_quote) = (raw.quote & string, raw.quote & outside);
        let m = Masks {
            digit: raw.digit & outside,
            minus: raw.minus & outside,
            dot: raw.dot & outside,
            comma: raw.comma & outside,
            open: raw.open & outside,
            close: raw.close & outside,
            space: raw.space & outside,
            zero: raw.zero & outside,
            quote: raw.quote,
            colon: raw.colon & outside,
            open_brace: raw.open_brace & outside,
            close_brace: raw.close_brace & outside,
            backslash: raw.backslash,
            control: raw.control,
        };

        // Objects are flat, so their braces alternate, `{` first: the
        // parity of the braces so far is 1 from each `{` up to its `}`.
        let braces = m.open_brace | m.close_brace;
        let parity = prefix_xor(braces) ^ in_object;
        in_object = 0u64.wrapping_sub(parity >> 63);
        let interior = parity | m.close_brace;
        let mut bad = (m.open_brace & !parity) | (m.close_brace & parity);
        // No array inside an object.
        bad |= (m.open | m.close) & interior;

        // Where the array ends, by its brackets; an object is one level
        // more than the array it is in (`objects`: those not yet placed).
        let mut brackets = m.open | m.close;
        let mut objects = m.open_brace;
        let mut region = u64::MAX;
        let mut end = None;
        while brackets != 0 {
            let i = brackets.trailing_zeros();
            if objects & !(u64::MAX << i) != 0 && depth >= levels {
                return None;
            }
            objects &= u64::MAX << i;
            let opens = (m.open >> i) as usize & 1;
            depth = depth + 2 * opens - 1;
            if depth > levels {
                return None;
            }
            if depth == 0 {
                region = u64::MAX >> (63 - i);
                end = Some(at + i as usize + 1);
                objects = 0;
                break;
            }
            brackets &= brackets - 1;
        }
        if objects != 0 && depth >= levels {
            return None;
        }

        // The grammar, on the bytes up to the end.
        let n = numbers(&m, &prev, prev_zero_start, &mut in_fraction);
        let structural = n.bytes
            | m.comma
            | m.open
            | m.close
            | m.space
            | m.colon
            | m.open_brace
            | m.close_brace
            | raw.quote;
        bad |= n.faults | raw.backslash | raw.control | (outside & !structural);
        // Strings are keys: inside objects, each followed by a colon, and
        // each colon by a number.
        bad |= open_quote & !interior;
        let [value, object_comma, array_comma, bracket, brace, key, colon] = &mut carries;
        let value_end = (n.after & !n.bytes)
            | next_byte(m.close, prev.close)
            | next_byte(m.close_brace, prev.close_brace);
        bad |= past_spaces(m.space, value_end, value) & !(m.comma | m.close | m.close_brace);
        let (in_objects, in_arrays) = (m.comma & interior, m.comma & !interior);
        bad |= past_spaces(m.space, next_byte(in_objects, prev_object_comma), object_comma)
            & !open_quote;
        bad |= past_spaces(m.space, next_byte(in_arrays, prev_array_comma), array_comma)
            & !(n.starts | m.open | m.open_brace);
        bad |= past_spaces(m.space, next_byte(m.open, prev.open), bracket)
            & !(n.starts | m.open | m.close | m.open_brace);
        bad |= past_spaces(m.space, next_byte(m.open_brace, prev.open_brace), brace)
            & !(open_quote | m.close_brace);
        bad |= past_spaces(m.space, next_byte(close_quote, prev_close_quote), key) & !m.colon;
        bad |= past_spaces(m.space, next_byte(m.colon, prev.colon), colon) & !n.starts;
        if bad & region != 0 {
            return None;
        }
        if end.is_some() {
            return end;
        }
        prev = m;
        prev_zero_start = n.zero_start;
        prev_close_quote = close_quote;
        (prev_object_comma, prev_array_comma) = (in_objects, in_arrays);
        at += 64;
    }
}

/// The array whose `[` is at `b[open]`, when it holds only numbers without
/// exponents and arrays of them, nested at most `levels` deep counting
/// itself, with spaces as its only whitespace, is valid JSON, and `window`
/// turns every number away by its text: where it ends (just past its `]`)
/// and how many arrays it is, itself included. `None` otherwise.
pub(crate) fn pass(
    b: &[u8],
    open: usize,
    window: &NumWindow,
    levels: usize,
) -> Option<(usize, u32)> {
    if !window.has_text_test() || b.get(open) != Some(&b'[') {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512bw") {
        // SAFETY: the CPU has AVX-512 BW, just checked.
        return unsafe { pass_avx512(b, open, window, levels) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, just checked.
        return unsafe { pass_avx2(b, open, window, levels) };
    }
    pass_with(b, open, window, levels, classify::<false>)
}

/// [`pass`] with blocks classified by AVX2: half the steps of SSE2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pass_avx2(
    b: &[u8],
    open: usize,
    window: &NumWindow,
    levels: usize,
) -> Option<(usize, u32)> {
    pass_with(b, open, window, levels, |block| classify_avx2::<false>(block))
}

/// [`pass`] with blocks classified by AVX-512: one step a block.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw")]
unsafe fn pass_avx512(
    b: &[u8],
    open: usize,
    window: &NumWindow,
    levels: usize,
) -> Option<(usize, u32)> {
    pass_with(b, open, window, levels, |block| classify_avx512::<false>(block))
}

/// The masks of a block with AVX-512 (BW): each class one comparison of
/// the whole block straight into its 64-bit mask, where SSE2 and AVX2
/// compare, extract and shift a part at a time (the caller has checked
/// that the CPU has it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw")]
fn classify_avx512<const OBJECTS: bool>(block: &[u8; 64]) -> Masks {
    use core::arch::x86_64::{
        _mm512_cmpeq_epi8_mask, _mm512_cmplt_epu8_mask, _mm512_set1_epi8, _mm512_set_epi64,
        _mm512_sub_epi8,
    };
    let mut w = [0i64; 8];
    for (i, word) in w.iter_mut().enumerate() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&block[8 * i..8 * i + 8]);
        *word = i64::from_le_bytes(bytes);
    }
    // One load of the block (the compiler joins the eight words).
    let v = _mm512_set_epi64(w[7], w[6], w[5], w[4], w[3], w[2], w[1], w[0]);
    macro_rules! eq {
        ($c:expr) => {
            _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8($c as i8))
        };
    }
    macro_rules! below {
        ($x:expr, $n:expr) => {
            _mm512_cmplt_epu8_mask($x, _mm512_set1_epi8($n as i8))
        };
    }
    let mut m = Masks {
        digit: below!(_mm512_sub_epi8(v, _mm512_set1_epi8(b'0' as i8)), 10),
        minus: eq!(b'-'),
        dot: eq!(b'.'),
        comma: eq!(b','),
        open: eq!(b'['),
        close: eq!(b']'),
        space: eq!(b' '),
        zero: eq!(b'0'),
        ..Masks::default()
    };
    if OBJECTS {
        m.quote = eq!(b'"');
        m.colon = eq!(b':');
        m.open_brace = eq!(b'{');
        m.close_brace = eq!(b'}');
        m.backslash = eq!(b'\\');
        m.control = below!(v, 0x20);
    }
    m
}

#[cfg(target_arch = "x86_64")]
lane_classifier!(
    /// The masks of a block, thirty-two bytes a step with AVX2 (the caller
    /// has checked that the CPU has it).
    #[target_feature(enable = "avx2")]
    classify_avx2, 32, u32,
    _mm256_set_epi64x, _mm256_set1_epi8, _mm256_cmpeq_epi8, _mm256_sub_epi8, _mm256_min_epu8,
    _mm256_movemask_epi8
);

/// [`pass`] with the given classifier, inlined into each caller.
#[inline(always)]
fn pass_with(
    b: &[u8],
    open: usize,
    window: &NumWindow,
    levels: usize,
    classify: impl Fn(&[u8; 64]) -> Masks,
) -> Option<(usize, u32)> {
    let mut at = open;
    let (mut depth, mut arrays) = (0usize, 0u32);
    let mut prev = Masks::default();
    // The previous block's leading zeros and number starts of the window's sign.
    let (mut prev_zero_start, mut prev_signed_start, mut prev_int_first) = (0u64, 0u64, 0u64);
    let (mut after_value, mut after_comma, mut after_open) = (false, false, false);
    let (mut in_fraction, mut in_integer) = (false, false);
    let mut tail = [0u8; 64];
    loop {
        let m = classify(block_at(b, at, &mut tail)?);

        // Where the array ends, bracket by bracket; without a branch on
        // which bracket it is (they alternate in no order a predictor keeps).
        let mut brackets = m.open | m.close;
        let mut region = u64::MAX;
        let mut end = None;
        while brackets != 0 {
            let i = brackets.trailing_zeros();
            let opens = (m.open >> i) as usize & 1;
            depth = depth + 2 * opens - 1;
            arrays += opens as u32;
            if depth > levels {
                return None;
            }
            if depth == 0 {
                region = u64::MAX >> (63 - i);
                end = Some(at + i as usize + 1);
                break;
            }
            brackets &= brackets - 1;
        }

        // The grammar, on the bytes up to the end.
        let n = numbers(&m, &prev, prev_zero_start, &mut in_fraction);
        let (number, starts, zero_start) = (n.bytes, n.starts, n.zero_start);
        let after_number = n.after;
        let mut bad = n.faults | !(number | m.comma | m.open | m.close | m.space);
        let value_end = (after_number & !number) | next_byte(m.close, prev.close);
        bad |= past_spaces(m.space, value_end, &mut after_value) & !(m.comma | m.close);
        bad |= past_spaces(m.space, next_byte(m.comma, prev.comma), &mut after_comma)
            & !(starts | m.open);
        bad |= past_spaces(m.space, next_byte(m.open, prev.open), &mut after_open)
            & !(starts | m.open | m.close);
        if bad & region != 0 {
            return None;
        }

        // The numbers of the window's sign, where their integer digits end.
        let signed_start = if window.negative { starts & m.minus } else { starts & m.digit };
        let int_first =
            if window.negative { next_byte(signed_start, prev_signed_start) } else { signed_start };
        let mut ends = past_digits(m.digit, int_first, &mut in_integer) & region;
        // Only integer parts as long as the window's can lie inside: those
        // that end `len` bytes after they start.
        let len = window.int_len();
        ends &= int_first << len | prev_int_first >> (64 - len);
        while ends != 0 {
            if !window.outside_at_int_end(b, at + ends.trailing_zeros() as usize) {
                return None;
            }
            ends &= ends - 1;
        }

        if let Some(end) = end {
            return Some((end, arrays));
        }
        prev = m;
        prev_zero_start = zero_start;
        prev_signed_start = signed_start;
        prev_int_first = int_first;
        at += 64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{parse, Json};

    use crate::testing::Rng;

    /// Appends a number: mostly coordinates around the window's centre
    /// (`37.807807921694092`) and its sign's other side, sometimes a near
    /// miss of the grammar. Returns whether the block pass should take it
    /// (valid, no exponent, its text alone turns it away).
    fn number(r: &mut Rng, out: &mut String) -> bool {
        let (text, takes): (String, bool) = match r.below(40) {
            0 => ("-".into(), false),
            1 => ("01.5".into(), false),
            2 => ("1.".into(), false),
            3 => (".5".into(), false),
            4 => ("1.2.3".into(), false),
            5 => ("1e5".into(), false),
            6 => ("-0.0".into(), true),
            7 => ("1-2".into(), false),
            8 => ("--1".into(), false),
            9 => ("37.807807921694092".into(), false),
            10 => ("37.8078079".into(), false),
            11 => ("0".into(), true),
            12 => ("37".into(), false),
            13 => ("370.5".into(), true),
            14 => ("3.7".into(), true),
            15 => ("-37.807807921694092".into(), true),
            // Around the window's edges: its eight digits are 80780784..=80780799.
            16..=19 => {
                let f = 80_780_770 + r.below(45);
                let more = if r.below(2) == 0 { "" } else { "5" };
                (format!("37.{f}{more}"), !(80_780_780..=80_780_805).contains(&f))
            }
            _ => {
                let sign = if r.below(2) == 0 { "-" } else { "" };
                let int = ["0", "37", "122", "36", "38", "7", "1234567"][r.below(7)];
                let mut t = format!("{sign}{int}");
                if r.below(5) != 0 {
                    t.push('.');
                    for _ in 0..1 + r.below(17) {
                        t.push((b'0' + r.below(10) as u8) as char);
                    }
                }
                // A fraction starting 8 07 80 79 2 is close to the window.
                let near = !sign.is_empty() || int != "37" || {
                    let f = t.split('.').nth(1).unwrap_or("");
                    f.len() >= 8
                        && !(80_780_780..=80_780_805).contains(&f[..8].parse::<u64>().unwrap())
                };
                (t, near)
            }
        };
        out.push_str(&text);
        takes
    }

    /// Whitespace between tokens: mostly one space or none, sometimes a
    /// newline (which the block pass leaves to the scanner).
    fn gap(r: &mut Rng, out: &mut String) -> bool {
        match r.below(12) {
            0..=4 => {}
            5..=9 => out.push(' '),
            10 => out.push_str("   "),
            _ => {
                out.push('\n');
                return false;
            }
        }
        true
    }

    /// An array of numbers and arrays, with a small chance of each kind of
    /// damage: a missing or extra comma, a stray byte, a missing bracket.
    fn array(r: &mut Rng, depth: usize, out: &mut String) -> bool {
        let mut takes = true;
        out.push('[');
        takes &= gap(r, out);
        let n = r.below(6);
        for i in 0..n {
            if i > 0 {
                match r.below(200) {
                    0 => takes = false,
                    1 => {
                        out.push_str(",,");
                        takes = false;
                    }
                    _ => out.push(','),
                }
                takes &= gap(r, out);
            }
            if depth < 4 && r.below(3) == 0 {
                takes &= array(r, depth + 1, out);
            } else {
                takes &= number(r, out);
            }
            takes &= gap(r, out);
        }
        match r.below(300) {
            0 => {
                out.push(',');
                takes = false;
            }
            1 => {
                out.push('x');
                takes = false;
            }
            2 => {
                out.push_str("{}");
                takes = false;
            }
            3 => return false,
            _ => {}
        }
        out.push(']');
        takes
    }

    /// Every number in `v`, and the arrays and their depth.
    fn walk(v: &Json, depth: usize, numbers: &mut Vec<f64>, arrays: &mut u32, deepest: &mut usize) {
        match v {
            Json::Array(items) => {
                *arrays += 1;
                *deepest = (*deepest).max(depth);
                items.iter().for_each(|i| walk(i, depth + 1, numbers, arrays, deepest));
            }
            Json::Number(t) => numbers.push(t.parse().unwrap()),
            other => panic!("not a number array: {other:?}"),
        }
    }

    /// Appends a number as [`number`] does; returns whether it is valid JSON
    /// without an exponent (what `skip` takes, with no window to pass).
    fn plain_number(r: &mut Rng, out: &mut String) -> bool {
        let start = out.len();
        number(r, out);
        let t = &out[start..];
        parse(t).is_ok() && !t.contains(['e', 'E'])
    }

    /// Appends a flat object of numbers, sometimes damaged or of another
    /// shape (a string value, an escaped key, a nested array or object, a
    /// missing colon or comma); returns whether `skip` should take it.
    fn object(r: &mut Rng, out: &mut String) -> bool {
        let mut takes = true;
        out.push('{');
        takes &= gap(r, out);
        let n = r.below(4);
        for i in 0..n {
            if i > 0 {
                if r.below(150) == 0 {
                    takes = false;
                } else {
                    out.push(',');
                }
                takes &= gap(r, out);
            }
            match r.below(60) {
                0 => {
                    out.push_str(r#""a\"b""#);
                    takes = false;
                }
                1 => out.push_str(r#""[x]: {y}, -1""#),
                _ => out.push_str(["\"x\"", "\"y\"", "\"zz\"", "\"\"", "\"é\""][r.below(5)]),
            }
            takes &= gap(r, out);
            if r.below(150) == 0 {
                takes = false;
            } else {
                out.push(':');
            }
            takes &= gap(r, out);
            match r.below(60) {
                0 => {
                    out.push_str("\"v\"");
                    takes = false;
                }
                1 => {
                    out.push_str("[1]");
                    takes = false;
                }
                2 => {
                    out.push_str("{}");
                    takes = false;
                }
                _ => takes &= plain_number(r, out),
            }
            takes &= gap(r, out);
        }
        if r.below(200) == 0 {
            out.push(',');
            takes = false;
        }
        out.push('}');
        takes
    }

    /// Now and then one byte of `text[from..]` deleted, doubled or replaced
    /// by a byte that matters to the grammar; returns whether it did.
    fn mutate(r: &mut Rng, text: &mut String, from: usize) -> bool {
        if r.below(4) != 0 || text.len() <= from {
            return false;
        }
        let at = from + r.below(text.len() - from);
        if !text.is_char_boundary(at) || !text.is_char_boundary(at + 1) {
            return false;
        }
        let bytes: &[u8] = b"[]{},:\" \\0-.e5\n";
        let c = bytes[r.below(bytes.len())] as char;
        match r.below(3) {
            0 => {
                text.remove(at);
            }
            1 => {
                let d = text[at..at + 1].to_string();
                text.insert_str(at, &d);
            }
            _ => text.replace_range(at..at + 1, &c.to_string()),
        }
        true
    }

    /// Like [`array`], with flat objects among the elements.
    fn array_of_objects(r: &mut Rng, depth: usize, out: &mut String) -> bool {
        let mut takes = true;
        out.push('[');
        takes &= gap(r, out);
        let n = r.below(6);
        for i in 0..n {
            if i > 0 {
                if r.below(200) == 0 {
                    out.push_str(",,");
                    takes = false;
                } else {
                    out.push(',');
                }
                takes &= gap(r, out);
            }
            match r.below(6) {
                0 | 1 if depth < 4 => takes &= array_of_objects(r, depth + 1, out),
                2 | 3 => takes &= object(r, out),
                4 if r.below(40) == 0 => {
                    out.push_str("\"s\"");
                    takes = false;
                }
                _ => takes &= plain_number(r, out),
            }
            takes &= gap(r, out);
        }
        if r.below(300) == 0 {
            return false;
        }
        out.push(']');
        takes
    }

    /// How deep `v` nests, counting the containers from `depth` (a scalar
    /// adds none).
    fn deepest(v: &Json, depth: usize) -> usize {
        match v {
            Json::Array(items) => {
                items.iter().map(|i| deepest(i, depth + 1)).max().unwrap_or(depth)
            }
            Json::Object(members) => {
                members.iter().map(|(_, v)| deepest(v, depth + 1)).max().unwrap_or(depth)
            }
            _ => depth - 1,
        }
    }

    /// What `skip` takes is a valid array (our JSON reader parses exactly
    /// `open..end`) of numbers, arrays and objects, no deeper than allowed;
    /// and it takes every such array of the shapes it is for (spaces only,
    /// no exponent, no escape, flat objects whose values are numbers). The
    /// three classifiers answer alike.
    #[test]
    fn skip_takes_only_valid_arrays() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut taken, mut should) = (0, 0);
        for round in 0..100_000 {
            let mut text = " ".repeat(r.below(70));
            let open = text.len();
            let mut takes = array_of_objects(&mut r, 1, &mut text);
            takes &= !mutate(&mut r, &mut text, open + 1);
            let close = text.len();
            match r.below(4) {
                0 => {}
                1 => text.push_str(" ] } }"),
                _ => text.push_str(&"] ".repeat(r.below(40))),
            }
            let levels = if round % 10 == 0 { r.below(5) } else { 8 };
            let t = text.as_bytes();
            let got = skip(t, open, levels);
            if looks_like_numbers(t, open) {
                assert_eq!(skip_with(t, open, levels, classify::<true>, prefix_xor), got);
                assert_eq!(skip_with(t, open, levels, classify_bytes::<true>, prefix_xor), got);
            }
            if let Some(end) = got {
                taken += 1;
                let claimed = &text[open..end];
                let parsed = parse(claimed).unwrap_or_else(|e| panic!("{claimed:?}: {e}"));
                let d = deepest(&parsed, 1);
                assert!(d <= levels, "{claimed} is {d} deep, {levels} allowed");
                if takes {
                    assert_eq!(end, close, "{text}");
                }
            }
            let fits = parse(&text[open..close]).is_ok_and(|v| deepest(&v, 1) <= levels);
            if takes && fits && looks_like_numbers(t, open) {
                should += 1;
                assert!(got.is_some(), "not taken: {:?} at {open} in {text:?}", &text[open..close]);
            }
        }
        assert!(taken > 5_000 && should > 5_000, "taken {taken}, should {should}");
    }

    /// What the block pass takes is a valid array of numbers, ending where
    /// it says, holding as many arrays as it says, no deeper than allowed,
    /// every number outside the window; and it takes every array of the
    /// shapes it is for. Arrays start anywhere in a block and end anywhere,
    /// up to the input's last byte, so blocks and the tail are crossed at
    /// every offset.
    #[test]
    fn pass_takes_only_valid_arrays_outside_the_window() {
        let v = 37.807_807_921_694_09_f64;
        let window = NumWindow::new(v - v * 2e-9, v + v * 2e-9);
        assert!(window.has_text_test());
        let mut r = Rng(0x2545_f491_4f6c_dd1d);
        let (mut taken, mut should) = (0, 0);
        for round in 0..100_000 {
            let mut text = " ".repeat(r.below(70));
            let open = text.len();
            let mut takes = array(&mut r, 1, &mut text);
            takes &= !mutate(&mut r, &mut text, open + 1);
            let close = text.len();
            match r.below(4) {
                0 => {}
                1 => text.push_str(" ] } }"),
                _ => text.push_str(&"] ".repeat(r.below(40))),
            }
            let levels = if round % 10 == 0 { r.below(5) } else { 8 };
            let got = pass(text.as_bytes(), open, &window, levels);
            // Each classifier gives the same answer.
            let t = text.as_bytes();
            assert_eq!(pass_with(t, open, &window, levels, classify::<false>), got);
            assert_eq!(pass_with(t, open, &window, levels, classify_bytes::<false>), got);
            if let Some((end, arrays)) = got {
                taken += 1;
                let claimed = &text[open..end];
                let parsed = parse(claimed).unwrap_or_else(|e| panic!("{claimed:?}: {e}"));
                let (mut numbers, mut count, mut deepest) = (Vec::new(), 0, 0);
                walk(&parsed, 1, &mut numbers, &mut count, &mut deepest);
                assert_eq!(arrays, count, "{claimed}");
                assert!(deepest <= levels, "{claimed} is {deepest} deep, {levels} allowed");
                for n in numbers {
                    assert!(n <= window.low || n >= window.high, "{n} is inside, in {claimed}");
                }
                // (A parse of exactly `open..end` pins the end; an array
                // generated without its `]` ends at the suffix's.)
                if takes {
                    assert_eq!(end, close, "{text}");
                }
            }
            let deep_enough = {
                let (mut d, mut max) = (0usize, 0usize);
                for c in text[open..close].bytes() {
                    match c {
                        b'[' => {
                            d += 1;
                            max = max.max(d);
                        }
                        b']' => d = d.saturating_sub(1),
                        _ => {}
                    }
                }
                max <= levels
            };
            if takes && deep_enough && parse(&text[open..close]).is_ok() {
                should += 1;
                assert!(got.is_some(), "not taken: {:?}", &text[open..close]);
            }
        }
        assert!(taken > 15_000 && should > 15_000, "taken {taken}, should {should}");
    }

    /// The carry-less product gives the prefix parity of every word.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn prefix_xor_by_clmul() {
        if !std::is_x86_feature_detected!("pclmulqdq") {
            return;
        }
        let mut r = Rng(0x2545_f491_4f6c_dd1d);
        let mut word = || r.below(usize::MAX) as u64;
        for k in 0..100_000 {
            // Sparse words too, like a block's quotes.
            let x = match k {
                0 => 0,
                1 => u64::MAX,
                2 => 1 << 63,
                _ if k % 2 == 0 => word() & word() & word(),
                _ => word(),
            };
            // SAFETY: the CPU has PCLMULQDQ, just checked.
            assert_eq!(unsafe { prefix_xor_clmul(x) }, prefix_xor(x), "{x:#x}");
        }
    }

    #[test]
    fn classifier_agrees_with_bytes() {
        let alphabet = b"0123456789-.,[] \n\t\x00\x7f\x80\xff\"eE+/:a{}";
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let mut block = [0u8; 64];
            for c in block.iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *c = alphabet[(state % alphabet.len() as u64) as usize];
            }
            for objects in [false, true] {
                let bytes = if objects {
                    classify_bytes::<true>(&block)
                } else {
                    classify_bytes::<false>(&block)
                };
                let sse2 =
                    if objects { classify::<true>(&block) } else { classify::<false>(&block) };
                assert_eq!(sse2, bytes);
                #[cfg(target_arch = "x86_64")]
                if std::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2, just checked.
                    let avx2 = unsafe {
                        if objects {
                            classify_avx2::<true>(&block)
                        } else {
                            classify_avx2::<false>(&block)
                        }
                    };
                    assert_eq!(avx2, bytes);
                }
                #[cfg(target_arch = "x86_64")]
                if std::is_x86_feature_detected!("avx512bw") {
                    // SAFETY: the CPU has AVX-512 BW, just checked.
                    let avx512 = unsafe {
                        if objects {
                            classify_avx512::<true>(&block)
                        } else {
                            classify_avx512::<false>(&block)
                        }
                    };
                    assert_eq!(avx512, bytes);
                }
            }
        }
    }
}
