//! A small JSON reader for patterns. Patterns are small and read once, so
//! clarity wins here; what matters is that numbers keep the text they were
//! written with (error texts quote it, and big integer literals compare by
//! it), object members keep document order, and a repeated key keeps its
//! first position but takes its last value.

use crate::number::Decimal;
use std::fmt::Write;

/// A parsed JSON value.
#[derive(Debug, Clone)]
pub enum Json {
    Null,
    Bool(bool),
    /// A number, as written.
    Number(Box<str>),
    String(String),
    Array(Vec<Json>),
    /// Members in document order, keys unique.
    Object(Vec<(String, Json)>),
}

/// Nesting beyond this is rejected when reading a pattern.
pub const MAX_DEPTH: usize = 512;

impl PartialEq for Json {
    /// Structural equality; object member order does not matter.
    fn eq(&self, other: &Json) -> bool {
        match (self, other) {
            (Json::Null, Json::Null) => true,
            (Json::Bool(a), Json::Bool(b)) => a == b,
            (Json::Number(a), Json::Number(b)) => a == b,
            (Json::String(a), Json::String(b)) => a == b,
            (Json::Array(a), Json::Array(b)) => a == b,
            (Json::Object(a), Json::Object(b)) => {
                a.len() == b.len()
                    && a.iter().all(|(k, v)| b.iter().any(|(k2, v2)| k == k2 && v == v2))
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Json {
    /// Compact JSON text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{}", b),
            Json::Number(n) => f.write_str(n),
            Json::String(s) => write_string(f, s),
            Json::Array(items) => {
                f.write_char('[')?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{}", v)?;
                }
                f.write_char(']')
            }
            Json::Object(members) => {
                f.write_char('{')?;
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write_string(f, k)?;
                    write!(f, ":{}", v)?;
                }
                f.write_char('}')
            }
        }
    }
}

fn write_string(f: &mut std::fmt::Formatter<'_>, s: &str) -> std::fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// The length of the JSON number at the start of `b`, or the offset at which
/// it stops being one. Shared by this reader and the event scanner.
pub(crate) fn number_len(b: &[u8]) -> Result<usize, usize> {
    number_scan(b).map(|(n, _)| n)
}

/// Reads the JSON number at the start of `b` in one pass: its length and its
/// [`Decimal`] (sign, leading digits below 10^19, power of ten), or the offset
/// at which it stops being a number. The event scanner's hot path: syntax is
/// checked and the value approximated while the digits go by once.
#[inline]
pub(crate) fn number_scan(b: &[u8]) -> Result<(usize, Decimal), usize> {
    const ROOM: u64 = 1_000_000_000_000_000_000; // one more digit still fits in u64
    let negative = b.first() == Some(&b'-');
    let mut i = usize::from(negative);
    let (mut mantissa, mut exp10) = (0u64, 0i64);
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while let Some(&c) = b.get(i) {
                if !c.is_ascii_digit() {
                    break;
                }
                if mantissa < ROOM {
                    mantissa = mantissa * 10 + u64::from(c - b'0');
                } else {
                    exp10 += 1;
                }
                i += 1;
            }
        }
        _ => return Err(i),
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let first = i;
        // Eight digits at a time while they fit: coordinates have fifteen.
        while mantissa < 10_000_000_000 {
            let Some(eight) = eight_digits(b, i) else { break };
            mantissa = mantissa * 100_000_000 + eight;
            exp10 -= 8;
            i += 8;
        }
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_digit() {
                break;
            }
            if mantissa < ROOM {
                mantissa = mantissa * 10 + u64::from(c - b'0');
                exp10 -= 1;
            }
            i += 1;
        }
        if i == first {
            return Err(i);
        }
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        let minus = b.get(i) == Some(&b'-');
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        let first = i;
        // Absurd exponents saturate; they only matter as "too big / too small".
        let mut e = 0i64;
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_digit() {
                break;
            }
            e = (e * 10 + i64::from(c - b'0')).min(1 << 40);
            i += 1;
        }
        if i == first {
            return Err(i);
        }
        exp10 = exp10.saturating_add(if minus { -e } else { e });
    }
    Ok((i, Decimal { negative, mantissa, exp10 }))
}

