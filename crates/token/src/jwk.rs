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

use aws_lc_rs::error::KeyRejected;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::algorithm::{Algorithm, AlgorithmPolicy};
use crate::error::JsonError;
use crate::id::{Issuer, KeyId};
use crate::json;

/// A parsed key set.
#[derive(Debug, Clone, Default)]
pub struct JwkSet {
    keys: Vec<Arc<VerifyingKey>>,
    skipped: Vec<SkippedKey>,
}

/// Why a key set document (RFC 7517 §5) was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The document is not a JSON object, or JSON this crate refuses.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// The document has no `keys` array.
    #[error("the document has no \"keys\" array")]
    NoKeysArray,
    /// The document lists more keys than are accepted.
    #[error("the key set has {found} keys; at most {max} are accepted")]
    TooManyKeys {
        /// How many the document lists.
        found: usize,
        /// The limit.
        max: usize,
    },
}

/// An entry of a key set that is not used, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("key #{index} ({}): {reason}", kid.as_ref().map_or_else(|| "no kid".to_owned(), |kid| format!("kid {:?}", kid.as_str())))]
pub struct SkippedKey {
    /// Its position in the `keys` array.
    pub index: usize,
    /// Its `kid`, when it has one (a string).
    pub kid: Option<KeyId>,
    /// Why it is not used.
    pub reason: JwkError,
}

