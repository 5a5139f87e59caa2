//! Strict JSON for JOSE headers, claim sets, JWKS and discovery documents.
//!
//! RFC 7515 §5.2 and RFC 8725 §3.9 leave duplicate member names to the
//! implementation; we refuse them, because two parsers that pick different
//! duplicates can disagree about what a token says. Nesting depth is bounded
//! so that a hostile payload cannot exhaust the stack.
//!
//! The grammar is RFC 8259's, exactly as `serde_json` reads it (no comments,
//! no trailing commas, no `NaN`, UTF-8 only, unpaired surrogate escapes
//! refused). Floats are correctly rounded (as `serde_json` with its
//! `float_roundtrip` feature; without it, `serde_json` can be one unit in
//! the last place off). One reader serves two purposes: [`parse_object`] builds a
//! `serde_json` map for display and metadata documents, and
//! [`ClaimSet`](crate::claims::ClaimSet) reads a token's payload in one pass
//! without building anything but the claims validation looks at. Both refuse
//! exactly the same documents.
//!
//! This module is not part of the public API (it is hidden from the
//! documentation and may change in any release): it is reachable only so
//! that the fuzz targets (`fuzz/`), the benchmarks and the property tests can
//! drive [`parse_object`] directly. Its error type is
//! [`error::JsonError`](crate::error::JsonError).

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde_json::{Map, Number, Value};

use crate::error::JsonError;

/// Parses `bytes` as a JSON object, refusing duplicate member names and
/// nesting deeper than `max_depth` (the top-level object is depth 1).
pub fn parse_object(bytes: &[u8], max_depth: usize) -> Result<Map<String, Value>, JsonError> {
    let read = || -> Result<Value, Fail> {
        let mut reader = Reader::new(bytes, max_depth)?;
        let value = reader.value(1)?;
        reader.end()?;
        Ok(value)
    };
    match read().map_err(|e| *e)? {
        Value::Object(map) => Ok(map),
        other => Err(JsonError::NotAnObject(type_name(&other))),
    }
}

/// A short name for the JSON type of `value`, used in error messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The reader's error: boxed, so that results on the hot path stay small.
pub(crate) type Fail = Box<JsonError>;

/// The deepest nesting the reader ever follows, whatever the configured
/// limit (the recursion bound `serde_json` also applies).
const HARD_DEPTH_LIMIT: usize = 128;

/// A JSON number as written: integers keep their exact value when they fit
/// 64 bits, everything else is a finite `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    /// A non-negative integer.
    Unsigned(u64),
    /// A negative integer.
    Signed(i64),
    /// A number with a fraction or exponent, or an integer beyond 64 bits.
    Float(f64),
}

impl Num {
    fn into_value(self) -> Value {
        match self {
            Num::Unsigned(u) => Value::Number(u.into()),
            Num::Signed(i) => Value::Number(i.into()),
            Num::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        }
    }
}

/// What comes next in the document, judged from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peek {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl Peek {
    /// The type's name for messages, as [`type_name`] gives it.
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            Peek::Null => "null",
            Peek::Bool => "a boolean",
            Peek::Number => "a number",
            Peek::String => "a string",
            Peek::Array => "an array",
            Peek::Object => "an object",
        }
    }
}

