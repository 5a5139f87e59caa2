//! JSON Web Keys (RFC 7517) turned into verification keys.
//!
//! Keys are parsed once, when a JWKS is loaded, into ready-to-use
//! `aws-lc-rs` public keys for each allowed algorithm that fits them, so
//! that verifying a token costs one signature check and nothing more.
//!
//! # Security
//! RSA keys under 2048 bits are kept only so that tokens naming them get a
//! precise `weak_key` refusal; they never verify anything. Keys whose `use`
//! is not `sig` are skipped. A key's optional `alg` restricts it to that
//! algorithm (RFC 7517 §4.4).

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::algorithm::{Algorithm, AlgorithmPolicy};
use crate::id::{Issuer, KeyId};
use crate::json;

/// A parsed key set.
#[derive(Debug, Clone, Default)]
pub struct JwkSet {
    keys: Vec<Arc<VerifyingKey>>,
    skipped: Vec<String>,
}

/// One public key ready to verify signatures.
pub struct VerifyingKey {
    kid: Option<KeyId>,
    key_type: KeyType,
    issuer: Option<Issuer>,
    parsed: Vec<(Algorithm, ParsedPublicKey)>,
}

/// The type of a key, for matching against `alg` and for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// `kty: EC` on a NIST curve.
    Ec(&'static str),
    /// `kty: OKP`, `crv: Ed25519`.
    Ed25519,
    /// `kty: RSA` with this many modulus bits.
    Rsa(usize),
}

/// Why a key did not verify a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyError {
    /// The key cannot be used with the algorithm.
    TypeMismatch,
    /// RSA modulus under 2048 bits.
    WeakKey(usize),
    /// The signature is wrong.
    BadSignature,
}

impl JwkSet {
    /// Parses a JWKS document, keeping keys usable with `algorithms`.
    pub fn parse(bytes: &[u8], algorithms: &AlgorithmPolicy) -> Result<JwkSet, String> {
        let doc = json::parse_object(bytes, 8).map_err(|e| e.to_string())?;
        let Some(Value::Array(entries)) = doc.get("keys") else {
            return Err("the document has no \"keys\" array".to_owned());
        };
        if entries.len() > MAX_KEYS {
            return Err(format!(
                "the key set has {} keys; at most {MAX_KEYS} are accepted",
                entries.len()
            ));
        }
        let mut set = JwkSet::default();
        for (index, entry) in entries.iter().enumerate() {
            let Value::Object(jwk) = entry else {
                set.skipped.push(format!("key #{index}: not a JSON object"));
                continue;
            };
            match VerifyingKey::from_jwk(jwk, algorithms) {
                Ok(key) => {
                    if key.kid.is_some() && set.keys.iter().any(|k| k.kid == key.kid) {
                        set.skipped
                            .push(format!("key #{index}: duplicate kid {:?}", key.kid));
                    } else {
                        set.keys.push(Arc::new(key));
                    }
                }
                Err(why) => set.skipped.push(format!("key #{index}: {why}")),
            }
        }
        Ok(set)
    }

    /// The usable keys.
    pub fn keys(&self) -> &[Arc<VerifyingKey>] {
        &self.keys
    }

