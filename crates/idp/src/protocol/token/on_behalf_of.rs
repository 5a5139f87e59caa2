//! The on-behalf-of grant (`urn:ietf:params:oauth:grant-type:jwt-bearer`,
//! RFC 7523 §2.1 as Entra uses it), with the check of the incoming
//! assertion against the provider's own keys.

use crate::directory::{Application, Tenants};
use crate::protocol::errors::OAuthError;
use crate::protocol::own_tokens::Audiences;
use crate::protocol::response::TokenResponse;
use crate::protocol::scope::ScopeSet;
use crate::protocol::tenancy::Authority;
use crate::protocol::{Provider, aadsts};
use crate::secret::random_token;

use super::TokenRequest;
use super::client_auth::{Credential, authenticate};
use super::issue::{Continuation, Family, UserGrant, issue_user_tokens};

/// On-behalf-of (spec §1.5): a middle-tier API exchanges the access token
/// it received (whose `aud` is the middle tier) for a token to a downstream
/// API, for the same user.
pub(super) async fn on_behalf_of(
    p: &Provider,
    tenants: &Tenants,
    at: Authority<'_>,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let client_dir = at.client_directory(tenants, req.client_id()?)?;
    let caller = authenticate(p, client_dir, req, Credential::Required).await?;
    if req.get("requested_token_use") != Some("on_behalf_of") {
        return Err(OAuthError::requested_token_use_missing());
    }
    let assertion = req.require("assertion")?;
    let principal = verify_assertion(p, tenants, req, caller.app, assertion).await?;
    if principal.is_app_only() {
        return Err(OAuthError::app_only_assertion());
    }
    let user = principal
        .object_id()
        .and_then(|oid| tenants.user(oid))
        .filter(|(home, _)| {
            principal
                .tenant_id()
                .is_some_and(|t| t.as_str() == home.tenant.id)
        })
        .ok_or_else(OAuthError::assertion_user_not_found)?;
    let (dir, user) = user;
    at.admit(dir, user, &caller.app.app_id)?;
    let scopes = ScopeSet::parse(req.require("scope")?, dir)?;
    let now = p.now();
    let family = Family::new(caller.app, user, None, now, false, random_token(16));
    let mut body = issue_user_tokens(
        p,
        req,
        UserGrant {
            dir,
            caller,
            user,
            scopes: &scopes,
            nonce: None,
            continuation: Continuation::Start(family),
            now,
        },
    )
    .await?;
    // OBO answers carry no ID token or client_info.
    body.id_token = None;
    body.client_info = None;
    Ok(body)
}

/// Validates an OBO assertion with rolegate-token against this provider's
/// own keys: it must be an access token for the calling middle tier.
async fn verify_assertion(
    p: &Provider,
    tenants: &Tenants,
    req: &TokenRequest,
    middle_tier: &Application,
    assertion: &str,
) -> Result<rolegate_token::Principal, OAuthError> {
    let audiences: Vec<String> = std::iter::once(middle_tier.app_id.clone())
        .chain(middle_tier.identifier_uris.iter().cloned())
        .collect();
    // Any served tenant's user may be the subject.
    let issuers: Vec<String> = tenants
        .iter()
        .flat_map(|d| {
            let issuer = req.issuer_in(d);
            [issuer.v2_issuer(), issuer.v1_issuer()]
        })
        .collect();
    let validator = p.own_tokens.get(p, &issuers, Audiences::Api(&audiences))?;
    validator.validate(assertion).await.map_err(|e| {
        OAuthError::invalid_grant(
            aadsts::INVALID_ASSERTION,
            format!("Assertion failed validation: {} ({}).", e, e.code()),
        )
    })
}