/// How many ASCII digits `b` holds from `i` on; eight at a time by SWAR.
#[inline(always)]
fn digit_run(b: &[u8], i: usize) -> usize {
    let mut j = i;
    while let Some(&w) = b.get(j..).and_then(<[u8]>::first_chunk::<8>) {
        let other = non_digits(u64::from_le_bytes(w));
        if other != 0 {
            return j - i + (other.trailing_zeros() / 8) as usize;
        }
        j += 8;
    }
    while b.get(j).is_some_and(u8::is_ascii_digit) {
        j += 1;
    }
    j - i
}

/// Where the JSON number starting at `b[start]` ends, or where it stops
/// being one — exactly as [`number_scan`] answers for `&b[start..]`, in
/// positions of `b`, without reading the value: the skipper's path for
/// numbers no rule can see. The skipper calls it with its own cursor, so no
/// sub-slice is cut per number. The common shape (a coordinate) is read by
/// [`number_end_short`] without a loop.
#[inline]
pub(crate) fn number_end(b: &[u8], start: usize) -> Result<usize, usize> {
    match number_end_short(b, start) {
        Some(end) => Ok(end),
        None => number_end_plain(b, start),
    }
}

/// [`number_end`] for every shape, digit run by digit run.
#[inline]
fn number_end_plain(b: &[u8], start: usize) -> Result<usize, usize> {
    let mut i = start + usize::from(b.get(start) == Some(&b'-'));
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i += digit_run(b, i),
        _ => return Err(i),
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let n = digit_run(b, i);
        if n == 0 {
            return Err(i);
        }
        i += n;
    }
    exponent_end(b, i).map(|e| e.unwrap_or(i))
}

/// Where the exponent starting at `b[i]` ends (`None` when there is no `e`
/// or `E` there), or where it stops being one.
#[inline]
fn exponent_end(b: &[u8], i: usize) -> Result<Option<usize>, usize> {
    if !matches!(b.get(i), Some(b'e' | b'E')) {
        return Ok(None);
    }
    let mut i = i + 1;
    if let Some(b'+' | b'-') = b.get(i) {
        i += 1;
    }
    match digit_run(b, i) {
        0 => Err(i),
        n => Ok(Some(i + n)),
    }
}

/// [`number_end`], and also bounds on the number's value read from its sign,
/// integer digits and first eight fraction digits: `(low, high)` holding it,
/// or `None` when that is not cheap (an exponent, or over 15 integer digits).
/// What a gate needs to turn most numbers away without reading them whole.
#[inline]
pub(crate) fn number_skip_bounds(b: &[u8]) -> Result<(usize, Option<(f64, f64)>), usize> {
    let negative = b.first() == Some(&b'-');
    let mut i = usize::from(negative);
    let mut int = 0u64;
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            // Integer parts are short: a byte loop beats setting up SWAR.
            while let Some(&c) = b.get(i) {
                if !c.is_ascii_digit() {
                    break;
                }
                int = int.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
                i += 1;
            }
        }
        _ => return Err(i),
    }
    let mut cheap = i - usize::from(negative) <= 15;
    let (mut low, mut width) = (int as f64, 0.0);
    if b.get(i) == Some(&b'.') {
        i += 1;
        if let Some(eight) = eight_digits(b, i) {
            low += eight as f64 * 1e-8;
            i += 8;
            let more = digit_run(b, i);
            if more > 0 {
                width = 1e-8;
                i += more;
            }
        } else {
            let n = digit_run(b, i);
            if n == 0 {
                return Err(i);
            }
            // Fewer than eight digits: bounded by the integer part alone.
            width = 1.0;
            i += n;
        }
    }
    if let Some(end) = exponent_end(b, i)? {
        i = end;
        cheap = false;
    }
    let bounds = match (cheap, negative) {
        (false, _) => None,
        (true, false) => Some((low, low + width)),
        (true, true) => Some((-(low + width), -low)),
    };
    Ok((i, bounds))
}

