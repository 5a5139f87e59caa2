//! JWS signature algorithms (RFC 7518 §3) and the allow-list.
//!
//! # Security
//! Only asymmetric algorithms exist in [`Algorithm`]. `none` and the HMAC
//! family (`HS256`, `HS384`, `HS512`) cannot be represented, so they can
//! never be accepted with a public key (RFC 8725 §2.1, §3.1).

use std::fmt;

/// An asymmetric JWS algorithm. Variants are listed alphabetically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// EdDSA over Ed25519 (RFC 8037).
    EdDsa,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// ECDSA P-384 with SHA-384.
    Es384,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512.
    Ps512,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (the only algorithm Entra uses).
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 9] = [
        Algorithm::EdDsa,
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::Ps256,
        Algorithm::Ps384,
        Algorithm::Ps512,
        Algorithm::Rs256,
        Algorithm::Rs384,
        Algorithm::Rs512,
    ];

    /// Parses a JOSE `alg` value. `none` and HMAC algorithms yield `None`.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The JOSE name (`RS256`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::EdDsa => "EdDSA",
            Algorithm::Es256 => "ES256",
            Algorithm::Es384 => "ES384",
            Algorithm::Ps256 => "PS256",
            Algorithm::Ps384 => "PS384",
            Algorithm::Ps512 => "PS512",
            Algorithm::Rs256 => "RS256",
            Algorithm::Rs384 => "RS384",
            Algorithm::Rs512 => "RS512",
        }
    }

    /// The JWK key type (`kty`) this algorithm needs.
    pub fn key_type(self) -> &'static str {
        match self {
            Algorithm::EdDsa => "OKP",
            Algorithm::Es256 | Algorithm::Es384 => "EC",
            _ => "RSA",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The algorithms a validator accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgorithmPolicy {
    allowed: Vec<Algorithm>,
}

impl AlgorithmPolicy {
    /// Entra ID signs every token with RS256: nothing else is accepted.
    pub fn entra() -> Self {
        Self {
            allowed: vec![Algorithm::Rs256],
        }
    }

    /// A generic OpenID Connect issuer: RS/PS 256-512, ES256, ES384, EdDSA.
    pub fn oidc() -> Self {
        Self {
            allowed: Algorithm::ALL.to_vec(),
        }
    }

    /// Exactly the given algorithms.
    pub fn only(algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        let mut allowed: Vec<Algorithm> = algorithms.into_iter().collect();
        allowed.sort();
        allowed.dedup();
        Self { allowed }
    }

    /// Whether `alg` is allowed.
    pub fn allows(&self, alg: Algorithm) -> bool {
        self.allowed.contains(&alg)
    }

    /// The allowed algorithms, sorted.
    pub fn allowed(&self) -> &[Algorithm] {
        &self.allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
        }
    }

    #[test]
    fn none_and_hmac_are_not_algorithms() {
        for name in [
            "none", "None", "NONE", "HS256", "HS384", "HS512", "rs256", "",
        ] {
            assert_eq!(Algorithm::from_name(name), None, "{name}");
        }
    }

    #[test]
    fn entra_is_rs256_only() {
        let p = AlgorithmPolicy::entra();
        assert!(p.allows(Algorithm::Rs256));
        assert!(!p.allows(Algorithm::Ps256));
        assert!(!p.allows(Algorithm::Es256));
    }
}
