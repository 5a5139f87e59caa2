//! The device authorization grant (RFC 8628; spec §1.6).

use serde_json::{Value, json};

use crate::directory::{Directory, Tenants, User};
use crate::protocol::Provider;
use crate::protocol::errors::{OAuthError, server_error};
use crate::protocol::scope::ScopeSet;
use crate::protocol::tenancy::{self, Authority};
use crate::protocol::token::issue::granted_scopes;
use crate::secret::{digest, random_token};
use crate::store::{DeviceGrant, DeviceState};

/// `POST /devicecode`: starts a device grant.
#[allow(clippy::too_many_arguments)]
pub async fn start(
    p: &Provider,
    tenants: &Tenants,
    at: Authority<'_>,
    tenant_path: &str,
    client_id: Option<&str>,
    scope: Option<&str>,
    verification_uri: &str,
) -> Result<Value, OAuthError> {
    let client_id = client_id.ok_or_else(|| OAuthError::missing("client_id"))?;
    let dir = at.client_directory(tenants, client_id)?;
    let app = dir
        .application(client_id)
        .ok_or_else(|| tenancy::app_not_found(client_id, dir))?;
    if !app.is_fallback_public_client && !app.is_confidential() {
        return Err(OAuthError::device_flow_not_allowed());
    }
    let scope = scope.unwrap_or("openid profile offline_access");
    ScopeSet::parse(scope, dir)?;
    let device_code = random_token(48);
    let user_code = user_code();
    let now = p.now();
    let grant = DeviceGrant {
        digest: digest(&device_code),
        user_code: user_code.clone(),
        client_id: app.app_id.clone(),
        scope: scope.to_owned(),
        expires_at: now + p.settings.device_code_lifetime,
        state: DeviceState::Pending,
        tenant_path: tenant_path.to_owned(),
    };
    p.store.put_device(&grant).await.map_err(server_error)?;
    Ok(json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verification_uri,
        "expires_in": p.settings.device_code_lifetime,
        "interval": p.settings.device_code_interval,
        "message": format!("To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate."),
    }))
}

/// A user's decision on the verification page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Sign the device in as this user.
    Approve {
        /// The user's object id.
        user_id: String,
    },
    /// Refuse.
    Decline,
}

/// What the confirmation page shows for a pending grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The user code, as issued.
    pub user_code: String,
    /// The client's display name.
    pub client_name: String,
    /// Requested delegated scopes: (qualified value, description).
    pub scopes: Vec<(String, String)>,
}

/// Describes a pending, unexpired grant for the confirmation page.
pub async fn describe(
    p: &Provider,
    tenants: &Tenants,
    approver: &User,
    user_code: &str,
) -> Result<Shown, String> {
    let grant = pending(p, user_code).await?;
    let dir = admit(tenants, &grant, approver)?;
    let client_name = dir
        .application(&grant.client_id)
        .map_or_else(|| grant.client_id.clone(), |a| a.display_name.clone());
    let scopes = ScopeSet::parse(&grant.scope, dir).map_err(|e| e.coded_message())?;
    let mut shown = Vec::new();
    for resource in &scopes.resources {
        let app = dir.application(&resource.app_id);
        for value in &resource.values {
            let text = app
                .and_then(|a| a.scope(value))
                .map(|s| s.admin_consent_display_name.clone())
                .unwrap_or_else(|| match value.as_str() {
                    ".default" => format!(
                        "Everything already granted on {}",
                        app.map_or(resource.written.as_str(), |a| a.display_name.as_str())
                    ),
                    other => other.to_owned(),
                });
            shown.push((resource.qualify(value), text));
        }
    }
    Ok(Shown {
        user_code: grant.user_code,
        client_name,
        scopes: shown,
    })
}

/// The approver's home tenant, if they may approve this grant: at a
/// tenant only its users (AADSTS50020), at `organizations`/`common` any
/// tenant's user whose tenant has the client.
fn admit<'a>(
    tenants: &'a Tenants,
    grant: &DeviceGrant,
    user: &User,
) -> Result<&'a Directory, String> {
    let (home, user) = tenants
        .user(&user.object_id)
        .ok_or_else(|| "Unknown user.".to_owned())?;
    if !grant.tenant_path.is_empty() {
        Authority::resolve(tenants, &grant.tenant_path)
            .and_then(|at| at.admit(home, user, &grant.client_id))
            .map_err(|e| e.coded_message())?;
    }
    Ok(home)
}

