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

use super::TokenRequest;
use super::client_auth::{Credential, authenticate};
use super::issue::{Continuation, Family, UserGrant, issue_user_tokens};

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
        return Err(OAuthError::device_code_unknown());
    };
    if grant.client_id != caller.app.app_id {
        return Err(OAuthError::device_code_of_another_client());
    }
    match grant.state {
        _ if grant.expires_at < now => Err(OAuthError::device_code_expired()),
        DeviceState::Pending => Err(OAuthError::authorization_pending()),
        DeviceState::Declined => Err(OAuthError::authorization_declined()),
        DeviceState::Approved { user_id, auth_time } => {
            let (dir, user) = tenants
                .user(&user_id)
                .ok_or_else(OAuthError::expired_grant)?;
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
