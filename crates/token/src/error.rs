//! One error taxonomy.
//!
//! Every refusal has a stable [`ErrorCode`] (its string form never changes
//! and is listed in `docs/errors.md`), a message saying what was expected and
//! what arrived, and a hint naming the fix. No error ever contains the token.

use std::fmt;

use crate::algorithm::Algorithm;
use crate::issuer::TokenVersion;
use crate::keyset::KeySetError;

/// Stable machine-readable error codes. The string forms are part of the
/// public contract (HTTP bodies, CLI JSON output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `alg` is `none`, HMAC, unknown, or not in the allow-list.
    AlgorithmNotAllowed,
    /// A route that only applications may call got a delegated (user) token.
    AppOnlyRequired,
    /// A route for signed-in users got an app-only token.
    DelegatedRequired,
    /// JWE tokens are not supported.
    EncryptedToken,
    /// A route that requires group membership got a token with a groups
    /// overage: the user is in more groups than fit in a token, so it lists
    /// none.
    GroupsOverage,
    /// The token is an ID token, which APIs must refuse.
    IdTokenNotAccepted,
    /// `aud` does not name this API.
    InvalidAudience,
    /// A claim has the wrong JSON type.
    InvalidClaimType,
    /// `iss` is not an accepted issuer.
    InvalidIssuer,
    /// The signature does not verify.
    InvalidSignature,
    /// The signing key's `issuer` does not match the token's issuer.
    KeyIssuerMismatch,
    /// No key with the token's `kid` in the authority's JWKS.
    KeyNotFound,
    /// The key's type does not match `alg`.
    KeyTypeMismatch,
    /// The authority's keys could not be obtained.
    KeysUnavailable,
    /// The compact serialization is broken.
    MalformedToken,
    /// A required claim is absent.
    MissingClaim,
    /// None of the required groups.
    MissingGroup,
    /// None of the required app roles.
    MissingRole,
    /// None of the required delegated scopes.
    MissingScope,
    /// Neither a required scope nor a required app permission.
    MissingScopeOrAppPermission,
    /// Not recognisable as an access token.
    NotAnAccessToken,
    /// A route that requires group membership got a token without group
    /// claims (no `groups`, no overage).
    NoGroupsClaim,
    /// The token carries neither `scp` nor `roles`.
    NoPermissions,
    /// A token for a signed-in user (delegated) carries no `scp`: Entra
    /// puts the granted delegated scopes in every delegated token.
    DelegatedWithoutScope,
    /// `tid` disagrees with the issuer's tenant.
    TenantMismatch,
    /// The tenant is not in the allow-list.
    TenantNotAllowed,
    /// `exp` is in the past (beyond the clock skew).
    TokenExpired,
    /// `nbf` is in the future (beyond the clock skew).
    TokenNotYetValid,
    /// The token is larger than the configured maximum.
    TokenTooLarge,
    /// The token version (v1/v2) is not accepted.
    TokenVersionNotAccepted,
    /// A `crit` header names an extension we do not implement.
    UnsupportedCriticalHeader,
    /// The key is too weak (RSA under 2048 bits).
    WeakKey,
}

impl ErrorCode {
    /// Every code, in alphabetical order of its string form.
    pub const ALL: [ErrorCode; 32] = [
        ErrorCode::AlgorithmNotAllowed,
        ErrorCode::AppOnlyRequired,
        ErrorCode::DelegatedRequired,
        ErrorCode::DelegatedWithoutScope,
        ErrorCode::EncryptedToken,
        ErrorCode::GroupsOverage,
        ErrorCode::IdTokenNotAccepted,
        ErrorCode::InvalidAudience,
        ErrorCode::InvalidClaimType,
        ErrorCode::InvalidIssuer,
        ErrorCode::InvalidSignature,
        ErrorCode::KeyIssuerMismatch,
        ErrorCode::KeyNotFound,
        ErrorCode::KeyTypeMismatch,
        ErrorCode::KeysUnavailable,
        ErrorCode::MalformedToken,
        ErrorCode::MissingClaim,
        ErrorCode::MissingGroup,
        ErrorCode::MissingRole,
        ErrorCode::MissingScope,
        ErrorCode::MissingScopeOrAppPermission,
        ErrorCode::NoGroupsClaim,
        ErrorCode::NoPermissions,
        ErrorCode::NotAnAccessToken,
        ErrorCode::TenantMismatch,
        ErrorCode::TenantNotAllowed,
        ErrorCode::TokenExpired,
        ErrorCode::TokenNotYetValid,
        ErrorCode::TokenTooLarge,
        ErrorCode::TokenVersionNotAccepted,
        ErrorCode::UnsupportedCriticalHeader,
        ErrorCode::WeakKey,
    ];

