//! Typed, strict access to the claims validation reads.
//!
//! Claims of the wrong JSON type are refused, never coerced: `"exp":"1700000000"`
//! is an error, not a number, and `roles` must be an array of strings.
//!
//! A [`ClaimSet`] holds only the claims named by [`Claim`]. It is read from a
//! token's payload in one pass ([`ClaimSet::parse`], which refuses exactly
//! the documents the crate's strict JSON reader refuses when it builds a
//! whole map, without building the other claims), or viewed over an already parsed map
//! ([`ClaimSet::from_map`]). Every check in the crate reads claims through
//! it, so validation and diagnostics judge a token the same way.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::error::{JsonError, ValidationError};
use crate::json::{Fail, Names, Num, Peek, Reader};

macro_rules! claims {
    ($($variant:ident => $name:literal,)*) => {
        /// A claim that validation, classification or the
        /// [`Principal`](crate::Principal) reads.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Claim {
            $(#[doc = concat!("`", $name, "`")] $variant,)*
        }

        impl Claim {
            /// Every claim, in slot order.
            pub const ALL: &'static [Claim] = &[$(Claim::$variant,)*];

            /// The claim's name in a token.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Claim::$variant => $name,)*
                }
            }

            /// The claim called `name`, if validation reads it.
            #[inline]
            pub fn from_name(name: &str) -> Option<Claim> {
                // Short names compare as one machine word (a token has a
                // dozen or more members, each looked up here).
                const PACKED: &[(u64, Claim)] = &[$((pack($name), Claim::$variant),)*];
                if name.len() <= 7 {
                    let key = pack(name);
                    return PACKED.iter().find(|(k, _)| *k == key).map(|(_, c)| *c);
                }
                match name {
                    $($name => Some(Claim::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

/// A name of up to 7 bytes with its length, as one word; longer names
/// pack to a value no short name has.
const fn pack(name: &str) -> u64 {
    let bytes = name.as_bytes();
    if bytes.len() > 7 {
        return u64::MAX;
    }
    let mut word = (bytes.len() as u64) << 56;
    let mut rest = bytes;
    let mut shift = 0;
    while let [first, tail @ ..] = rest {
        word |= (*first as u64) << shift;
        shift += 8;
        rest = tail;
    }
    word
}

claims! {
    Iss => "iss",
    Tid => "tid",
    Aud => "aud",
    Exp => "exp",
    Nbf => "nbf",
    Iat => "iat",
    Sub => "sub",
    Oid => "oid",
    Azp => "azp",
    Appid => "appid",
    Ver => "ver",
    Idtyp => "idtyp",
    Scp => "scp",
    Name => "name",
    PreferredUsername => "preferred_username",
    Upn => "upn",
    Nonce => "nonce",
    Roles => "roles",
    ClientId => "client_id",
    Cid => "cid",
    Scope => "scope",
    Typ => "typ",
    AtHash => "at_hash",
    CHash => "c_hash",
    // Read only for their presence: a user's names tell a delegated token
    // without `scp` from an app-only one (`Principal::is_app_only`).
    Email => "email",
    FamilyName => "family_name",
    GivenName => "given_name",
    UniqueName => "unique_name",
}

const SLOTS: usize = 28;

/// One claim's value, as far as validation looks at it.
#[derive(Debug, Clone, PartialEq, Default)]
enum Slot<'a> {
    #[default]
    Absent,
    Null,
    Bool,
    Number(Num),
    String(Cow<'a, str>),
    /// The array's JSON text (read again on demand, which costs less than
    /// collecting it), and the type of the first element that is not a
    /// string, if any.
    Array {
        text: Cow<'a, str>,
        other: Option<Peek>,
    },
    Object,
}

impl Slot<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            Slot::Absent | Slot::Null => "null",
            Slot::Bool => "a boolean",
            Slot::Number(_) => "a number",
            Slot::String(_) => "a string",
            Slot::Array { .. } => "an array",
            Slot::Object => "an object",
        }
    }
}

/// The claims of one token that validation reads (see [`Claim`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClaimSet<'a> {
    slots: [Slot<'a>; SLOTS],
}

impl<'a> ClaimSet<'a> {
    /// Reads a payload: a JSON object with no duplicate member names,
    /// nesting at most `max_depth` levels. Refuses exactly the documents
    /// the strict JSON reader refuses when it builds a whole map (for
    /// [`DecodedJws::claims_map`](crate::jws::DecodedJws::claims_map)).
    pub fn parse(bytes: &'a [u8], max_depth: usize) -> Result<ClaimSet<'a>, JsonError> {
        let reader = Reader::new(bytes, max_depth).map_err(|e| *e)?;
        let mut set = ClaimSet::default();
        set.read(reader).map_err(|e| *e)?;
        Ok(set)
    }

    /// [`parse`](Self::parse) for a payload already known to be UTF-8.
    pub fn parse_str(text: &'a str, max_depth: usize) -> Result<ClaimSet<'a>, JsonError> {
        let mut set = ClaimSet::default();
        set.read(Reader::from_str(text, max_depth))
            .map_err(|e| *e)?;
        Ok(set)
    }

    /// Fills the slots (in place: a claim set is large to move around).
    fn read(&mut self, mut reader: Reader<'a>) -> Result<(), Fail> {
        let mut others = Names::default();
        let mut next = reader.document_object()?;
        while let Some(name) = next {
            match Claim::from_name(&name).and_then(|c| self.slots.get_mut(c as usize)) {
                Some(slot) => {
                    if !matches!(slot, Slot::Absent) {
                        return Err(JsonError::DuplicateMember(format!("{name:?}")).into());
                    }
                    *slot = read_slot(&mut reader, 2)?;
                }
                None => {
                    others.insert(name)?;
                    reader.skip(2)?;
                }
            }
            next = reader.object_next()?;
        }
        reader.end()
    }

    /// Views the claims of an already parsed payload.
    pub fn from_map(map: &'a Map<String, Value>) -> ClaimSet<'a> {
        let mut set = ClaimSet::default();
        for (claim, slot) in Claim::ALL.iter().zip(set.slots.iter_mut()) {
            if let Some(value) = map.get(claim.as_str()) {
                *slot = slot_of(value);
            }
        }
        set
    }

    fn slot(&self, claim: Claim) -> &Slot<'a> {
        self.slots.get(claim as usize).unwrap_or(&Slot::Absent)
    }

    /// Whether the claim is present with a value other than `null`.
    pub fn has(&self, claim: Claim) -> bool {
        !matches!(self.slot(claim), Slot::Absent | Slot::Null)
    }

    /// Whether the claim is present, even as `null`.
    pub fn contains(&self, claim: Claim) -> bool {
        !matches!(self.slot(claim), Slot::Absent)
    }

    /// Whether the claim is a string or absent (what [`string`](Self::string)
    /// accepts), without building an error.
    pub fn is_string_or_absent(&self, claim: Claim) -> bool {
        matches!(self.slot(claim), Slot::Absent | Slot::String(_))
    }

    /// A string claim, if present.
    pub fn string(&self, claim: Claim) -> Result<Option<&str>, ValidationError> {
        match self.slot(claim) {
            Slot::Absent => Ok(None),
            Slot::String(s) => Ok(Some(s)),
            other => Err(wrong_type(claim, "a string", other.type_name())),
        }
    }

    /// A string claim as read (borrowed from the payload unless it had
    /// escapes), or `None` when absent or not a string.
    pub fn raw_str(&self, claim: Claim) -> Option<&Cow<'a, str>> {
        match self.slot(claim) {
            Slot::String(s) => Some(s),
            _ => None,
        }
    }

    /// A string claim, or `None` when absent or not a string.
    pub fn str(&self, claim: Claim) -> Option<&str> {
        self.string(claim).ok().flatten()
    }

    /// A NumericDate claim (RFC 7519 §2), if present: a JSON number of
    /// seconds. Fractions are truncated toward negative infinity; values
    /// beyond `i64` saturate.
    pub fn numeric_date(&self, claim: Claim) -> Result<Option<i64>, ValidationError> {
        match self.slot(claim) {
            Slot::Absent => Ok(None),
            Slot::Number(Num::Unsigned(u)) => Ok(Some(i64::try_from(*u).unwrap_or(i64::MAX))),
            Slot::Number(Num::Signed(i)) => Ok(Some(*i)),
            // Saturating conversion; absurd values fail the lifetime checks.
            #[allow(clippy::cast_possible_truncation)]
            Slot::Number(Num::Float(f)) => Ok(Some(f.floor() as i64)),
            other => Err(wrong_type(
                claim,
                "a number (seconds since the epoch)",
                other.type_name(),
            )),
        }
    }

    /// An array-of-strings claim, if present.
    pub fn string_array(&self, claim: Claim) -> Result<Option<Strings<'_>>, ValidationError> {
        const EXPECTED: &str = "an array of strings";
        match self.slot(claim) {
            Slot::Absent => Ok(None),
            Slot::Array { text, other: None } => Ok(Some(Strings::array(text))),
            Slot::Array {
                other: Some(found), ..
            } => Err(wrong_type(claim, EXPECTED, found.type_name())),
            other => Err(wrong_type(claim, EXPECTED, other.type_name())),
        }
    }

    /// The JSON text of an array-of-strings claim, or `None` when absent or
    /// not an array of strings.
    pub(crate) fn raw_array(&self, claim: Claim) -> Option<&Cow<'a, str>> {
        match self.slot(claim) {
            Slot::Array { text, other: None } => Some(text),
            _ => None,
        }
    }

    /// The `aud` claim: one string or an array of strings (RFC 7519 §4.1.3).
    pub fn audiences(&self) -> Result<Option<Strings<'_>>, ValidationError> {
        match self.slot(Claim::Aud) {
            Slot::String(s) => Ok(Some(Strings::one(s))),
            Slot::Array { .. } => self.string_array(Claim::Aud),
            Slot::Absent => Ok(None),
            other => Err(wrong_type(
                Claim::Aud,
                "a string or an array of strings",
                other.type_name(),
            )),
        }
    }

    /// The space-separated `scp` claim split into scopes.
    pub fn scopes(&self) -> Result<impl Iterator<Item = &str>, ValidationError> {
        Ok(self
            .string(Claim::Scp)?
            .unwrap_or_default()
            .split(' ')
            .filter(|p| !p.is_empty()))
    }
}

