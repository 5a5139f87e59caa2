//! `token get --client-certificate`: authenticate with a client assertion
//! signed by a certificate's private key (`private_key_jwt`, RFC 7523 §2.2),
//! as Entra's certificate credentials and `rolegate idp` take it.
//!
//! Each token request gets a fresh assertion, signed the way msal-node
//! signs by default: `alg` RS256 with `x5t` (base64url SHA-1 of the
//! certificate), `iss` = `sub` = the client id, `aud` = the token endpoint,
//! a random GUID `jti`, `nbf` = `iat` = now, `exp` = now + 10 minutes.
//!
//! The private key is never printed; `Debug` redacts it.

use std::fmt;
use std::path::Path;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::PublicKey;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rolegate_idp::directory::certificate::KeyCredential;
use rustls::pki_types::pem::{PemObject, SectionKind};
use serde_json::json;

use crate::exit::Failure;

/// A certificate registered on the client app and its private key.
pub struct ClientCertificate {
    key: RsaKeyPair,
    credential: KeyCredential,
}

impl ClientCertificate {
    /// Reads the certificate from `certificate` and the private key from
    /// `key`, or from the same file when `key` is `None`, and checks that
    /// they belong together.
    pub fn load(certificate: &Path, key: Option<&Path>) -> Result<ClientCertificate, Failure> {
        let sections = read_pem(certificate)?;
        let der = single(
            certificate,
            "certificate (-----BEGIN CERTIFICATE-----)",
            sections
                .iter()
                .filter(|(kind, _)| *kind == SectionKind::Certificate),
        )?;
        let credential = KeyCredential::from_der(der).map_err(|e| {
            Failure::Usage(format!("the certificate in {}: {e}", certificate.display()))
        })?;
        let key_path = key.unwrap_or(certificate);
        let key_sections = match key {
            Some(path) => read_pem(path)?,
            None => sections,
        };
        let keys = key_sections.iter().filter(|(kind, _)| {
            matches!(kind, SectionKind::PrivateKey | SectionKind::RsaPrivateKey)
        });
        let (kind, der) = match keys.collect::<Vec<_>>().as_slice() {
            [one] => (one.0, one.1.as_slice()),
            [] => {
                return Err(Failure::Usage(format!(
                    "{} holds no RSA private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----){}",
                    key_path.display(),
                    if key.is_none() {
                        "; name the key file with --client-key"
                    } else {
                        ""
                    }
                )));
            }
            more => {
                return Err(Failure::Usage(format!(
                    "{} holds {} private keys; keep one",
                    key_path.display(),
                    more.len()
                )));
            }
        };
        let pair = match kind {
            SectionKind::RsaPrivateKey => RsaKeyPair::from_der(der),
            _ => RsaKeyPair::from_pkcs8(der),
        }
        .map_err(|e| {
            Failure::Usage(format!(
                "the private key in {} is not a usable RSA key ({e})",
                key_path.display()
            ))
        })?;
        let certified = PublicKey::from_der(&credential.public_key)
            .is_ok_and(|public| public.as_ref() == pair.public_key().as_ref());
        if !certified {
            return Err(Failure::Usage(format!(
                "the private key in {} does not belong to the certificate in {} (thumbprint {})",
                key_path.display(),
                certificate.display(),
                credential.thumbprint_hex()
            )));
        }
        Ok(ClientCertificate {
            key: pair,
            credential,
        })
    }

    /// A fresh client assertion for `client_id` at the token endpoint
    /// `audience`, valid from `now` for 10 minutes.
    pub fn assertion(&self, client_id: &str, audience: &str, now: i64) -> Result<String, Failure> {
        let header = json!({"alg": "RS256", "typ": "JWT", "x5t": self.credential.x5t()});
        let claims = json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": guid()?,
            "nbf": now,
            "iat": now,
            "exp": now + LIFETIME,
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| Failure::Unavailable("signing the client assertion failed".to_owned()))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// The certificate's SHA-1 thumbprint, upper-case hex.
    pub fn thumbprint(&self) -> String {
        self.credential.thumbprint_hex()
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("thumbprint", &self.thumbprint())
            .field("key", &"[redacted]")
            .finish()
    }
}

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long an assertion is valid: msal-node's 10 minutes.
const LIFETIME: i64 = 600;

