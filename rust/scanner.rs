//! The event scanner: one pass over the raw JSON bytes, guided by the used-path
//! trie. Members whose path no pattern uses are skipped without being
//! decoded; once every used top-level member has been seen and nothing later
//! can add to a used path, scanning stops.
//!
//! What is read is checked: UTF-8 of the whole event (up front, with SIMD),
//! JSON syntax of everything scanned or skipped up to the point where
//! scanning stops, string escapes, and the nesting depth. Bytes after an
//! early stop are not examined (like Quamina's flattener, and for the same
//! reason: they cannot change the answer).

use crate::error::{EventError, EventErrorKind};
use crate::json::EscapeError;
use crate::paths::{Chain, FieldId, PathTrie};
use crate::values::NumGate;

/// A leaf value of the event, at a used field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Leaf<'a> {
    /// A string, unescaped.
    Str(&'a str),
    /// A number's text, checked to be JSON number syntax, and its
    /// [`Decimal`](crate::number::Decimal) when the scanner has read it
    /// (`number::decimal` of the text; kept leaves come back without it).
    Num(&'a str, Option<crate::number::Decimal>),
    True,
    False,
    Null,
}

/// Where a leaf sits: the arrays around it, outermost first, as
/// `(array instance, element index)`. `version` changes whenever the stack does,
/// so a visitor can cache what it derives from it.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub arrays: &'a [(u32, u32)],
    pub version: u32,
}

/// Receives the leaves of used fields.
pub trait Visitor {
    fn leaf(&mut self, field: FieldId, tracks_presence: bool, leaf: Leaf<'_>, ctx: Context<'_>);
}

/// Scanner state for one event.
pub struct Scanner<'a, 't> {
    bytes: &'a [u8],
    /// The same bytes, checked to be UTF-8.
    text: &'a str,
    pos: usize,
    depth: usize,
    max_depth: usize,
    trie: &'t PathTrie,
    /// By field id: which numbers can fire anything there (see [`NumGate`]).
    gates: &'t [NumGate],
    arrays: Vec<(u32, u32)>,
    next_array: u32,
    version: u32,
    /// Unescaped text of the current string, when it had escapes.
    buf: String,
    /// The skipper's stack of closing brackets.
    skip: Vec<u8>,
}

enum Flow {
    Continue,
    /// Every used member of the top-level object was seen: stop scanning.
    Done,
}

type Res<T> = Result<T, EventError>;

/// Bytes that end the plain run of a string: quote, backslash, control characters.
/// The used top-level members seen so far: inline while few (no allocation
/// per event), spilling to a vector past that.
#[derive(Default)]
struct Seen {
    inline: [u32; 8],
    len: usize,
    spill: Vec<u32>,
}

impl Seen {
    #[inline]
    fn contains(&self, c: u32) -> bool {
        self.inline[..self.len.min(8)].contains(&c) || self.spill.contains(&c)
    }

    #[inline]
    fn push(&mut self, c: u32) {
        if self.len < 8 {
            self.inline[self.len] = c;
        } else {
            self.spill.push(c);
        }
        self.len += 1;
    }

    #[inline]
    fn len(&self) -> usize {
        self.len
    }
}

/// A word whose lowest set bit falls in the first byte that is a quote, a
/// backslash or a control character (below 0x20), or 0 when none is.
/// Each test is exact for its lowest hit (a borrow only flags bytes above a
/// true hit), so the lowest set bit of the union is exact.
#[inline]
fn string_stop_mask(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let q = w ^ (ONES * b'"' as u64);
    let b = w ^ (ONES * b'\\' as u64);
    let zero_q = q.wrapping_sub(ONES) & !q;
    let zero_b = b.wrapping_sub(ONES) & !b;
    let ctrl = w.wrapping_sub(ONES * 0x20) & !w;
    (zero_q | zero_b | ctrl) & HIGH
}

static STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// At a number (`b` starts with `-` or a digit) where only values within
/// `window` can fire anything: its length when its sign or first digits put
/// it outside, `None` when it may lie inside, or where its syntax fails (as
/// `json::number_scan` says). A sign the window excludes needs no digit read.
#[inline(always)]
fn ruled_out(b: &[u8], window: (f64, f64)) -> Result<Option<usize>, usize> {
    let negative = b.first() == Some(&b'-');
    if (negative && window.0 > 0.0) || (!negative && window.1 < 0.0) {
        return crate::json::number_skip(b).map(Some);
    }
    match crate::json::number_skip_bounds(b) {
        Ok((n, Some((low, high)))) if high < window.0 || low > window.1 => Ok(Some(n)),
        Ok(_) => Ok(None),
        Err(at) => Err(at),
    }
}

