//! Certificate credentials: the X.509 certificates an application registers
//! to authenticate with signed client assertions (`private_key_jwt`), as on
//! Entra's "Certificates & secrets" blade (`keyCredentials` of type
//! `AsymmetricX509Cert`, usage `Verify`).
//!
//! Only the certificate is registered; its private key stays with the
//! client. A client names the certificate it signed with by thumbprint:
//! `x5t` (base64url SHA-1 of the DER) or `x5t#S256` (base64url SHA-256).
//!
//! ```
//! use rolegate_idp::directory::certificate::KeyCredential;
//!
//! let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)?;
//! let pem = rcgen::CertificateParams::new(vec!["daemon".to_owned()])?
//!     .self_signed(&key)?
//!     .pem();
//! let credential = KeyCredential::from_pem(pem.as_bytes())?;
//! assert_eq!(credential.key_bits, 2048);
//! assert_eq!(credential.x5t().len(), 27);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::rsa::PublicEncryptingKey;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use rustls::pki_types::pem::{PemObject, SectionKind};

use crate::tls::der;

/// A registered certificate, parsed once at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCredential {
    /// A label for people (`displayName`).
    pub display_name: Option<String>,
    /// SHA-1 of the certificate's DER: the thumbprint Entra shows and `x5t`.
    pub sha1: [u8; 20],
    /// SHA-256 of the certificate's DER: `x5t#S256`.
    pub sha256: [u8; 32],
    /// `notBefore`, unix seconds.
    pub not_before: i64,
    /// `notAfter`, unix seconds.
    pub not_after: i64,
    /// The RSA modulus size.
    pub key_bits: usize,
    /// The `subjectPublicKeyInfo`, DER: what signatures are verified with.
    pub public_key: Vec<u8>,
}

/// Why a certificate cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The PEM holds no `CERTIFICATE` section.
    #[error("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate,
    /// The DER is not an X.509 certificate this reader understands.
    #[error("is not a DER X.509 certificate (cannot read its validity and public key)")]
    NotACertificate,
    /// The public key is not RSA.
    #[error("has a public key that is not RSA (client assertions are signed with RS256 or PS256)")]
    NotRsa,
    /// The text is not PEM, or a PEM section is damaged.
    #[error("is not valid PEM ({0})")]
    Pem(String),
    /// The PEM also holds a private key, which the provider must not have.
    #[error(
        "also holds a private key: register only the certificate (the private key stays with the client that signs)"
    )]
    PrivateKey,
    /// The PEM holds several certificates.
    #[error("holds {count} certificates; give each its own key_credentials entry")]
    SeveralCertificates {
        /// How many.
        count: usize,
    },
    /// The validity window ends before it starts.
    #[error("has notAfter {not_after} before notBefore {not_before}")]
    Validity {
        /// `notBefore`, unix seconds.
        not_before: i64,
        /// `notAfter`, unix seconds.
        not_after: i64,
    },
    /// The RSA key is shorter than 2048 bits.
    #[error("has a {bits}-bit RSA key; at least 2048 bits are required")]
    WeakKey {
        /// The modulus size found.
        bits: usize,
    },
}

/// A certificate thumbprint as a client presented it (`x5t`, `x5t#S256`
/// or `kid`), decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thumbprint {
    /// SHA-1 (`x5t`).
    Sha1([u8; 20]),
    /// SHA-256 (`x5t#S256`).
    Sha256([u8; 32]),
}

impl KeyCredential {
    /// Reads one PEM certificate. The text must hold exactly one
    /// `CERTIFICATE` section and no private key.
    ///
    /// # Errors
    ///
    /// See [`CertificateError`]; also everything [`from_der`](Self::from_der) refuses.
    pub fn from_pem(pem: &[u8]) -> Result<KeyCredential, CertificateError> {
        let mut certificates = Vec::new();
        for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem) {
            match section.map_err(|e| CertificateError::Pem(e.to_string()))? {
                (SectionKind::Certificate, der) => certificates.push(der),
                (
                    SectionKind::PrivateKey
                    | SectionKind::RsaPrivateKey
                    | SectionKind::EcPrivateKey,
                    _,
                ) => {
                    return Err(CertificateError::PrivateKey);
                }
                _ => {}
            }
        }
        match certificates.as_slice() {
            [] => Err(CertificateError::NoCertificate),
            [der] => KeyCredential::from_der(der),
            more => Err(CertificateError::SeveralCertificates { count: more.len() }),
        }
    }

    /// Reads a DER certificate: its validity, its RSA public key (at least
    /// 2048 bits) and its thumbprints.
    ///
    /// # Errors
    ///
    /// Not a certificate, not RSA, a key under 2048 bits, or a validity
    /// window that ends before it starts.
    pub fn from_der(certificate: &[u8]) -> Result<KeyCredential, CertificateError> {
        let (not_before, not_after) =
            der::certificate_validity(certificate).ok_or(CertificateError::NotACertificate)?;
        let public_key =
            der::certificate_public_key(certificate).ok_or(CertificateError::NotACertificate)?;
        let key_bits = PublicEncryptingKey::from_der(public_key)
            .map_err(|_| CertificateError::NotRsa)?
            .key_size_bits();
        if key_bits < MIN_RSA_BITS {
            return Err(CertificateError::WeakKey { bits: key_bits });
        }
        if not_after < not_before {
            return Err(CertificateError::Validity {
                not_before,
                not_after,
            });
        }
        let mut sha1 = [0u8; 20];
        sha1.copy_from_slice(
            digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, certificate).as_ref(),
        );
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(digest::digest(&digest::SHA256, certificate).as_ref());
        Ok(KeyCredential {
            display_name: None,
            sha1,
            sha256,
            not_before,
            not_after,
            key_bits,
            public_key: public_key.to_vec(),
        })
    }

    /// `x5t`: base64url (no padding) of the SHA-1 thumbprint.
    pub fn x5t(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.sha1)
    }

    /// `x5t#S256`: base64url (no padding) of the SHA-256 thumbprint.
    pub fn x5t_s256(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.sha256)
    }

    /// The SHA-1 thumbprint in upper-case hex, as Entra's portal shows it
    /// (and as MSAL's `thumbprint` option takes it).
    pub fn thumbprint_hex(&self) -> String {
        hex(&self.sha1)
    }

    /// Whether `thumbprint` names this certificate.
    pub fn matches(&self, thumbprint: &Thumbprint) -> bool {
        match thumbprint {
            Thumbprint::Sha1(sha1) => *sha1 == self.sha1,
            Thumbprint::Sha256(sha256) => *sha256 == self.sha256,
        }
    }
}

