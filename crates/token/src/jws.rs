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

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::claims::ClaimSet;
use crate::error::{JsonError, Segment, ValidationError};
use crate::json::{self, Fail, Names, Peek, Reader, Text};

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

/// A parsed, not yet verified, compact JWS with its claims as a map.
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

/// A compact JWS split and decoded, its header checked, its payload not yet
/// read: [`claims`](Self::claims) reads the claims validation needs without
/// building the others (the validator's path).
#[derive(Debug, Clone)]
pub struct DecodedJws<'a> {
    /// The protected header (shared: tokens signed with the same key carry
    /// the same header, which each thread parses once).
    pub header: Arc<Header>,
    /// The decoded payload (UTF-8, its JSON not yet checked).
    pub payload: String,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`: the signed bytes.
    pub signing_input: &'a [u8],
    /// The decoded signature.
    pub signature: Vec<u8>,
    max_json_depth: usize,
}

impl DecodedJws<'_> {
    /// Reads the payload's claims, refusing what [`parse`] refuses.
    pub fn claims(&self) -> Result<ClaimSet<'_>, ValidationError> {
        ClaimSet::parse_str(&self.payload, self.max_json_depth)
            .map_err(|e| json_error(Segment::Payload, &e))
    }

    /// Parses the whole payload into a map.
    pub fn claims_map(&self) -> Result<Map<String, Value>, ValidationError> {
        json::parse_object(self.payload.as_bytes(), self.max_json_depth)
            .map_err(|e| json_error(Segment::Payload, &e))
    }
}

/// The JOSE header members validation looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The decoded header (JSON text).
    json: String,
    alg: Text,
    kid: Option<Text>,
    typ: Option<Text>,
}

/// Parses a compact JWS without verifying it, claims included.
pub fn parse(token: &str, limits: Limits) -> Result<UnverifiedJws<'_>, ValidationError> {
    let decoded = decode(token, limits)?;
    let claims = decoded.claims_map()?;
    Ok(UnverifiedJws {
        header: Arc::unwrap_or_clone(decoded.header),
        claims,
        signing_input: decoded.signing_input,
        signature: decoded.signature,
    })
}

/// Splits and decodes a compact JWS and checks its header; the payload is
/// read later with [`DecodedJws::claims`].
pub fn decode(token: &str, limits: Limits) -> Result<DecodedJws<'_>, ValidationError> {
    if token.len() > limits.max_token_bytes {
        return Err(ValidationError::TooLarge {
            len: token.len(),
            max: limits.max_token_bytes,
        });
    }
    let mut dots = memchr::memchr_iter(b'.', token.as_bytes());
    let (Some(first), Some(second), None) = (dots.next(), dots.next(), dots.next()) else {
        let count = memchr::memchr_iter(b'.', token.as_bytes()).count() + 1;
        if count == 5 {
            return Err(ValidationError::Encrypted);
        }
        return Err(malformed(
            Segment::Token,
            format!("expected 3 dot-separated segments (header.payload.signature), found {count}"),
        ));
    };
    // The dots are ASCII, so these are char boundaries.
    let (Some(h), Some(p), Some(s)) = (
        token.get(..first),
        token.get(first + 1..second),
        token.get(second + 1..),
    ) else {
        return Err(malformed(
            Segment::Token,
            "cannot split the token".to_owned(),
        ));
    };
    let header = Header::parse_segment(h, limits.max_json_depth)?;
    let payload = utf8(Segment::Payload, decode_segment(Segment::Payload, p)?)?;
    let signature = decode_segment(Segment::Signature, s)?;
    let signing_len = h.len() + 1 + p.len();
    let signing_input = token.as_bytes().get(..signing_len).unwrap_or_default();
    Ok(DecodedJws {
        header,
        payload,
        signing_input,
        signature,
        max_json_depth: limits.max_json_depth,
    })
}

/// Header members the parser reads.
#[derive(Default)]
struct HeaderMembers<'a> {
    alg: Option<Member<'a>>,
    kid: Option<Member<'a>>,
    typ: Option<Member<'a>>,
    enc: bool,
    crit: Option<Member<'a>>,
}

/// A header member's value: a string, the string entries of an array (and
/// whether it had others), or another type.
enum Member<'a> {
    String(Cow<'a, str>),
    Array(Vec<Cow<'a, str>>, bool),
    Other(Peek),
}

impl Member<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            Member::String(_) => "a string",
            Member::Array(..) => "an array",
            Member::Other(peek) => peek.type_name(),
        }
    }
}

/// A header segment, the depth limit it was read with, and the header.
type Recalled = (Box<str>, usize, Arc<Header>);

thread_local! {
    /// The last header segment this thread parsed successfully: every token
    /// signed with one key has the same header, so most tokens skip
    /// decoding and parsing it.
    static LAST_HEADER: RefCell<Option<Recalled>> = const { RefCell::new(None) };
}

impl Header {
    /// Decodes and reads a header segment (or recalls it: the result is a
    /// pure function of the segment and the depth limit).
    fn parse_segment(segment: &str, max_depth: usize) -> Result<Arc<Header>, ValidationError> {
        let recalled = LAST_HEADER.with(|last| {
            let last = last.try_borrow().ok()?;
            let (text, depth, header) = last.as_ref()?;
            (**text == *segment && *depth == max_depth).then(|| Arc::clone(header))
        });
        if let Some(header) = recalled {
            return Ok(header);
        }
        let header = Arc::new(Header::parse(
            decode_segment(Segment::Header, segment)?,
            max_depth,
        )?);
        LAST_HEADER.with(|last| {
            if let Ok(mut last) = last.try_borrow_mut() {
                *last = Some((segment.into(), max_depth, Arc::clone(&header)));
            }
        });
        Ok(header)
    }

    /// Reads the decoded header: a JSON object, strict as the payload.
    fn parse(json: Vec<u8>, max_depth: usize) -> Result<Header, ValidationError> {
        let json = utf8(Segment::Header, json)?;
        let members = read_header(Reader::from_str(&json, max_depth))
            .map_err(|e| json_error(Segment::Header, &e))?;
        if members.enc {
            return Err(ValidationError::Encrypted);
        }
        let alg = match members.alg {
            Some(Member::String(alg)) => Text::of(&alg, json.as_bytes()),
            Some(other) => return Err(header_type("alg", "a string", &other)),
            None => {
                return Err(malformed(
                    Segment::Header,
                    "the header has no \"alg\" member".to_owned(),
                ));
            }
        };
        let kid = optional_string("kid", members.kid, json.as_bytes())?;
        let typ = optional_string("typ", members.typ, json.as_bytes())?;
        if let Some(crit) = members.crit {
            // RFC 7515 §4.1.11: a non-empty array of names; we implement no
            // extension, so any entry makes the token unprocessable.
            let names = match crit {
                Member::Array(names, others) if !names.is_empty() || others => {
                    let mut names: Vec<String> = names.into_iter().map(Cow::into_owned).collect();
                    if others {
                        names.push("(entries that are not strings)".to_owned());
                    }
                    names
                }
                other => {
                    return Err(header_type("crit", "a non-empty array of strings", &other));
                }
            };
            return Err(ValidationError::UnsupportedCritical { names });
        }
        Ok(Header {
            json,
            alg,
            kid,
            typ,
        })
    }

    /// `alg`, as written.
    pub fn alg(&self) -> &str {
        self.alg.get(&self.json)
    }

    /// `kid`, when present.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_ref().map(|t| t.get(&self.json))
    }

    /// `typ`, when present.
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_ref().map(|t| t.get(&self.json))
    }

    /// Every header member, for display.
    pub fn members(&self) -> Map<String, Value> {
        // The header was read with the same parser; this cannot fail.
        json::parse_object(self.json.as_bytes(), usize::MAX).unwrap_or_default()
    }
}

fn read_header(mut reader: Reader<'_>) -> Result<HeaderMembers<'_>, Fail> {
    let mut members = HeaderMembers::default();
    let mut names = Names::default();
    let mut next = reader.document_object()?;
    while let Some(name) = next {
        let slot = match name.as_ref() {
            "alg" => Some(&mut members.alg),
            "kid" => Some(&mut members.kid),
            "typ" => Some(&mut members.typ),
            "crit" => Some(&mut members.crit),
            _ => None,
        };
        let enc = name == "enc";
        names.insert(name)?;
        match slot {
            Some(slot) => *slot = Some(read_member(&mut reader)?),
            None => {
                members.enc |= enc;
                reader.skip(2)?;
            }
        }
        next = reader.object_next()?;
    }
    reader.end()?;
    Ok(members)
}

fn read_member<'a>(reader: &mut Reader<'a>) -> Result<Member<'a>, Fail> {
    match reader.peek()? {
        Peek::String => Ok(Member::String(reader.string()?)),
        Peek::Array => {
            let mut strings = Vec::new();
            let mut others = false;
            let mut more = reader.array_start(2)?;
            while more {
                if reader.peek()? == Peek::String {
                    strings.push(reader.string()?);
                } else {
                    others = true;
                    reader.skip(3)?;
                }
                more = reader.array_next()?;
            }
            Ok(Member::Array(strings, others))
        }
        other => {
            reader.skip(2)?;
            Ok(Member::Other(other))
        }
    }
}

fn optional_string(
    name: &str,
    member: Option<Member<'_>>,
    json: &[u8],
) -> Result<Option<Text>, ValidationError> {
    match member {
        None => Ok(None),
        Some(Member::String(s)) => Ok(Some(Text::of(&s, json))),
        Some(other) => Err(header_type(name, "a string", &other)),
    }
}

fn header_type(name: &str, expected: &'static str, found: &Member<'_>) -> ValidationError {
    malformed(
        Segment::Header,
        format!(
            "header member \"{name}\" must be {expected}, found {}",
            found.type_name()
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
    // SIMD decoding on the hot path; it is as strict as `base64` (no
    // padding, no non-canonical trailing bits), which explains a refusal.
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(text)
        .map_err(|_| match URL_SAFE_NO_PAD.decode(text) {
            Err(e) => malformed(segment, format!("not valid unpadded base64url: {e}")),
            Ok(_) => malformed(segment, "not valid unpadded base64url".to_owned()),
        })
}

/// A decoded segment as text: JSON must be UTF-8.
fn utf8(segment: Segment, bytes: Vec<u8>) -> Result<String, ValidationError> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.into_bytes();
        match Reader::new(&bytes, 1) {
            Err(e) => json_error(segment, &e),
            Ok(_) => malformed(segment, "the segment is not UTF-8".to_owned()),
        }
    })
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
        assert_eq!(jws.header.alg(), "RS256");
        assert_eq!(jws.header.kid(), Some("k1"));
        assert_eq!(jws.header.typ(), Some("JWT"));
        assert_eq!(jws.signature, b"sig");
        assert_eq!(jws.claims["sub"], "x");
        assert!(t.starts_with(std::str::from_utf8(jws.signing_input).unwrap()));
    }

    #[test]
    fn recalled_headers_are_the_headers_of_their_segments() {
        let a = token(r#"{"alg":"RS256","kid":"a"}"#, "{}");
        let b = token(r#"{"alg":"ES256","kid":"b","typ":"at+jwt"}"#, "{}");
        let nested = token(r#"{"alg":"RS256","x":[[1]]}"#, "{}");
        let tight = Limits {
            max_json_depth: 2,
            ..Limits::default()
        };
        for _ in 0..2 {
            let h = decode(&a, Limits::default()).unwrap().header;
            assert_eq!((h.alg(), h.kid(), h.typ()), ("RS256", Some("a"), None));
            let h = decode(&b, Limits::default()).unwrap().header;
            assert_eq!(
                (h.alg(), h.kid(), h.typ()),
                ("ES256", Some("b"), Some("at+jwt"))
            );
            // The depth limit is part of what is recalled.
            assert!(decode(&nested, Limits::default()).is_ok());
            assert!(decode(&nested, tight).is_err());
            assert!(decode(&nested, Limits::default()).is_ok());
        }
        // A header that fails is never recalled as a success.
        let bad = token(r#"{"alg":"RS256","alg":"none"}"#, "{}");
        assert!(decode(&bad, Limits::default()).is_err());
        assert!(decode(&bad, Limits::default()).is_err());
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