/// The scanner's growable buffers (the skipper's stack), kept by the caller
/// between events so skipping allocates nothing once it has grown.
#[derive(Debug, Default)]
pub struct ScanBuffers {
    skip: Vec<u8>,
}

/// Scans `bytes` as an event, calling `visitor` for each leaf of a used field
/// (numbers only where `gates` admit them, unless the field's presence is tracked).
pub fn scan(
    bytes: &[u8],
    trie: &PathTrie,
    gates: &[NumGate],
    max_depth: usize,
    max_bytes: usize,
    buffers: &mut ScanBuffers,
    visitor: &mut impl Visitor,
) -> Res<()> {
    if bytes.len() > max_bytes {
        return Err(EventError::new(
            EventErrorKind::TooLarge { size: bytes.len(), limit: max_bytes },
            0,
        ));
    }
    let text = match simdutf8::compat::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => return Err(EventError::new(EventErrorKind::InvalidUtf8, e.valid_up_to())),
    };
    let mut s = Scanner {
        bytes,
        text,
        pos: 0,
        depth: 0,
        max_depth,
        trie,
        gates,
        arrays: Vec::new(),
        next_array: 0,
        version: 0,
        buf: String::new(),
        skip: std::mem::take(&mut buffers.skip),
    };
    let result = s.event(visitor);
    buffers.skip = std::mem::take(&mut s.skip);
    result
}

impl<'a, 't> Scanner<'a, 't> {
    /// The whole event, from its first byte.
    fn event(&mut self, visitor: &mut impl Visitor) -> Res<()> {
        let s = self;
        s.ws();
        match s.peek() {
            Some(b'{') => {}
            Some(b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
                return Err(EventError::new(EventErrorKind::NotAnObject, s.pos))
            }
            Some(_) => return Err(s.syntax("expected a JSON value")),
            None => return Err(s.syntax("empty input")),
        }
        if let Flow::Continue = s.object(0, Some(Chain::root()), visitor)? {
            s.ws();
            if s.pos < s.bytes.len() {
                return Err(s.syntax("trailing characters after the event"));
            }
        }
        Ok(())
    }
}

