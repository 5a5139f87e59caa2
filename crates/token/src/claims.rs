//! Typed, strict access to the claims validation reads.
//!
//! Claims of the wrong JSON type are refused, never coerced: `"exp":"1700000000"`
//! is an error, not a number, and `roles` must be an array of strings.
//! Object claims (`_claim_names`, `_claim_sources`) keep their JSON text
//! and are read again, checked whole, when asked for.
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
    // Group membership and directory roles (`Principal::groups`,
    // `Principal::directory_roles`), with the groups overage: distributed
    // claims (`_claim_names`, `_claim_sources`) or, from the implicit
    // flow, `hasgroups`.
    Groups => "groups",
    Wids => "wids",
    HasGroups => "hasgroups",
    ClaimNames => "_claim_names",
    ClaimSources => "_claim_sources",
}

const SLOTS: usize = 33;

/// One claim's value, as far as validation looks at it.
#[derive(Debug, Clone, PartialEq, Default)]
enum Slot<'a> {
    #[default]
    Absent,
    Null,
    Bool(bool),
    Number(Num),
    String(Cow<'a, str>),
    /// The array's JSON text (read again on demand, which costs less than
    /// collecting it), and the type of the first element that is not a
    /// string, if any.
    Array {
        text: Cow<'a, str>,
        other: Option<Peek>,
    },
    /// The object's JSON text (read again, and checked, on demand).
    Object {
        text: Cow<'a, str>,
    },
}

impl Slot<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            Slot::Absent | Slot::Null => "null",
            Slot::Bool(_) => "a boolean",
            Slot::Number(_) => "a number",
            Slot::String(_) => "a string",
            Slot::Array { .. } => "an array",
            Slot::Object { .. } => "an object",
        }
    }
}

/// The claims of one token that validation reads (see [`Claim`]).
#[derive(Debug, Clone, PartialEq)]
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

    /// A boolean claim, if present.
    pub fn boolean(&self, claim: Claim) -> Result<Option<bool>, ValidationError> {
        match self.slot(claim) {
            Slot::Absent => Ok(None),
            Slot::Bool(value) => Ok(Some(*value)),
            other => Err(wrong_type(claim, "a boolean", other.type_name())),
        }
    }

    /// Where `claim`, left out of the token, can be fetched: a distributed
    /// claim (OpenID Connect Core 1.0 §5.6.2), named in `_claim_names` and
    /// described in `_claim_sources`. Entra states a groups overage this
    /// way (`"_claim_names":{"groups":"src1"}`).
    ///
    /// Both members are checked whole, whichever claim is asked for:
    /// `_claim_names` must be an object of strings, `_claim_sources` an
    /// object of objects whose `endpoint`, where present, is a string.
    pub fn claim_source(&self, claim: Claim) -> Result<Option<ClaimSource<'_>>, ValidationError> {
        let names = self.object(Claim::ClaimNames, CLAIM_NAMES)?;
        let sources = self.object(Claim::ClaimSources, CLAIM_SOURCES)?;
        let name = match names {
            Some(text) => source_name(text, claim.as_str())
                .map_err(|found| wrong_type(Claim::ClaimNames, CLAIM_NAMES, found))?,
            None => None,
        };
        let endpoint = match sources {
            Some(text) => source_endpoint(text, name.as_deref())
                .map_err(|found| wrong_type(Claim::ClaimSources, CLAIM_SOURCES, found))?,
            None => None,
        };
        Ok(name.map(|name| ClaimSource { name, endpoint }))
    }

    /// How the token states group membership, read leniently (a claim of
    /// the wrong type counts as absent; validation refuses such tokens).
    /// An overage wins over a `groups` list: a token that declares one
    /// does not list every group.
    pub(crate) fn group_claims(&self) -> GroupClaims<'_> {
        let source = self.claim_source(Claim::Groups).ok().flatten();
        let has_groups = matches!(self.slot(Claim::HasGroups), Slot::Bool(true));
        if source.is_some() || has_groups {
            return GroupClaims::Overage {
                endpoint: source.and_then(|source| source.endpoint),
            };
        }
        match self.raw_array(Claim::Groups) {
            Some(text) => GroupClaims::Listed(text),
            None => GroupClaims::Absent,
        }
    }

    /// An object claim's JSON text, if present.
    fn object(
        &self,
        claim: Claim,
        expected: &'static str,
    ) -> Result<Option<&str>, ValidationError> {
        match self.slot(claim) {
            Slot::Absent => Ok(None),
            Slot::Object { text } => Ok(Some(text)),
            other => Err(wrong_type(claim, expected, other.type_name())),
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

impl Default for ClaimSet<'_> {
    fn default() -> Self {
        ClaimSet {
            slots: std::array::from_fn(|_| Slot::Absent),
        }
    }
}

/// Where a claim left out of a token can be fetched: its source, as
/// `_claim_names` and `_claim_sources` state it (OpenID Connect Core 1.0
/// §5.6.2). See [`ClaimSet::claim_source`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimSource<'s> {
    /// The source's name, the key into `_claim_sources` (Entra: `src1`).
    pub name: Cow<'s, str>,
    /// The source's `endpoint`, when `_claim_sources` describes the source
    /// and gives one.
    pub endpoint: Option<Cow<'s, str>>,
}