/// The strings of an array claim (or of a one-string `aud`), read from the
/// array's JSON text on demand.
#[derive(Clone)]
pub struct Strings<'s> {
    inner: StringsInner<'s>,
}

#[derive(Clone)]
enum StringsInner<'s> {
    One(Option<&'s str>),
    Array { reader: Reader<'s>, started: bool },
    Done,
}

impl<'s> Strings<'s> {
    fn one(value: &'s str) -> Strings<'s> {
        Strings {
            inner: StringsInner::One(Some(value)),
        }
    }

    /// Iterates over the strings of a JSON array of strings that has been
    /// read once already (anything else ends the iteration).
    pub(crate) fn array(text: &'s str) -> Strings<'s> {
        Strings {
            inner: StringsInner::Array {
                reader: Reader::from_str(text, 2),
                started: false,
            },
        }
    }
}

impl<'s> Iterator for Strings<'s> {
    type Item = Cow<'s, str>;

    fn next(&mut self) -> Option<Cow<'s, str>> {
        match &mut self.inner {
            StringsInner::One(value) => value.take().map(Cow::Borrowed),
            StringsInner::Array { reader, started } => {
                let more = if *started {
                    reader.array_next()
                } else {
                    *started = true;
                    reader.peek().and_then(|_| reader.array_start(1))
                };
                let item = match (more, reader.peek()) {
                    (Ok(true), Ok(Peek::String)) => reader.string().ok(),
                    _ => None,
                };
                if item.is_none() {
                    self.inner = StringsInner::Done;
                }
                item
            }
            StringsInner::Done => None,
        }
    }
}

impl std::fmt::Debug for Strings<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

/// One claim's value from the reader.
fn read_slot<'a>(reader: &mut Reader<'a>, depth: usize) -> Result<Slot<'a>, Fail> {
    Ok(match reader.peek()? {
        Peek::Null | Peek::Bool => match reader.literal()? {
            None => Slot::Null,
            Some(_) => Slot::Bool,
        },
        Peek::Number => Slot::Number(reader.number()?),
        Peek::String => Slot::String(reader.string()?),
        Peek::Array => {
            let start = reader.position();
            let mut other = None;
            let mut more = reader.array_start(depth)?;
            while more {
                match reader.peek()? {
                    Peek::String => {
                        reader.string()?;
                    }
                    found => {
                        other.get_or_insert(found);
                        reader.skip(depth + 1)?;
                    }
                }
                more = reader.array_next()?;
            }
            let text = Cow::Borrowed(reader.text_between(start, reader.position()));
            Slot::Array { text, other }
        }
        Peek::Object => {
            reader.skip(depth)?;
            Slot::Object
        }
    })
}