impl<'a, 't> Scanner<'a, 't> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn syntax(&self, what: &'static str) -> EventError {
        EventError::new(EventErrorKind::Syntax(what), self.pos)
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    #[inline]
    fn expect(&mut self, b: u8, what: &'static str) -> Res<()> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.syntax(what))
        }
    }

    fn enter(&mut self) -> Res<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(EventError::new(
                EventErrorKind::TooDeep { limit: self.max_depth },
                self.pos,
            ));
        }
        Ok(())
    }

    /// Scans an object at `node` of the trie; the cursor is on `{`.
    ///
    /// Scanning stops early once everything the event can say about a used
    /// path has been read: `chain` says whether this object is the last
    /// incomplete one on its way from the root (see [`Chain`]); once all its
    /// used members have been seen, the scan stops if the rest of the event
    /// cannot hold another value for a used path — no later key may repeat a
    /// used member name of an object on the chain or extend it with a dot
    /// (`"detail.type"` after `"detail"`). The trie checks that with a SIMD
    /// substring search over the rest (see `PathTrie::rest_is_unused`).
    fn object(&mut self, node: u32, chain: Option<Chain>, v: &mut impl Visitor) -> Res<Flow> {
        self.enter()?;
        self.pos += 1;
        let trie = self.trie;
        let here = &trie.nodes[node as usize];
        let children = &here.children;
        let chain = chain.filter(|_| trie.can_stop(node));
        let mut seen = Seen::default();
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Flow::Continue);
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.syntax("expected a member name"));
            }
            let (start, end, escaped) = self.string()?;
            let child = if children.is_empty() {
                None
            } else if escaped {
                let key = std::mem::take(&mut self.buf);
                let c = trie.child(node, key.as_bytes());
                self.buf = key;
                c
            } else {
                trie.child(node, &self.bytes[start..end])
            };
            self.ws();
            self.expect(b':', "expected ':' after a member name")?;
            self.ws();
            match child {
                Some(c) => {
                    // Only a member named exactly (not a dotted or escaped key)
                    // counts as seen; a plain key without a dot found a child
                    // by its exact name.
                    let counts = chain.is_some()
                        && !escaped
                        && !seen.contains(c)
                        && memchr::memchr(b'.', &self.bytes[start..end]).is_none();
                    let last = match chain {
                        Some(ch) if counts && seen.len() + 1 == children.len() => ch.then(c),
                        _ => None,
                    };
                    if let Flow::Done = self.value(c, last, v)? {
                        return Ok(Flow::Done);
                    }
                    if let (true, Some(ch)) = (counts, &chain) {
                        seen.push(c);
                        if seen.len() == children.len()
                            && trie.rest_is_unused(ch, &self.bytes[self.pos..])
                        {
                            return Ok(Flow::Done);
                        }
                    }
                }
                None => self.skip_value()?,
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.syntax("expected ',' or '}' in an object")),
            }
        }
        self.depth -= 1;
        Ok(Flow::Continue)
    }

    /// A value at a used node: descend into objects and arrays, report
    /// leaves. `chain`: as for [`object`](Self::object), when the value is
    /// the last used member missing on its way from the root.
    fn value(&mut self, node: u32, chain: Option<Chain>, v: &mut impl Visitor) -> Res<Flow> {
        let trie = self.trie;
        let n = &trie.nodes[node as usize];
        match self.peek() {
            Some(b'{') => {
                if n.children.is_empty() {
                    self.skip_value().map(|_| Flow::Continue)
                } else {
                    self.object(node, chain, v)
                }
            }
            Some(b'[') => self.array(node, v).map(|_| Flow::Continue),
            _ => {
                let Some(field) = n.field else {
                    return self.skip_value().map(|_| Flow::Continue);
                };
                let tracks = n.tracks_presence;
                let ctx_version = self.version;
                match self.peek() {
                    Some(b'"') => {
                        let (start, end, escaped) = self.string()?;
                        let ctx = Context { arrays: &self.arrays, version: ctx_version };
                        let text = if escaped {
                            self.buf.as_str()
                        } else {
                            // A string's bounds are ASCII quotes, so always char boundaries.
                            self.text.get(start..end).unwrap_or_default()
                        };
                        v.leaf(field, tracks, Leaf::Str(text), ctx);
                    }
                    Some(b't') => {
                        self.literal(b"true")?;
                        v.leaf(
                            field,
                            tracks,
                            Leaf::True,
                            Context { arrays: &self.arrays, version: ctx_version },
                        );
                    }
                    Some(b'f') => {
                        self.literal(b"false")?;
                        v.leaf(
                            field,
                            tracks,
                            Leaf::False,
                            Context { arrays: &self.arrays, version: ctx_version },
                        );
                    }
                    Some(b'n') => {
                        self.literal(b"null")?;
                        v.leaf(
                            field,
                            tracks,
                            Leaf::Null,
                            Context { arrays: &self.arrays, version: ctx_version },
                        );
                    }
                    Some(b'-' | b'0'..=b'9') => self.number_leaf(field, tracks, v)?,
                    _ => return Err(self.syntax("expected a JSON value")),
                }
                Ok(Flow::Continue)
            }
        }
    }

    /// A number at a used field; reported unless the field's gate rules it out.
    #[inline]
    fn number_leaf(&mut self, field: FieldId, tracks: bool, v: &mut impl Visitor) -> Res<()> {
        let gate = self.gates.get(field as usize).unwrap_or(&NumGate::Always);
        if !tracks {
            if let Some(window) = gate.window() {
                if self.passes_over(window)? {
                    return Ok(());
                }
            }
        }
        self.number_read(field, tracks, v)
    }

    /// At a number that fires nothing outside `window`: when its first
    /// digits already put it outside, checks its syntax and steps over it
    /// without computing its value (true); else leaves the cursor (false).
    #[inline(always)]
    fn passes_over(&mut self, window: (f64, f64)) -> Res<bool> {
        match ruled_out(&self.bytes[self.pos..], window) {
            Ok(Some(n)) => {
                self.pos += n;
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(at) => {
                self.pos += at;
                Err(self.syntax("invalid number"))
            }
        }
    }

    /// The elements of an array at a gated leaf, from the cursor on, while
    /// they are numbers whose first digits put them outside `window`
    /// (coordinates searched for one value), or arrays of nothing else:
    /// checked and passed over in a tight loop, `index` counting them.
    /// `Ok(true)` when that reached the closing bracket (consumed);
    /// `Ok(false)` with the cursor on the first element that needs a closer
    /// look.
    fn pass_numbers(&mut self, window: (f64, f64), index: &mut u32) -> Res<bool> {
        let b = self.bytes;
        let mut p = self.pos;
        loop {
            while let Some(b' ' | b'\n' | b'\r' | b'\t') = b.get(p) {
                p += 1;
            }
            match b.get(p) {
                Some(b'-' | b'0'..=b'9') => match ruled_out(&b[p..], window) {
                    Ok(Some(n)) => p += n,
                    Ok(None) => break,
                    Err(at) => {
                        self.pos = p + at;
                        return Err(self.syntax("invalid number"));
                    }
                },
                Some(b'[') => {
                    let ids = self.next_array;
                    match self.pass_array(p, window, 1) {
                        Some(end) => p = end,
                        None => {
                            self.next_array = ids;
                            break;
                        }
                    }
                }
                _ => break,
            }
            while let Some(b' ' | b'\n' | b'\r' | b'\t') = b.get(p) {
                p += 1;
            }
            match b.get(p) {
                Some(b',') => {
                    p += 1;
                    *index += 1;
                }
                Some(b']') => {
                    self.pos = p + 1;
                    return Ok(true);
                }
                _ => {
                    self.pos = p;
                    return Err(self.syntax("expected ',' or ']' in an array"));
                }
            }
        }
        self.pos = p;
        Ok(false)
    }

    /// The array at `p` (nested `level` deep in a gated leaf's array), when
    /// it holds only numbers outside `window` and arrays of such (checked
    /// as the scan would): the offset just past it, its arrays counted as
    /// the scan counts them. `None` when anything in it needs the full scan
    /// (which then reads it again, reporting and erring as usual; the
    /// caller restores the count).
    fn pass_array(&mut self, p: usize, window: (f64, f64), level: usize) -> Option<usize> {
        if level > 8 || self.depth + level > self.max_depth {
            return None;
        }
        self.next_array += 1;
        let b = self.bytes;
        let ws = |q: &mut usize| {
            while let Some(b' ' | b'\n' | b'\r' | b'\t') = b.get(*q) {
                *q += 1;
            }
        };
        let mut q = p + 1;
        ws(&mut q);
        if b.get(q) == Some(&b']') {
            return Some(q + 1);
        }
        loop {
            ws(&mut q);
            match b.get(q) {
                Some(b'-' | b'0'..=b'9') => match ruled_out(&b[q..], window) {
                    Ok(Some(n)) => q += n,
                    _ => return None,
                },
                Some(b'[') => q = self.pass_array(q, window, level + 1)?,
                _ => return None,
            }
            ws(&mut q);
            match b.get(q) {
                Some(b',') => q += 1,
                Some(b']') => return Some(q + 1),
                _ => return None,
            }
        }
    }

    /// A number at a used field, read whole; reported unless its gate rules it out.
    fn number_read(&mut self, field: FieldId, tracks: bool, v: &mut impl Visitor) -> Res<()> {
        let start = self.pos;
        let gate = self.gates.get(field as usize).unwrap_or(&NumGate::Always);
        let d = self.number()?;
        if tracks || gate.admits(&d) {
            let text = self.text.get(start..self.pos).unwrap_or_default();
            v.leaf(
                field,
                tracks,
                Leaf::Num(text, Some(d)),
                Context { arrays: &self.arrays, version: self.version },
            );
        }
        Ok(())
    }

    /// An array at a used node: each element is a value at the same node.
    /// Numbers at a leaf field are read in the loop itself (the coordinates
    /// of GeoJSON events are most of their bytes).
    fn array(&mut self, node: u32, v: &mut impl Visitor) -> Res<()> {
        let n = &self.trie.nodes[node as usize];
        let leaf_field = if n.children.is_empty() { n.field } else { None };
        let tracks = n.tracks_presence;
        self.enter()?;
        self.pos += 1;
        let id = self.next_array;
        self.next_array += 1;
        self.arrays.push((id, 0));
        // Numbers at a gated leaf (coordinates searched for one value) are
        // mostly passed over by their first digits, in a loop of their own;
        // an element's place is set only for what goes further.
        let window = match leaf_field {
            Some(f) if !tracks => self.gates.get(f as usize).and_then(NumGate::window),
            _ => None,
        };
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            let mut index = 0u32;
            loop {
                if let Some(window) = window {
                    if self.pass_numbers(window, &mut index)? {
                        break;
                    }
                }
                self.ws();
                if let Some(top) = self.arrays.last_mut() {
                    top.1 = index;
                }
                self.version = self.version.wrapping_add(1);
                match (leaf_field, self.peek()) {
                    (Some(field), Some(b'-' | b'0'..=b'9')) => {
                        self.number_read(field, tracks, v)?
                    }
                    _ => {
                        self.value(node, None, v)?;
                    }
                }
                self.ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.syntax("expected ',' or ']' in an array")),
                }
                index += 1;
            }
        }
        self.arrays.pop();
        self.version = self.version.wrapping_add(1);
        self.depth -= 1;
        Ok(())
    }

    fn literal(&mut self, word: &'static [u8]) -> Res<()> {
        if self.bytes[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.syntax("invalid literal"))
        }
    }

    /// A JSON number, read once for its syntax and its approximate value; the
    /// cursor ends just after it.
    #[inline]
    fn number(&mut self) -> Res<crate::number::Decimal> {
        match crate::json::number_scan(&self.bytes[self.pos..]) {
            Ok((n, d)) => {
                self.pos += n;
                Ok(d)
            }
            Err(at) => {
                self.pos += at;
                Err(self.syntax("invalid number"))
            }
        }
    }

    /// A string; the cursor is on the opening quote. Returns the raw content
    /// bounds and whether it had escapes (then `self.buf` holds the unescaped text).
    #[inline]
    fn string(&mut self) -> Res<(usize, usize, bool)> {
        // A string that ends within the next sixteen bytes with nothing to
        // stop at before its quote: bounds at once, without the loops below.
        let start = self.pos + 1;
        for at in [start, start + 8] {
            let Some(chunk) = self.bytes.get(at..at + 8) else { break };
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            let stop = string_stop_mask(u64::from_le_bytes(w));
            if stop != 0 {
                let k = (stop.trailing_zeros() / 8) as usize;
                if w[k] != b'"' {
                    break;
                }
                self.pos = at + k + 1;
                return Ok((start, at + k, false));
            }
        }
        self.string_slow()
    }

    /// `string` past its short fast path.
    fn string_slow(&mut self) -> Res<(usize, usize, bool)> {
        self.pos += 1;
        let start = self.pos;
        let rest = &self.bytes[self.pos..];
        // Most strings are short: eight bytes at a time by SWAR (a word test
        // for a quote, a backslash or a control byte) beats setting up a SIMD
        // search; the tail by a table lookup per byte. Longer ones switch to
        // memchr for the quote or backslash.
        let short = rest.len().min(32);
        let mut i = 0;
        while i + 8 <= short {
            let mut w = [0u8; 8];
            w.copy_from_slice(&rest[i..i + 8]);
            let stop = string_stop_mask(u64::from_le_bytes(w));
            if stop != 0 {
                i += (stop.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        while i < short && !STRING_STOP[rest[i] as usize] {
            i += 1;
        }
        if i == short && short < rest.len() {
            let n = memchr::memchr2(b'"', b'\\', &rest[i..]).unwrap_or(rest.len() - i);
            // Control characters are not allowed raw inside strings.
            if let Some(c) = rest[i..i + n].iter().position(|&b| b < 0x20) {
                self.pos += i + c;
                return Err(self.syntax("control character in a string"));
            }
            i += n;
        }
        self.pos += i;
        match self.peek() {
            Some(b'"') => {
                let end = self.pos;
                self.pos += 1;
                Ok((start, end, false))
            }
            Some(b'\\') => self.escaped_string(start),
            Some(_) => Err(self.syntax("control character in a string")),
            None => Err(self.syntax("unterminated string")),
        }
    }

    fn escaped_string(&mut self, start: usize) -> Res<(usize, usize, bool)> {
        self.buf.clear();
        // Safe: validated as UTF-8 up front, and start..pos ends before an ASCII byte.
        self.buf.push_str(std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or_default());
        loop {
            match self.peek() {
                None => return Err(self.syntax("unterminated string")),
                Some(b'"') => {
                    let end = self.pos;
                    self.pos += 1;
                    return Ok((start, end, true));
                }
                Some(b'\\') => match crate::json::unescape(&self.bytes[self.pos..]) {
                    Ok((c, used)) => {
                        self.buf.push(c);
                        self.pos += used;
                    }
                    Err(EscapeError::Invalid(at, what)) => {
                        self.pos += at;
                        return Err(self.syntax(what));
                    }
                    Err(EscapeError::LoneSurrogate) => {
                        return Err(EventError::new(EventErrorKind::LoneSurrogate, self.pos))
                    }
                },
                Some(b) if b < 0x20 => return Err(self.syntax("control character in a string")),
                Some(_) => {
                    let rest = &self.bytes[self.pos..];
                    let n = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
                    if let Some(c) = rest[..n].iter().position(|&b| b < 0x20) {
                        self.pos += c;
                        return Err(self.syntax("control character in a string"));
                    }
                    self.buf.push_str(std::str::from_utf8(&rest[..n]).unwrap_or_default());
                    self.pos += n;
                }
            }
        }
    }

    /// Skips one value, checking its syntax, without recursion.
    fn skip_value(&mut self) -> Res<()> {
        match self.peek() {
            Some(b'{' | b'[') => {
                let base = self.depth;
                self.skip_nested(base)
            }
            Some(b'"') => self.skip_string(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.skip_number(),
            _ => Err(self.syntax("expected a JSON value")),
        }
    }

    /// Skips a string (the cursor is on its opening quote).
    #[inline]
    fn skip_string(&mut self) -> Res<()> {
        self.string().map(|_| ())
    }

    /// Skips a number (the cursor is on its first byte), checking its
    /// syntax but not reading its value.
    #[inline]
    fn skip_number(&mut self) -> Res<()> {
        match crate::json::number_skip(&self.bytes[self.pos..]) {
            Ok(n) => {
                self.pos += n;
                Ok(())
            }
            Err(at) => {
                self.pos += at;
                Err(self.syntax("invalid number"))
            }
        }
    }

    fn skip_nested(&mut self, base: usize) -> Res<()> {
        let mut stack = std::mem::take(&mut self.skip);
        stack.clear();
        let r = self.skip_nested_with(base, &mut stack);
        self.skip = stack;
        r
    }

    fn skip_nested_with(&mut self, base: usize, stack: &mut Vec<u8>) -> Res<()> {
        let open = self.peek().unwrap_or(b'{');
        self.enter()?;
        self.pos += 1;
        stack.push(if open == b'{' { b'}' } else { b']' });
        self.ws();
        if self.peek() == stack.last().copied() {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        self.skip_loop(base, stack, true)
    }

    /// The iterative skipper. `at_start`: at the first member/element of the
    /// innermost container (else just after a value in it).
    fn skip_loop(&mut self, base: usize, stack: &mut Vec<u8>, mut at_start: bool) -> Res<()> {
        loop {
            let close = *stack.last().unwrap_or(&b'}');
            if !at_start {
                self.ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b) if b == close => {
                        self.pos += 1;
                        stack.pop();
                        self.depth -= 1;
                        if stack.is_empty() {
                            debug_assert_eq!(self.depth, base);
                            return Ok(());
                        }
                        continue;
                    }
                    _ => return Err(self.syntax("expected ',' or a closing bracket")),
                }
            }
            at_start = false;
            self.ws();
            if close == b'}' {
                if self.peek() != Some(b'"') {
                    return Err(self.syntax("expected a member name"));
                }
                self.skip_string()?;
                self.ws();
                self.expect(b':', "expected ':' after a member name")?;
                self.ws();
            }
            match self.peek() {
                Some(open @ (b'{' | b'[')) => {
                    self.enter()?;
                    self.pos += 1;
                    let c = if open == b'{' { b'}' } else { b']' };
                    stack.push(c);
                    self.ws();
                    if self.peek() == Some(c) {
                        self.pos += 1;
                        stack.pop();
                        self.depth -= 1;
                    } else {
                        at_start = true;
                    }
                }
                Some(b'-' | b'0'..=b'9') => self.skip_number()?,
                Some(b'"') => self.skip_string()?,
                _ => self.skip_value()?,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{string_stop_mask, STRING_STOP};

    /// The SWAR test finds the same first stop byte as the table, for words
    /// mixing every byte class around the boundaries.
    #[test]
    fn string_stop_mask_agrees_with_table() {
        let probes: [u8; 14] =
            [0x00, 0x01, 0x1f, 0x20, 0x21, b'"', 0x23, b'\\', 0x5b, 0x5d, 0x7f, 0x80, 0xc3, 0xff];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut w = [0u8; 8];
            for (k, b) in w.iter_mut().enumerate() {
                *b = probes[((state >> (k * 4)) & 0xf) as usize % probes.len()];
            }
            let want = w.iter().position(|&b| STRING_STOP[b as usize]);
            let m = string_stop_mask(u64::from_le_bytes(w));
            let got = (m != 0).then(|| (m.trailing_zeros() / 8) as usize);
            assert_eq!(got, want, "{w:?}");
        }
    }
}