    /// The stable string form.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AlgorithmNotAllowed => "algorithm_not_allowed",
            ErrorCode::AppOnlyRequired => "app_only_required",
            ErrorCode::DelegatedRequired => "delegated_required",
            ErrorCode::EncryptedToken => "encrypted_token",
            ErrorCode::GroupsOverage => "groups_overage",
            ErrorCode::IdTokenNotAccepted => "id_token_not_accepted",
            ErrorCode::InvalidAudience => "invalid_audience",
            ErrorCode::InvalidClaimType => "invalid_claim_type",
            ErrorCode::InvalidIssuer => "invalid_issuer",
            ErrorCode::InvalidSignature => "invalid_signature",
            ErrorCode::KeyIssuerMismatch => "key_issuer_mismatch",
            ErrorCode::KeyNotFound => "key_not_found",
            ErrorCode::KeyTypeMismatch => "key_type_mismatch",
            ErrorCode::KeysUnavailable => "keys_unavailable",
            ErrorCode::MalformedToken => "malformed_token",
            ErrorCode::MissingClaim => "missing_claim",
            ErrorCode::MissingGroup => "missing_group",
            ErrorCode::MissingRole => "missing_role",
            ErrorCode::MissingScope => "missing_scope",
            ErrorCode::MissingScopeOrAppPermission => "missing_scope_or_app_permission",
            ErrorCode::NoGroupsClaim => "no_groups_claim",
            ErrorCode::NoPermissions => "no_permissions",
            ErrorCode::DelegatedWithoutScope => "delegated_without_scope",
            ErrorCode::NotAnAccessToken => "not_an_access_token",
            ErrorCode::TenantMismatch => "tenant_mismatch",
            ErrorCode::TenantNotAllowed => "tenant_not_allowed",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::TokenNotYetValid => "token_not_yet_valid",
            ErrorCode::TokenTooLarge => "token_too_large",
            ErrorCode::TokenVersionNotAccepted => "token_version_not_accepted",
            ErrorCode::UnsupportedCriticalHeader => "unsupported_critical_header",
            ErrorCode::WeakKey => "weak_key",
        }
    }

    /// Parses the string form.
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Whether the failure is the server's (keys unreachable) rather than the
    /// token's: such requests deserve a 503, not a 401.
    pub fn is_server_side(self) -> bool {
        self == ErrorCode::KeysUnavailable
    }

    /// Whether the code is an authorization (403) failure rather than an
    /// authentication (401) one.
    pub fn is_authorization(self) -> bool {
        matches!(
            self,
            ErrorCode::AppOnlyRequired
                | ErrorCode::DelegatedRequired
                | ErrorCode::GroupsOverage
                | ErrorCode::MissingGroup
                | ErrorCode::MissingRole
                | ErrorCode::MissingScope
                | ErrorCode::MissingScopeOrAppPermission
                | ErrorCode::NoGroupsClaim
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which part of a compact JWS a parse error concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// The first segment.
    Header,
    /// The second segment.
    Payload,
    /// The third segment.
    Signature,
    /// The token as a whole.
    Token,
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Segment::Header => "token header (segment 1)",
            Segment::Payload => "token payload (segment 2)",
            Segment::Signature => "token signature (segment 3)",
            Segment::Token => "token",
        })
    }
}