impl Thumbprint {
    /// Decodes a thumbprint as clients send it: base64url or base64, padded
    /// or not (MSAL Python pads, msal-node does not), or hex (a `kid` often
    /// is); 20 bytes are SHA-1, 32 bytes SHA-256.
    pub fn decode(text: &str) -> Option<Thumbprint> {
        let is_hex = matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit());
        let bytes = if is_hex {
            (0..text.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
                .collect::<Option<Vec<u8>>>()?
        } else {
            [URL_SAFE_NO_PAD, URL_SAFE, STANDARD_NO_PAD, STANDARD]
                .iter()
                .find_map(|engine| engine.decode(text).ok())?
        };
        if let Ok(sha1) = <[u8; 20]>::try_from(bytes.as_slice()) {
            return Some(Thumbprint::Sha1(sha1));
        }
        <[u8; 32]>::try_from(bytes.as_slice())
            .ok()
            .map(Thumbprint::Sha256)
    }
}

impl fmt::Display for Thumbprint {
    /// Upper-case hex, as Entra's messages and portal show thumbprints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Thumbprint::Sha1(sha1) => f.write_str(&hex(sha1)),
            Thumbprint::Sha256(sha256) => write!(f, "{} (SHA-256)", hex(sha256)),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The shortest RSA key accepted, as for the provider's own signing keys.
const MIN_RSA_BITS: usize = 2048;

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate(
        algorithm: &'static rcgen::SignatureAlgorithm,
    ) -> (rcgen::Certificate, rcgen::KeyPair) {
        let key = rcgen::KeyPair::generate_for(algorithm).unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["daemon".to_owned()]).unwrap();
        crate::tls::set_validity(&mut params, 1_700_000_000, 1_800_000_000);
        (params.self_signed(&key).unwrap(), key)
    }

    #[test]
    fn reads_an_rsa_certificate() {
        let (cert, _) = certificate(&rcgen::PKCS_RSA_SHA256);
        let credential = KeyCredential::from_pem(cert.pem().as_bytes()).unwrap();
        assert_eq!(credential.key_bits, 2048);
        assert!(
            credential.not_before <= 1_700_000_000
                && credential.not_after >= 1_800_000_000 - 86_400
        );
        let sha1 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, cert.der());
        assert_eq!(credential.sha1.as_slice(), sha1.as_ref());
        assert_eq!(credential.thumbprint_hex().len(), 40);
        // Every way clients write the thumbprint finds it.
        for text in [
            credential.x5t(),
            URL_SAFE.encode(credential.sha1),
            STANDARD.encode(credential.sha1),
            credential.thumbprint_hex(),
            credential.thumbprint_hex().to_lowercase(),
        ] {
            assert!(
                credential.matches(&Thumbprint::decode(&text).unwrap()),
                "{text}"
            );
        }
        let s256 = Thumbprint::decode(&credential.x5t_s256()).unwrap();
        assert!(credential.matches(&s256));
        assert!(matches!(s256, Thumbprint::Sha256(_)));
        assert_eq!(Thumbprint::decode("not a thumbprint"), None);
        assert_eq!(Thumbprint::decode(&URL_SAFE_NO_PAD.encode([1u8; 16])), None);
    }

    #[test]
    fn refuses_what_cannot_be_a_credential() {
        let (ec, ec_key) = certificate(&rcgen::PKCS_ECDSA_P256_SHA256);
        assert_eq!(
            KeyCredential::from_pem(ec.pem().as_bytes()),
            Err(CertificateError::NotRsa)
        );
        let (rsa, _) = certificate(&rcgen::PKCS_RSA_SHA256);
        let two = format!("{}{}", rsa.pem(), ec.pem());
        assert_eq!(
            KeyCredential::from_pem(two.as_bytes()),
            Err(CertificateError::SeveralCertificates { count: 2 })
        );
        let with_key = format!("{}{}", rsa.pem(), ec_key.serialize_pem());
        assert_eq!(
            KeyCredential::from_pem(with_key.as_bytes()),
            Err(CertificateError::PrivateKey)
        );
        assert_eq!(
            KeyCredential::from_pem(b"no pem here"),
            Err(CertificateError::NoCertificate)
        );
        assert_eq!(
            KeyCredential::from_der(&rsa.der()[..40]),
            Err(CertificateError::NotACertificate)
        );
    }
}