/// A gated leaf's window ([`crate::values::NumGate::window`]) with what turns most numbers
/// away by their text alone. When the window lies strictly between two
/// integers of one sign (`I < |v| < I + 1` for each `v` in it), a number of
/// the common shape ([`number_end_short`]: no exponent, at most
/// seven integer digits) lies outside it when its sign differs or its
/// integer digits are not `I`'s. That holds exactly, with no rounding: the
/// magnitude of a number whose integer digits read `N` lies in `[N, N + 1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumWindow {
    pub low: f64,
    pub high: f64,
    /// The sign of the window's values (`true`: negative).
    pub(crate) negative: bool,
    /// `I`'s digits as a little-endian word (first digit lowest), and how
    /// many there are; 0 when the window allows no such test.
    digits: u64,
    len: u32,
    /// For a number whose integer digits are `I`'s: the range its first
    /// eight fraction digits (read as an integer `F`) must lie in for it to
    /// be inside, widened by two units each way against rounding.
    frac: (u64, u64),
}

impl NumWindow {
    /// The window no number lies in.
    pub const EMPTY: NumWindow = NumWindow {
        low: f64::INFINITY,
        high: f64::NEG_INFINITY,
        negative: true,
        digits: 0,
        len: 0,
        frac: (0, 0),
    };

    pub fn new(low: f64, high: f64) -> NumWindow {
        let negative = high < 0.0;
        let (a, b) = if negative { (-high, -low) } else { (low, high) };
        let i = a.floor();
        let mut w = NumWindow { low, high, negative, digits: 0, len: 0, frac: (0, 0) };
        // `a > 0` keeps 0 out (so the sign decides), `i < 10^7` keeps `I` to
        // seven digits; NaN and the empty window fail the tests.
        if a > 0.0 && a > i && b < i + 1.0 && i < 1e7 {
            let mut n = i as u64;
            loop {
                w.digits = w.digits << 8 | (u64::from(b'0') + n % 10);
                w.len += 1;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            // `|v| = I + F / 10^8 + r` with `0 <= r < 10^-8`: outside when
            // `F + 1 <= (a - I) 10^8` or `F > (b - I) 10^8`.
            let low = ((a - i) * 1e8).floor() as u64;
            let high = ((b - i) * 1e8).ceil() as u64;
            w.frac = (low.saturating_sub(2), high + 2);
        }
        w
    }

    /// At a number (`b[at]` is `-` or a digit): where it ends when its sign
    /// or integer digits put it outside, having checked its syntax; `None`
    /// when that takes more (then the scanner judges it by [`number_skip_bounds`]).
    #[inline(always)]
    pub(crate) fn out_by_text(&self, b: &[u8], at: usize) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let end = number_end_short(b, at)?;
        let negative = b.get(at) == Some(&b'-');
        if negative != self.negative {
            return Some(end);
        }
        // The common shape has 24 bytes from its first digit on.
        let int = at + usize::from(negative);
        let w = u64::from_le_bytes(*b.get(int..)?.first_chunk::<8>()?);
        // The dot: the first byte that is not a digit, one to seven in.
        let len = non_digits(w).trailing_zeros() / 8;
        let mask = (1u64 << (8 * len)) - 1;
        if len != self.len || (w ^ self.digits) & mask != 0 {
            return Some(end);
        }
        self.fraction_outside(b, int + len as usize).then_some(end)
    }

    /// How many integer digits a number of the window has (1 to 7), when
    /// the text tests apply.
    #[inline]
    pub(crate) fn int_len(&self) -> u32 {
        self.len
    }

    /// Whether the window allows the text tests at all.
    #[inline]
    pub(crate) fn has_text_test(&self) -> bool {
        self.len != 0
    }

