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
use crate::json::{EscapeError, NumWindow};
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
/// `window` can fire anything: its length when its text puts it outside
/// (the window's text tests, else its sign or first digits), `None` when
/// it may lie inside, or where its syntax fails (as `json::number_scan`
/// says). A sign the window excludes needs no digit read.
#[inline(always)]
fn ruled_out(b: &[u8], window: &NumWindow) -> Result<Option<usize>, usize> {
    if let Some(end) = window.out_by_text(b, 0) {
        return Ok(Some(end));
    }
    let negative = b.first() == Some(&b'-');
    if (negative && window.low > 0.0) || (!negative && window.high < 0.0) {
        return crate::json::number_end(b, 0).map(Some);
    }
    match crate::json::number_skip_bounds(b) {
        Ok((n, Some((low, high)))) if high < window.low || low > window.high => Ok(Some(n)),
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
        if let Flow::Continue = s.object::<true>(0, Some(Chain::root()), visitor)? {
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
        self.pos = skip_ws(self.bytes, self.pos);
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
    ///
    /// `CHAIN` says whether `chain` may be `Some`: the copy for objects off
    /// any chain (those inside arrays, most objects of GeoJSON events) has
    /// none of the bookkeeping for stopping early.
    fn object<const CHAIN: bool>(
        &mut self,
        node: u32,
        chain: Option<Chain>,
        v: &mut impl Visitor,
    ) -> Res<Flow> {
        self.enter()?;
        self.pos += 1;
        let trie = self.trie;
        let here = &trie.nodes[node as usize];
        let children = &here.children;
        let members = trie.members(node);
        let chain = chain.filter(|_| CHAIN && trie.can_stop(node));
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
            // Most keys of a used object are the names of its few used
            // members, recognised at once; the rest are read as strings.
            let (start, end, escaped, child) = match members.plain(self.bytes, self.pos + 1) {
                Some((c, len)) => {
                    let start = self.pos + 1;
                    self.pos = start + len + 1;
                    (start, start + len, false, Some(c))
                }
                None => {
                    let (start, end, escaped) = self.string()?;
                    (start, end, escaped, None)
                }
            };
            let child = if child.is_some() {
                child
            } else if children.is_empty() {
                None
            } else if escaped {
                let key = std::mem::take(&mut self.buf);
                let c = members.child(key.as_bytes());
                self.buf = key;
                c
            } else {
                members.child(&self.bytes[start..end])
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
    /// the last used member missing on its way from the root. Inlined
    /// where it is called, so objects and arrays (the elements of
    /// coordinate arrays) and numbers at a field (most leaves of GeoJSON
    /// events, in small objects) go straight to their readers; other leaves
    /// go on to [`scalar`](Self::scalar).
    #[inline(always)]
    fn value(&mut self, node: u32, chain: Option<Chain>, v: &mut impl Visitor) -> Res<Flow> {
        let n = &self.trie.nodes[node as usize];
        match (self.peek(), n.field) {
            (Some(b'{'), _) if !n.children.is_empty() => match chain {
                Some(_) => self.object::<true>(node, chain, v),
                None => self.object::<false>(node, None, v),
            },
            (Some(b'['), _) => self.array(node, v).map(|_| Flow::Continue),
            (Some(b'-' | b'0'..=b'9'), Some(field)) => {
                self.number_leaf(field, n.tracks_presence, v).map(|_| Flow::Continue)
            }
            _ => self.scalar(node, v).map(|_| Flow::Continue),
        }
    }

    /// A value at a used node that is no object with used members, no
    /// array and no number at a field (those are [`value`](Self::value)'s):
    /// reported if the node is a field, else skipped.
    fn scalar(&mut self, node: u32, v: &mut impl Visitor) -> Res<()> {
        let n = &self.trie.nodes[node as usize];
        let Some(field) = n.field.filter(|_| self.peek() != Some(b'{')) else {
            return self.skip_value();
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
            Some(c @ (b't' | b'f' | b'n')) => {
                let (word, leaf): (&'static [u8], _) = match c {
                    b't' => (b"true", Leaf::True),
                    b'f' => (b"false", Leaf::False),
                    _ => (b"null", Leaf::Null),
                };
                self.literal(word)?;
                v.leaf(field, tracks, leaf, Context { arrays: &self.arrays, version: ctx_version });
            }
            _ => return Err(self.syntax("expected a JSON value")),
        }
        Ok(())
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
    fn passes_over(&mut self, window: &NumWindow) -> Res<bool> {
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

    /// The elements of an array nested `level` deep in a gated leaf's array
    /// (0: the leaf's own), from `p` on, while each is a number whose first
    /// digits put it outside `window` (coordinates searched for one value)
    /// or an array of nothing else, with the `,` or `]` after it: checked
    /// and passed over in a tight loop. Returns where it stopped, how many
    /// elements it passed, and whether it passed the closing bracket. It
    /// stops before any element it does not pass whole (the scan then
    /// reads that one the ordinary way, reporting and erring as usual),
    /// having counted the arrays it passed as the scan counts them.
    fn pass_elements(
        &mut self,
        mut p: usize,
        window: &NumWindow,
        level: usize,
    ) -> (usize, u32, bool) {
        let b = self.bytes;
        let mut passed = 0;
        loop {
            let at = skip_ws(b, p);
            let end = match byte_at(b, at) {
                b'-' | b'0'..=b'9' => match ruled_out(&b[at..], window) {
                    Ok(Some(n)) => at + n,
                    _ => break,
                },
                b'[' => {
                    let ids = self.next_array;
                    match self.pass_array(at, window, level + 1) {
                        Some(end) => end,
                        None => {
                            self.next_array = ids;
                            break;
                        }
                    }
                }
                _ => break,
            };
            let after = skip_ws(b, end);
            match byte_at(b, after) {
                b',' => p = after + 1,
                b']' => return (after + 1, passed + 1, true),
                _ => break,
            }
            passed += 1;
        }
        (p, passed, false)
    }

    /// The array at `p`, nested `level` deep in a gated leaf's array, when
    /// [`pass_elements`](Self::pass_elements) passes all of it: the offset
    /// just past it. `None` otherwise (the caller restores the array count).
    fn pass_array(&mut self, p: usize, window: &NumWindow, level: usize) -> Option<usize> {
        if level > 8 || self.depth + level > self.max_depth {
            return None;
        }
        self.next_array += 1;
        let first = skip_ws(self.bytes, p + 1);
        if byte_at(self.bytes, first) == b']' {
            return Some(first + 1);
        }
        match self.pass_elements(first, window, level) {
            (end, _, true) => Some(end),
            _ => None,
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
        // Numbers at a gated leaf (coordinates searched for one value) are
        // mostly passed over by their text: the whole array 64 bytes at a
        // time when it is all numbers and arrays of them, else in a loop of
        // their own below; an element's place is set only for what goes
        // further.
        let window = match leaf_field {
            Some(f) if !tracks => self.gates.get(f as usize).and_then(NumGate::window),
            _ => None,
        };
        if let Some(window) = window {
            let levels = self.max_depth.saturating_sub(self.depth);
            if let Some((end, arrays)) =
                crate::numblocks::pass(self.bytes, self.pos, window, levels)
            {
                self.pos = end;
                self.next_array += arrays;
                self.version = self.version.wrapping_add(1);
                return Ok(());
            }
        }
        self.enter()?;
        self.pos += 1;
        let id = self.next_array;
        self.next_array += 1;
        self.arrays.push((id, 0));
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            let mut index = 0u32;
            loop {
                if let Some(window) = window {
                    let (at, passed, closed) = self.pass_elements(self.pos, window, 0);
                    self.pos = at;
                    index += passed;
                    if closed {
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
    #[inline(always)]
    fn string(&mut self) -> Res<(usize, usize, bool)> {
        // A string that ends within the next sixteen bytes with nothing to
        // stop at before its quote: bounds at once, without the loops below.
        let start = self.pos + 1;
        for at in [start, start + 8] {
            let Some(&w) = self.bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) else { break };
            match stop_in_word(u64::from_le_bytes(w)) {
                Some(k) if k != usize::MAX => {
                    self.pos = at + k + 1;
                    return Ok((start, at + k, false));
                }
                Some(_) => break,
                None => {}
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
            // Arrays of numbers and of flat objects of numbers (coordinates)
            // 64 bytes at a time, when they are that.
            Some(b'[') => {
                let levels = self.max_depth.saturating_sub(self.depth);
                match crate::numblocks::skip(self.bytes, self.pos, levels) {
                    Some(end) => {
                        self.pos = end;
                        Ok(())
                    }
                    None => self.skip_nested(),
                }
            }
            Some(b'{') => self.skip_nested(),
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
        match crate::json::number_end(self.bytes, self.pos) {
            Ok(end) => {
                self.pos = end;
                Ok(())
            }
            Err(at) => {
                self.pos = at;
                Err(self.syntax("invalid number"))
            }
        }
    }

    /// Skips an object or array (the cursor is on its opening bracket).
    fn skip_nested(&mut self) -> Res<()> {
        let mut stack = std::mem::take(&mut self.skip);
        stack.clear();
        let r = self.skip_nested_with(&mut stack);
        self.skip = stack;
        r
    }

    /// The iterative skipper: the cursor is on an opening bracket, `stack`
    /// is empty; on success the cursor is just past the matching bracket.
    ///
    /// The cursor and the innermost closing bracket live in locals while
    /// the loop runs, the depth is the starting depth plus the stack's
    /// length (written back on every exit), and each step goes straight to
    /// the next token: whitespace by [`skip_ws`], numbers by
    /// [`crate::json::number_end`], strings by [`string_end`] (the
    /// scanner's own `string` for escapes and errors), and runs of simple
    /// members and elements by [`flat_members`] and [`flat_elements`]. It
    /// checks what [`Scanner::enter`], `ws`, `expect` and `literal` check,
    /// at the same offsets, with the same messages; the test
    /// `skipper_agrees_with_reference` holds it to the plain token-by-token
    /// loop it replaced.
    fn skip_nested_with(&mut self, stack: &mut Vec<u8>) -> Res<()> {
        let b = self.bytes;
        let max_depth = self.max_depth;
        // The depth is `base` plus the stack's length; `room` is how many
        // containers may open before `enter` would refuse one.
        let base = self.depth;
        let room = max_depth.saturating_sub(base);
        let mut pos = self.pos;
        // An error at `$at`: write the locals back, then report as `syntax` does.
        macro_rules! fail {
            ($at:expr, $what:expr) => {{
                self.pos = $at;
                self.depth = base + stack.len();
                return Err(self.syntax($what));
            }};
        }
        // Where the string at `pos` ends: by the word test, else by `string`
        // (escapes, and the errors with their offsets).
        macro_rules! string {
            () => {{
                match string_end(b, pos) {
                    Some(end) => end,
                    None => {
                        self.pos = pos;
                        if let Err(e) = self.string() {
                            self.depth = base + stack.len();
                            return Err(e);
                        }
                        self.pos
                    }
                }
            }};
        }
        // Enters the container whose opening bracket is at `pos`: the depth
        // check of `enter`, then past the bracket and any whitespace.
        macro_rules! open {
            ($open:expr) => {{
                if stack.len() >= room {
                    self.pos = pos;
                    self.depth = base + stack.len() + 1;
                    return Err(EventError::new(EventErrorKind::TooDeep { limit: max_depth }, pos));
                }
                // `{` + 2 is `}`, `[` + 2 is `]`.
                let c = $open + 2;
                stack.push(c);
                pos = skip_ws(b, pos + 1);
                c
            }};
        }
        let mut close = open!(byte_at(b, pos));
        if byte_at(b, pos) == close {
            self.pos = pos + 1;
            stack.pop();
            return Ok(());
        }
        // Once an array holds an object or array that `flat_elements` could
        // not take (one nested deeper), it tries no more of them in that
        // array: the stack's length there, until the skipper leaves it; or
        // `MAX`.
        let mut nested_deeper = usize::MAX;
        loop {
            // Members `"key": value` and elements with a number, literal or
            // string value (and in arrays, objects and arrays of those), each
            // followed by `,`, in a loop of their own (a few registers, no
            // stack); it stops, without judging, at anything else: at a
            // member or element, at a value, or just after a value.
            let (at, step) = match (close, byte_at(b, pos)) {
                (b'}', b'"') => flat_members(b, pos),
                (b']', b'-' | b'0'..=b'9' | b'"' | b't' | b'f' | b'n' | b'{' | b'[') => {
                    let nest = stack.len() < room && stack.len() != nested_deeper;
                    let (at, step, inside) = flat_elements(b, pos, nest);
                    if inside != 0 {
                        // It stopped inside an element it had begun: that
                        // element is open now, as if the loop had opened it.
                        stack.push(inside);
                        close = inside;
                    } else if nest && step == Step::Member && matches!(byte_at(b, at), b'{' | b'[')
                    {
                        nested_deeper = stack.len();
                    }
                    (at, step)
                }
                _ => (pos, Step::Member),
            };
            pos = at;
            if step != Step::AfterValue {
                // At a member or an element of `close`'s container: whitespace
                // before it is passed only when there is some (one compare when
                // there is none), here and before a value.
                if close == b'}' && step == Step::Member {
                    if byte_at(b, pos) != b'"' {
                        pos = skip_ws(b, pos);
                        if byte_at(b, pos) != b'"' {
                            fail!(pos, "expected a member name");
                        }
                    }
                    pos = string!();
                    // `": "` in one compare, else any whitespace around the colon.
                    if pair_at(b, pos) == COLON_SPACE {
                        pos += 2;
                    } else {
                        pos = skip_ws(b, pos);
                        if byte_at(b, pos) != b':' {
                            fail!(pos, "expected ':' after a member name");
                        }
                        pos += 1;
                    }
                }
                let mut c = byte_at(b, pos);
                if c <= b' ' {
                    pos = skip_ws(b, pos);
                    c = byte_at(b, pos);
                }
                match c {
                    b'-' | b'0'..=b'9' => match crate::json::number_end(b, pos) {
                        Ok(end) => pos = end,
                        Err(at) => fail!(at, "invalid number"),
                    },
                    b'"' => pos = string!(),
                    b'{' | b'[' => {
                        let c = open!(c);
                        if byte_at(b, pos) != c {
                            close = c;
                            continue;
                        }
                        pos += 1;
                        stack.pop();
                    }
                    b't' | b'f' | b'n' => {
                        let word: &[u8] = match c {
                            b't' => b"true",
                            b'f' => b"false",
                            _ => b"null",
                        };
                        if !b[pos..].starts_with(word) {
                            fail!(pos, "invalid literal");
                        }
                        pos += word.len();
                    }
                    _ => fail!(pos, "expected a JSON value"),
                }
            }
            // Just after a value: a comma (`", "` in one compare), or
            // closing brackets.
            loop {
                if pair_at(b, pos) == COMMA_SPACE {
                    pos += 2;
                    break;
                }
                pos = skip_ws(b, pos);
                let c = byte_at(b, pos);
                if c == b',' {
                    pos += 1;
                    break;
                }
                if c != close {
                    fail!(pos, "expected ',' or a closing bracket");
                }
                pos += 1;
                stack.pop();
                if stack.len() < nested_deeper {
                    nested_deeper = usize::MAX;
                }
                match stack.last() {
                    Some(&c) => close = c,
                    None => {
                        self.pos = pos;
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// Where [`flat_members`] and [`flat_elements`] stopped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// At the start of a member or element (whitespace may come first).
    Member,
    /// After a member's name and colon, at its value (or whitespace).
    Value,
    /// Just after a value.
    AfterValue,
}

/// Passes over members `"key": value` of an object, from the start of one,
/// while the key needs no unescaping, `:` and at most one space follow it,
/// the value is a number, a literal or a string without escapes, and `,`
/// and at most one space follow the value. Returns where it stopped and in
/// what state: what it passed is valid JSON, and from there the caller reads
/// on as if it had read all of it itself, and reports any error.
#[inline(never)]
fn flat_members(b: &[u8], pos: usize) -> (usize, Step) {
    // The rest of the input as a slice, so each step indexes from 0.
    let mut rest = b.get(pos..).unwrap_or_default();
    loop {
        if rest.first() != Some(&b'"') {
            break;
        }
        let Some(key) = string_end(rest, 0) else { break };
        let Some(value) = after_separator(rest, key, b':') else { break };
        let Some(n) = flat_value(value) else {
            return (b.len() - value.len(), Step::Value);
        };
        let after = &value[n..];
        match after_separator(after, 0, b',') {
            Some(next) => rest = next,
            None => return (b.len() - after.len(), Step::AfterValue),
        }
    }
    (b.len() - rest.len(), Step::Member)
}

/// [`flat_members`] for the elements of an array.
///
/// An object or array element it began and could not finish is left open:
/// the third answer is its closing bracket (else 0), and the place and state
/// are inside it.
#[inline(never)]
fn flat_elements(b: &[u8], pos: usize, nest: bool) -> (usize, Step, u8) {
    let mut rest = b.get(pos..).unwrap_or_default();
    loop {
        let n = match flat_item(rest, nest) {
            Flat::Taken(n) => n,
            Flat::Not => break,
            Flat::Inside(at, step) => return (b.len() - rest.len() + at, step, rest[0] + 2),
        };
        let after = &rest[n..];
        match after_separator(after, 0, b',') {
            Some(next) => rest = next,
            None => return (b.len() - after.len(), Step::AfterValue, 0),
        }
    }
    (b.len() - rest.len(), Step::Member, 0)
}

/// What [`flat_item`] made of a value.
enum Flat {
    /// All of it: its length.
    Taken(usize),
    /// None of it.
    Not,
    /// An object or array, up to this offset, where it stopped in this
    /// state, past at least one of its tokens (so not where an empty one
    /// could still close).
    Inside(usize, Step),
}

/// What follows `sep` at `s[at]` and at most one space after it; `None`
/// when `s[at]` is not `sep`. The common `sep` and space in one compare of
/// a 16-bit word.
#[inline(always)]
fn after_separator(s: &[u8], at: usize, sep: u8) -> Option<&[u8]> {
    let rest = s.get(at..)?;
    let n = match rest.first_chunk::<2>() {
        Some(&p) if u16::from_le_bytes(p) == u16::from_le_bytes([sep, b' ']) => 2,
        _ if rest.first() == Some(&sep) => 1,
        _ => return None,
    };
    rest.get(n..)
}

/// The length of the value at the start of `v` when [`flat_value`] takes
/// it, or, if `nest` (the depth limit allows one more level), when it is an
/// object or array one level deep: members or elements `flat_value` takes,
/// at most one space after its opening bracket, around each separator and
/// before its closing bracket. `None` for anything else.
#[inline(always)]
fn flat_item(v: &[u8], nest: bool) -> Flat {
    match v.first() {
        Some(b'{' | b'[') if nest => flat_container(v),
        _ => match flat_value(v) {
            Some(n) => Flat::Taken(n),
            None => Flat::Not,
        },
    }
}

/// The container part of [`flat_item`].
#[inline(always)]
fn flat_container(v: &[u8]) -> Flat {
    let object = v[0] == b'{';
    let close = v[0] + 2;
    let mut rest = one_space(&v[1..]);
    if rest.first() == Some(&close) {
        return Flat::Taken(v.len() - rest.len() + 1);
    }
    let mut first = true;
    // Stopped at `rest` in state `step`: inside, unless nothing was taken.
    macro_rules! stop {
        ($step:expr) => {
            return if first { Flat::Not } else { Flat::Inside(v.len() - rest.len(), $step) }
        };
    }
    loop {
        if object {
            if rest.first() != Some(&b'"') {
                stop!(Step::Member);
            }
            let Some(key) = string_end(rest, 0) else { stop!(Step::Member) };
            let Some(value) = after_separator(rest, key, b':') else { stop!(Step::Member) };
            rest = value;
            first = false;
        }
        let Some(n) = flat_value(rest) else { stop!(Step::Value) };
        first = false;
        let after = &rest[n..];
        match after_separator(after, 0, b',') {
            Some(next) => rest = next,
            None => {
                let end = one_space(after);
                if end.first() == Some(&close) {
                    return Flat::Taken(v.len() - end.len() + 1);
                }
                rest = after;
                stop!(Step::AfterValue);
            }
        }
    }
}

/// `s` past one leading space, if it has one.
#[inline(always)]
fn one_space(s: &[u8]) -> &[u8] {
    match s {
        [b' ', tail @ ..] => tail,
        _ => s,
    }
}

/// The length of the number, literal or string at the start of `v`, when it
/// is one and valid (a string without escapes); `None` for anything else.
#[inline(always)]
fn flat_value(v: &[u8]) -> Option<usize> {
    match v.first() {
        Some(b'-' | b'0'..=b'9') => crate::json::number_end(v, 0).ok(),
        Some(b'"') => string_end(v, 0),
        Some(b't') => v.starts_with(b"true").then_some(4),
        Some(b'f') => v.starts_with(b"false").then_some(5),
        Some(b'n') => v.starts_with(b"null").then_some(4),
        _ => None,
    }
}

const COLON_SPACE: u16 = u16::from_le_bytes(*b": ");
const COMMA_SPACE: u16 = u16::from_le_bytes(*b", ");

/// The two bytes at `i` as a little-endian word, or 0 when the input ends
/// before them (0 is no pair the skipper looks for).
#[inline(always)]
fn pair_at(b: &[u8], i: usize) -> u16 {
    match b.get(i..) {
        Some(&[x, y, ..]) => u16::from_le_bytes([x, y]),
        _ => 0,
    }
}

/// Where the string whose opening quote is at `b[open]` ends (just past
/// its closing quote), when it has no escape and no control character and
/// its quote is in the input's last whole word of eight bytes or before;
/// `None` otherwise, and then `Scanner::string` reads it again from the
/// start and finds the same end or the error. Eight bytes a time by
/// [`string_stop_mask`]; the first stop byte is taken from the word itself.
/// The first word is tested in place (most keys and many values end in it),
/// the rest in an out-of-line loop.
#[inline(always)]
fn string_end(b: &[u8], open: usize) -> Option<usize> {
    let at = open + 1;
    let w = u64::from_le_bytes(*b.get(at..)?.first_chunk::<8>()?);
    match stop_in_word(w) {
        Some(k) if k != usize::MAX => Some(at + k + 1),
        Some(_) => None,
        None => string_end_long(b, at + 8),
    }
}

/// `string_end` past its first word.
#[inline(never)]
fn string_end_long(b: &[u8], mut at: usize) -> Option<usize> {
    while let Some(&w) = b.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        match stop_in_word(u64::from_le_bytes(w)) {
            Some(k) if k != usize::MAX => return Some(at + k + 1),
            Some(_) => return None,
            None => {}
        }
        at += 8;
    }
    None
}

/// In a word of string bytes: `None` when none of them ends the plain run,
/// else the index of the first that does when it is a quote, or
/// `usize::MAX` when it is a backslash or a control byte.
#[inline(always)]
fn stop_in_word(w: u64) -> Option<usize> {
    let stop = string_stop_mask(w);
    if stop == 0 {
        return None;
    }
    // The mask's lowest set bit is the high bit of the stop byte.
    let bit = stop.trailing_zeros();
    Some(if (w >> (bit & !7)) as u8 == b'"' { (bit / 8) as usize } else { usize::MAX })
}

/// The byte at `i`, or 0 past the end. A 0 byte is a control character: not
/// whitespace and no token's first byte, so every check the skipper makes
/// answers for it as for the end of the input (with the same message).
#[inline(always)]
fn byte_at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// The position of the first byte at or after `i` that is not JSON
/// whitespace (`Scanner::ws` moves its cursor by it). No whitespace or a single space is the
/// common case, and costs one or two compares: every whitespace byte is at
/// most a space.
#[inline(always)]
fn skip_ws(b: &[u8], i: usize) -> usize {
    let c = byte_at(b, i);
    if c > b' ' {
        return i;
    }
    if c == b' ' && byte_at(b, i + 1) > b' ' {
        return i + 1;
    }
    skip_ws_run(b, i)
}

#[inline(never)]
fn skip_ws_run(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = b.get(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::{string_stop_mask, Res, Scanner, STRING_STOP};
    use crate::paths::PathTrie;

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

    impl Scanner<'_, '_> {
        /// The skipper as it was before `skip_nested_with` kept its state in
        /// locals: token by token through `ws`, `peek`, `expect` and the stack
        /// top. Kept as the oracle for the differential test (strings and
        /// numbers by the same `skip_string` and `skip_number`).
        fn ref_skip_value(&mut self) -> Res<()> {
            match self.peek() {
                Some(b'{' | b'[') => {
                    let base = self.depth;
                    self.ref_skip_nested(base)
                }
                Some(b'"') => self.skip_string(),
                Some(b't') => self.literal(b"true"),
                Some(b'f') => self.literal(b"false"),
                Some(b'n') => self.literal(b"null"),
                Some(b'-' | b'0'..=b'9') => self.skip_number(),
                _ => Err(self.syntax("expected a JSON value")),
            }
        }

        fn ref_skip_nested(&mut self, base: usize) -> Res<()> {
            let mut stack = std::mem::take(&mut self.skip);
            stack.clear();
            let r = self.ref_skip_nested_with(base, &mut stack);
            self.skip = stack;
            r
        }

        fn ref_skip_nested_with(&mut self, base: usize, stack: &mut Vec<u8>) -> Res<()> {
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
            self.ref_skip_loop(base, stack, true)
        }

        /// The iterative skipper. `at_start`: at the first member/element of the
        /// innermost container (else just after a value in it).
        fn ref_skip_loop(
            &mut self,
            base: usize,
            stack: &mut Vec<u8>,
            mut at_start: bool,
        ) -> Res<()> {
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
                    _ => self.ref_skip_value()?,
                }
            }
        }
    }

    /// A scanner over `bytes` at `pos`, as if `depth` containers were open.
    fn scanner_at<'a>(
        bytes: &'a [u8],
        trie: &'a PathTrie,
        pos: usize,
        depth: usize,
        max_depth: usize,
    ) -> Scanner<'a, 'a> {
        Scanner {
            bytes,
            text: std::str::from_utf8(bytes).unwrap(),
            pos,
            depth,
            max_depth,
            trie,
            gates: &[],
            arrays: Vec::new(),
            next_array: 0,
            version: 0,
            buf: String::new(),
            skip: Vec::new(),
        }
    }

    /// What skipping the value at `pos` gives: the result, then where the
    /// cursor and the depth are left.
    fn skip_both(
        bytes: &[u8],
        pos: usize,
        depth: usize,
        max_depth: usize,
    ) -> [(Res<()>, usize, usize); 2] {
        let trie = PathTrie::default();
        let mut new = scanner_at(bytes, &trie, pos, depth, max_depth);
        let got = new.skip_value();
        let mut old = scanner_at(bytes, &trie, pos, depth, max_depth);
        let want = old.ref_skip_value();
        [(got, new.pos, new.depth), (want, old.pos, old.depth)]
    }

    use crate::testing::Rng;

    /// Whitespace between tokens: mostly none or one space (the cases the
    /// skipper takes in one compare), sometimes runs of every kind.
    fn gap(r: &mut Rng, out: &mut String) {
        out.push_str(r.pick(&["", "", " ", " ", " ", "  ", "\n", "\t ", " \r\n  ", "\n\n\t"]));
    }

    fn number(r: &mut Rng, out: &mut String) {
        out.push_str(r.pick(&[
            "0",
            "0.0",
            "-0",
            "7",
            "-122.51149576869115",
            "37.80749095346456",
            "1e5",
            "2E-3",
            "1.5e+10",
            "12345678901234567890",
            "-0.000001",
            "100",
            "9.87654321e-7",
            // Near the short shape's limits: seven and eight integer digits,
            // a fraction ending in the chunk's last byte and past it.
            "1234567.5",
            "-12345678.5",
            "1.2345678901234567890123",
            "-0.12345678901234567890",
            "0.5E3",
            // Not numbers: each is an error at its own offset.
            "-",
            "01",
            "-01.5",
            "1.",
            "-1.e5",
            "1e",
            "1.5e+",
            ".5",
            "-.5",
            "1.5.5",
        ]));
    }

    /// An object of numbers with one-letter keys (the shape of citylots2's
    /// points), its spacing and keys mostly as citylots2 has them,
    /// sometimes not.
    fn number_object(r: &mut Rng, out: &mut String) {
        out.push_str(r.pick(&["{ ", "{ ", "{", "{  "]));
        let n = r.below(5);
        for i in 0..n {
            if i > 0 {
                out.push_str(r.pick(&[", ", ", ", ",", " ,", ",  "]));
            }
            out.push_str(
                r.pick(&["\"x\"", "\"y\"", "\"Z\"", "\"_\"", "\"xy\"", "\"é\"", "\"\\n\""]),
            );
            out.push_str(r.pick(&[": ", ": ", ":", " : ", ":  "]));
            if r.below(8) == 0 {
                out.push_str(r.pick(&["\"s\"", "true", "null", "[1]", "{}"]));
            } else {
                number(r, out);
            }
        }
        out.push_str(r.pick(&[" }", " }", "}", "  }"]));
    }

    fn string(r: &mut Rng, out: &mut String) {
        out.push('"');
        out.push_str(r.pick(&[
            "",
            "x",
            "type",
            "MAPBLKLOT",
            "a b",
            "0001001",
            "FRANKLIN",
            "\\n",
            "caf\\u00e9",
            "\\ud83d\\ude80",
            "é",
            "🚀 rocket",
            "quote \\\" inside",
            "a long key of more than sixteen bytes",
            "tab\\tand slash\\/",
            "sixteen bytes!!!",
            "fifteen bytes!!",
        ]));
        out.push('"');
    }

    /// A random JSON value, nested up to `depth` more levels.
    fn value(r: &mut Rng, depth: usize, out: &mut String) {
        let k = if depth == 0 { 2 + r.below(3) } else { r.below(7) };
        match k {
            0 | 1 => {
                let (open, close) = if k == 0 { ('{', '}') } else { ('[', ']') };
                out.push(open);
                let n = r.below(5);
                for i in 0..n {
                    if i > 0 {
                        gap(r, out);
                        out.push(',');
                    }
                    gap(r, out);
                    if k == 0 {
                        string(r, out);
                        gap(r, out);
                        out.push(':');
                        gap(r, out);
                    }
                    value(r, depth - 1, out);
                }
                gap(r, out);
                out.push(close);
            }
            2 => number(r, out),
            3 => string(r, out),
            4 => out.push_str(r.pick(&["true", "false", "null"])),
            5 => {
                // The citylots2 shape: an object of three numbers.
                out.push_str("{ \"x\": ");
                number(r, out);
                out.push_str(", \"y\": ");
                number(r, out);
                out.push_str(", \"z\": 0.0 }");
            }
            _ => {
                // An array of objects of numbers, as citylots2's coordinates
                // (arrays of them nest by the case above).
                out.push('[');
                out.push_str(r.pick(&["", " "]));
                for i in 0..r.below(5) {
                    if i > 0 {
                        out.push_str(r.pick(&[", ", ", ", ",", " , "]));
                    }
                    number_object(r, out);
                }
                out.push_str(r.pick(&["", " "]));
                out.push(']');
            }
        }
    }

    /// The skipper accepts and rejects exactly as the plain token-by-token
    /// loop it replaced: the same result (error kind, message and offset),
    /// the same cursor and depth after, on generated values (every token
    /// kind, whitespace of every kind between tokens, escapes, multi-byte
    /// text) and on mutations of them (bytes replaced, inserted, removed,
    /// the input cut short), with depth limits near the nesting.
    #[test]
    fn skipper_agrees_with_reference() {
        let mut r = Rng(0x2545_f491_4f6c_dd1d);
        let mutants: &[&str] = &[
            " ", "\t", "\n", "\r", ",", ":", "{", "}", "[", "]", "\"", "\\", "-", "+", ".", "e",
            "E", "0", "1", "9", "a", "t", "f", "n", "x", "\u{1}", "\u{1f}", "é", ", ", ": ", "\\u",
        ];
        let (mut accepted, mut rejected) = (0, 0);
        for round in 0..200_000 {
            let mut text = String::new();
            let prefix = r.below(3);
            text.push_str(&" ".repeat(prefix));
            let nesting = 1 + r.below(5);
            value(&mut r, nesting, &mut text);
            text.push_str(r.pick(&["", " ", ",", " }", "]", ", \"k\": 1}"]));
            // Half the inputs go on for a while after the value: the fast
            // paths read in windows and leave the input's last bytes to the
            // general path.
            if r.below(2) == 0 {
                text.push_str(r.pick(&[
                    ", \"firstCoordinates\": { \"x\": -122.51149576869115, \"z\": 0.0 } } }",
                    "                                                ",
                ]));
            }
            let mut bytes = text.into_bytes();
            // Half the inputs are mutated one to three times.
            if round % 2 == 1 {
                for _ in 0..1 + r.below(3) {
                    let mut at = r.below(bytes.len() + 1);
                    // Mostly at a byte of structure, where one step of the
                    // fast paths decides most.
                    let structure = |b: &u8| b": ,{}[]\"".contains(b);
                    if r.below(4) != 0 {
                        let marks: Vec<usize> =
                            (0..bytes.len()).filter(|&i| structure(&bytes[i])).collect();
                        if !marks.is_empty() {
                            at = marks[r.below(marks.len())];
                        }
                    }
                    let m = r.pick(mutants).as_bytes();
                    match r.below(4) {
                        0 => bytes.splice(at..at, m.iter().copied()).for_each(drop),
                        1 if at < bytes.len() => {
                            // The byte, and sometimes the spaces after it.
                            let mut end = at + 1;
                            while r.below(2) == 0 && bytes.get(end) == Some(&b' ') {
                                end += 1;
                            }
                            bytes.drain(at..end);
                        }
                        2 => bytes.truncate(at),
                        _ if at < bytes.len() => {
                            bytes.splice(at..at + 1, m.iter().copied()).for_each(drop)
                        }
                        _ => {}
                    }
                }
                if std::str::from_utf8(&bytes).is_err() {
                    continue;
                }
            }
            let pos = prefix.min(bytes.len());
            let depth = r.below(3);
            let max_depth = depth + r.below(7);
            let [got, want] = skip_both(&bytes, pos, depth, max_depth);
            if want.0.is_ok() {
                accepted += 1;
            } else {
                rejected += 1;
            }
            assert_eq!(
                got,
                want,
                "{:?} at {pos}, depth {depth} of {max_depth}",
                String::from_utf8_lossy(&bytes)
            );
        }
        // Both outcomes are common, so both paths were compared.
        assert!(accepted > 10_000 && rejected > 10_000, "{accepted} {rejected}");
    }

    /// The fixed cases: each error the skipper reports, at its offset.
    #[test]
    fn skipper_errors_at_their_offsets() {
        let cases: &[(&str, usize, usize)] = &[
            (r#"{ "x": 1 "#, 9, 9),
            (r#"{ "x" 1 }"#, 6, 6),
            (r#"{ x: 1 }"#, 2, 2),
            (r#"[ 1, ]"#, 5, 5),
            (r#"[ 01 ]"#, 3, 3),
            (r#"[ 1.e5 ]"#, 4, 4),
            (r#"[ -x ]"#, 3, 3),
            (r#"[ tru ]"#, 2, 2),
            (r#"{ "a": "b\q" }"#, 10, 10),
            ("{ \"a\": \"b\u{1}\" }", 9, 9),
            (r#"[[[[1]]]]"#, 3, 3),
            (r#"{ "x": [ } ]"#, 9, 9),
            (r#"[ "open"#, 7, 7),
        ];
        // Inside arrays of objects of numbers, tried as they are and
        // followed by more input (so that reads in windows of the input
        // fit).
        let windowed: &[(&str, usize, usize)] = &[
            (r#"[ { "x": -1.5, "y": 1. } ]"#, 22, 22),
            (r#"[ { "x": 0.5 "y": 1 } ]"#, 13, 13),
            (r#"[ { "x": -0.5, "y" 1 } ]"#, 19, 19),
            (r#"[ { "x": 1.5 }, { "y": -x } ]"#, 24, 24),
            (r#"[ { "x": 01.5 } ]"#, 10, 10),
            (r#"[ { "x": 1.5e } ]"#, 13, 13),
            (r#"[ { "x": 1.5 }, { "y": 2.5 } "#, 29, 29),
        ];
        // Objects and arrays inside arrays are taken in one step only where
        // the depth limit allows them.
        for max_depth in 0..6 {
            let text = r#"[ [ { "x": 1, "y": [ 2 ] }, [ 3 ], { "z": 0.0 } ], { "a": "b" } ]"#;
            let [got, want] = skip_both(text.as_bytes(), 0, 0, max_depth);
            assert_eq!(got, want, "{max_depth}");
            assert_eq!(got.0.is_ok(), max_depth >= 4, "{max_depth}");
            let text = r#"[ [ { "x": -1.5, "y": 2.25 }, { "x": 0.5, "y": 3.0 } ] ]"#.to_owned()
                + &"#".repeat(40);
            let [got, want] = skip_both(text.as_bytes(), 0, 0, max_depth);
            assert_eq!(got, want, "{max_depth}");
            assert_eq!(got.0.is_ok(), max_depth >= 3, "{max_depth}");
            if got.0.is_ok() {
                assert_eq!(got.1, text.len() - 40, "{max_depth}");
            }
        }
        let tail = "#".repeat(40);
        let plain = cases.iter().chain(windowed).map(|&(text, at, pos)| (text.to_owned(), at, pos));
        let tailed = windowed.iter().map(|&(text, at, pos)| (text.to_owned() + &tail, at, pos));
        for (text, offset, pos) in plain.chain(tailed) {
            let [got, want] = skip_both(text.as_bytes(), 0, 0, 3);
            assert_eq!(got, want, "{text}");
            let err = got.0.expect_err(&text);
            assert_eq!((err.offset, got.1), (offset, pos), "{text}: {err}");
        }
    }
}
