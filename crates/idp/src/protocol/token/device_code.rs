//! The device code grant's polling side (RFC 8628 §3.4, §3.5); starting
//! and approving a grant is [`crate::protocol::device`].

use crate::directory::Tenants;
use crate::protocol::Provider;
use crate::protocol::errors::{OAuthError, server_error};
use crate::protocol::response::TokenResponse;
use crate::protocol::scope::ScopeSet;
use crate::protocol::tenancy::Authority;
use crate::secret::{digest, random_token};
use crate::store::DeviceState;

use super::client_auth::{Credential, authenticate};
use super::issue::{Continuation, Family, UserGrant, issue_user_tokens};
use super::{TokenRequest, expired_grant};

pub(super) async fn device_code(
    p: &Provider,
    tenants: &Tenants,
    at: Authority<'_>,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let client_dir = at.client_directory(tenants, req.client_id()?)?;
    let caller = authenticate(p, client_dir, req, Credential::PublicFlow).await?;
    let device_code = req.require("device_code")?;
    let grant = p
        .store
        .poll_device(&digest(device_code))
        .await
        .map_err(server_error)?;
    let now = p.now();
    let Some(grant) = grant else {
        return Err(OAuthError::new(
            "bad_verification_code",
            70_019,
            "The device code is unknown or was already used.",
        ));
    };
    if grant.client_id != caller.app.app_id {
        return Err(OAuthError::new(
            "bad_verification_code",
            70_019,
            "The device code was issued to another client.",
        ));
    }
    match grant.state {
        _ if grant.expires_at < now => Err(OAuthError::new(
            "expired_token",
            70_020,
            "The provided value for the input parameter 'device_code' is not valid: it has expired.",
        )),
        DeviceState::Pending => Err(OAuthError::new(
            "authorization_pending",
            70_016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        )),
        DeviceState::Declined => Err(OAuthError::new(
            "authorization_declined",
            70_018,
            "The user declined the sign-in request.",
        )),
        DeviceState::Approved { user_id, auth_time } => {
            let (dir, user) = tenants.user(&user_id).ok_or_else(expired_grant)?;
            let scopes = ScopeSet::parse(&grant.scope, dir)?;
            let mut family = Family::new(caller.app, user, None, now, false, random_token(16));
            family.auth_time = auth_time;
            issue_user_tokens(
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
            .await
        }
    }
}