/// Why a token was refused. See [`ValidationError::code`] for the stable code
/// and [`ValidationError::hint`] for the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// `alg` is not acceptable.
    #[error(
        "algorithm {:?} is not accepted (allowed: {})",
        clip(alg),
        list(allowed)
    )]
    AlgorithmNotAllowed {
        /// The `alg` header value.
        alg: String,
        /// The allow-list.
        allowed: Vec<Algorithm>,
    },
    /// A five-segment JWE, or a header with `enc`.
    #[error("token is encrypted (JWE); only signed tokens (JWS) are accepted")]
    Encrypted,
    /// The token is an ID token.
    #[error(
        "this is an ID token (issued to client {}), not an access token: {reason}",
        clip(audience)
    )]
    IdToken {
        /// Its `aud`, the client it was issued to.
        audience: String,
        /// Which claims gave it away.
        reason: String,
    },
    /// `aud` is wrong.
    #[error(
        "audience {} is not accepted; expected {}",
        clip(&list(found)),
        list(expected)
    )]
    InvalidAudience {
        /// The token's audiences.
        found: Vec<String>,
        /// The accepted audiences.
        expected: Vec<String>,
    },
    /// A claim of the wrong JSON type.
    #[error("claim \"{}\" must be {expected}, found {found}", clip(claim))]
    InvalidClaimType {
        /// The claim name.
        claim: String,
        /// The expected type.
        expected: &'static str,
        /// The JSON type that arrived.
        found: &'static str,
    },
    /// `iss` is not accepted.
    #[error(
        "issuer {:?} is not accepted; expected {}",
        clip(found),
        list(expected)
    )]
    InvalidIssuer {
        /// The token's `iss`.
        found: String,
        /// The accepted issuers (templates shown with `{{tenantid}}`).
        expected: Vec<String>,
    },
    /// The signature does not verify with the key.
    #[error("signature does not verify with key {:?} ({alg})", clip(kid))]
    InvalidSignature {
        /// The key id used.
        kid: String,
        /// The algorithm used.
        alg: Algorithm,
    },
    /// The key's `issuer` member does not match the token.
    #[error(
        "signing key {:?} belongs to issuer {:?}, but the token says {:?}",
        clip(kid),
        clip(key_issuer),
        clip(token_issuer)
    )]
    KeyIssuerMismatch {
        /// The key id.
        kid: String,
        /// The key's `issuer` after substituting the token's tenant.
        key_issuer: String,
        /// The token's `iss`.
        token_issuer: String,
    },
    /// No key with that `kid`.
    #[error("no signing key {} in the authority's key set ({known} keys known: {})", kid.as_deref().map_or_else(|| "(token has no kid)".to_owned(), |k| format!("{:?}", clip(k))), list(known_kids))]
    KeyNotFound {
        /// The token's `kid`.
        kid: Option<String>,
        /// How many keys the set has.
        known: usize,
        /// Up to a few known key ids.
        known_kids: Vec<String>,
    },
    /// The key cannot be used with `alg`.
    #[error("key {:?} is of type {kty}, which cannot verify {alg}", clip(kid))]
    KeyTypeMismatch {
        /// The key id.
        kid: String,
        /// The key's `kty`/curve.
        kty: String,
        /// The token's algorithm.
        alg: Algorithm,
    },
    /// Keys could not be obtained from the authority.
    #[error("signing keys are unavailable: {reason}")]
    KeysUnavailable {
        /// What went wrong with discovery or the JWKS.
        reason: KeySetError,
    },
    /// A broken compact serialization.
    #[error("malformed {segment}: {detail}")]
    Malformed {
        /// Which segment.
        segment: Segment,
        /// What is wrong with it.
        detail: String,
    },
    /// A required claim is missing.
    #[error("required claim \"{claim}\" is missing")]
    MissingClaim {
        /// The claim name.
        claim: &'static str,
    },
    /// Unclassifiable token.
    #[error("token is not recognisable as an access token: {reason}")]
    NotAnAccessToken {
        /// What was looked for.
        reason: String,
    },
    /// Neither `scp` nor `roles`.
    #[error("token carries neither a \"scp\" (delegated scopes) nor a \"roles\" (app roles) claim")]
    NoPermissions,
    /// A delegated (user) token without `scp`.
    #[error(
        "token names a signed-in user but carries no \"scp\" claim: every delegated token Entra issues lists its granted scopes, and a user token must not pass on roles alone"
    )]
    DelegatedWithoutScope,
    /// Expired.
    #[error("token expired {}s ago (exp {exp}, now {now}, clock skew {skew}s)", now - exp)]
    Expired {
        /// `exp`.
        exp: i64,
        /// The validator's clock.
        now: i64,
        /// Allowed clock skew in seconds.
        skew: i64,
    },
    /// Not valid yet.
    #[error("token is not valid for another {}s (nbf {nbf}, now {now}, clock skew {skew}s)", nbf - now)]
    NotYetValid {
        /// `nbf`.
        nbf: i64,
        /// The validator's clock.
        now: i64,
        /// Allowed clock skew in seconds.
        skew: i64,
    },
    /// `tid` disagrees with `iss`.
    #[error(
        "tenant {:?} does not match the issuer's tenant ({:?})",
        clip(tid),
        clip(issuer)
    )]
    TenantMismatch {
        /// The token's `tid`.
        tid: String,
        /// The token's `iss`.
        issuer: String,
    },
    /// Tenant not in the allow-list.
    #[error("tenant {:?} is not allowed (allowed: {})", clip(tid), list(allowed))]
    TenantNotAllowed {
        /// The token's `tid`.
        tid: String,
        /// The allow-list.
        allowed: Vec<String>,
    },
    /// Longer than the configured maximum.
    #[error("token is {len} bytes; the maximum is {max}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Unsupported `crit` extension.
    #[error(
        "header lists critical extensions this validator does not implement: {}",
        clip(&list(names))
    )]
    UnsupportedCritical {
        /// The `crit` entries.
        names: Vec<String>,
    },
    /// Version not accepted.
    #[error("{found} tokens are not accepted (accepted: {})", list(accepted))]
    VersionNotAccepted {
        /// The token's version.
        found: TokenVersion,
        /// The accepted versions.
        accepted: Vec<TokenVersion>,
    },
    /// RSA key too short.
    #[error(
        "key {:?} is a {bits}-bit RSA key; at least 2048 bits are required",
        clip(kid)
    )]
    WeakKey {
        /// The key id.
        kid: String,
        /// Its modulus size.
        bits: usize,
    },
}

