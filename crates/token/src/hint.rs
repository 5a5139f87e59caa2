//! Hints: what to change so that a refused token would be accepted.
//!
//! Each hint names the portal or manifest setting where one exists.

use crate::error::ValidationError;
use crate::id::is_guid;
use crate::issuer::TokenVersion;

/// Microsoft Graph's application id and identifier URIs.
const GRAPH: [&str; 3] = [
    "00000003-0000-0000-c000-000000000000",
    "https://graph.microsoft.com",
    "https://graph.microsoft.com/",
];

pub(crate) fn for_error(error: &ValidationError) -> String {
    match error {
        ValidationError::AlgorithmNotAllowed { alg, .. } if alg.eq_ignore_ascii_case("none") => {
            "unsigned tokens are never accepted; obtain a signed access token from the authority".to_owned()
        }
        ValidationError::AlgorithmNotAllowed { alg, .. } if alg.starts_with("HS") => {
            "HMAC-signed tokens are never accepted: an API verifies with the authority's public keys, so a shared-secret signature proves nothing".to_owned()
        }
        ValidationError::AlgorithmNotAllowed { .. } => {
            "the token was signed with an algorithm this API does not allow; Entra signs with RS256 (for other issuers, widen the allow-list in the validator configuration)".to_owned()
        }
        ValidationError::Encrypted => {
            "send a signed (JWS) access token; if the authority encrypts tokens, decrypt them before validation".to_owned()
        }
        ValidationError::IdToken { audience, .. } => format!(
            "send an access token instead: have the client request a token for the API (scope api://{id}/.default, or a named scope such as api://{id}/access_as_user; when the client and the API are one app registration, write it with the client id: {id}/.default) and put that in the Authorization header; the ID token only tells the client who signed in",
            id = api_id(audience),
        ),
        ValidationError::InvalidAudience { found, expected } => audience_hint(found, expected),
        ValidationError::InvalidClaimType { claim, .. } => format!(
            "the issuer wrote \"{claim}\" with the wrong JSON type; tokens from Entra never do this, so the token was likely forged or built by hand"
        ),
        ValidationError::InvalidIssuer { found, expected } => issuer_hint(found, expected),
        ValidationError::InvalidSignature { .. } => {
            "the token was altered after signing, or signed by a different authority than the one configured; obtain a fresh token from the configured authority".to_owned()
        }
        ValidationError::KeyIssuerMismatch { .. } => {
            "the key that signed this token may only sign tokens of another issuer (the JWKS key's \"issuer\" member); the token is not from the tenant it claims".to_owned()
        }
        ValidationError::KeyNotFound { .. } => {
            "the token was signed by a key the authority does not publish: it comes from another authority or tenant (check the configured authority), from an app with custom signing keys (configure the app id for keys?appid=), or the key was retired".to_owned()
        }
        ValidationError::KeyTypeMismatch { .. } => {
            "the token's \"alg\" does not fit the key it names; the token was likely forged (algorithm confusion)".to_owned()
        }
        ValidationError::KeysUnavailable { .. } => {
            "check that the authority URL is right and reachable from this host (its /.well-known/openid-configuration and jwks_uri); cached keys are used when a refresh fails".to_owned()
        }
        ValidationError::Malformed { .. } => {
            "send the raw compact token (three base64url segments separated by dots) with no quotes, spaces or 'Bearer ' prefix inside it".to_owned()
        }
        ValidationError::MissingClaim { claim: "tid" } => {
            "Entra tokens always carry \"tid\"; without it the tenant cannot be checked. Use a token issued by Entra (or configure a generic OIDC issuer)".to_owned()
        }
        ValidationError::MissingClaim { claim } => format!("the issuer must include \"{claim}\" in access tokens"),
        ValidationError::NotAnAccessToken { .. } => {
            "send an OAuth access token issued for this API; tokens that name no calling client (azp/appid) are not accepted".to_owned()
        }
        ValidationError::DelegatedWithoutScope => {
            "request a delegated scope of the API (api://<api-client-id>/<scope>, exposed under Expose an API) when signing the user in; app roles alone do not make a user token".to_owned()
        }
        ValidationError::NoPermissions => {
            "the token grants nothing: expose a scope (Expose an API) and request it as a delegated permission, or define app roles and assign them (Users and groups) or grant them as application permissions with admin consent".to_owned()
        }
        ValidationError::Expired { .. } => {
            "acquire a new token (MSAL's acquireTokenSilent refreshes it); if the token looks fresh, check this host's clock".to_owned()
        }
        ValidationError::NotYetValid { .. } => {
            "the token is from the future: check the clocks of this host and of the issuer".to_owned()
        }
        ValidationError::TenantMismatch { .. } => {
            "the token's tid and iss name different tenants; such a token was not issued by Entra".to_owned()
        }
        ValidationError::TenantNotAllowed { tid, .. } => format!(
            "add tenant {tid} to the allowed tenants if its users should call this API; otherwise the refusal is correct"
        ),
        ValidationError::TooLarge { .. } => {
            "access tokens are normally under 8 KiB; a token this large usually lists very many groups or roles (Entra lists up to 200 groups, then switches to a small overage claim) or is not a token at all (raise the limit only if you expect it)".to_owned()
        }
        ValidationError::UnsupportedCritical { .. } => {
            "the issuer uses a JWS extension this API cannot process; ask for tokens without \"crit\" headers".to_owned()
        }
        ValidationError::VersionNotAccepted { found, .. } => match found {
            TokenVersion::V1 => "the API's app registration issues v1.0 tokens: set \"requestedAccessTokenVersion\": 2 in its manifest (api section), or accept v1.0 tokens in the validator".to_owned(),
            TokenVersion::V2 => "accept v2.0 tokens in the validator, or set \"requestedAccessTokenVersion\": 1 in the API's manifest".to_owned(),
        },
        ValidationError::WeakKey { .. } => {
            "the authority publishes an RSA key shorter than 2048 bits; such keys are refused (RFC 8725 §3.5)".to_owned()
        }
    }
}