/// Why one JSON Web Key cannot be used to verify signatures.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum JwkError {
    /// An EC coordinate does not have its curve's length.
    #[error("{curve} coordinate \"{member}\" is {found} bytes; it must be {expected}")]
    CoordinateLength {
        /// The curve.
        curve: &'static str,
        /// `x` or `y`.
        member: &'static str,
        /// The curve's coordinate length in bytes.
        expected: usize,
        /// The decoded length.
        found: usize,
    },
    /// An earlier entry of the set has the same `kid`; that one is kept.
    #[error("duplicate kid: an earlier key in the set has the same one")]
    DuplicateKid,
    /// The cryptography library refused the key material (for EC, a point
    /// that is not on the curve).
    #[error("invalid {key_type} key: {reason}")]
    InvalidKey {
        /// The key's type.
        key_type: KeyType,
        /// What aws-lc-rs said (`TooLarge`, `InvalidEncoding`, ...).
        reason: KeyRejected,
    },
    /// A member the key type requires is missing.
    #[error("missing \"{member}\"")]
    MissingMember {
        /// The member's name.
        member: &'static str,
    },
    /// A member is not valid unpadded base64url (RFC 7518 §6).
    #[error("\"{member}\" is not base64url: {reason}")]
    NotBase64Url {
        /// The member's name.
        member: &'static str,
        /// What the decoder said.
        reason: base64::DecodeError,
    },
    /// An RSA modulus longer than any signature algorithm accepts.
    #[error("the RSA modulus is {bits} bits; at most {max} are supported")]
    ModulusTooLarge {
        /// The modulus size.
        bits: usize,
        /// The largest supported size.
        max: usize,
    },
    /// A member that must be a string is not one.
    #[error("member \"{member}\" is not a string")]
    NotAString {
        /// The member's name.
        member: &'static str,
    },
    /// The entry is not a JSON object.
    #[error("not a JSON object")]
    NotAnObject,
    /// Its `use` (RFC 7517 §4.2) is not `sig`.
    #[error("\"use\" is {found:?}, not \"sig\"")]
    NotForSignatures {
        /// The `use` value.
        found: String,
    },
    /// Its `alg` (RFC 7517 §4.4) is not an algorithm this crate implements.
    #[error("unsupported \"alg\" {alg:?}")]
    UnsupportedAlgorithm {
        /// The `alg` value.
        alg: String,
    },
    /// An `EC` or `OKP` key on a curve this crate does not implement (EC:
    /// P-256 and P-384; OKP: Ed25519).
    #[error("unsupported {kty} curve {}", crv.as_deref().map_or_else(|| "(no \"crv\")".to_owned(), |crv| format!("{crv:?}")))]
    UnsupportedCurve {
        /// `EC` or `OKP`.
        kty: &'static str,
        /// The `crv` value, when it has one.
        crv: Option<String>,
    },
    /// A `kty` (RFC 7518 §6.1) this crate does not implement, such as
    /// `oct` (shared secrets are never accepted).
    #[error("unsupported key type {kty:?}")]
    UnsupportedKeyType {
        /// The `kty` value.
        kty: String,
    },
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
    /// Parses a JWKS document, keeping keys usable with `algorithms`; the
    /// others are listed in [`skipped`](Self::skipped).
    pub fn parse(bytes: &[u8], algorithms: &AlgorithmPolicy) -> Result<JwkSet, JwksError> {
        let doc = json::parse_object(bytes, 8)?;
        let Some(Value::Array(entries)) = doc.get("keys") else {
            return Err(JwksError::NoKeysArray);
        };
        if entries.len() > MAX_KEYS {
            return Err(JwksError::TooManyKeys {
                found: entries.len(),
                max: MAX_KEYS,
            });
        }
        let mut set = JwkSet::default();
        for (index, entry) in entries.iter().enumerate() {
            let Value::Object(jwk) = entry else {
                set.skip(index, None, JwkError::NotAnObject);
                continue;
            };
            let kid = match jwk.get("kid") {
                Some(Value::String(kid)) => Some(KeyId::new(kid.as_str())),
                _ => None,
            };
            match VerifyingKey::from_jwk(jwk, algorithms) {
                Ok(key) if key.kid.is_some() && set.keys.iter().any(|k| k.kid == key.kid) => {
                    set.skip(index, kid, JwkError::DuplicateKid);
                }
                Ok(key) => set.keys.push(Arc::new(key)),
                Err(reason) => set.skip(index, kid, reason),
            }
        }
        Ok(set)
    }

    fn skip(&mut self, index: usize, kid: Option<KeyId>, reason: JwkError) {
        self.skipped.push(SkippedKey { index, kid, reason });
    }

    /// The usable keys.
    pub fn keys(&self) -> &[Arc<VerifyingKey>] {
        &self.keys
    }

    /// The entries that are not usable, each with the reason.
    pub fn skipped(&self) -> &[SkippedKey] {
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
    ) -> Result<VerifyingKey, JwkError> {
        let text = |member: &'static str| -> Result<Option<&str>, JwkError> {
            match jwk.get(member) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(JwkError::NotAString { member }),
            }
        };
        let kid = text("kid")?.map(KeyId::new);
        if let Some(usage) = text("use")?
            && usage != "sig"
        {
            return Err(JwkError::NotForSignatures {
                found: usage.to_owned(),
            });
        }
        let declared =
            match text("alg")? {
                Some(name) => Some(Algorithm::from_name(name).ok_or_else(|| {
                    JwkError::UnsupportedAlgorithm {
                        alg: name.to_owned(),
                    }
                })?),
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
        let b64 = |member: &'static str| -> Result<Vec<u8>, JwkError> {
            let value = text(member)?.ok_or(JwkError::MissingMember { member })?;
            URL_SAFE_NO_PAD
                .decode(value.trim_end_matches('='))
                .map_err(|reason| JwkError::NotBase64Url { member, reason })
        };
        let kty = text("kty")?.ok_or(JwkError::MissingMember { member: "kty" })?;
        let (key_type, parsed) = match kty {
            "RSA" => {
                let n = b64("n")?;
                let e = b64("e")?;
                let n = strip_leading_zeros(&n);
                let e = strip_leading_zeros(&e);
                let bits = modulus_bits(n);
                if bits > MAX_RSA_BITS {
                    // aws-lc-rs would parse the key and refuse only at
                    // verification, as a bad signature.
                    return Err(JwkError::ModulusTooLarge {
                        bits,
                        max: MAX_RSA_BITS,
                    });
                }
                let key_type = KeyType::Rsa(bits);
                let mut parsed = Vec::new();
                if bits >= 2048 {
                    let components = RsaPublicKeyComponents { n, e };
                    for alg in candidates("RSA") {
                        let key = components
                            .to_parsed_public_key(rsa_params(alg))
                            .map_err(|reason| JwkError::InvalidKey { key_type, reason })?;
                        parsed.push((alg, key));
                    }
                }
                (key_type, parsed)
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
                    other => {
                        return Err(JwkError::UnsupportedCurve {
                            kty: "EC",
                            crv: other.map(str::to_owned),
                        });
                    }
                };
                let key_type = KeyType::Ec(curve);
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(4);
                for member in ["x", "y"] {
                    let coordinate = b64(member)?;
                    if coordinate.len() != len {
                        return Err(JwkError::CoordinateLength {
                            curve,
                            member,
                            expected: len,
                            found: coordinate.len(),
                        });
                    }
                    point.extend_from_slice(&coordinate);
                }
                let mut parsed = Vec::new();
                if candidates("EC").contains(&alg) {
                    let key = ParsedPublicKey::new(verify, point)
                        .map_err(|reason| JwkError::InvalidKey { key_type, reason })?;
                    parsed.push((alg, key));
                }
                (key_type, parsed)
            }
            "OKP" => {
                match text("crv")? {
                    Some("Ed25519") => {}
                    other => {
                        return Err(JwkError::UnsupportedCurve {
                            kty: "OKP",
                            crv: other.map(str::to_owned),
                        });
                    }
                }
                let x = b64("x")?;
                let mut parsed = Vec::new();
                if candidates("OKP").contains(&Algorithm::EdDsa) {
                    let key = ParsedPublicKey::new(&signature::ED25519, x).map_err(|reason| {
                        JwkError::InvalidKey {
                            key_type: KeyType::Ed25519,
                            reason,
                        }
                    })?;
                    parsed.push((Algorithm::EdDsa, key));
                }
                (KeyType::Ed25519, parsed)
            }
            other => {
                return Err(JwkError::UnsupportedKeyType {
                    kty: other.to_owned(),
                });
            }
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

