//! PKCE (RFC 7636).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::protocol::errors::OAuthError;

/// Checks `verifier` against the stored challenge (§4.6).
pub fn verify(challenge: &str, method: &str, verifier: &str) -> Result<(), OAuthError> {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !well_formed {
        return Err(OAuthError::code_verifier_malformed());
    }
    let computed = match method {
        "S256" => URL_SAFE_NO_PAD.encode(crate::secret::digest(verifier)),
        _ => verifier.to_owned(),
    };
    if constant_time_eq(computed.as_bytes(), challenge.as_bytes()) {
        Ok(())
    } else {
        Err(OAuthError::code_verifier_mismatch())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verify(challenge, "S256", verifier).is_ok());
        assert!(verify(challenge, "S256", &verifier.replace('d', "e")).is_err());
        assert!(verify("short", "plain", "short").is_err());
    }
}
