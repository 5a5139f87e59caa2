//! Reading a bearer token from the `Authorization` header (RFC 6750 §2.1).
//!
//! ```
//! use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
//! use rolegate_axum::bearer::{self, MalformedHeader};
//!
//! let mut headers = HeaderMap::new();
//! assert_eq!(bearer::token(&headers), Ok(None));
//!
//! headers.insert(AUTHORIZATION, HeaderValue::from_static("bearer eyJ0eXAi.eyJhdWQi.c2ln"));
//! assert_eq!(bearer::token(&headers), Ok(Some("eyJ0eXAi.eyJhdWQi.c2ln")));
//!
//! headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic dXNlcjpwYXNz"));
//! assert_eq!(bearer::token(&headers), Err(MalformedHeader::NotBearer));
//! ```
//!
//! # Security
//! Errors never contain the header's value: a client that forgot the
//! `Bearer` prefix sends its token where the scheme should be.

use http::HeaderMap;
use http::header::AUTHORIZATION;

/// Why an `Authorization` header cannot carry a bearer token. Each maps to
/// HTTP 400 with `error="invalid_request"` (RFC 6750 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedHeader {
    /// `Bearer` with nothing after it.
    #[error("the Authorization header names the Bearer scheme but carries no token")]
    EmptyToken,
    /// The token has a character outside the `token68` set, such as a space
    /// or a quote (RFC 9110 §11.2).
    #[error(
        "the bearer token contains a character outside the token68 set (letters, digits, \
         '-', '.', '_', '~', '+', '/', then optional '=' padding)"
    )]
    InvalidCharacter,
    /// More than one `Authorization` header.
    #[error("the request has {count} Authorization headers; exactly one is allowed")]
    MultipleHeaders {
        /// How many arrived.
        count: usize,
    },
    /// The header's bytes are not all visible ASCII (or spaces and tabs).
    #[error("the Authorization header contains bytes that are not visible ASCII")]
    NotVisibleAscii,
    /// A scheme other than `Bearer`, or no scheme at all.
    #[error("the Authorization header does not use the Bearer scheme")]
    NotBearer,
}

impl MalformedHeader {
    /// What the client should send instead.
    pub fn hint(&self) -> &'static str {
        match self {
            MalformedHeader::EmptyToken | MalformedHeader::NotBearer => {
                "send the access token as 'Authorization: Bearer <token>'"
            }
            MalformedHeader::InvalidCharacter => {
                "send the raw compact token after 'Bearer ', without quotes, spaces or line breaks"
            }
            MalformedHeader::MultipleHeaders { .. } => {
                "send a single 'Authorization: Bearer <token>' header"
            }
            MalformedHeader::NotVisibleAscii => {
                "the header must be plain ASCII: 'Authorization: Bearer <token>'"
            }
        }
    }
}

/// The bearer token in `headers`: `Ok(None)` when there is no
/// `Authorization` header at all, an error when there is one that does not
/// hold exactly one well-formed bearer token.
///
/// The scheme is matched case-insensitively (RFC 9110 §11.1), one or more
/// spaces may separate it from the token, and surrounding whitespace is
/// ignored. The token must be a non-empty `token68` (RFC 9110 §11.2).
pub fn token(headers: &HeaderMap) -> Result<Option<&str>, MalformedHeader> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let extra = values.count();
    if extra > 0 {
        return Err(MalformedHeader::MultipleHeaders { count: extra + 1 });
    }
    // Every request pays this scan over a ~1–2 KiB token, so it is written
    // as branch-free byte tests the compiler vectorizes; the rules are
    // `HeaderValue::to_str`'s (visible ASCII or tab) and token68's.
    let bytes = value.as_bytes();
    if !bytes.iter().fold(true, |ok, &b| ok & is_visible_ascii(b)) {
        return Err(MalformedHeader::NotVisibleAscii);
    }
    let value = trim_blanks(bytes);
    let (scheme, rest): (&[u8], &[u8]) = match value.iter().position(|&b| b == b' ') {
        Some(at) => (
            value.get(..at).unwrap_or_default(),
            value.get(at + 1..).unwrap_or_default(),
        ),
        None => (value, &[]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(MalformedHeader::NotBearer);
    }
    let start = rest.iter().take_while(|&&b| b == b' ').count();
    let token = rest.get(start..).unwrap_or_default();
    if token.is_empty() {
        return Err(MalformedHeader::EmptyToken);
    }
    if !is_token68(token) {
        return Err(MalformedHeader::InvalidCharacter);
    }
    // token68 bytes are ASCII: this cannot fail.
    std::str::from_utf8(token)
        .map(Some)
        .map_err(|_| MalformedHeader::NotVisibleAscii)
}

/// `HeaderValue::to_str`'s rule: visible ASCII or horizontal tab.
fn is_visible_ascii(b: u8) -> bool {
    (0x20..0x7f).contains(&b) | (b == b'\t')
}