/// A strict, single-pass JSON reader over a byte slice. Strings without
/// escapes are borrowed from the input.
#[derive(Clone)]
pub(crate) struct Reader<'a> {
    /// The document, checked to be UTF-8 up front (JSON text must be).
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`, which must be UTF-8.
    pub(crate) fn new(bytes: &'a [u8], max_depth: usize) -> Result<Self, Fail> {
        let mut reader = Reader {
            text: "",
            bytes,
            pos: 0,
            max_depth: max_depth.min(HARD_DEPTH_LIMIT),
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                reader.text = text;
                Ok(reader)
            }
            Err(e) => {
                reader.pos = e.valid_up_to();
                Err(reader.syntax("invalid unicode code point"))
            }
        }
    }

    /// A reader at the start of `text` (UTF-8 already).
    pub(crate) fn from_str(text: &'a str, max_depth: usize) -> Self {
        Reader {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            max_depth: max_depth.min(HARD_DEPTH_LIMIT),
        }
    }

    /// The current byte offset.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// The document text between two offsets the reader stopped at.
    pub(crate) fn text_between(&self, start: usize, end: usize) -> &'a str {
        self.text.get(start..end).unwrap_or_default()
    }

    /// Refuses anything but whitespace after the document.
    pub(crate) fn end(&mut self) -> Result<(), Fail> {
        self.skip_ws();
        if self.pos < self.bytes.len() {
            return Err(self.syntax("trailing characters"));
        }
        Ok(())
    }

    #[inline(always)]
    fn byte(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline(always)]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.byte() {
            self.pos += 1;
        }
    }

    /// A syntax error at the current position, with line and column as
    /// editors count them (1-based).
    fn syntax(&self, what: &str) -> Fail {
        let upto = self.bytes.get(..self.pos).unwrap_or(self.bytes);
        let line = upto.iter().filter(|b| **b == b'\n').count() + 1;
        let column = upto.iter().rev().take_while(|b| **b != b'\n').count() + 1;
        Box::new(JsonError::Syntax(format!(
            "{what} at line {line} column {column}"
        )))
    }

    /// Skips whitespace and classifies the next value.
    #[inline(always)]
    pub(crate) fn peek(&mut self) -> Result<Peek, Fail> {
        self.skip_ws();
        match self.byte() {
            Some(b'n') => Ok(Peek::Null),
            Some(b't' | b'f') => Ok(Peek::Bool),
            Some(b'-' | b'0'..=b'9') => Ok(Peek::Number),
            Some(b'"') => Ok(Peek::String),
            Some(b'[') => Ok(Peek::Array),
            Some(b'{') => Ok(Peek::Object),
            Some(_) => Err(self.syntax("expected value")),
            None => Err(self.syntax("EOF while parsing a value")),
        }
    }

    /// Consumes `null`, `true` or `false` (after [`peek`](Self::peek)).
    pub(crate) fn literal(&mut self) -> Result<Option<bool>, Fail> {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        let (word, value): (&[u8], _) = match rest.first() {
            Some(b'n') => (b"null", None),
            Some(b't') => (b"true", Some(true)),
            _ => (b"false", Some(false)),
        };
        if !rest.starts_with(word) {
            // Point at the first byte that differs, as other parsers do.
            let same = rest.iter().zip(word).take_while(|(a, b)| a == b).count();
            self.pos += same;
            return Err(self.syntax("expected ident"));
        }
        self.pos += word.len();
        Ok(value)
    }

    /// Consumes a number (after [`peek`](Self::peek)).
    #[inline]
    pub(crate) fn number(&mut self) -> Result<Num, Fail> {
        let start = self.pos;
        let negative = self.byte() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        // The integer part, accumulated as it is scanned; up to 19 digits
        // always fit 64 bits, longer runs are checked (`None`: too large).
        let int_start = self.pos;
        let mut value = 0u64;
        match self.byte() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(d @ b'0'..=b'9') = self.byte() {
                    value = value.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
                    self.pos += 1;
                }
            }
            _ => return Err(self.syntax("invalid number")),
        }
        let magnitude = if self.pos - int_start <= 19 {
            Some(value)
        } else {
            let digits = self.bytes.get(int_start..self.pos).unwrap_or_default();
            digits.iter().try_fold(0u64, |m, d| {
                m.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            })
        };
        let mut integral = true;
        if self.byte() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.byte(), Some(b'0'..=b'9')) {
                return Err(self.syntax("invalid number"));
            }
            self.digits();
            integral = false;
        }
        if let Some(b'e' | b'E') = self.byte() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.byte() {
                self.pos += 1;
            }
            if !matches!(self.byte(), Some(b'0'..=b'9')) {
                return Err(self.syntax("invalid number"));
            }
            self.digits();
            integral = false;
        }
        if integral {
            match (negative, magnitude) {
                (false, Some(u)) => return Ok(Num::Unsigned(u)),
                // `-0` is a float, as serde_json reads it.
                (true, Some(0)) => return Ok(Num::Float(-0.0)),
                (true, Some(u)) => {
                    if let Some(i) = 0i64.checked_sub_unsigned(u) {
                        return Ok(Num::Signed(i));
                    }
                }
                (_, None) => {}
            }
        }
        let text = self.bytes.get(start..self.pos).unwrap_or_default();
        // The grammar above admits only ASCII digits, signs, '.', 'e'/'E'.
        let parsed = std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse::<f64>().ok());
        match parsed {
            Some(f) if f.is_finite() => Ok(Num::Float(f)),
            _ => {
                self.pos = start;
                Err(self.syntax("number out of range"))
            }
        }
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.byte() {
            self.pos += 1;
        }
    }

    /// Consumes a string (after [`peek`](Self::peek)); borrowed when it has
    /// no escapes.
    #[inline(always)]
    pub(crate) fn string(&mut self) -> Result<Cow<'a, str>, Fail> {
        let bytes = self.bytes;
        let start = self.pos + 1;
        let end = skip_plain(bytes, start);
        match bytes.get(end) {
            Some(b'"') => {
                let text = self.slice(start, end)?;
                self.pos = end + 1;
                Ok(Cow::Borrowed(text))
            }
            Some(b'\\') => {
                let prefix = self.slice(start, end)?;
                self.pos = end;
                self.escaped_string(prefix).map(Cow::Owned)
            }
            Some(_) => {
                self.pos = end;
                Err(self.syntax("control character (\\u0000-\\u001F) found while parsing a string"))
            }
            None => {
                self.pos = bytes.len();
                Err(self.syntax("EOF while parsing a string"))
            }
        }
    }

    /// Consumes a string without producing it (after [`peek`](Self::peek)).
    #[inline]
    fn skip_string(&mut self) -> Result<(), Fail> {
        let end = skip_plain(self.bytes, self.pos + 1);
        if self.bytes.get(end) == Some(&b'"') {
            self.pos = end + 1;
            return Ok(());
        }
        // Escapes, control characters, the end: the full path checks them.
        self.string().map(drop)
    }

    /// The text between two positions that sit on ASCII delimiters.
    #[inline(always)]
    fn slice(&self, start: usize, end: usize) -> Result<&'a str, Fail> {
        self.text
            .get(start..end)
            .ok_or_else(|| self.syntax("invalid unicode code point"))
    }

    /// The rest of a string that has escapes; `self.pos` is at the first
    /// backslash.
    fn escaped_string(&mut self, prefix: &str) -> Result<String, Fail> {
        let bytes = self.bytes;
        let mut out = String::with_capacity(prefix.len() + 16);
        out.push_str(prefix);
        loop {
            let run_start = self.pos;
            let run_end = skip_plain(bytes, run_start);
            out.push_str(self.slice(run_start, run_end)?);
            self.pos = run_end;
            match self.byte() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => {
                    return Err(self.syntax(
                        "control character (\\u0000-\\u001F) found while parsing a string",
                    ));
                }
                None => return Err(self.syntax("EOF while parsing a string")),
            }
        }
    }

    /// One escape sequence, after its backslash.
    fn escape(&mut self, out: &mut String) -> Result<(), Fail> {
        let Some(b) = self.byte() else {
            return Err(self.syntax("EOF while parsing a string"));
        };
        self.pos += 1;
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.unicode_escape()?,
            _ => {
                self.pos -= 1;
                return Err(self.syntax("invalid escape"));
            }
        };
        out.push(c);
        Ok(())
    }

    /// `\uXXXX`, after the `u`; a leading surrogate must be followed by an
    /// escaped trailing one.
    fn unicode_escape(&mut self) -> Result<char, Fail> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                let rest = self.bytes.get(self.pos..).unwrap_or_default();
                if !rest.starts_with(b"\\u") {
                    return Err(self.syntax("lone leading surrogate in hex escape"));
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.syntax("lone leading surrogate in hex escape"));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.syntax("lone trailing surrogate in hex escape")),
            other => other,
        };
        char::from_u32(code).ok_or_else(|| self.syntax("invalid unicode code point"))
    }

    fn hex4(&mut self) -> Result<u32, Fail> {
        let mut value = 0u32;
        for _ in 0..4 {
            let digit = match self.byte() {
                Some(b) => (b as char).to_digit(16),
                None => return Err(self.syntax("EOF while parsing a string")),
            };
            let Some(digit) = digit else {
                return Err(self.syntax("invalid escape"));
            };
            value = value * 16 + digit;
            self.pos += 1;
        }
        Ok(value)
    }

    /// Enters an array or object at `depth` (after [`peek`](Self::peek)).
    fn open(&mut self, depth: usize) -> Result<(), Fail> {
        if depth > self.max_depth {
            return Err(JsonError::TooDeep(self.max_depth).into());
        }
        self.pos += 1;
        Ok(())
    }

    /// Starts reading an array's elements: `Ok(true)` when an element
    /// follows.
    pub(crate) fn array_start(&mut self, depth: usize) -> Result<bool, Fail> {
        self.open(depth)?;
        self.skip_ws();
        if self.byte() == Some(b']') {
            self.pos += 1;
            return Ok(false);
        }
        Ok(true)
    }

    /// After an element: `Ok(true)` when another follows.
    #[inline]
    pub(crate) fn array_next(&mut self) -> Result<bool, Fail> {
        self.skip_ws();
        match self.byte() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(b']') => {
                self.pos += 1;
                Ok(false)
            }
            Some(_) => Err(self.syntax("expected ',' or ']'")),
            None => Err(self.syntax("EOF while parsing a list")),
        }
    }

    /// Starts reading a document that must be an object: its first member
    /// name, if any. Anything else is read to its end (so that a syntax
    /// error still wins) and refused as `NotAnObject`.
    pub(crate) fn document_object(&mut self) -> Result<Option<Cow<'a, str>>, Fail> {
        let peek = self.peek()?;
        if peek != Peek::Object {
            self.skip(1)?;
            self.end()?;
            return Err(JsonError::NotAnObject(peek.type_name()).into());
        }
        self.object_start(1)
    }

    /// Starts reading an object: its first member name, if any.
    pub(crate) fn object_start(&mut self, depth: usize) -> Result<Option<Cow<'a, str>>, Fail> {
        self.open(depth)?;
        self.skip_ws();
        if self.byte() == Some(b'}') {
            self.pos += 1;
            return Ok(None);
        }
        self.member_name().map(Some)
    }

    /// After a member's value: the next member name, if any.
    #[inline(always)]
    pub(crate) fn object_next(&mut self) -> Result<Option<Cow<'a, str>>, Fail> {
        self.skip_ws();
        match self.byte() {
            Some(b',') => {
                self.pos += 1;
                self.skip_ws();
                self.member_name().map(Some)
            }
            Some(b'}') => {
                self.pos += 1;
                Ok(None)
            }
            Some(_) => Err(self.syntax("expected ',' or '}'")),
            None => Err(self.syntax("EOF while parsing an object")),
        }
    }

    /// A member name and the colon after it.
    #[inline(always)]
    fn member_name(&mut self) -> Result<Cow<'a, str>, Fail> {
        match self.byte() {
            Some(b'"') => {}
            Some(_) => return Err(self.syntax("key must be a string")),
            None => return Err(self.syntax("EOF while parsing an object")),
        }
        let name = self.string()?;
        self.skip_ws();
        match self.byte() {
            Some(b':') => {
                self.pos += 1;
                Ok(name)
            }
            Some(_) => Err(self.syntax("expected ':'")),
            None => Err(self.syntax("EOF while parsing an object")),
        }
    }

    /// Reads any value at `depth`, building it.
    pub(crate) fn value(&mut self, depth: usize) -> Result<Value, Fail> {
        Ok(match self.peek()? {
            Peek::Null | Peek::Bool => self.literal()?.map_or(Value::Null, Value::Bool),
            Peek::Number => self.number()?.into_value(),
            Peek::String => Value::String(self.string()?.into_owned()),
            Peek::Array => {
                let mut items = Vec::new();
                let mut more = self.array_start(depth)?;
                while more {
                    items.push(self.value(depth + 1)?);
                    more = self.array_next()?;
                }
                Value::Array(items)
            }
            Peek::Object => {
                let mut map = Map::new();
                let mut next = self.object_start(depth)?;
                while let Some(name) = next {
                    match map.entry(name.into_owned()) {
                        serde_json::map::Entry::Occupied(e) => {
                            return Err(JsonError::DuplicateMember(format!("{:?}", e.key())).into());
                        }
                        serde_json::map::Entry::Vacant(slot) => {
                            slot.insert(self.value(depth + 1)?);
                        }
                    }
                    next = self.object_next()?;
                }
                Value::Object(map)
            }
        })
    }

    /// Reads any value at `depth` without building it, with the same
    /// refusals as [`value`](Self::value).
    pub(crate) fn skip(&mut self, depth: usize) -> Result<(), Fail> {
        match self.peek()? {
            Peek::Null | Peek::Bool => {
                self.literal()?;
            }
            Peek::Number => {
                self.number()?;
            }
            Peek::String => self.skip_string()?,
            Peek::Array => {
                let mut more = self.array_start(depth)?;
                while more {
                    self.skip(depth + 1)?;
                    more = self.array_next()?;
                }
            }
            Peek::Object => {
                let mut names = Names::default();
                let mut next = self.object_start(depth)?;
                while let Some(name) = next {
                    names.insert(name)?;
                    self.skip(depth + 1)?;
                    next = self.object_next()?;
                }
            }
        }
        Ok(())
    }
}

/// Where a string read from a document lives: a span of the document when
/// it is a slice of it, else (the unescaped copy of an escaped string) its
/// own value. Lets a struct keep the document and its strings without
/// borrowing from itself.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Text {
    Span(usize, usize),
    Owned(Box<str>),
}

impl Text {
    /// Where `value`, read from `document`, lives.
    pub(crate) fn of(value: &str, document: &[u8]) -> Text {
        let start = value.as_ptr().addr().wrapping_sub(document.as_ptr().addr());
        if start <= document.len() && value.len() <= document.len() - start {
            return Text::Span(start, start + value.len());
        }
        Text::Owned(value.into())
    }

    /// The string, given the document it was read from.
    pub(crate) fn get<'t>(&'t self, document: &'t str) -> &'t str {
        match self {
            Text::Span(start, end) => document.get(*start..*end).unwrap_or_default(),
            Text::Owned(value) => value,
        }
    }
}

/// Member names seen so far in one object, for duplicate detection. A
/// 64-bit filter of every name's fingerprint skips the comparisons for most
/// new names; the first names borrowed from the document are kept in
/// place, the rest (or escaped ones) in an ordered set, so that a document
/// with thousands of members costs O(n log n), not O(n²).
#[derive(Default)]
pub(crate) struct Names<'a> {
    filter: u64,
    inline: [&'a str; INLINE_NAMES],
    inline_len: usize,
    spilled: BTreeSet<Cow<'a, str>>,
}

const INLINE_NAMES: usize = 24;

impl<'a> Names<'a> {
    /// Records `name`, refusing it when already seen.
    #[inline]
    pub(crate) fn insert(&mut self, name: Cow<'a, str>) -> Result<(), Fail> {
        let bit = fingerprint(&name);
        let maybe_seen = self.filter & bit != 0;
        self.filter |= bit;
        if maybe_seen
            && (self
                .inline
                .iter()
                .take(self.inline_len)
                .any(|seen| *seen == name)
                || self.spilled.contains(&name))
        {
            return Err(JsonError::DuplicateMember(format!("{name:?}")).into());
        }
        match (name, self.inline.get_mut(self.inline_len)) {
            (Cow::Borrowed(name), Some(slot)) => {
                *slot = name;
                self.inline_len += 1;
            }
            (name, _) => {
                self.spilled.insert(name);
            }
        }
        Ok(())
    }
}

/// One of 64 bits, from a name's length and first, middle and last bytes.
#[inline]
fn fingerprint(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let at = |i: usize| u64::from(bytes.get(i).copied().unwrap_or(0));
    let key = bytes.len() as u64
        | at(0) << 16
        | at(bytes.len() / 2) << 24
        | at(bytes.len().wrapping_sub(1)) << 32;
    1 << (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58)
}

/// The index of the first byte at or after `i` that ends a run of plain
/// string content: a quote, a backslash or a control character (or the end
/// of `bytes`). Eight bytes at a time.
#[inline(always)]
fn skip_plain(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let quote = x ^ (ONES * u64::from(b'"'));
        let backslash = x ^ (ONES * u64::from(b'\\'));
        // A byte is flagged when it is zero after the XOR (quote,
        // backslash) or below 0x20; the lowest flag is always exact.
        let flags = (quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash
            | x.wrapping_sub(ONES * 0x20) & !x)
            & HIGHS;
        if flags != 0 {
            return i + (flags.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_object() {
        let m = parse_object(br#"{"a":1,"b":[1,2,{"c":null}],"d":"x"}"#, 8).unwrap();
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn refuses_duplicates_at_any_depth() {
        assert_eq!(
            parse_object(br#"{"exp":1,"exp":2}"#, 8),
            Err(JsonError::DuplicateMember("\"exp\"".into()))
        );
        assert!(matches!(
            parse_object(br#"{"a":{"b":1,"b":1}}"#, 8),
            Err(JsonError::DuplicateMember(_))
        ));
    }

    #[test]
    fn refuses_escaped_duplicates() {
        // "\u0065xp" is "exp": the names are equal once unescaped.
        assert!(matches!(
            parse_object(br#"{"exp":1,"\u0065xp":2}"#, 8),
            Err(JsonError::DuplicateMember(_))
        ));
    }

    #[test]
    fn bounds_depth() {
        assert!(parse_object(br#"{"a":[[1]]}"#, 3).is_ok());
        assert_eq!(
            parse_object(br#"{"a":[[[1]]]}"#, 3),
            Err(JsonError::TooDeep(3))
        );
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(5000), "]".repeat(5000));
        assert!(matches!(
            parse_object(deep.as_bytes(), 32),
            Err(JsonError::TooDeep(32))
        ));
        // A configured limit beyond the hard bound still stops there.
        assert!(matches!(
            parse_object(deep.as_bytes(), 100_000),
            Err(JsonError::TooDeep(HARD_DEPTH_LIMIT))
        ));
    }

    #[test]
    fn refuses_non_objects_and_trailing_data() {
        assert_eq!(
            parse_object(b"[1]", 8),
            Err(JsonError::NotAnObject("an array"))
        );
        assert!(matches!(
            parse_object(b"{} x", 8),
            Err(JsonError::Syntax(_))
        ));
        assert!(matches!(parse_object(b"{", 8), Err(JsonError::Syntax(_))));
    }

    #[test]
    fn reads_every_value_kind_like_serde_json() {
        let doc = r#" { "s" : "a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00" , "n": [0, -0, -1, 1.5, 1e3, -2E-2,
            18446744073709551615, 18446744073709551616, -9223372036854775808, -9223372036854775809,
            9999999999999999999, 10000000000000000000, 99999999999999999999],
            "l": [true, false, null], "o": {"": {}}, "u": "h\u00e9llo wörld" } "#;
        let ours = parse_object(doc.as_bytes(), 8).unwrap();
        let theirs: Map<String, Value> = serde_json::from_str(doc).unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn refuses_what_serde_json_refuses() {
        for doc in [
            &br#"{"a":01}"#[..],
            br#"{"a":1.}"#,
            br#"{"a":.5}"#,
            br#"{"a":1e}"#,
            br#"{"a":+1}"#,
            br#"{"a":1e400}"#,
            br#"{"a":NaN}"#,
            br#"{"a":tru}"#,
            br#"{"a":"\x"}"#,
            br#"{"a":"\u12"}"#,
            br#"{"a":"\ud800"}"#,
            br#"{"a":"\ud800\u0041"}"#,
            br#"{"a":"\udc00"}"#,
            b"{\"a\":\"\x01\"}",
            b"{\"a\":\"\xff\"}",
            br#"{"a":1,}"#,
            br#"{"a":[1,]}"#,
            br#"{a:1}"#,
            br#"{"a" 1}"#,
            br#"{"a":1"b":2}"#,
            b"\xef\xbb\xbf{}",
            b"",
        ] {
            assert!(
                serde_json::from_slice::<Value>(doc).is_err(),
                "{:?}",
                String::from_utf8_lossy(doc)
            );
            assert!(
                matches!(parse_object(doc, 8), Err(JsonError::Syntax(_))),
                "{:?}: {:?}",
                String::from_utf8_lossy(doc),
                parse_object(doc, 8)
            );
        }
    }

    #[test]
    fn syntax_errors_say_where() {
        let err = parse_object(b"{\n  \"a\": x}", 8).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid JSON: expected value at line 2 column 8"
        );
    }

    #[test]
    fn many_members_cost_n_log_n() {
        // 3,000 distinct names, then one repeated at the end: found, and
        // quickly (a quadratic scan would take millions of comparisons).
        let mut doc = String::from("{");
        for i in 0..3000 {
            doc.push_str(&format!("\"m{i}\":0,"));
        }
        doc.push_str("\"m2999\":1}");
        assert_eq!(
            parse_object(doc.as_bytes(), 4),
            Err(JsonError::DuplicateMember("\"m2999\"".into()))
        );
        assert_eq!(
            crate::claims::ClaimSet::parse(doc.as_bytes(), 4).err(),
            Some(JsonError::DuplicateMember("\"m2999\"".into()))
        );
        let ok = doc.replace("\"m2999\":1}", "\"last\":1}");
        assert!(crate::claims::ClaimSet::parse(ok.as_bytes(), 4).is_ok());
    }

    #[test]
    fn plain_runs_stop_at_the_first_special_byte() {
        let text = b"abcdefghijklmnopqrstuvwxyz\"";
        assert_eq!(skip_plain(text, 0), 26);
        assert_eq!(skip_plain(b"abc\\defghijkl", 0), 3);
        assert_eq!(skip_plain(b"abcdefghij\x1fkl", 0), 10);
        // Non-ASCII bytes are content, never terminators.
        assert_eq!(skip_plain("ééééé\"".as_bytes(), 0), 10);
        assert_eq!(skip_plain(b"abc", 0), 3);
    }
}