    /// For a valid number of the window's sign whose integer digits end
    /// just before `b[at]` (no exponent follows them): whether it lies
    /// outside by the tests of [`out_by_text`](Self::out_by_text); `false`
    /// when they cannot tell.
    #[inline]
    pub(crate) fn outside_at_int_end(&self, b: &[u8], at: usize) -> bool {
        // The eight bytes before `at` (zeros before the input's start).
        let mut word = [0u8; 8];
        match at.checked_sub(8).and_then(|from| b.get(from..at)) {
            Some(last) => word.copy_from_slice(last),
            None => {
                let Some(last) = b.get(..at) else { return false };
                word[8 - last.len()..].copy_from_slice(last);
            }
        }
        let w = u64::from_le_bytes(word);
        let len = self.len as usize;
        // The last `len` bytes, first lowest; and the byte before them.
        if w >> (8 * (8 - len)) != self.digits || ((w >> (8 * (7 - len))) as u8).is_ascii_digit() {
            return true;
        }
        self.fraction_outside(b, at)
    }

    /// For a number whose integer digits are `I`'s and end at `b[dot]`:
    /// whether its first eight fraction digits put it outside (`false`
    /// when there is no dot or fewer than eight digits follow it).
    #[inline(always)]
    fn fraction_outside(&self, b: &[u8], dot: usize) -> bool {
        if b.get(dot) != Some(&b'.') {
            return false;
        }
        match eight_digits(b, dot + 1) {
            Some(f) => f < self.frac.0 || f > self.frac.1,
            None => false,
        }
    }
}

/// [`number_end`] for the common shape only: where the number starting at
/// `b[start]` ends when it is an optional `-`, one to seven integer digits
/// (no zero before more digits), a `.` and fraction digits that end within
/// 24 bytes of the integer part, with no exponent; `None` for anything else
/// (then [`number_end_plain`] answers). Three word tests and no loop: a coordinate
/// such as `-122.51149576869115` is one dot and two digit runs.
#[inline(always)]
pub(crate) fn number_end_short(b: &[u8], start: usize) -> Option<usize> {
    let int = start + usize::from(*b.get(start)? == b'-');
    let chunk: &[u8; 24] = b.get(int..)?.first_chunk()?;
    let word = |k: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&chunk[8 * k..8 * k + 8]);
        u64::from_le_bytes(w)
    };
    let w0 = word(0);
    let m0 = non_digits(w0);
    // `bit` is the high bit of the first byte that is not a digit, `p`.
    let bit = m0.trailing_zeros();
    let p = bit / 8;
    if p == 0 || p == 8 || (p > 1 && w0 as u8 == b'0') || (w0 >> (bit & !7)) as u8 != b'.' {
        return None;
    }
    // The first byte after the dot that is not a digit, counted from `int`.
    // (Two shifts: `bit` + 1 is 64 when the dot is the word's last byte.)
    let rest0 = m0 >> bit >> 1;
    let stop = if rest0 != 0 {
        p + 1 + rest0.trailing_zeros() / 8
    } else {
        let m1 = non_digits(word(1));
        if m1 != 0 {
            8 + m1.trailing_zeros() / 8
        } else {
            let m2 = non_digits(word(2));
            if m2 == 0 {
                return None;
            }
            16 + m2.trailing_zeros() / 8
        }
    };
    // At least one fraction digit, and no exponent after them.
    if stop == p + 1 || chunk[stop as usize] | 0x20 == b'e' {
        return None;
    }
    Some(int + stop as usize)
}

/// The high bit of each byte of `w` (little-endian) that is not an ASCII
/// digit, up to the first byte of 0x80 or more: past that one the answer is
/// not to be trusted. A digit is 0x30..=0x39: xor-ed with 0x30 it is 0..=9.
/// Adding 0x76 sets the high bit from 10 up; or-ing the byte itself catches
/// 0x80 and above. Only a byte that becomes 0x8A or more (one of 0x80 or
/// more) carries into the next one, and such a byte is no digit and is
/// marked itself, so every caller, which looks at the lowest mark (the
/// first non-digit, or the first after a dot), reads it right; not masking
/// the carries off saves an operation and a constant on the hot path.
#[inline(always)]
pub(crate) fn non_digits(w: u64) -> u64 {
    let x = w ^ 0x3030_3030_3030_3030;
    (x.wrapping_add(0x7676_7676_7676_7676) | x) & 0x8080_8080_8080_8080
}