impl ValidationError {
    /// The stable error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            ValidationError::AlgorithmNotAllowed { .. } => ErrorCode::AlgorithmNotAllowed,
            ValidationError::Encrypted => ErrorCode::EncryptedToken,
            ValidationError::IdToken { .. } => ErrorCode::IdTokenNotAccepted,
            ValidationError::InvalidAudience { .. } => ErrorCode::InvalidAudience,
            ValidationError::InvalidClaimType { .. } => ErrorCode::InvalidClaimType,
            ValidationError::InvalidIssuer { .. } => ErrorCode::InvalidIssuer,
            ValidationError::InvalidSignature { .. } => ErrorCode::InvalidSignature,
            ValidationError::KeyIssuerMismatch { .. } => ErrorCode::KeyIssuerMismatch,
            ValidationError::KeyNotFound { .. } => ErrorCode::KeyNotFound,
            ValidationError::KeyTypeMismatch { .. } => ErrorCode::KeyTypeMismatch,
            ValidationError::KeysUnavailable { .. } => ErrorCode::KeysUnavailable,
            ValidationError::Malformed { .. } => ErrorCode::MalformedToken,
            ValidationError::MissingClaim { .. } => ErrorCode::MissingClaim,
            ValidationError::NotAnAccessToken { .. } => ErrorCode::NotAnAccessToken,
            ValidationError::NoPermissions => ErrorCode::NoPermissions,
            ValidationError::DelegatedWithoutScope => ErrorCode::DelegatedWithoutScope,
            ValidationError::Expired { .. } => ErrorCode::TokenExpired,
            ValidationError::NotYetValid { .. } => ErrorCode::TokenNotYetValid,
            ValidationError::TenantMismatch { .. } => ErrorCode::TenantMismatch,
            ValidationError::TenantNotAllowed { .. } => ErrorCode::TenantNotAllowed,
            ValidationError::TooLarge { .. } => ErrorCode::TokenTooLarge,
            ValidationError::UnsupportedCritical { .. } => ErrorCode::UnsupportedCriticalHeader,
            ValidationError::VersionNotAccepted { .. } => ErrorCode::TokenVersionNotAccepted,
            ValidationError::WeakKey { .. } => ErrorCode::WeakKey,
        }
    }

    /// What the caller (or the API's owner) should do about it.
    pub fn hint(&self) -> String {
        crate::hint::for_error(self)
    }
}

/// Why a JSON document (a token's header or payload, a key set, a
/// discovery document) was refused: JSON that is not RFC 8259 text, or that
/// is valid JSON but not what JOSE needs (an object, without duplicate
/// member names, nesting no deeper than the limit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The same member name appears twice in one object (RFC 7515 §5.2 and
    /// RFC 8725 §3.9 leave that to the implementation; it is refused).
    #[error("duplicate member name {0}")]
    DuplicateMember(String),
    /// The document is valid JSON but not an object.
    #[error("expected a JSON object, found {0}")]
    NotAnObject(&'static str),
    /// The document is not valid JSON.
    #[error("invalid JSON: {0}")]
    Syntax(String),
    /// Objects or arrays nest deeper than allowed.
    #[error("objects and arrays nest deeper than {0} levels")]
    TooDeep(usize),
}

/// Shortens a value the token's author controls, so that messages stay
/// readable and bounded whatever the token says.
pub(crate) fn clip(value: &str) -> String {
    const MAX: usize = 120;
    if value.chars().count() <= MAX {
        return value.to_owned();
    }
    let kept: String = value.chars().take(MAX).collect();
    format!("{kept}…")
}

pub(crate) fn list<T: fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "(none)".to_owned();
    }
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_sorted() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_name(code.as_str()), Some(code));
        }
        let names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }

    #[test]
    fn attacker_controlled_values_are_clipped() {
        let e = ValidationError::InvalidIssuer {
            found: "x".repeat(5000),
            expected: vec!["https://i".into()],
        };
        assert!(e.to_string().len() < 300, "{}", e.to_string().len());
    }

    #[test]
    fn messages_say_expected_and_found() {
        let e = ValidationError::Expired {
            exp: 1_718_000_000,
            now: 1_718_000_393,
            skew: 300,
        };
        assert_eq!(
            e.to_string(),
            "token expired 393s ago (exp 1718000000, now 1718000393, clock skew 300s)"
        );
        let e = ValidationError::InvalidAudience {
            found: vec!["https://graph.microsoft.com".into()],
            expected: vec!["api://x".into(), "x".into()],
        };
        assert_eq!(
            e.to_string(),
            "audience https://graph.microsoft.com is not accepted; expected api://x, x"
        );
    }
}