/// Every PEM section of the file at `path`.
fn read_pem(path: &Path) -> Result<Vec<(SectionKind, Vec<u8>)>, Failure> {
    let pem = std::fs::read(path)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    <(SectionKind, Vec<u8>)>::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::Usage(format!("{} is not valid PEM: {e}", path.display())))
}

/// The one section of a kind, or a usage error naming the file.
fn single<'a>(
    path: &Path,
    what: &str,
    mut sections: impl Iterator<Item = &'a (SectionKind, Vec<u8>)>,
) -> Result<&'a [u8], Failure> {
    match (sections.next(), sections.next()) {
        (Some((_, der)), None) => Ok(der),
        (None, _) => Err(Failure::Usage(format!(
            "{} holds no {what}",
            path.display()
        ))),
        (Some(_), Some(_)) => Err(Failure::Usage(format!(
            "{} holds more than one certificate; keep the one registered on the app",
            path.display()
        ))),
    }
}

/// A random (version 4) GUID, as MSAL makes a `jti`.
fn guid() -> Result<String, Failure> {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b)
        .map_err(|_| Failure::Unavailable("the system random generator failed".to_owned()))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        hex.get(..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..).unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    use rolegate_token::jws::{self, Limits};

    use super::*;

    fn files(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["cli".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let both = dir.join("both.pem");
        std::fs::write(&both, format!("{}{}", cert.pem(), key.serialize_pem())).unwrap();
        let only_cert = dir.join("cert.pem");
        std::fs::write(&only_cert, cert.pem()).unwrap();
        (both, only_cert, key.serialize_pem())
    }

    #[test]
    fn signs_msal_node_style_assertions() {
        let dir = std::env::temp_dir().join(format!("rolegate-cli-cert-{}", guid().unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        let (both, only_cert, key_pem) = files(&dir);
        let certificate = ClientCertificate::load(&both, None).unwrap();
        assert!(format!("{certificate:?}").contains("[redacted]"));
        let assertion = certificate
            .assertion("client", "https://login.test/t/oauth2/v2.0/token", 1_000)
            .unwrap();
        let parsed = jws::parse(&assertion, Limits::default()).unwrap();
        assert_eq!(parsed.header.alg(), "RS256");
        assert_eq!(
            parsed.header.members()["x5t"],
            certificate.credential.x5t().as_str()
        );
        assert_eq!(parsed.claims["iss"], "client");
        assert_eq!(parsed.claims["sub"], "client");
        assert_eq!(parsed.claims["exp"], 1_600);
        assert_eq!(parsed.claims["jti"].as_str().unwrap().len(), 36);
        let again = certificate.assertion("client", "aud", 1_000).unwrap();
        assert_ne!(
            jws::parse(&again, Limits::default()).unwrap().claims["jti"],
            parsed.claims["jti"]
        );

        // Without the key, and with the key in its own file.
        let missing = ClientCertificate::load(&only_cert, None).unwrap_err();
        assert!(missing.to_string().contains("--client-key"), "{missing}");
        let key_file = dir.join("key.pem");
        std::fs::write(&key_file, key_pem).unwrap();
        assert!(ClientCertificate::load(&only_cert, Some(&key_file)).is_ok());
        // A key that is not the certificate's.
        let elsewhere = dir.join("other");
        std::fs::create_dir_all(&elsewhere).unwrap();
        let (_, _, other_key) = files(&elsewhere);
        std::fs::write(&key_file, other_key).unwrap();
        let mismatch = ClientCertificate::load(&only_cert, Some(&key_file)).unwrap_err();
        assert!(
            mismatch.to_string().contains("does not belong"),
            "{mismatch}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
