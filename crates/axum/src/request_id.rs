//! Request ids for error bodies, response headers and log lines.

use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderMap, HeaderName, HeaderValue};

/// The header a request id arrives and leaves in.
pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The caller's `x-request-id` when it is acceptable (see [`is_acceptable`]).
pub(crate) fn from_headers(headers: &HeaderMap) -> Option<String> {
    caller_value(headers).and_then(|v| v.to_str().ok().map(str::to_owned))
}

/// The caller's `x-request-id` header when it is acceptable, without
/// copying it (for the hot path).
pub(crate) fn caller_value(headers: &HeaderMap) -> Option<HeaderValue> {
    let mut values = headers.get_all(X_REQUEST_ID).iter();
    match (values.next(), values.next()) {
        (Some(value), None) if value.to_str().is_ok_and(is_acceptable) => Some(value.clone()),
        _ => None,
    }
}

/// The caller's id, or a fresh one.
pub(crate) fn from_headers_or_new(headers: &HeaderMap) -> String {
    from_headers(headers).unwrap_or_else(generate)
}

/// 1 to 64 visible ASCII characters: safe to echo in a header, a JSON body
/// and a log line.
pub(crate) fn is_acceptable(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// 16 random hexadecimal digits. Should the system's random source fail,
/// a process-wide counter keeps ids distinct.
pub(crate) fn generate() -> String {
    let mut bytes = [0u8; 8];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        bytes = FALLBACK.fetch_add(1, Ordering::Relaxed).to_be_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

static FALLBACK: AtomicU64 = AtomicU64::new(0);

/// Longest id taken from a request.
const MAX_LEN: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_short_visible_ids_only() {
        let mut headers = HeaderMap::new();
        headers.insert(X_REQUEST_ID, HeaderValue::from_static("abc-123"));
        assert_eq!(from_headers(&headers).as_deref(), Some("abc-123"));
        headers.insert(X_REQUEST_ID, HeaderValue::from_static("has space"));
        assert_eq!(from_headers(&headers), None);
        headers.insert(
            X_REQUEST_ID,
            HeaderValue::from_str(&"x".repeat(65)).unwrap(),
        );
        assert_eq!(from_headers(&headers), None);
        headers.insert(
            X_REQUEST_ID,
            HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        );
        assert_eq!(from_headers(&headers), None);
    }

    #[test]
    fn generated_ids_are_16_hex_digits() {
        let a = generate();
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, generate());
    }
}