/// How a token states group membership, before it is typed
/// ([`Groups`](crate::principal::Groups) is the typed view).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum GroupClaims<'c> {
    /// No `groups`, no overage.
    Absent,
    /// The JSON text of `groups`, an array of strings.
    Listed(&'c str),
    /// A groups overage, with the source's endpoint when given.
    Overage { endpoint: Option<Cow<'c, str>> },
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
            Some(value) => Slot::Bool(value),
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
            let start = reader.position();
            reader.skip(depth)?;
            let text = Cow::Borrowed(reader.text_between(start, reader.position()));
            Slot::Object { text }
        }
    })
}

fn slot_of(value: &Value) -> Slot<'_> {
    match value {
        Value::Null => Slot::Null,
        Value::Bool(value) => Slot::Bool(*value),
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
        Value::Object(_) => Slot::Object {
            text: Cow::Owned(value.to_string()),
        },
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

/// In `_claim_names` (an object of strings), the source named for `wanted`.
/// Errors name what a member was instead of a string.
fn source_name<'t>(text: &'t str, wanted: &str) -> Result<Option<Cow<'t, str>>, &'static str> {
    let mut reader = Reader::from_str(text, REREAD_DEPTH);
    let mut found = None;
    let mut next = reader
        .peek()
        .and_then(|_| reader.object_start(1))
        .map_err(unreadable)?;
    while let Some(name) = next {
        match reader.peek().map_err(unreadable)? {
            Peek::String => {
                let source = reader.string().map_err(unreadable)?;
                if name == wanted {
                    found = Some(source);
                }
            }
            other => return Err(member_type(other)),
        }
        next = reader.object_next().map_err(unreadable)?;
    }
    Ok(found)
}

/// In `_claim_sources` (an object of objects whose `endpoint` is a
/// string), the endpoint of source `wanted`.
fn source_endpoint<'t>(
    text: &'t str,
    wanted: Option<&str>,
) -> Result<Option<Cow<'t, str>>, &'static str> {
    let mut reader = Reader::from_str(text, REREAD_DEPTH);
    let mut endpoint = None;
    let mut next = reader
        .peek()
        .and_then(|_| reader.object_start(1))
        .map_err(unreadable)?;
    while let Some(source) = next {
        match reader.peek().map_err(unreadable)? {
            Peek::Object => {}
            other => return Err(member_type(other)),
        }
        let mut member = reader.object_start(2).map_err(unreadable)?;
        while let Some(name) = member {
            if name == "endpoint" {
                match reader.peek().map_err(unreadable)? {
                    Peek::String => {
                        let url = reader.string().map_err(unreadable)?;
                        if wanted == Some(&*source) {
                            endpoint = Some(url);
                        }
                    }
                    other => return Err(endpoint_type(other)),
                }
            } else {
                reader.skip(3).map_err(unreadable)?;
            }
            member = reader.object_next().map_err(unreadable)?;
        }
        next = reader.object_next().map_err(unreadable)?;
    }
    Ok(endpoint)
}

/// A member value's type, for messages about object claims.
fn member_type(found: Peek) -> &'static str {
    match found {
        Peek::Null => "a member that is null",
        Peek::Bool => "a member that is a boolean",
        Peek::Number => "a member that is a number",
        Peek::String => "a member that is a string",
        Peek::Array => "a member that is an array",
        Peek::Object => "a member that is an object",
    }
}

/// An `endpoint`'s type, for messages about `_claim_sources`.
fn endpoint_type(found: Peek) -> &'static str {
    match found {
        Peek::Null => "an \"endpoint\" that is null",
        Peek::Bool => "an \"endpoint\" that is a boolean",
        Peek::Number => "an \"endpoint\" that is a number",
        Peek::String => "an \"endpoint\" that is a string",
        Peek::Array => "an \"endpoint\" that is an array",
        Peek::Object => "an \"endpoint\" that is an object",
    }
}

/// An object claim's text was read once already, so reading it again
/// cannot fail; were it to, the claim is refused.
fn unreadable(_: Fail) -> &'static str {
    "unreadable JSON"
}

fn wrong_type(claim: Claim, expected: &'static str, found: &'static str) -> ValidationError {
    ValidationError::InvalidClaimType {
        claim: claim.as_str().to_owned(),
        expected,
        found,
    }
}

/// What `_claim_names` must be.
const CLAIM_NAMES: &str = "an object of strings";

/// What `_claim_sources` must be.
const CLAIM_SOURCES: &str = "an object of objects whose \"endpoint\" is a string";

/// The depth limit for reading an object claim's text again: it passed the
/// configured limit once (and the reader caps any limit).
const REREAD_DEPTH: usize = usize::MAX;

#[cfg(test)]
mod tests;
