//! Strict JSON for JOSE headers and claim sets.
//!
//! RFC 7515 §5.2 and RFC 8725 §3.9 leave duplicate member names to the
//! implementation; we refuse them, because two parsers that pick different
//! duplicates can disagree about what a token says. Nesting depth is bounded
//! so that a hostile payload cannot exhaust the stack.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses `bytes` as a JSON object, refusing duplicate member names and
/// nesting deeper than `max_depth` (the top-level object is depth 1).
pub fn parse_object(bytes: &[u8], max_depth: usize) -> Result<Map<String, Value>, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictSeed {
        depth: 1,
        max_depth,
    }
    .deserialize(&mut de)
    .map_err(|e| JsonError::from_serde(&e))?;
    de.end().map_err(|e| JsonError::from_serde(&e))?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(JsonError::NotAnObject(type_name(&other))),
    }
}

/// Why a JSON document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JsonError {
    /// The same member name appears twice in one object.
    DuplicateMember(String),
    /// Objects or arrays nest deeper than allowed.
    TooDeep(usize),
    /// The document is valid JSON but not an object.
    NotAnObject(&'static str),
    /// The document is not valid JSON.
    Syntax(String),
}

impl JsonError {
    fn from_serde(e: &serde_json::Error) -> Self {
        let text = e.to_string();
        if let Some(rest) = text.strip_prefix(DUPLICATE_PREFIX) {
            let name = rest.split(" at line").next().unwrap_or(rest);
            return JsonError::DuplicateMember(name.to_owned());
        }
        if let Some(rest) = text.strip_prefix(DEPTH_PREFIX) {
            let depth = rest
                .split_whitespace()
                .next()
                .and_then(|d| d.parse().ok())
                .unwrap_or(0);
            return JsonError::TooDeep(depth);
        }
        JsonError::Syntax(text)
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::DuplicateMember(name) => write!(f, "duplicate member name {name}"),
            JsonError::TooDeep(max) => {
                write!(f, "objects and arrays nest deeper than {max} levels")
            }
            JsonError::NotAnObject(found) => write!(f, "expected a JSON object, found {found}"),
            JsonError::Syntax(text) => write!(f, "invalid JSON: {text}"),
        }
    }
}

impl std::error::Error for JsonError {}

/// A short name for the JSON type of `value`, used in error messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

const DUPLICATE_PREFIX: &str = "duplicate member ";
const DEPTH_PREFIX: &str = "nesting deeper than ";

struct StrictSeed {
    depth: usize,
    max_depth: usize,
}

impl StrictSeed {
    fn child(&self) -> StrictSeed {
        StrictSeed {
            depth: self.depth + 1,
            max_depth: self.max_depth,
        }
    }

    /// Called on entering an object or array.
    fn enter<E: de::Error>(&self) -> Result<(), E> {
        if self.depth > self.max_depth {
            return Err(E::custom(format_args!(
                "{DEPTH_PREFIX}{} levels",
                self.max_depth
            )));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.enter()?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(self.child())? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        self.enter()?;
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            match map.entry(key) {
                serde_json::map::Entry::Occupied(e) => {
                    return Err(de::Error::custom(format_args!(
                        "{DUPLICATE_PREFIX}{:?}",
                        e.key()
                    )));
                }
                serde_json::map::Entry::Vacant(slot) => {
                    slot.insert(access.next_value_seed(self.child())?);
                }
            }
        }
        Ok(Value::Object(map))
    }
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
}