async fn pending(p: &Provider, user_code: &str) -> Result<DeviceGrant, String> {
    p.store
        .device_by_user_code(user_code)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "store failure");
            "A server error occurred; try again.".to_owned()
        })?
        .filter(|g| g.expires_at >= p.now() && g.state == DeviceState::Pending)
        .ok_or_else(|| "That code is not valid, has expired, or was already used. Check the code on your device.".to_owned())
}

/// Records the decision for `user_code`; returns the client's display name.
/// Approving consents to the delegated scopes the device asked for (the
/// stored request, as the confirmation page showed it); scopes only an
/// admin may grant must already be granted, or approval is refused.
pub async fn decide(
    p: &Provider,
    tenants: &Tenants,
    user_code: &str,
    decision: Decision,
) -> Result<String, String> {
    let grant = pending(p, user_code).await?;
    let app_name = tenants
        .registered(&grant.client_id)
        .map_or_else(|| grant.client_id.clone(), |(_, a)| a.display_name.clone());
    let state = match decision {
        Decision::Decline => DeviceState::Declined,
        Decision::Approve { user_id } => {
            let (_, user) = tenants
                .user(&user_id)
                .ok_or_else(|| "Unknown user.".to_owned())?;
            let dir = admit(tenants, &grant, user)?;
            if let Some(client) = dir.application(&grant.client_id) {
                tenancy::install(p, dir, client)
                    .await
                    .map_err(|e| e.coded_message())?;
            }
            let scopes = ScopeSet::parse(&grant.scope, dir).map_err(|e| e.coded_message())?;
            for resource in scopes.api_resources() {
                let Some(app) = dir.application(&resource.app_id) else {
                    continue;
                };
                tenancy::install(p, dir, app)
                    .await
                    .map_err(|e| e.coded_message())?;
                if app.app_role_assignment_required && !dir.user_is_assigned(user, app) {
                    return Err(
                        crate::protocol::token::issue::assignment_required(user, app)
                            .coded_message(),
                    );
                }
                let explicit: Vec<String> = resource
                    .values
                    .iter()
                    .filter(|v| *v != ".default")
                    .cloned()
                    .collect();
                let client = dir
                    .application(&grant.client_id)
                    .ok_or_else(|| "The application no longer exists.".to_owned())?;
                let granted = granted_scopes(p, dir, client, user, app)
                    .await
                    .map_err(|e| e.coded_message())?;
                let needs_admin: Vec<&String> = explicit
                    .iter()
                    .filter(|v| app.scope(v).is_some_and(|s| s.admin_only))
                    .filter(|v| !granted.iter().any(|g| g.eq_ignore_ascii_case(v)))
                    .collect();
                if !needs_admin.is_empty() {
                    let scopes: Vec<String> = needs_admin.into_iter().cloned().collect();
                    return Err(crate::protocol::authorize::needs_admin_error(
                        client,
                        &app.display_name,
                        &scopes,
                    )
                    .coded_message());
                }
                if !explicit.is_empty() {
                    p.store
                        .grant_consent(&grant.client_id, &user.object_id, &app.app_id, &explicit)
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
            DeviceState::Approved {
                user_id,
                auth_time: p.now(),
            }
        }
    };
    p.store
        .decide_device(user_code, &state)
        .await
        .map_err(|e| e.to_string())?;
    Ok(app_name)
}

/// `XXXX-XXXX` from an alphabet without look-alike characters.
fn user_code() -> String {
    const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ23456789";
    let mut bytes = [0u8; 8];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        return random_token(6).to_ascii_uppercase();
    }
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| {
            char::from(
                ALPHABET
                    .get(usize::from(*b) % ALPHABET.len())
                    .copied()
                    .unwrap_or(b'X'),
            )
        })
        .collect();
    let (a, b) = chars.split_at(4);
    format!(
        "{}-{}",
        a.iter().collect::<String>(),
        b.iter().collect::<String>()
    )
}
