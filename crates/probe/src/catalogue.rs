//! The checks as data: id, what is sent, the answer expected and the fix.
//!
//! The order is the one the probe runs them in (and the issue that defines
//! the probe lists them in); the ids are a public contract — reports and
//! scripts name checks by them.

use std::fmt;

/// One check of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CheckId {
    /// No `Authorization` header at all.
    NoToken,
    /// A v2.0 ID token of a single-page app (aud = the SPA).
    IdToken,
    /// An ID token whose `aud` is the API itself, carrying the user's roles.
    IdTokenSameRegistration,
    /// An access token for another API of the tenant.
    WrongAudience,
    /// An access token for Microsoft Graph.
    GraphAudience,
    /// A correct token from another tenant, signed by the same key.
    ForeignTenant,
    /// A token naming another authority as issuer, signed by the same key.
    WrongIssuer,
    /// A v1.0 token sent to an API registered for v2.0 tokens.
    V1TokenForV2Api,
    /// A v2.0 token sent to an API registered for v1.0 tokens.
    V2TokenForV1Api,
    /// `exp` ten minutes ago.
    Expired,
    /// `nbf` in ten minutes.
    NotYetValid,
    /// A valid token without the required role.
    MissingRole,
    /// An app-only (daemon) token without roles.
    AppOnlyWithoutRole,
    /// A user token with the required role but no `scp`.
    DelegatedWithoutScope,
    /// `alg: none`, no signature.
    AlgNone,
    /// HS256 keyed with the provider's public key.
    Hs256KeyConfusion,
    /// The signature removed.
    SignatureStripped,
    /// The payload changed after signing.
    SignatureTampered,
    /// A `kid` the JWKS does not hold (signed by another key).
    UnknownKid,
    /// `jku` pointing at the probe's own key set.
    JkuInjection,
    /// The signing key embedded in the header (`jwk`).
    JwkInjection,
    /// `x5u` pointing at the probe's own certificate.
    X5uInjection,
    /// The token in the query string (`?access_token=`).
    TokenInQuery,
    /// The scheme written `bearer`.
    LowercaseScheme,
}

/// What a check expects from a correct API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// Refusal without credentials: 401.
    Unauthorized,
    /// Refusal of the token: 401 or 403.
    Refused,
    /// An authorization failure: 403 (401 counts as a refusal too).
    Forbidden,
    /// Acceptance: 2xx.
    Accepted,
}

impl CheckId {
    /// Every check, in the order they run.
    pub const ALL: [CheckId; 24] = [
        CheckId::NoToken,
        CheckId::IdToken,
        CheckId::IdTokenSameRegistration,
        CheckId::WrongAudience,
        CheckId::GraphAudience,
        CheckId::ForeignTenant,
        CheckId::WrongIssuer,
        CheckId::V1TokenForV2Api,
        CheckId::V2TokenForV1Api,
        CheckId::Expired,
        CheckId::NotYetValid,
        CheckId::MissingRole,
        CheckId::AppOnlyWithoutRole,
        CheckId::DelegatedWithoutScope,
        CheckId::AlgNone,
        CheckId::Hs256KeyConfusion,
        CheckId::SignatureStripped,
        CheckId::SignatureTampered,
        CheckId::UnknownKid,
        CheckId::JkuInjection,
        CheckId::JwkInjection,
        CheckId::X5uInjection,
        CheckId::TokenInQuery,
        CheckId::LowercaseScheme,
    ];

