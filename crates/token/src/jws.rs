//! Strict compact JWS parsing (RFC 7515 §7.1).
//!
//! A token must have exactly three base64url segments without padding, a
//! JSON-object header and a JSON-object payload with no duplicate member
//! names. JWE (five segments, or a header with `enc`) is refused, as is any
//! `crit` entry we do not understand (we understand none).
//!
//! # Security
//! The header members `jku`, `x5u`, `jwk` and `x5c` are parsed as data only:
//! keys come solely from the configured authority's JWKS (RFC 8725 §3.10).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::error::{Segment, ValidationError};
use crate::json::{self, JsonError, type_name};

/// Size and depth limits for parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest accepted compact token, in bytes.
    pub max_token_bytes: usize,
    /// Deepest accepted nesting of JSON objects and arrays (top level = 1).
    pub max_json_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_token_bytes: 16 * 1024,
            max_json_depth: 16,
        }
    }
}

/// A parsed, not yet verified, compact JWS.
#[derive(Debug, Clone)]
pub struct UnverifiedJws<'a> {
    /// The protected header.
    pub header: Header,
    /// The payload's claims.
    pub claims: Map<String, Value>,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`: the signed bytes.
    pub signing_input: &'a [u8],
    /// The decoded signature.
    pub signature: Vec<u8>,
}

/// The JOSE header members validation looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// `alg`, as written.
    pub alg: String,
    /// `kid`, when present.
    pub kid: Option<String>,
    /// `typ`, when present.
    pub typ: Option<String>,
    /// Every header member, for display.
    pub members: Map<String, Value>,
}

/// Parses a compact JWS without verifying it.
pub fn parse(token: &str, limits: Limits) -> Result<UnverifiedJws<'_>, ValidationError> {
    if token.len() > limits.max_token_bytes {
        return Err(ValidationError::TooLarge {
            len: token.len(),
            max: limits.max_token_bytes,
        });
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        let count = token.split('.').count();
        if count == 5 {
            return Err(ValidationError::Encrypted);
        }
        return Err(malformed(
            Segment::Token,
            format!("expected 3 dot-separated segments (header.payload.signature), found {count}"),
        ));
    };
    let header_bytes = decode_segment(Segment::Header, h)?;
    let header_map = json::parse_object(&header_bytes, limits.max_json_depth)
        .map_err(|e| json_error(Segment::Header, &e))?;
    let header = Header::from_members(header_map)?;
    let payload_bytes = decode_segment(Segment::Payload, p)?;
    let claims = json::parse_object(&payload_bytes, limits.max_json_depth)
        .map_err(|e| json_error(Segment::Payload, &e))?;
    let signature = decode_segment(Segment::Signature, s)?;
    let signing_len = h.len() + 1 + p.len();
    let signing_input = token.as_bytes().get(..signing_len).unwrap_or_default();
    Ok(UnverifiedJws {
        header,
        claims,
        signing_input,
        signature,
    })
}

impl Header {
    fn from_members(members: Map<String, Value>) -> Result<Header, ValidationError> {
        if members.contains_key("enc") {
            return Err(ValidationError::Encrypted);
        }
        let alg = match members.get("alg") {
            Some(Value::String(alg)) => alg.clone(),
            Some(other) => return Err(header_type("alg", "a string", other)),
            None => {
                return Err(malformed(
                    Segment::Header,
                    "the header has no \"alg\" member".to_owned(),
                ));
            }
        };
        let kid = optional_string(&members, "kid")?;
        let typ = optional_string(&members, "typ")?;
        if let Some(crit) = members.get("crit") {
            // RFC 7515 §4.1.11: a non-empty array of names; we implement no
            // extension, so any entry makes the token unprocessable.
            let names: Vec<String> = match crit {
                Value::Array(items) if !items.is_empty() => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect(),
                other => return Err(header_type("crit", "a non-empty array of strings", other)),
            };
            return Err(ValidationError::UnsupportedCritical { names });
        }
        Ok(Header {
            alg,
            kid,
            typ,
            members,
        })
    }
}

fn optional_string(
    members: &Map<String, Value>,
    name: &str,
) -> Result<Option<String>, ValidationError> {
    match members.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(header_type(name, "a string", other)),
    }
}

fn header_type(name: &str, expected: &'static str, found: &Value) -> ValidationError {
    malformed(
        Segment::Header,
        format!(
            "header member \"{name}\" must be {expected}, found {}",
            type_name(found)
        ),
    )
}

fn decode_segment(segment: Segment, text: &str) -> Result<Vec<u8>, ValidationError> {
    if text.is_empty() && segment != Segment::Signature {
        return Err(malformed(segment, "the segment is empty".to_owned()));
    }
    if text.ends_with('=') {
        return Err(malformed(
            segment,
            "base64url padding '=' is not allowed in JWS segments".to_owned(),
        ));
    }
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| malformed(segment, format!("not valid unpadded base64url: {e}")))
}

fn json_error(segment: Segment, e: &JsonError) -> ValidationError {
    malformed(segment, e.to_string())
}

fn malformed(segment: Segment, detail: String) -> ValidationError {
    ValidationError::Malformed { segment, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(h: &str, p: &str) -> String {
        format!("{}.{}.{}", b64(h), b64(p), b64("sig"))
    }

    #[test]
    fn parses_a_well_formed_token() {
        let t = token(
            r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#,
            r#"{"sub":"x"}"#,
        );
        let jws = parse(&t, Limits::default()).unwrap();
        assert_eq!(jws.header.alg, "RS256");
        assert_eq!(jws.header.kid.as_deref(), Some("k1"));
        assert_eq!(jws.signature, b"sig");
        assert_eq!(jws.claims["sub"], "x");
        assert!(t.starts_with(std::str::from_utf8(jws.signing_input).unwrap()));
    }

    #[test]
    fn refuses_wrong_segment_counts_and_jwe() {
        let err = parse("a.b", Limits::default()).unwrap_err();
        assert!(err.to_string().contains("found 2"), "{err}");
        assert!(matches!(
            parse("a.b.c.d.e", Limits::default()),
            Err(ValidationError::Encrypted)
        ));
        let t = token(r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#, "{}");
        assert!(matches!(
            parse(&t, Limits::default()),
            Err(ValidationError::Encrypted)
        ));
    }

    #[test]
    fn refuses_padding_and_bad_base64() {
        let good = token(r#"{"alg":"RS256"}"#, r#"{"a":1}"#);
        let parts: Vec<&str> = good.split('.').collect();
        let padded = format!("{}=.{}.{}", parts[0], parts[1], parts[2]);
        assert!(
            parse(&padded, Limits::default())
                .unwrap_err()
                .to_string()
                .contains("padding")
        );
        let bad = format!("{}.{}*.{}", parts[0], parts[1], parts[2]);
        let err = parse(&bad, Limits::default()).unwrap_err();
        assert!(err.to_string().contains("payload"), "{err}");
    }

    #[test]
    fn refuses_duplicates_crit_and_size() {
        let t = token(r#"{"alg":"RS256"}"#, r#"{"exp":1,"exp":2}"#);
        assert!(
            parse(&t, Limits::default())
                .unwrap_err()
                .to_string()
                .contains("duplicate")
        );
        let t = token(r#"{"alg":"RS256","alg":"none"}"#, r#"{}"#);
        assert!(
            parse(&t, Limits::default())
                .unwrap_err()
                .to_string()
                .contains("duplicate")
        );
        let t = token(r#"{"alg":"RS256","crit":["exp"]}"#, r#"{}"#);
        assert!(matches!(
            parse(&t, Limits::default()),
            Err(ValidationError::UnsupportedCritical { .. })
        ));
        let big = "a".repeat(17 * 1024);
        assert!(matches!(
            parse(&big, Limits::default()),
            Err(ValidationError::TooLarge { .. })
        ));
    }

    #[test]
    fn refuses_non_object_parts() {
        let t = token(r#"["alg"]"#, r#"{}"#);
        assert!(
            parse(&t, Limits::default())
                .unwrap_err()
                .to_string()
                .contains("header")
        );
        let t = token(r#"{"alg":"RS256"}"#, r#""claims""#);
        assert!(
            parse(&t, Limits::default())
                .unwrap_err()
                .to_string()
                .contains("payload")
        );
        let t = token(r#"{"alg":256}"#, r#"{}"#);
        assert!(
            parse(&t, Limits::default())
                .unwrap_err()
                .to_string()
                .contains("alg")
        );
    }
}