/// The value of `b[i..i + 8]` when those are eight ASCII digits (SWAR: the
/// check and the conversion work on all eight bytes at once).
#[inline]
pub(crate) fn eight_digits(b: &[u8], i: usize) -> Option<u64> {
    let chunk: [u8; 8] = b.get(i..i + 8)?.try_into().ok()?;
    let v = u64::from_le_bytes(chunk);
    // Every byte is 0x30..=0x39: its high nibble is 3, and adding 6 keeps it 3.
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const THREES: u64 = 0x3030_3030_3030_3030;
    if v & HIGH != THREES || v.wrapping_add(0x0606_0606_0606_0606) & HIGH != THREES {
        return None;
    }
    // Pairs, then quadruples, then the eight: first digit is the lowest byte.
    let v = (v & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(2561) >> 8;
    let v = (v & 0x00FF_00FF_00FF_00FF).wrapping_mul(6_553_601) >> 16;
    Some((v & 0x0000_FFFF_0000_FFFF).wrapping_mul(42_949_672_960_001) >> 32)
}

/// Why an escape could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EscapeError {
    /// Not a JSON escape, or a broken `\u`, at this offset from the backslash.
    Invalid(usize, &'static str),
    /// A `\uD800`-style half of a surrogate pair without its other half.
    LoneSurrogate,
}

fn hex4(b: &[u8], at: usize) -> Result<u32, EscapeError> {
    let digits = b.get(at..at + 4).ok_or(EscapeError::Invalid(at, "truncated \\u escape"))?;
    digits.iter().try_fold(0u32, |v, &c| match (c as char).to_digit(16) {
        Some(d) => Ok(v * 16 + d),
        None => Err(EscapeError::Invalid(at, "invalid \\u escape")),
    })
}

/// Decodes the escape whose backslash is `b[0]`: the character, and how many
/// bytes it took. Shared by this reader and the event scanner.
pub(crate) fn unescape(b: &[u8]) -> Result<(char, usize), EscapeError> {
    let c = match b.get(1) {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => {
            let hi = hex4(b, 2)?;
            if (0xDC00..0xE000).contains(&hi) {
                return Err(EscapeError::LoneSurrogate);
            }
            if !(0xD800..0xDC00).contains(&hi) {
                let c = char::from_u32(hi).ok_or(EscapeError::Invalid(2, "invalid \\u escape"))?;
                return Ok((c, 6));
            }
            if b.get(6..8) != Some(b"\\u") {
                return Err(EscapeError::LoneSurrogate);
            }
            let lo = hex4(b, 8)?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(EscapeError::LoneSurrogate);
            }
            let code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
            let c = char::from_u32(code).ok_or(EscapeError::Invalid(2, "invalid \\u escape"))?;
            return Ok((c, 12));
        }
        Some(_) => return Err(EscapeError::Invalid(1, "invalid escape")),
        None => return Err(EscapeError::Invalid(1, "unterminated string")),
    };
    Ok((c, 2))
}

/// Parses JSON text. The error is a readable message with the position.
pub fn parse(text: &str) -> Result<Json, String> {
    let mut r = Reader { s: text.as_bytes(), pos: 0, depth: 0 };
    r.ws();
    let v = r.value()?;
    r.ws();
    if r.pos < r.s.len() {
        return Err(r.error("unexpected characters after the JSON value"));
    }
    Ok(v)
}