/// Strips spaces and tabs at both ends.
fn trim_blanks(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// `token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
fn is_token68(s: &[u8]) -> bool {
    let end = s.len() - s.iter().rev().take_while(|&&b| b == b'=').count();
    let body = s.get(..end).unwrap_or_default();
    !body.is_empty() && body.iter().fold(true, |ok, &b| ok & is_token68_byte(b))
}

/// One byte of a token68 body, without branches.
fn is_token68_byte(b: u8) -> bool {
    let folded = b | 0x20;
    folded.is_ascii_lowercase()
        | b.is_ascii_digit()
        | (b == b'-')
        | (b == b'.')
        | (b == b'_')
        | (b == b'~')
        | (b == b'+')
        | (b == b'/')
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

    fn parse(values: &[&[u8]]) -> Result<Option<String>, MalformedHeader> {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(AUTHORIZATION, HeaderValue::from_bytes(v).unwrap());
        }
        token(&headers).map(|t| t.map(str::to_owned))
    }

    /// The parser before it was made branch-free, kept as the reference.
    fn reference(headers: &HeaderMap) -> Result<Option<&str>, MalformedHeader> {
        let mut values = headers.get_all(AUTHORIZATION).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        let extra = values.count();
        if extra > 0 {
            return Err(MalformedHeader::MultipleHeaders { count: extra + 1 });
        }
        let value = value
            .to_str()
            .map_err(|_| MalformedHeader::NotVisibleAscii)?
            .trim_matches([' ', '\t']);
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(MalformedHeader::NotBearer);
        }
        let token = rest.trim_start_matches(' ');
        if token.is_empty() {
            return Err(MalformedHeader::EmptyToken);
        }
        let body = token.trim_end_matches('=');
        let ok = !body.is_empty()
            && body.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
            });
        if !ok {
            return Err(MalformedHeader::InvalidCharacter);
        }
        Ok(Some(token))
    }

    proptest! {
        #[test]
        fn agrees_with_the_reference(
            scheme in prop::sample::select(vec!["Bearer", "bearer", "BEARER", "Basic", "Bearerx", ""]),
            gap in "[ \t]{0,3}",
            body in prop::collection::vec(any::<u8>(), 0..64),
            tail in "[ \t=]{0,3}",
        ) {
            let mut raw = scheme.as_bytes().to_vec();
            raw.extend_from_slice(gap.as_bytes());
            raw.extend_from_slice(&body);
            raw.extend_from_slice(tail.as_bytes());
            if let Ok(value) = HeaderValue::from_bytes(&raw) {
                let mut headers = HeaderMap::new();
                headers.insert(AUTHORIZATION, value);
                prop_assert_eq!(token(&headers), reference(&headers));
            }
        }

        #[test]
        fn agrees_on_token_like_values(token_text in "[A-Za-z0-9._~+/=-]{0,80}", gap in " {1,3}") {
            let raw = format!("Bearer{gap}{token_text}");
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_str(&raw).unwrap());
            prop_assert_eq!(token(&headers), reference(&headers));
        }
    }

    #[test]
    fn accepts_bearer_in_any_case() {
        for v in [
            "Bearer a.b.c",
            "bearer a.b.c",
            "BEARER a.b.c",
            "bEaReR   a.b.c  ",
        ] {
            assert_eq!(parse(&[v.as_bytes()]), Ok(Some("a.b.c".to_owned())), "{v}");
        }
        assert_eq!(parse(&[b"Bearer abc=="]), Ok(Some("abc==".to_owned())));
        assert_eq!(parse(&[]), Ok(None));
    }

    #[test]
    fn refuses_malformed_headers() {
        use MalformedHeader::*;
        let cases: [(&[u8], MalformedHeader); 11] = [
            (b"Basic dXNlcjpwYXNz", NotBearer),
            (b"Bearer", EmptyToken),
            (b"Bearer   ", EmptyToken),
            (b"", NotBearer),
            (b"eyJhbGciOi.eyJhdWQi.c2ln", NotBearer),
            (b"Bearera.b.c", NotBearer),
            (b"Bearer a b", InvalidCharacter),
            (b"Bearer \"a.b.c\"", InvalidCharacter),
            (b"Bearer a\tb", InvalidCharacter),
            (b"Bearer ===", InvalidCharacter),
            (b"Bearer a=b", InvalidCharacter),
        ];
        for (value, expected) in cases {
            assert_eq!(parse(&[value]), Err(expected), "{value:?}");
        }
        assert_eq!(parse(&[b"Bearer \xe9t\xe9"]), Err(NotVisibleAscii));
        assert_eq!(
            parse(&[b"Bearer a", b"Bearer b"]),
            Err(MultipleHeaders { count: 2 })
        );
    }

    #[test]
    fn messages_never_echo_the_header() {
        let err = parse(&[b"secret-token-without-scheme"]).unwrap_err();
        assert!(!err.to_string().contains("secret"));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(value) = HeaderValue::from_bytes(&bytes) {
                let mut headers = HeaderMap::new();
                headers.insert(AUTHORIZATION, value);
                let _ = token(&headers);
            }
        }

        #[test]
        fn token68_round_trips(t in "[A-Za-z0-9._~+/-]{1,40}={0,2}", scheme in "(?i)bearer", spaces in " {1,3}") {
            let value = format!("{scheme}{spaces}{t}");
            prop_assert_eq!(parse(&[value.as_bytes()]), Ok(Some(t)));
        }
    }
}
