//! Typed, strict access to claims.
//!
//! Claims of the wrong JSON type are refused, never coerced: `"exp":"1700000000"`
//! is an error, not a number, and `roles` must be an array of strings.

use serde_json::{Map, Value};

use crate::error::ValidationError;
use crate::json::type_name;

/// A string claim, if present.
pub fn string<'a>(
    claims: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ValidationError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(name, "a string", other)),
    }
}

/// A NumericDate claim (RFC 7519 §2), if present: a JSON number of seconds.
/// Fractions are truncated toward negative infinity.
pub fn numeric_date(
    claims: &Map<String, Value>,
    name: &str,
) -> Result<Option<i64>, ValidationError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else if let Some(f) = n.as_f64().filter(|f| f.is_finite()) {
                // Saturating conversion; absurd values fail the lifetime checks.
                #[allow(clippy::cast_possible_truncation)]
                Ok(Some(f.floor() as i64))
            } else {
                Ok(Some(i64::MAX))
            }
        }
        Some(other) => Err(wrong_type(
            name,
            "a number (seconds since the epoch)",
            other,
        )),
    }
}

/// An array-of-strings claim, if present.
pub fn string_array<'a>(
    claims: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<Vec<&'a str>>, ValidationError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.as_str()),
                other => Err(wrong_type(name, "an array of strings", other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(wrong_type(name, "an array of strings", other)),
    }
}

/// The `aud` claim: one string or an array of strings (RFC 7519 §4.1.3).
pub fn audiences(claims: &Map<String, Value>) -> Result<Option<Vec<&str>>, ValidationError> {
    match claims.get("aud") {
        Some(Value::String(s)) => Ok(Some(vec![s.as_str()])),
        Some(Value::Array(_)) => string_array(claims, "aud"),
        None => Ok(None),
        Some(other) => Err(wrong_type("aud", "a string or an array of strings", other)),
    }
}

/// The space-separated `scp` claim split into scopes.
pub fn scopes(claims: &Map<String, Value>) -> Result<Vec<&str>, ValidationError> {
    Ok(string(claims, "scp")?
        .map(|s| s.split(' ').filter(|p| !p.is_empty()).collect())
        .unwrap_or_default())
}

fn wrong_type(name: &str, expected: &'static str, found: &Value) -> ValidationError {
    ValidationError::InvalidClaimType {
        claim: name.to_owned(),
        expected,
        found: type_name(found),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn refuses_coercion() {
        let c = map(json!({"exp":"1700000000","roles":"Orders.Admin","aud":5,"scp":["a"]}));
        assert!(numeric_date(&c, "exp").is_err());
        assert!(string_array(&c, "roles").is_err());
        assert!(audiences(&c).is_err());
        assert!(scopes(&c).is_err());
        let c = map(json!({"roles":["a", 1]}));
        assert_eq!(
            string_array(&c, "roles").unwrap_err().to_string(),
            "claim \"roles\" must be an array of strings, found a number"
        );
    }

    #[test]
    fn reads_valid_shapes() {
        let c = map(json!({"exp":1700000000.9,"aud":["a","b"],"scp":"x  y","roles":[]}));
        assert_eq!(numeric_date(&c, "exp").unwrap(), Some(1_700_000_000));
        assert_eq!(audiences(&c).unwrap(), Some(vec!["a", "b"]));
        assert_eq!(scopes(&c).unwrap(), vec!["x", "y"]);
        assert_eq!(string_array(&c, "roles").unwrap(), Some(vec![]));
    }
}
