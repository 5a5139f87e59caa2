//! The authorization code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636):
//! redemption rules per redirect URI platform (SPA, native, web).

use crate::directory::{RedirectKind, Tenants};
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
        .application(client_id)
        .ok_or_else(|| unknown_client(client_id, client_dir))?;
    let kind = app.redirect_kind(redirect_uri);
    // SPA rules (spec §8): cross-origin only, PKCE required, no secret.
    let credential = match (kind, req.origin.is_some()) {
        (Some(RedirectKind::Spa), false) => {
            return Err(OAuthError::invalid_request(
                9_002_327,
                "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
            ));
        }
        (Some(RedirectKind::Spa), true) => Credential::Forbidden,
        (_, true) => {
            return Err(OAuthError::invalid_request(
                9_002_326,
                "Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type. Request origin does not match the redirect URI's platform.",
            ));
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
            return Err(code_redeemed());
        }
        CodeRedemption::Unknown => return Err(code_redeemed()),
    };
    let now = p.now();
    let (home, user) = tenants.user(&stored.user_id).ok_or_else(|| {
        OAuthError::invalid_grant(70_008, "The user of this code no longer exists.")
    })?;
    if stored.client_id != caller.app.app_id {
        return Err(OAuthError::invalid_grant(
            70_000,
            "The provided authorization code was issued to another client.",
        ));
    }
    if stored.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            70_000,
            "The provided value for the input parameter 'redirect_uri' is not valid: it must be identical to the one used in the authorization request.",
        ));
    }
    if !stored.tenant_path.eq_ignore_ascii_case(&req.tenant_segment)
        && !home.is_tenant(&req.tenant_segment)
    {
        return Err(OAuthError::invalid_grant(
            700_005,
            "Provided Authorization Code is intended to use against other tenant, thus rejected.",
        ));
    }
    if stored.expires_at < now {
        return Err(OAuthError::invalid_grant(
            70_008,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
        ));
    }
    match (&stored.code_challenge, req.get("code_verifier")) {
        (Some((challenge, method)), Some(verifier)) => {
            crate::protocol::pkce::verify(challenge, method, verifier)?
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_grant(
                501_481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            ));
        }
        (None, _) if kind == Some(RedirectKind::Spa) => {
            return Err(OAuthError::invalid_request(
                9_002_325,
                "Proof Key for Code Exchange is required for cross-origin authorization code redemption.",
            ));
        }
        (None, Some(_)) => {
            // PKCE downgrade (RFC 9700 §2.1.1): a verifier for a code that
            // was issued without a challenge proves nothing.
            return Err(OAuthError::invalid_grant(
                501_481,
                "A code_verifier was sent, but the authorization request carried no code_challenge: send PKCE on the authorization request, or no verifier.",
            ));
        }
        (None, None) => {}
    }
    let requested = req.get("scope").unwrap_or(&stored.scope);
    if requested.trim().is_empty() {
        return Err(OAuthError::invalid_request(
            28_003,
            "Provided value for the input parameter scope cannot be empty when requesting an access token using the provided authorization code. Please specify a valid scope.",
        ));
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

fn code_redeemed() -> OAuthError {
    OAuthError::invalid_grant(
        54_005,
        "OAuth2 Authorization code was already redeemed or is invalid, please retry with a new valid code or use an existing refresh token.",
    )
}
