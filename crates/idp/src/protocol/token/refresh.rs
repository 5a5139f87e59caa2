//! The refresh token grant (RFC 6749 §6): rotation on every use, family
//! revocation on reuse, SPA families with a fixed lifetime.

use crate::directory::Tenants;
use crate::protocol::Provider;
use crate::protocol::errors::{OAuthError, server_error};
use crate::protocol::response::TokenResponse;
use crate::protocol::scope::ScopeSet;
use crate::protocol::tenancy::Authority;
use crate::protocol::tokens::ClientAuth;
use crate::secret::{digest, is_guid};

use super::TokenRequest;
use super::client_auth::{Credential, authenticate};
use super::issue::{Continuation, Family, UserGrant, issue_user_tokens};

/// A refresh is checked completely (client, expiry, scopes, resource,
/// consent) and its tokens are signed **before** the presented token is
/// rotated; the rotation is one transaction, so a refused request leaves
/// the presented token valid and only a success consumes it.
pub(super) async fn refresh_token(
    p: &Provider,
    tenants: &Tenants,
    at: Authority<'_>,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let presented = req.require("refresh_token")?;
    let old_digest = digest(presented);
    let record = p
        .store
        .refresh(&old_digest)
        .await
        .map_err(server_error)?
        .ok_or_else(OAuthError::expired_grant)?;
    let credential = if record.spa {
        if req.origin.is_none() {
            return Err(OAuthError::spa_not_cross_origin());
        }
        Credential::Forbidden
    } else {
        // A stored value this version does not know: refuse rather than
        // guess a weaker requirement.
        let Some(auth) = ClientAuth::parse(&record.client_auth) else {
            tracing::error!(family = %record.family_id, "refresh family with an unknown client authentication; refused");
            return Err(OAuthError::expired_grant());
        };
        Credential::AsFamily(auth)
    };
    let (dir, user) = tenants
        .user(&record.user_id)
        .ok_or_else(OAuthError::expired_grant)?;
    let caller = authenticate(p, dir, req, credential).await?;
    at.admit(dir, user, &caller.app.app_id)?;
    if caller.app.app_id != record.client_id {
        return Err(OAuthError::refresh_token_of_another_client());
    }
    let now = p.now();
    if record.expires_at < now {
        return Err(if record.spa {
            OAuthError::spa_refresh_token_expired()
        } else {
            OAuthError::refresh_token_inactive()
        });
    }
    let mut scopes = ScopeSet::parse(
        req.get("scope").unwrap_or("openid profile offline_access"),
        dir,
    )?;
    if scopes.resources.is_empty() {
        // No resource scope: the refresh continues the family's resource.
        // Entra refuses that for a self-request whose resource was named
        // by App ID URI (AADSTS90009, spec §7 "Self-requests").
        if let Some(resource) = dir.resource(&record.resource)
            && resource.app_id == record.client_id
            && !is_guid(&record.resource)
        {
            return Err(OAuthError::self_request_by_uri(
                &resource.app_id,
                &resource.display_name,
            ));
        }
        scopes.add_all(&record.scope, dir)?;
    }
    let family = Family::continuing(&record);
    issue_user_tokens(
        p,
        req,
        UserGrant {
            dir,
            caller,
            user,
            scopes: &scopes,
            nonce: None,
            continuation: Continuation::Rotate {
                presented: old_digest,
                family,
            },
            now,
        },
    )
    .await
}