fn slot_of(value: &Value) -> Slot<'_> {
    match value {
        Value::Null => Slot::Null,
        Value::Bool(_) => Slot::Bool,
        Value::Number(n) => Slot::Number(if let Some(u) = n.as_u64() {
            Num::Unsigned(u)
        } else if let Some(i) = n.as_i64() {
            Num::Signed(i)
        } else {
            Num::Float(n.as_f64().unwrap_or(f64::MAX))
        }),
        Value::String(s) => Slot::String(Cow::Borrowed(s)),
        Value::Array(items) => Slot::Array {
            text: Cow::Owned(value.to_string()),
            other: items.iter().find(|i| !i.is_string()).map(peek_of),
        },
        Value::Object(_) => Slot::Object,
    }
}

fn peek_of(value: &Value) -> Peek {
    match value {
        Value::Null => Peek::Null,
        Value::Bool(_) => Peek::Bool,
        Value::Number(_) => Peek::Number,
        Value::String(_) => Peek::String,
        Value::Array(_) => Peek::Array,
        Value::Object(_) => Peek::Object,
    }
}

fn wrong_type(claim: Claim, expected: &'static str, found: &'static str) -> ValidationError {
    ValidationError::InvalidClaimType {
        claim: claim.as_str().to_owned(),
        expected,
        found,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse_object;

    fn both(doc: &str, check: impl Fn(&ClaimSet<'_>)) {
        let parsed = ClaimSet::parse(doc.as_bytes(), 16).unwrap();
        check(&parsed);
        let map = parse_object(doc.as_bytes(), 16).unwrap();
        let viewed = ClaimSet::from_map(&map);
        check(&viewed);
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(Claim::ALL.len(), SLOTS);
        for (i, claim) in Claim::ALL.iter().enumerate() {
            assert_eq!(*claim as usize, i);
            assert_eq!(Claim::from_name(claim.as_str()), Some(*claim));
        }
        assert_eq!(Claim::from_name("xms_cc"), None);
        assert_eq!(Claim::from_name("iss\0"), None);
        assert_eq!(Claim::from_name("is"), None);
        assert_eq!(Claim::from_name(""), None);
        assert_eq!(Claim::from_name("client_id"), Some(Claim::ClientId));
        assert_eq!(Claim::from_name("\0\0\0"), None);
    }

    #[test]
    fn refuses_coercion() {
        both(
            r#"{"exp":"1700000000","roles":"Orders.Admin","aud":5,"scp":["a"]}"#,
            |c| {
                assert!(c.numeric_date(Claim::Exp).is_err());
                assert!(c.string_array(Claim::Roles).is_err());
                assert!(c.audiences().is_err());
                assert!(c.scopes().is_err());
            },
        );
        both(r#"{"roles":["a", 1]}"#, |c| {
            assert_eq!(
                c.string_array(Claim::Roles).unwrap_err().to_string(),
                "claim \"roles\" must be an array of strings, found a number"
            );
        });
    }

    #[test]
    fn reads_valid_shapes() {
        both(
            r#"{"exp":1700000000.9,"aud":["a","b"],"scp":"x  y","roles":[],"nbf":-5,"iat":18446744073709551615}"#,
            |c| {
                assert_eq!(c.numeric_date(Claim::Exp).unwrap(), Some(1_700_000_000));
                assert_eq!(c.numeric_date(Claim::Nbf).unwrap(), Some(-5));
                assert_eq!(c.numeric_date(Claim::Iat).unwrap(), Some(i64::MAX));
                let aud: Vec<_> = c.audiences().unwrap().unwrap().collect();
                assert_eq!(aud, ["a", "b"]);
                assert_eq!(c.scopes().unwrap().collect::<Vec<_>>(), ["x", "y"]);
                assert_eq!(c.string_array(Claim::Roles).unwrap().unwrap().count(), 0);
            },
        );
    }

    #[test]
    fn presence_and_null() {
        both(r#"{"nonce":null,"azp":"c","x":{"nonce":"n"}}"#, |c| {
            assert!(c.contains(Claim::Nonce) && !c.has(Claim::Nonce));
            assert!(c.has(Claim::Azp));
            assert!(!c.contains(Claim::Sub));
            assert_eq!(c.str(Claim::Azp), Some("c"));
        });
    }

    #[test]
    fn refuses_like_parse_object() {
        for doc in [
            r#"{"exp":1,"exp":2}"#,
            r#"{"exp":null,"\u0065xp":2}"#,
            r#"{"aio":1,"aio":2}"#,
            r#"{"x":{"a":1,"a":2}}"#,
            r#"{"roles":[[[[1]]]]}"#,
            r#"{"x":[[[[1]]]]}"#,
            r#"["a"]"#,
            r#"["a""#,
            r#"{"a":1} x"#,
        ] {
            let ours = ClaimSet::parse(doc.as_bytes(), 4).map(|_| ());
            let full = parse_object(doc.as_bytes(), 4).map(|_| ());
            assert!(ours.is_err(), "{doc}");
            assert_eq!(ours, full, "{doc}");
        }
    }
}