fn api_id(audience: &str) -> &str {
    audience.strip_prefix("api://").unwrap_or(audience)
}

fn audience_hint(found: &[String], expected: &[String]) -> String {
    let wanted = expected
        .iter()
        .find(|e| is_guid(e))
        .or_else(|| expected.first())
        .map_or("<api-client-id>", String::as_str);
    let scope = if wanted.contains("://") {
        format!("{wanted}/.default")
    } else {
        format!("api://{wanted}/.default")
    };
    if found.iter().any(|f| GRAPH.contains(&f.as_str())) {
        return format!(
            "this token was issued for Microsoft Graph, not for this API: request a token for the API instead (scope {scope}); Graph scopes such as User.Read never produce tokens for your API"
        );
    }
    for f in found {
        if let Some(e) = expected
            .iter()
            .find(|e| e.trim_end_matches('/') == f.trim_end_matches('/'))
        {
            return format!(
                "the audience differs only by a trailing slash ({f:?} vs {e:?}); v1.0 tokens carry the App ID URI exactly as the client wrote the scope — request {scope} or add {f:?} to the accepted audiences"
            );
        }
        if let Some(guid) = f.strip_prefix("api://").filter(|g| is_guid(g))
            && !expected.iter().any(|e| e == guid)
        {
            return format!(
                "the token is for App ID URI {f} (application {guid}), a different API; request {scope}"
            );
        }
        if expected.iter().any(|e| e.strip_prefix("api://") == Some(f)) {
            return format!(
                "audience {f} is the client id of the configured App ID URI: add {f} to the accepted audiences (v2.0 tokens always carry the GUID)"
            );
        }
    }
    format!(
        "the token was issued for another application ({}); the client must request a token for this API (scope {scope}), and the API's App ID URI must be set under Expose an API",
        found.join(", ")
    )
}

fn issuer_hint(found: &str, expected: &[String]) -> String {
    if found.starts_with("https://sts.windows.net/")
        && expected
            .iter()
            .all(|e| !e.starts_with("https://sts.windows.net/"))
    {
        return "this is a v1.0 token (issuer sts.windows.net): set \"requestedAccessTokenVersion\": 2 in the API's manifest, or accept v1.0 issuers".to_owned();
    }
    if found.ends_with("/v2.0") && expected.iter().all(|e| !e.ends_with("/v2.0")) {
        return "this is a v2.0 token: accept the v2.0 issuer (https://login.microsoftonline.com/{tenant}/v2.0) in the validator".to_owned();
    }
    if found.contains("9188040d-6c67-4c5b-b112-36a304b66dad") {
        return "this token is for a personal Microsoft account (the consumers tenant); this API accepts work or school accounts of the configured tenant".to_owned();
    }
    "the token comes from another tenant or authority: check the configured authority and tenant, or add the tenant to the allow-list for a multi-tenant API".to_owned()
}
