//! The resource owner password credentials grant (ROPC, RFC 6749 §4.3),
//! and the password check the sign-in page shares, with its lockouts.

use std::net::IpAddr;

use crate::directory::{Directory, Tenants, User};
use crate::protocol::Provider;
use crate::protocol::errors::{OAuthError, server_error};
use crate::protocol::limits::source_key;
use crate::protocol::response::TokenResponse;
use crate::protocol::scope::ScopeSet;
use crate::protocol::tenancy::Authority;
use crate::secret::{Busy, is_guid, random_token};

use super::TokenRequest;
use super::client_auth::{Credential, authenticate};
use super::issue::{Continuation, Family, UserGrant, issue_user_tokens};

pub(super) async fn password(
    p: &Provider,
    tenants: &Tenants,
    at: Authority<'_>,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let client_dir = at.client_directory(tenants, req.client_id()?)?;
    let caller = authenticate(p, client_dir, req, Credential::PublicFlow).await?;
    let username = req.require("username")?;
    let password = req.require("password")?;
    // Home-realm discovery: the user's domain names their tenant.
    let home = tenants.by_upn(username).unwrap_or(client_dir);
    let scopes = ScopeSet::parse(
        req.get("scope").unwrap_or("openid profile offline_access"),
        home,
    )?;
    // Entra refuses ROPC for a self-token named by App ID URI (spec §7).
    if scopes
        .api_resources()
        .any(|r| r.app_id == caller.app.app_id && !is_guid(&r.written))
    {
        return Err(OAuthError::self_request_by_uri(
            &caller.app.app_id,
            &caller.app.display_name,
        ));
    }
    let user = sign_in_with_password(p, home, username, password, req.source).await?;
    at.admit(home, user, &caller.app.app_id)?;
    let now = p.now();
    let family = Family::new(caller.app, user, None, now, false, random_token(16));
    issue_user_tokens(
        p,
        req,
        UserGrant {
            dir: home,
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

/// Checks a password, with lockouts an attacker cannot turn against the
/// user: failures are counted per account **and source address** (five in
/// the lockout window lock that source out of that account, AADSTS50053),
/// and per account across all sources only as a short back-off (four times
/// as many within a minute pause the account for the rest of that minute).
/// Unknown accounts get the same answer as wrong passwords and cost the
/// same (a hash is verified either way) and create no rows.
pub async fn sign_in_with_password<'a>(
    p: &Provider,
    dir: &'a Directory,
    username: &str,
    password: &str,
    source: Option<IpAddr>,
) -> Result<&'a User, OAuthError> {
    let now = p.now();
    let window = p.settings.lockout_window;
    let max = p.settings.max_failed_logins;
    let Some(user) = dir.user_by_upn(username) else {
        // Spend what a real check spends, so timing tells nothing either.
        let _ = p
            .hashing
            .verify_any(vec![decoy_hash().await], password)
            .await;
        return Err(OAuthError::invalid_username_or_password());
    };
    let per_source = source_key(&format!("user:{}", user.object_id), source);
    let per_user = format!("user:{}", user.object_id);
    let locked = p
        .store
        .login_failures(&per_source, now, window)
        .await
        .map_err(server_error)?
        >= max;
    let backing_off = p
        .store
        .login_failures(&per_user, now, BACK_OFF_WINDOW)
        .await
        .map_err(server_error)?
        >= max.saturating_mul(4);
    if locked || backing_off {
        return Err(if locked {
            OAuthError::account_locked()
        } else {
            OAuthError::sign_in_backing_off()
        });
    }
    match dir.verify_password(&p.hashing, user, password).await {
        Ok(true) => {}
        Ok(false) => {
            for (key, span) in [(&per_source, window), (&per_user, BACK_OFF_WINDOW)] {
                p.store
                    .record_login_failure(key, now, span)
                    .await
                    .map_err(server_error)?;
            }
            return Err(OAuthError::invalid_username_or_password());
        }
        Err(Busy) => return Err(OAuthError::busy()),
    }
    p.store
        .clear_login_failures(&per_source)
        .await
        .map_err(server_error)?;
    Ok(user)
}

/// The account-wide back-off window, in seconds.
const BACK_OFF_WINDOW: i64 = 60;

/// An argon2 hash nobody's password matches, verified for unknown accounts;
/// made once, off the async workers.
async fn decoy_hash() -> String {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(decoy) = DECOY.get() {
        return decoy.clone();
    }
    tokio::task::spawn_blocking(|| {
        DECOY
            .get_or_init(|| crate::secret::hash(&random_token(24)).unwrap_or_default())
            .clone()
    })
    .await
    .unwrap_or_default()
}