    /// Why some entries were not usable.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    /// Whether no key is usable.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl VerifyingKey {
    fn from_jwk(
        jwk: &Map<String, Value>,
        algorithms: &AlgorithmPolicy,
    ) -> Result<VerifyingKey, String> {
        let text = |name: &str| -> Result<Option<&str>, String> {
            match jwk.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(format!("member \"{name}\" is not a string")),
            }
        };
        let kid = text("kid")?.map(KeyId::new);
        let label = kid.as_ref().map_or("(no kid)", KeyId::as_str).to_owned();
        if let Some(usage) = text("use")?
            && usage != "sig"
        {
            return Err(format!("{label}: \"use\" is {usage:?}, not \"sig\""));
        }
        let declared = match text("alg")? {
            Some(name) => Some(
                Algorithm::from_name(name)
                    .ok_or_else(|| format!("{label}: unsupported \"alg\" {name:?}"))?,
            ),
            None => None,
        };
        let candidates = |kty: &str| -> Vec<Algorithm> {
            algorithms
                .allowed()
                .iter()
                .copied()
                .filter(|a| a.key_type() == kty && declared.is_none_or(|d| d == *a))
                .collect()
        };
        let b64 = |name: &str| -> Result<Vec<u8>, String> {
            let value = text(name)?.ok_or_else(|| format!("{label}: missing \"{name}\""))?;
            URL_SAFE_NO_PAD
                .decode(value.trim_end_matches('='))
                .map_err(|e| format!("{label}: \"{name}\" is not base64url: {e}"))
        };
        let kty = text("kty")?.ok_or_else(|| format!("{label}: missing \"kty\""))?;
        let (key_type, parsed) = match kty {
            "RSA" => {
                let n = b64("n")?;
                let e = b64("e")?;
                let n = strip_leading_zeros(&n);
                let e = strip_leading_zeros(&e);
                let bits = modulus_bits(n);
                let mut parsed = Vec::new();
                if bits >= 2048 {
                    let components = RsaPublicKeyComponents { n, e };
                    for alg in candidates("RSA") {
                        let key = components
                            .to_parsed_public_key(rsa_params(alg))
                            .map_err(|e| format!("{label}: invalid RSA key: {e}"))?;
                        parsed.push((alg, key));
                    }
                }
                (KeyType::Rsa(bits), parsed)
            }
            "EC" => {
                let (curve, alg, verify, len): (
                    &'static str,
                    _,
                    &'static signature::EcdsaVerificationAlgorithm,
                    usize,
                ) = match text("crv")? {
                    Some("P-256") => (
                        "P-256",
                        Algorithm::Es256,
                        &signature::ECDSA_P256_SHA256_FIXED,
                        32,
                    ),
                    Some("P-384") => (
                        "P-384",
                        Algorithm::Es384,
                        &signature::ECDSA_P384_SHA384_FIXED,
                        48,
                    ),
                    other => return Err(format!("{label}: unsupported EC curve {other:?}")),
                };
                let x = b64("x")?;
                let y = b64("y")?;
                if x.len() != len || y.len() != len {
                    return Err(format!("{label}: {curve} coordinates must be {len} bytes"));
                }
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let mut parsed = Vec::new();
                if candidates("EC").contains(&alg) {
                    let key = ParsedPublicKey::new(verify, point)
                        .map_err(|e| format!("{label}: invalid {curve} key: {e}"))?;
                    parsed.push((alg, key));
                }
                (KeyType::Ec(curve), parsed)
            }
            "OKP" => {
                if text("crv")? != Some("Ed25519") {
                    return Err(format!("{label}: only the Ed25519 OKP curve is supported"));
                }
                let x = b64("x")?;
                let mut parsed = Vec::new();
                if candidates("OKP").contains(&Algorithm::EdDsa) {
                    let key = ParsedPublicKey::new(&signature::ED25519, x)
                        .map_err(|e| format!("{label}: invalid Ed25519 key: {e}"))?;
                    parsed.push((Algorithm::EdDsa, key));
                }
                (KeyType::Ed25519, parsed)
            }
            other => return Err(format!("{label}: unsupported key type {other:?}")),
        };
        let issuer = text("issuer")?.map(Issuer::new);
        Ok(VerifyingKey {
            kid,
            key_type,
            issuer,
            parsed,
        })
    }

    /// The key id.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_ref().map(KeyId::as_str)
    }

    /// The key id, typed.
    pub fn key_id(&self) -> Option<&KeyId> {
        self.kid.as_ref()
    }

    /// The key's type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// Entra's per-key `issuer` member (may be a `{tenantid}` template).
    pub fn issuer(&self) -> Option<&Issuer> {
        self.issuer.as_ref()
    }

    /// Whether the key can verify `alg` signatures.
    pub fn supports(&self, alg: Algorithm) -> bool {
        self.parsed.iter().any(|(a, _)| *a == alg)
    }

    /// Verifies `signature` over `message` with `alg`.
    pub fn verify(
        &self,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), VerifyError> {
        if let KeyType::Rsa(bits) = self.key_type
            && bits < 2048
            && alg.key_type() == "RSA"
        {
            return Err(VerifyError::WeakKey(bits));
        }
        let key = self
            .parsed
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, k)| k)
            .ok_or(VerifyError::TypeMismatch)?;
        key.verify_sig(message, signature)
            .map_err(|_| VerifyError::BadSignature)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("key_type", &self.key_type)
            .field("issuer", &self.issuer)
            .field(
                "algorithms",
                &self.parsed.iter().map(|(a, _)| *a).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyType::Ec(curve) => write!(f, "EC {curve}"),
            KeyType::Ed25519 => f.write_str("OKP Ed25519"),
            KeyType::Rsa(bits) => write!(f, "RSA {bits}-bit"),
        }
    }
}

fn rsa_params(alg: Algorithm) -> &'static RsaParameters {
    match alg {
        Algorithm::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => &signature::RSA_PKCS1_2048_8192_SHA256,
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

fn modulus_bits(n: &[u8]) -> usize {
    match n.first() {
        Some(first) => (n.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}

const MAX_KEYS: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits() {
        assert_eq!(modulus_bits(&[0x80, 0, 0]), 24);
        assert_eq!(modulus_bits(&[0x01]), 1);
        assert_eq!(modulus_bits(&[]), 0);
        assert_eq!(strip_leading_zeros(&[0, 0, 1]), &[1]);
    }

    #[test]
    fn skips_unusable_entries() {
        let doc = br#"{"keys":[{"kty":"oct","k":"AAAA","kid":"h"},{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"},5]}"#;
        let set = JwkSet::parse(doc, &AlgorithmPolicy::oidc()).unwrap();
        assert!(set.is_empty());
        assert_eq!(set.skipped().len(), 3);
        assert!(JwkSet::parse(br#"{"nokeys":[]}"#, &AlgorithmPolicy::oidc()).is_err());
    }
}
