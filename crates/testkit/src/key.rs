//! Signing keys generated at run time, their public JWKs and the tokens they
//! sign.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::{self, SystemRandom};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use serde_json::{Value, json};

use crate::{b64url, der, jws};

/// The kind of key [`SigningKey::generate`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// ECDSA on NIST P-256; signs `ES256`.
    EcP256,
    /// ECDSA on NIST P-384; signs `ES384`.
    EcP384,
    /// Ed25519; signs `EdDSA`.
    Ed25519,
    /// RSA with a modulus of 2048, 3072, 4096 or 8192 bits; signs `RS256`
    /// unless told otherwise. For weak-key tests see [`weak_rsa_jwk`].
    Rsa(usize),
}

/// A private key with the `kid` and `alg` it signs under.
///
/// Cloning is cheap and clones share the key pair. `Debug` never shows
/// private material.
#[derive(Clone)]
pub struct SigningKey {
    alg: String,
    kid: String,
    pair: Arc<Pair>,
}

impl SigningKey {
    /// A fresh key. Its `kid` is the base64url of 20 random bytes, shaped
    /// like the certificate thumbprints Entra uses as key ids, and its `alg`
    /// is the natural one for the kind.
    ///
    /// # Panics
    ///
    /// On an RSA size aws-lc-rs does not generate.
    pub fn generate(kind: KeyKind) -> Self {
        let pair = match kind {
            KeyKind::EcP256 => Pair::ec(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, "P-256"),
            KeyKind::EcP384 => Pair::ec(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, "P-384"),
            KeyKind::Ed25519 => Pair::Ed25519(Ed25519KeyPair::generate().expect("Ed25519 keygen")),
            KeyKind::Rsa(bits) => {
                let size = match bits {
                    2048 => KeySize::Rsa2048,
                    3072 => KeySize::Rsa3072,
                    4096 => KeySize::Rsa4096,
                    8192 => KeySize::Rsa8192,
                    other => panic!("unsupported RSA key size {other}"),
                };
                Pair::Rsa(RsaKeyPair::generate(size).expect("RSA keygen"))
            }
        };
        let alg = match kind {
            KeyKind::EcP256 => "ES256",
            KeyKind::EcP384 => "ES384",
            KeyKind::Ed25519 => "EdDSA",
            KeyKind::Rsa(_) => "RS256",
        };
        Self {
            alg: alg.to_owned(),
            kid: random_b64url(20),
            pair: Arc::new(pair),
        }
    }

    /// A fresh 2048-bit RSA key signing `RS256`, the shape of Entra's keys.
    pub fn rsa_2048() -> Self {
        Self::generate(KeyKind::Rsa(2048))
    }

    /// The same key pair under another `kid`.
    pub fn with_kid(mut self, kid: &str) -> Self {
        kid.clone_into(&mut self.kid);
        self
    }

    /// The same key pair signing with another algorithm.
    ///
    /// RSA keys take `RS256`, `RS384`, `RS512`, `PS256`, `PS384` and `PS512`;
    /// P-256 takes `ES256`, P-384 `ES384`, and Ed25519 `EdDSA` or `Ed25519`
    /// (RFC 9864). To put a different `alg` in a header than the one the
    /// signature uses, use [`SigningKey::sign_with_header`] instead.
    ///
    /// # Panics
    ///
    /// If this key cannot sign with `alg`.
    pub fn with_alg(mut self, alg: &str) -> Self {
        let supported: &[&str] = match &*self.pair {
            Pair::Ec { curve: "P-256", .. } => &["ES256"],
            Pair::Ec { .. } => &["ES384"],
            Pair::Ed25519(_) => &["EdDSA", "Ed25519"],
            Pair::Rsa(_) => &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"],
        };
        assert!(
            supported.contains(&alg),
            "a {} key signs {supported:?}, not {alg}",
            self.pair.kty()
        );
        alg.clone_into(&mut self.alg);
        self
    }

    /// The key id: the JWK's `kid` and the header's `kid` (and, for RSA,
    /// `x5t`).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWS algorithm this key signs with.
    pub fn alg(&self) -> &str {
        &self.alg
    }

    /// The public half as a JWK (RFC 7517 §4) the way Entra publishes it:
    /// `kty`, `use: "sig"`, `kid` and the key parameters, plus `x5t` equal to
    /// the `kid` for RSA keys. No `alg` member, as Entra omits it, and no
    /// private parameters.
    pub fn public_jwk(&self) -> Value {
        match &*self.pair {
            Pair::Ec { curve, pair } => {
                // An uncompressed point: 0x04 || x || y.
                let point = pair.public_key().as_ref();
                let (x, y) = point[1..].split_at((point.len() - 1) / 2);
                json!({
                    "kty": "EC", "use": "sig", "kid": self.kid, "crv": curve,
                    "x": b64url(x), "y": b64url(y),
                })
            }
            Pair::Ed25519(pair) => json!({
                "kty": "OKP", "use": "sig", "kid": self.kid, "crv": "Ed25519",
                "x": b64url(pair.public_key().as_ref()),
            }),
            Pair::Rsa(_) => {
                let (n, e) = self.pair.rsa_public_components();
                json!({
                    "kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid,
                    "n": b64url(&n), "e": b64url(&e),
                })
            }
        }
    }