    /// The id as reports print it (`id_token`, `alg_none`, …).
    pub fn as_str(self) -> &'static str {
        self.entry().0
    }

    /// The check with this id.
    pub fn parse(id: &str) -> Option<CheckId> {
        CheckId::ALL.into_iter().find(|c| c.as_str() == id)
    }

    /// What a correct API answers.
    pub fn expected(self) -> Expected {
        match self {
            CheckId::NoToken => Expected::Unauthorized,
            CheckId::MissingRole => Expected::Forbidden,
            CheckId::LowercaseScheme => Expected::Accepted,
            _ => Expected::Refused,
        }
    }

    /// The fix, in one line, for an API that accepted the request.
    pub fn fix(self) -> &'static str {
        self.entry().1
    }

    fn entry(self) -> (&'static str, &'static str) {
        match self {
            CheckId::NoToken => (
                "no_token",
                "require a bearer token on every protected route; answer 401 with `WWW-Authenticate: Bearer`",
            ),
            CheckId::IdToken => (
                "id_token",
                "refuse ID tokens: validate `aud` against your API and require `azp`/`appid` (absent from ID tokens)",
            ),
            CheckId::IdTokenSameRegistration => (
                "id_token_same_registration",
                "refuse tokens without `azp`/`appid` (ID tokens have none, even with your `aud` and roles)",
            ),
            CheckId::WrongAudience => (
                "wrong_audience",
                "validate `aud` against your client id and `api://` form",
            ),
            CheckId::GraphAudience => (
                "graph_audience",
                "validate `aud` against your client id and `api://` form (Graph tokens are not for you)",
            ),
            CheckId::ForeignTenant => (
                "foreign_tenant",
                "validate `iss` against your tenant's issuer and `tid` against your tenant id (or an allow-list)",
            ),
            CheckId::WrongIssuer => (
                "wrong_issuer",
                "validate `iss` exactly against your authority's issuer",
            ),
            CheckId::V1TokenForV2Api => (
                "v1_token_for_v2_api",
                "accept only the token version your registration requests (v2.0: `ver` 2.0, issuer `…/{tid}/v2.0`)",
            ),
            CheckId::V2TokenForV1Api => (
                "v2_token_for_v1_api",
                "accept only the token version your registration requests (v1.0: `ver` 1.0, issuer `https://sts.windows.net/{tid}/`)",
            ),
            CheckId::Expired => (
                "expired",
                "check `exp` (with at most 5 minutes of clock skew)",
            ),
            CheckId::NotYetValid => (
                "not_yet_valid",
                "check `nbf` (with at most 5 minutes of clock skew)",
            ),
            CheckId::MissingRole => (
                "missing_role",
                "check the route's required app role in `roles` and answer 403 without it",
            ),
            CheckId::AppOnlyWithoutRole => (
                "app_only_without_role",
                "require an application permission (`roles`) on app-only tokens (`idtyp` app, or no `scp` and no user)",
            ),
            CheckId::DelegatedWithoutScope => (
                "delegated_without_scope",
                "require a delegated scope (`scp`) on user tokens; treat a token as app-only only with `idtyp` app or no user claims",
            ),
            CheckId::AlgNone => (
                "alg_none",
                "allow only RS256 and always verify the signature",
            ),
            CheckId::Hs256KeyConfusion => (
                "hs256_key_confusion",
                "allow only RS256; never use a public key as an HMAC secret",
            ),
            CheckId::SignatureStripped => (
                "signature_stripped",
                "always verify the signature; refuse tokens without one",
            ),
            CheckId::SignatureTampered => (
                "signature_tampered",
                "verify the signature over header and payload before reading any claim",
            ),
            CheckId::UnknownKid => (
                "unknown_kid",
                "refuse tokens whose `kid` is not in the authority's JWKS (after one throttled refetch)",
            ),
            CheckId::JkuInjection => (
                "jku_injection",
                "ignore `jku`: take keys only from the authority's `jwks_uri`",
            ),
            CheckId::JwkInjection => (
                "jwk_injection",
                "ignore an embedded `jwk`: take keys only from the authority's `jwks_uri`",
            ),
            CheckId::X5uInjection => (
                "x5u_injection",
                "ignore `x5u`: take keys only from the authority's `jwks_uri`",
            ),
            CheckId::TokenInQuery => (
                "token_in_query",
                "read tokens only from the `Authorization` header (query strings end up in logs; RFC 6750 §2.3)",
            ),
            CheckId::LowercaseScheme => (
                "lowercase_scheme",
                "match the `Bearer` scheme case-insensitively (RFC 9110 §11.1)",
            ),
        }
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Expected {
    /// As reports print it: `401`, `401/403`, `403`, `2xx`.
    pub fn as_str(self) -> &'static str {
        match self {
            Expected::Unauthorized => "401",
            Expected::Refused => "401/403",
            Expected::Forbidden => "403",
            Expected::Accepted => "2xx",
        }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for id in CheckId::ALL {
            assert_eq!(CheckId::parse(id.as_str()), Some(id));
            assert!(seen.insert(id.as_str()), "{id} twice");
            assert!(!id.fix().is_empty());
        }
    }
}
