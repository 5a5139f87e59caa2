//! The authorization code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636):
//! redemption rules per redirect URI platform (SPA, native, web).

use crate::directory::{RedirectKind, Tenants, admin_portal};
use crate::protocol::Provider;
use crate::protocol::errors::{OAuthError, server_error};
use crate::protocol::response::TokenResponse;
use crate::protocol::scope::ScopeSet;
use crate::protocol::tenancy::Authority;
use crate::secret::{digest, random_token};
use crate::store::CodeRedemption;

use super::client_auth::{Credential, authenticate};
use super::issue::{Continuation, Family, UserGrant, issue_user_tokens};
use super::{TokenRequest, unknown_client};

pub(super) async fn redeem(
    p: &Provider,
    tenants: &Tenants,
    at: Authority<'_>,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let code = req.require("code")?;
    let redirect_uri = req.require("redirect_uri")?;
    let client_id = req.client_id()?;
    let client_dir = at.client_directory(tenants, client_id)?;
    let app = client_dir
        .client(client_id)
        .ok_or_else(|| unknown_client(client_id, client_dir))?;
    // The admin portal's redirect URI is its page on our own origin, and
    // only a page of that origin may redeem its codes.
    let kind = if admin_portal::is_portal(&app.app_id) {
        let own = req.issuer.origin.as_str();
        req.origin
            .as_deref()
            .filter(|origin| origin.eq_ignore_ascii_case(own))
            .filter(|_| admin_portal::is_redirect_uri(client_dir, own, redirect_uri))
            .map(|_| RedirectKind::Spa)
    } else {
        app.redirect_kind(redirect_uri)
    };
    // SPA rules (spec §8): cross-origin only, PKCE required, no secret.
    let credential = match (kind, req.origin.is_some()) {
        (Some(RedirectKind::Spa), false) => {
            return Err(OAuthError::spa_not_cross_origin());
        }
        (Some(RedirectKind::Spa), true) => Credential::Forbidden,
        (_, true) => {
            return Err(OAuthError::cross_origin_not_spa());
        }
        (Some(RedirectKind::PublicClient), false) => Credential::Optional,
        (Some(RedirectKind::Web) | None, false) => Credential::Required,
    };
    let caller = authenticate(p, client_dir, req, credential).await?;
    let family_id = random_token(16);
    let stored = match p
        .store
        .take_code(&digest(code), &family_id)
        .await
        .map_err(server_error)?
    {
        CodeRedemption::Redeemed(stored) => *stored,
        CodeRedemption::Replayed { family_id } => {
            // RFC 6749 §4.1.2: a replayed code revokes what it issued.
            if let Some(family_id) = family_id {
                p.store
                    .revoke_family(&family_id)
                    .await
                    .map_err(server_error)?;
                tracing::warn!(client = %caller.app.app_id, "authorization code replayed; the refresh tokens issued from it are revoked");
            }
            return Err(OAuthError::code_redeemed());
        }
        CodeRedemption::Unknown => return Err(OAuthError::code_redeemed()),
    };
    let now = p.now();
    let (home, user) = tenants
        .user(&stored.user_id)
        .ok_or_else(OAuthError::code_user_gone)?;
    if stored.client_id != caller.app.app_id {
        return Err(OAuthError::code_of_another_client());
    }
    if stored.redirect_uri != redirect_uri {
        return Err(OAuthError::redirect_uri_changed());
    }
    if !stored.tenant_path.eq_ignore_ascii_case(&req.tenant_segment)
        && !home.is_tenant(&req.tenant_segment)
    {
        return Err(OAuthError::code_of_another_tenant());
    }
    if stored.expires_at < now {
        return Err(OAuthError::code_expired());
    }
    match (&stored.code_challenge, req.get("code_verifier")) {
        (Some((challenge, method)), Some(verifier)) => {
            crate::protocol::pkce::verify(challenge, method, verifier)?
        }
        (Some(_), None) => {
            return Err(OAuthError::code_verifier_mismatch());
        }
        (None, _) if kind == Some(RedirectKind::Spa) => {
            return Err(OAuthError::pkce_required_cross_origin());
        }
        (None, Some(_)) => {
            // PKCE downgrade (RFC 9700 §2.1.1): a verifier for a code that
            // was issued without a challenge proves nothing.
            return Err(OAuthError::code_verifier_without_challenge());
        }
        (None, None) => {}
    }
    let requested = req.get("scope").unwrap_or(&stored.scope);
    if requested.trim().is_empty() {
        return Err(OAuthError::empty_scope());
    }
    let scopes = ScopeSet::parse(requested, home)?;
    let mut family = Family::new(
        caller.app,
        user,
        Some(stored.session_id.clone()),
        now,
        kind == Some(RedirectKind::Spa),
        family_id,
    );
    family.auth_time = stored.auth_time;
    issue_user_tokens(
        p,
        req,
        UserGrant {
            dir: home,
            caller,
            user,
            scopes: &scopes,
            nonce: stored.nonce.clone(),
            continuation: Continuation::Start(family),
            now,
        },
    )
    .await
}
