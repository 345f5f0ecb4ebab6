//! A small JSON reader for patterns. Patterns are small and read once, so
//! clarity wins here; what matters is that numbers keep the text they were
//! written with (error texts quote it, and big integer literals compare by
//! it), object members keep document order, and a repeated key keeps its
//! first position but takes its last value.

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
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut i = usize::from(b.first() == Some(&b'-'));
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i += digits(i),
        _ => return Err(i),
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        match digits(i) {
            0 => return Err(i),
            n => i += n,
        }
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        match digits(i) {
            0 => return Err(i),
            n => i += n,
        }
    }
    Ok(i)
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
}