struct Reader<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Reader<'_> {
    fn error(&self, what: &str) -> String {
        let before = &self.s[..self.pos.min(self.s.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column =
            before.len() - before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
        format!("{} at line {} column {}", what, line, column)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8, what: &str) -> Result<(), String> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => Ok(Json::String(self.string()?)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.word("true", Json::Bool(true)),
            Some(b'f') => self.word("false", Json::Bool(false)),
            Some(b'n') => self.word("null", Json::Null),
            Some(_) => Err(self.error("expected a JSON value")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn word(&mut self, w: &str, v: Json) -> Result<Json, String> {
        if self.s[self.pos..].starts_with(w.as_bytes()) {
            self.pos += w.len();
            Ok(v)
        } else {
            Err(self.error("invalid literal"))
        }
    }

    fn nest(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!("nesting deeper than {} levels", MAX_DEPTH)));
        }
        Ok(())
    }

    fn object(&mut self) -> Result<Json, String> {
        self.nest()?;
        self.pos += 1;
        let mut members: Vec<(String, Json)> = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a member name"));
            }
            let key = self.string()?;
            self.ws();
            self.eat(b':', "expected ':'")?;
            self.ws();
            let v = self.value()?;
            match members.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = v,
                None => members.push((key, v)),
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Json::Object(members));
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self) -> Result<Json, String> {
        self.nest()?;
        self.pos += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Json::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value()?);
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.pos;
        match number_len(&self.s[start..]) {
            Ok(n) => self.pos += n,
            Err(at) => {
                self.pos += at;
                return Err(self.error("invalid number"));
            }
        }
        // Number syntax is ASCII.
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("0");
        Ok(Json::Number(text.into()))
    }

    fn string(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.s[self.pos..];
            let n = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
            if rest[..n].iter().any(|&b| b < 0x20) {
                return Err(self.error("control character in a string"));
            }
            // The input is a &str and we cut at ASCII bytes: still UTF-8.
            out.push_str(std::str::from_utf8(&rest[..n]).map_err(|_| self.error("invalid UTF-8"))?);
            self.pos += n;
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => match unescape(&self.s[self.pos..]) {
                    Ok((c, used)) => {
                        out.push(c);
                        self.pos += used;
                    }
                    Err(EscapeError::Invalid(at, what)) => {
                        self.pos += at;
                        return Err(self.error(what));
                    }
                    Err(EscapeError::LoneSurrogate) => {
                        return Err(self.error("lone surrogate escape"))
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_text() {
        let v = parse(r#"{"a": [1.0E400, -0, 5e+0]}"#).unwrap();
        assert_eq!(v.to_string(), r#"{"a":[1.0E400,-0,5e+0]}"#);
    }

    #[test]
    fn last_duplicate_wins_in_first_place() {
        let v = parse(r#"{"a": 1, "b": 2, "a": 3}"#).unwrap();
        assert_eq!(v.to_string(), r#"{"a":3,"b":2}"#);
        assert_eq!(v, parse(r#"{"b": 2, "a": 3}"#).unwrap());
    }

    #[test]
    fn errors() {
        assert!(parse("{").unwrap_err().contains("line 1 column 2"));
        assert!(parse(r#"{"a": "\ud800"}"#).is_err());
        assert!(parse(&"[".repeat(10_000)).unwrap_err().contains("nesting deeper"));
        assert_eq!(parse(r#""\ud83d\ude80""#).unwrap(), Json::String("🚀".into()));
    }

    /// The plain digit-by-digit reading `number_scan` must agree with.
    fn reference(text: &str) -> Decimal {
        const ROOM: u64 = 1_000_000_000_000_000_000;
        let b = text.as_bytes();
        let negative = b[0] == b'-';
        let mut i = usize::from(negative);
        let (mut mantissa, mut exp10) = (0u64, 0i64);
        let mut fraction = false;
        while i < b.len() && b[i] != b'e' && b[i] != b'E' {
            if b[i] == b'.' {
                fraction = true;
            } else if mantissa < ROOM {
                mantissa = mantissa * 10 + u64::from(b[i] - b'0');
                exp10 -= i64::from(fraction);
            } else if !fraction {
                exp10 += 1;
            }
            i += 1;
        }
        if i < b.len() {
            exp10 += text[i + 1..].parse::<i64>().unwrap();
        }
        Decimal { negative, mantissa, exp10 }
    }

    #[test]
    fn number_scan_reads_every_digit_once() {
        // A small deterministic generator: integer parts and fractions of
        // every length around the eight-digit steps, signs and exponents.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for _ in 0..20_000 {
            let mut t = String::new();
            if next(2) == 0 {
                t.push('-');
            }
            let int_len = next(22) as usize;
            if int_len == 0 {
                t.push('0');
            } else {
                t.push(char::from(b'1' + next(9) as u8));
                (1..int_len).for_each(|_| t.push(char::from(b'0' + next(10) as u8)));
            }
            if next(4) != 0 {
                t.push('.');
                (0..1 + next(30)).for_each(|_| t.push(char::from(b'0' + next(10) as u8)));
            }
            if next(5) == 0 {
                t.push_str(["e", "E-", "e+"][next(3) as usize]);
                t.push_str(&next(400).to_string());
            }
            let tail = [",", "]", " ", "", "x"][next(5) as usize];
            let input = format!("{t}{tail}");
            let (len, d) = number_scan(input.as_bytes()).unwrap();
            assert_eq!(len, t.len(), "{input}");
            assert_eq!(d, reference(&t), "{input}");
        }
        for bad in ["-", "01", "1.", "1.e5", "1e", "1e+", ".5", "-a", "1.2345678x"] {
            let r = number_scan(bad.as_bytes());
            assert!(r.is_err() || r.unwrap().0 < bad.len(), "{bad}");
        }
    }

    /// The skipper answers exactly as the reader: the same length, or the
    /// same offset of the error, on numbers and near-numbers of every shape
    /// (digit runs around the eight-byte steps, bytes just outside `0`-`9`),
    /// from the start of the input or after other bytes.
    /// `out_by_text` turns a number away only when it lies outside the
    /// window, and then ends it where `number_end` does; it answers for most
    /// numbers of the common shape (so the fast path is taken). Numbers are
    /// drawn around each window's edges: its integer and the ones beside it,
    /// both signs, fractions of 1-18 digits near the window's own.
    #[test]
    fn window_turns_away_only_what_lies_outside() {
        let mut r = crate::testing::Rng(0x2545_f491_4f6c_dd1d);
        let mut next = |n: u64| r.below(n as usize) as u64;
        let centres: [f64; 5] =
            [37.807_807_921_694_09, -122.429_163_609_223_55, 0.5, 3.0000000001, 9999999.25];
        let mut windows: Vec<NumWindow> = centres
            .iter()
            .map(|&v| NumWindow::new(v - v.abs() * 2e-9, v + v.abs() * 2e-9))
            .collect();
        // Windows the text test cannot serve: across an integer or zero, too
        // wide, empty, or past seven integer digits.
        for (low, high) in [(36.5, 37.5), (-0.5, 0.5), (1.0, 3.0), (1e9, 1e9 + 0.5)] {
            windows.push(NumWindow::new(low, high));
        }
        windows.push(NumWindow::EMPTY);
        let mut answered = 0;
        for w in &windows {
            let centre = if w.low.is_finite() { (w.low + w.high) / 2.0 } else { 1.0 };
            for _ in 0..20_000 {
                let int = (centre.abs().floor() as i64 + next(3) as i64 - 1).max(0);
                let sign = if next(2) == 0 { "-" } else { "" };
                let frac_digits = 1 + next(18) as usize;
                // Near the centre's fraction, or anywhere.
                let frac = if next(2) == 0 {
                    format!("{:.*}", frac_digits, centre.abs().fract())
                        .trim_start_matches('0')
                        .to_string()
                } else {
                    let mut f = String::from(".");
                    for _ in 0..frac_digits {
                        f.push((b'0' + next(10) as u8) as char);
                    }
                    f
                };
                let mut text = format!("{sign}{int}{frac}");
                if next(8) == 0 {
                    // Tweak one digit near the end.
                    let k = text.len() - 1 - next(3) as usize;
                    if text.as_bytes()[k].is_ascii_digit() {
                        text.replace_range(k..k + 1, &next(10).to_string());
                    }
                }
                let n = text.len();
                let padded = format!("{text}, 0.0 ] ] ]                ");
                let got = w.out_by_text(padded.as_bytes(), 0);
                if let Some(end) = got {
                    answered += 1;
                    assert_eq!(end, n, "{text}");
                    assert_eq!(number_end(padded.as_bytes(), 0), Ok(n), "{text}");
                    let v: f64 = text.parse().unwrap();
                    assert!(v <= w.low || v >= w.high, "{text} is inside {w:?}");
                }
            }
        }
        assert!(answered > 50_000, "the text test answered only {answered} times");
    }

    #[test]
    fn number_end_agrees_with_number_scan() {
        let number_skip = |t: &[u8]| {
            let at_start = number_end(t, 0);
            let mut after = b"[ 1, ".to_vec();
            after.extend_from_slice(t);
            let shift = |n: usize| n + 5;
            assert_eq!(number_end(&after, 5), at_start.map(shift).map_err(shift));
            assert_eq!(number_end_plain(t, 0), at_start);
            at_start
        };
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        // Bytes around the digits and the ones the SWAR tests carry from.
        let alphabet: &[u8] = b"0123456789-+.eE/:x ,]\x7f\x80\xb9\xba\xc3\xff";
        for _ in 0..200_000 {
            let len = next(30) as usize;
            let mut t: Vec<u8> = Vec::with_capacity(len);
            for _ in 0..len {
                // Mostly digits, so long runs occur.
                let c = if next(4) == 0 {
                    alphabet[next(alphabet.len() as u64) as usize]
                } else {
                    b'0' + next(10) as u8
                };
                t.push(c);
            }
            let want = number_scan(&t).map(|(n, _)| n);
            assert_eq!(number_skip(&t), want, "{:?}", String::from_utf8_lossy(&t));
            assert_bounds_agree(&t);
            if let Some(n) = number_end_short(&t, 0) {
                assert_eq!(Ok(n), want, "{:?}", String::from_utf8_lossy(&t));
            }
        }
        // The short path answers for the coordinates it is for (with room
        // after them), and leaves the other shapes to the plain one.
        for s in
            ["-122.51149576869115, ", "37.80749095346456 }", "0.0 } ] ] }", "-0.5,1234567890123"]
        {
            let n = s.find([',', ' ']).unwrap();
            let padded = format!("{s}{}", " ".repeat(24));
            assert_eq!(number_end_short(padded.as_bytes(), 0), Some(n), "{s}");
        }
        for s in
            ["12345678.5", "1e5", "1.5e5", "01.5", "1.", "7", "-", "1.123456789012345678901234"]
        {
            let padded = format!("{s}{}", " ".repeat(24));
            assert_eq!(number_end_short(padded.as_bytes(), 0), None, "{s}");
        }
        for s in [
            "-122.422003528252475",
            "37.808480096967251",
            "0.0",
            "1e5",
            "-0",
            "12345678901234567890",
        ] {
            assert_eq!(number_skip(s.as_bytes()), number_scan(s.as_bytes()).map(|(n, _)| n), "{s}");
            assert_bounds_agree(s.as_bytes());
        }
        assert_eq!(
            number_skip_bounds(b"-122.422003528"),
            Ok((14, Some((-122.42200353, -122.42200352))))
        );
        assert_eq!(number_skip_bounds(b"37.5,"), Ok((4, Some((37.0, 38.0)))));
        assert_eq!(number_skip_bounds(b"0.0]"), Ok((3, Some((0.0, 1.0)))));
        assert_eq!(number_skip_bounds(b"12.00000000]"), Ok((11, Some((12.0, 12.0)))));
        assert_eq!(number_skip_bounds(b"1e5"), Ok((3, None)));
        assert_eq!(number_skip_bounds(b"1234567890123456"), Ok((16, None)));
    }

    /// `number_skip_bounds` ends or fails where `number_scan` does, and its
    /// bounds hold the value `number_scan` reads.
    fn assert_bounds_agree(t: &[u8]) {
        let text = String::from_utf8_lossy(t);
        let got = number_skip_bounds(t);
        match number_scan(t) {
            Err(at) => assert_eq!(got, Err(at), "{text:?}"),
            Ok((n, d)) => {
                let Ok((m, bounds)) = got else { panic!("{text:?}: {got:?}") };
                assert_eq!(m, n, "{text:?}");
                if let Some((low, high)) = bounds {
                    let v = d.approx();
                    let slack = v.abs() * 1e-12;
                    assert!(
                        low - slack <= v && v <= high + slack,
                        "{text:?}: {v} not in {low}..{high}"
                    );
                }
            }
        }
    }
}