/// The largest RSA modulus the `RSA_*_2048_8192_*` verification algorithms
/// accept.
const MAX_RSA_BITS: usize = 8192;

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
        let reasons: Vec<String> = set.skipped().iter().map(ToString::to_string).collect();
        assert_eq!(
            reasons,
            [
                r#"key #0 (kid "h"): unsupported key type "oct""#,
                r#"key #1 (no kid): "use" is "enc", not "sig""#,
                "key #2 (no kid): not a JSON object",
            ]
        );
        assert_eq!(
            JwkSet::parse(br#"{"nokeys":[]}"#, &AlgorithmPolicy::oidc()).unwrap_err(),
            JwksError::NoKeysArray
        );
        assert!(matches!(
            JwkSet::parse(br#"{"keys":[],"keys":[]}"#, &AlgorithmPolicy::oidc()),
            Err(JwksError::Json(JsonError::DuplicateMember(_)))
        ));
        let many = format!(r#"{{"keys":[{}]}}"#, vec!["{}"; MAX_KEYS + 1].join(","));
        assert_eq!(
            JwkSet::parse(many.as_bytes(), &AlgorithmPolicy::oidc()).unwrap_err(),
            JwksError::TooManyKeys {
                found: MAX_KEYS + 1,
                max: MAX_KEYS
            }
        );
    }

    #[test]
    fn names_each_problem() {
        let reason = |jwk: &str| {
            let doc = format!(r#"{{"keys":[{jwk}]}}"#);
            let set = JwkSet::parse(doc.as_bytes(), &AlgorithmPolicy::oidc()).unwrap();
            assert!(set.is_empty(), "{jwk}");
            set.skipped()[0].reason.clone()
        };
        assert_eq!(
            reason(r#"{"kty":"RSA","e":"AQAB"}"#),
            JwkError::MissingMember { member: "n" }
        );
        assert_eq!(
            reason(r#"{"kty":"RSA","kid":7}"#),
            JwkError::NotAString { member: "kid" }
        );
        assert!(matches!(
            reason(r#"{"kty":"RSA","n":"*","e":"AQAB"}"#),
            JwkError::NotBase64Url { member: "n", .. }
        ));
        assert_eq!(
            reason(r#"{"kty":"EC","crv":"P-521"}"#),
            JwkError::UnsupportedCurve {
                kty: "EC",
                crv: Some("P-521".to_owned())
            }
        );
        assert_eq!(
            reason(r#"{"kty":"OKP"}"#).to_string(),
            r#"unsupported OKP curve (no "crv")"#
        );
        assert_eq!(
            reason(r#"{"kty":"EC","crv":"P-256","x":"AQAB","y":"AQAB"}"#),
            JwkError::CoordinateLength {
                curve: "P-256",
                member: "x",
                expected: 32,
                found: 3
            }
        );
        assert_eq!(
            reason(r#"{"kty":"RSA","alg":"HS256","n":"AQAB","e":"AQAB"}"#),
            JwkError::UnsupportedAlgorithm {
                alg: "HS256".to_owned()
            }
        );
        let n = URL_SAFE_NO_PAD.encode([0xffu8; 1025]);
        assert_eq!(
            reason(&format!(r#"{{"kty":"RSA","n":"{n}","e":"AQAB"}}"#)).to_string(),
            "the RSA modulus is 8200 bits; at most 8192 are supported"
        );
        // Not a point on P-256.
        let x = URL_SAFE_NO_PAD.encode([1u8; 32]);
        let e = reason(&format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{x}","y":"{x}"}}"#
        ));
        assert!(
            matches!(
                e,
                JwkError::InvalidKey {
                    key_type: KeyType::Ec("P-256"),
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().starts_with("invalid EC P-256 key: "), "{e}");
    }

    #[test]
    fn duplicate_kids_keep_the_first() {
        let key = |kid: &str, x: u8| {
            let x = URL_SAFE_NO_PAD.encode([x; 32]);
            format!(r#"{{"kty":"OKP","crv":"Ed25519","kid":"{kid}","x":"{x}"}}"#)
        };
        let doc = format!(r#"{{"keys":[{},{}]}}"#, key("a", 1), key("a", 2));
        let set = JwkSet::parse(doc.as_bytes(), &AlgorithmPolicy::oidc()).unwrap();
        assert_eq!(set.keys().len(), 1);
        assert_eq!(
            set.skipped(),
            [SkippedKey {
                index: 1,
                kid: Some(KeyId::new("a")),
                reason: JwkError::DuplicateKid
            }]
        );
    }
}
