//! Compact JWS serialization (RFC 7515 §7.1) and the hand-made tokens used by
//! attack tests.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Base64url without padding (RFC 7515 §2), the encoding of every JWS part.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An HS256 token over the exact header and payload bytes given, keyed with
/// `secret`.
///
/// For algorithm-confusion tests: sign with an RSA key's public JWK or DER as
/// the HMAC secret, put `"alg":"HS256"` in the header, and check the validator
/// refuses it.
pub fn sign_hs256(secret: &[u8], header_json: &str, payload_json: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    compact(header_json, payload_json, |input| {
        hmac::sign(&key, input).as_ref().to_vec()
    })
}

/// An unsigned token, `header.payload.` with an empty signature, as an
/// `"alg":"none"` attack would send it (RFC 7519 §6.1).
pub fn unsigned(header_json: &str, payload_json: &str) -> String {
    compact(header_json, payload_json, |_| Vec::new())
}

/// `b64url(header).b64url(payload).b64url(sign(signing input))`.
pub(crate) fn compact(
    header_json: &str,
    payload_json: &str,
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> String {
    let signing_input = format!(
        "{}.{}",
        b64url(header_json.as_bytes()),
        b64url(payload_json.as_bytes())
    );
    let signature = sign(signing_input.as_bytes());
    format!("{signing_input}.{}", b64url(&signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_token_has_empty_signature() {
        assert_eq!(
            unsigned(r#"{"alg":"none"}"#, "{}"),
            "eyJhbGciOiJub25lIn0.e30."
        );
    }

    #[test]
    fn hs256_matches_rfc7515_appendix_a1() {
        // RFC 7515 §A.1: the header and payload bytes include CR LF.
        let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(
                "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
            )
            .unwrap();
        let header = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
        let payload =
            "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
        let token = sign_hs256(&key, header, payload);
        assert!(token.ends_with(".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
    }
}