    /// A compact JWS over `claims` with the header Entra sends:
    /// `{"typ":"JWT","alg":…,"kid":…}`, plus `x5t` for RSA keys.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = json!({ "typ": "JWT", "alg": self.alg, "kid": self.kid });
        if matches!(*self.pair, Pair::Rsa(_)) {
            header["x5t"] = json!(self.kid);
        }
        self.sign_with_header(&header, claims)
    }

    /// A compact JWS with exactly this header. The signature still uses
    /// [`SigningKey::alg`], whatever the header's `alg` says, so tests can
    /// send mismatched or missing `alg` and `kid` values.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        self.sign_raw(&header.to_string(), &claims.to_string())
    }

    /// A compact JWS over these exact header and payload bytes, signed with
    /// [`SigningKey::alg`]. For duplicate members, odd whitespace and
    /// malformed JSON.
    pub fn sign_raw(&self, header_json: &str, payload_json: &str) -> String {
        jws::compact(header_json, payload_json, |input| {
            self.pair.sign(&self.alg, input)
        })
    }

    /// The private key as unencrypted PKCS#8 v1 DER, for benches and for
    /// loading into other libraries.
    pub fn pkcs8_der(&self) -> Vec<u8> {
        match &*self.pair {
            Pair::Ec { pair, .. } => pair.to_pkcs8v1().expect("EC PKCS#8").as_ref().to_vec(),
            Pair::Ed25519(pair) => pair.to_pkcs8v1().expect("Ed25519 PKCS#8").as_ref().to_vec(),
            Pair::Rsa(pair) => pair.as_der().expect("RSA PKCS#8").as_ref().to_vec(),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kty", &self.pair.kty())
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// A JWKS document (RFC 7517 §5), `{"keys":[…]}`, of these keys' public JWKs.
pub fn jwks(keys: &[&SigningKey]) -> Value {
    json!({ "keys": keys.iter().map(|key| key.public_jwk()).collect::<Vec<_>>() })
}

/// The key material behind a [`SigningKey`].
enum Pair {
    Ec {
        curve: &'static str,
        pair: EcdsaKeyPair,
    },
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

impl Pair {
    fn ec(algorithm: &'static signature::EcdsaSigningAlgorithm, curve: &'static str) -> Self {
        let pair = EcdsaKeyPair::generate(algorithm).expect("EC keygen");
        Self::Ec { curve, pair }
    }

    fn kty(&self) -> &'static str {
        match self {
            Self::Ec { .. } => "EC",
            Self::Ed25519(_) => "OKP",
            Self::Rsa(_) => "RSA",
        }
    }

    /// `(n, e)`, big-endian without leading zeros.
    fn rsa_public_components(&self) -> (Vec<u8>, Vec<u8>) {
        match self {
            Self::Rsa(pair) => der::rsa_public_key(pair.public_key().as_ref()),
            Self::Ec { .. } | Self::Ed25519(_) => unreachable!("not an RSA key"),
        }
    }

    /// The JWS signature (RFC 7518 §3) over `input`; `alg` was checked by
    /// [`SigningKey::with_alg`].
    fn sign(&self, alg: &str, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Self::Ec { pair, .. } => pair.sign(&rng, input).expect("ECDSA").as_ref().to_vec(),
            Self::Ed25519(pair) => pair.sign(input).as_ref().to_vec(),
            Self::Rsa(pair) => {
                let encoding: &'static dyn signature::RsaEncoding = match alg {
                    "RS384" => &signature::RSA_PKCS1_SHA384,
                    "RS512" => &signature::RSA_PKCS1_SHA512,
                    "PS256" => &signature::RSA_PSS_SHA256,
                    "PS384" => &signature::RSA_PSS_SHA384,
                    "PS512" => &signature::RSA_PSS_SHA512,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(encoding, &rng, input, &mut out).expect("RSA");
                out
            }
        }
    }
}

/// A public RSA JWK whose modulus has only `bits` bits (e.g. 1024), for
/// weak-key tests. It has no private half: a validator must refuse tokens
/// naming it (`weak_key`) before it ever checks their signature, so sign such
/// tokens with any key and put `kid` in the header.
pub fn weak_rsa_jwk(kid: &str, bits: usize) -> Value {
    assert!(
        bits >= 64 && bits.is_multiple_of(8) && bits < 2048,
        "weak key sizes are multiples of 8 under 2048"
    );
    let mut n = vec![0u8; bits / 8];
    rand::fill(&mut n).expect("system random source");
    if let Some(first) = n.first_mut() {
        *first |= 0x80;
    }
    if let Some(last) = n.last_mut() {
        *last |= 1;
    }
    json!({"kty": "RSA", "use": "sig", "kid": kid, "n": b64url(&n), "e": "AQAB"})
}

/// Base64url of `len` random bytes.
pub(crate) fn random_b64url(len: usize) -> String {
    let mut bytes = vec![0; len];
    rand::fill(&mut bytes).expect("system random source");
    b64url(&bytes)
}
