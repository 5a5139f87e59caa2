//! Making the tokens: correctly signed ones (the provider's current key,
//! through [`SigningKeys::sign`](rolegate_idp::keys::SigningKeys::sign)) and
//! forgeries (no signature, HMAC keyed with the public key, a key of the
//! probe's own).

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::ProbeError;
use crate::der;
use crate::provider::{ProviderSide, PublicKey};

/// Signs `claims` with the provider's key current at `now` (header
/// `{"typ":"JWT","alg":"RS256","kid"}`, plus `x5t` for v1.0).
pub(crate) fn sign(
    provider: &ProviderSide,
    claims: &Map<String, Value>,
    v1: bool,
    now: i64,
) -> Result<String, ProbeError> {
    provider
        .keys
        .sign(&Value::Object(claims.clone()), v1, now)
        .map_err(|e| ProbeError::Sign(e.to_string()))
}

/// `header.payload.` — a token with an empty signature.
pub(crate) fn unsigned(header: &Value, claims: &Map<String, Value>) -> String {
    format!("{}.", signing_input(header, claims))
}

/// HS256 over `header.payload`, keyed with `secret`.
pub(crate) fn hs256(header: &Value, claims: &Map<String, Value>, secret: &[u8]) -> String {
    let input = signing_input(header, claims);
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// `base64url(header).base64url(claims)`.
pub(crate) fn signing_input(header: &Value, claims: &Map<String, Value>) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string())
    )
}

/// Replaces the payload of a signed token, keeping its header and
/// signature.
pub(crate) fn with_payload(token: &str, claims: &Map<String, Value>) -> String {
    let mut parts = token.split('.');
    let header = parts.next().unwrap_or_default();
    let _payload = parts.next();
    let signature = parts.next().unwrap_or_default();
    format!(
        "{header}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string())
    )
}

/// The encodings of the provider's public key that HMAC key-confusion
/// attacks use as the secret, each with a label.
pub(crate) fn public_key_secrets(public: &PublicKey) -> Vec<(&'static str, Vec<u8>)> {
    let pkcs1 = der::rsa_public_key(&public.n, &public.e);
    let spki = der::subject_public_key_info(&pkcs1);
    let spki_pem = der::pem("PUBLIC KEY", &spki);
    vec![
        ("PEM public key", spki_pem.clone().into_bytes()),
        (
            "PEM public key without final newline",
            spki_pem.trim_end().as_bytes().to_vec(),
        ),
        (
            "PEM RSA public key (PKCS#1)",
            der::pem("RSA PUBLIC KEY", &pkcs1).into_bytes(),
        ),
        (
            "PEM certificate",
            der::pem("CERTIFICATE", &public.certificate).into_bytes(),
        ),
        ("JWK JSON", public.jwk.to_string().into_bytes()),
        ("DER public key", spki),
    ]
}

/// The probe's own RSA key: what an attacker signs with.
pub(crate) struct AttackerKey {
    pair: KeyPair,
    rng: SystemRandom,
    /// Its `kid` (not in the provider's JWKS).
    pub kid: String,
    /// Its public JWK.
    pub jwk: Value,
    /// A self-signed certificate for it, PEM (served for `x5u`).
    pub certificate_pem: String,
}

impl AttackerKey {
    /// A fresh RSA-2048 key with a self-signed certificate.
    pub(crate) async fn generate() -> Result<AttackerKey, ProbeError> {
        tokio::task::spawn_blocking(Self::generate_blocking)
            .await
            .map_err(|e| ProbeError::Sign(format!("key generation task failed: {e}")))?
    }

    fn generate_blocking() -> Result<AttackerKey, ProbeError> {
        let failed =
            |what: &str| ProbeError::Sign(format!("cannot create the probe's key: {what}"));
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| failed("RSA generation"))?;
        let pkcs8 = pair.as_der().map_err(|_| failed("PKCS#8 encoding"))?;
        let (n, e) = der::rsa_public_key_parts(pair.public_key().as_ref())
            .ok_or_else(|| failed("public key encoding"))?;
        let kid = format!("rolegate-probe-{}", crate::cast::guid()?);
        let jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(n),
            "e": URL_SAFE_NO_PAD.encode(e),
        });
        let signer = rcgen::KeyPair::try_from(pkcs8.as_ref())
            .map_err(|e| failed(&format!("certificate key: {e}")))?;
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "rolegate probe (attacker key)");
        let certificate_pem = params
            .self_signed(&signer)
            .map_err(|e| failed(&format!("certificate: {e}")))?
            .pem();
        Ok(AttackerKey {
            pair,
            rng: SystemRandom::new(),
            kid,
            jwk,
            certificate_pem,
        })
    }

    /// RS256 over `header.payload` with this key.
    pub(crate) fn sign(
        &self,
        header: &Value,
        claims: &Map<String, Value>,
    ) -> Result<String, ProbeError> {
        let input = signing_input(header, claims);
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| ProbeError::Sign("RSA signing with the probe's key failed".to_owned()))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}
