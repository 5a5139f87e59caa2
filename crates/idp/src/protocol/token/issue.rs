//! Minting tokens for a signed-in user, shared by every user grant:
//! refresh-token families and their rotation, the resource a token is for
//! and the scopes granted on it, and signing.

use serde_json::{Map, Value};

use crate::directory::{Application, Directory, User};
use crate::protocol::errors::{OAuthError, server_error};
use crate::protocol::response::{Endpoint, TokenResponse};
use crate::protocol::scope::{ResourceScopes, ScopeSet};
use crate::protocol::tokens::{self, AccessGrant, ClientAuth, IdentityGrant, Resource};
use crate::protocol::{Provider, aadsts};
use crate::secret::{digest, random_token};
use crate::store::{Redemption, RefreshRecord};

use super::client_auth::Caller;
use super::{TokenRequest, resource_not_found};

/// The refresh-token family a response belongs to.
#[derive(Debug, Clone)]
pub(super) struct Family {
    id: String,
    client_id: String,
    user_id: String,
    session_id: String,
    pub(super) auth_time: i64,
    spa: bool,
    /// Fixed end for SPA families (set once the family exists).
    fixed_expiry: Option<i64>,
}

impl Family {
    pub(super) fn new(
        client: &Application,
        user: &User,
        session_id: Option<String>,
        now: i64,
        spa: bool,
        id: String,
    ) -> Family {
        Family {
            id,
            client_id: client.app_id.clone(),
            user_id: user.object_id.clone(),
            session_id: session_id.unwrap_or_default(),
            auth_time: now,
            spa,
            fixed_expiry: None,
        }
    }

    pub(super) fn continuing(record: &RefreshRecord) -> Family {
        Family {
            id: record.family_id.clone(),
            client_id: record.client_id.clone(),
            user_id: record.user_id.clone(),
            session_id: record.session_id.clone(),
            auth_time: record.auth_time,
            spa: record.spa,
            fixed_expiry: record.spa.then_some(record.expires_at),
        }
    }

    /// The next refresh token of the family and its record: valid for
    /// `lifetime` (sliding) or until the SPA family's fixed end; it
    /// remembers the resource and scopes of this response and how the
    /// client authenticated.
    fn next_record(
        &self,
        now: i64,
        lifetime: i64,
        resource: &str,
        scope: &str,
        client_auth: ClientAuth,
    ) -> (RefreshRecord, String) {
        let token = random_token(48);
        let expires_at = self.fixed_expiry.unwrap_or(now + lifetime);
        (
            RefreshRecord {
                digest: digest(&token),
                family_id: self.id.clone(),
                client_id: self.client_id.clone(),
                user_id: self.user_id.clone(),
                session_id: self.session_id.clone(),
                auth_time: self.auth_time,
                issued_at: now,
                expires_at,
                spa: self.spa,
                resource: resource.to_owned(),
                scope: scope.to_owned(),
                client_auth: client_auth.as_str().to_owned(),
            },
            token,
        )
    }
}

/// Whether a response starts a refresh-token family or continues one.
pub(super) enum Continuation {
    /// A new family (code, password, device code, OBO): a refresh token
    /// only when `offline_access` was asked for.
    Start(Family),
    /// A refresh: the presented token (by digest) is rotated into the next
    /// one, once everything else has succeeded. Refresh answers always
    /// carry the next refresh token.
    Rotate {
        /// Digest of the presented refresh token.
        presented: [u8; 32],
        /// Its family.
        family: Family,
    },
}

/// What a user grant established, for [`issue_user_tokens`].
pub(super) struct UserGrant<'a> {
    /// The user's home directory: its tenant issues the tokens.
    pub(super) dir: &'a Directory,
    /// The authenticated client.
    pub(super) caller: Caller<'a>,
    /// The signed-in user.
    pub(super) user: &'a User,
    /// The scopes asked for.
    pub(super) scopes: &'a ScopeSet,
    /// The ID token's `nonce` (from the authorization request).
    pub(super) nonce: Option<String>,
    /// A new refresh-token family or the rotation of one.
    pub(super) continuation: Continuation,
    /// Now.
    pub(super) now: i64,
}

/// Issues access, ID and refresh tokens for a signed-in user. Everything
/// that can refuse the request runs before the refresh token is stored or
/// rotated.
pub(super) async fn issue_user_tokens(
    p: &Provider,
    req: &TokenRequest,
    grant: UserGrant<'_>,
) -> Result<TokenResponse, OAuthError> {
    let UserGrant {
        dir,
        caller,
        user,
        scopes,
        nonce,
        continuation,
        now,
    } = grant;
    let family = match &continuation {
        Continuation::Start(family) | Continuation::Rotate { family, .. } => family,
    };
    let resource = scopes.single_resource()?;
    let (grant_resource, granted, roles) =
        resolve_resource(p, dir, caller.app, user, &resource).await?;
    let lifetime = p.settings.access_token_lifetime;
    let access = AccessGrant {
        resource: grant_resource,
        audience_written: resource.written.clone(),
        client: caller.app,
        client_auth: caller.auth,
        user: Some(user),
        scopes: granted.clone(),
        roles,
        auth_time: Some(family.auth_time),
        membership: match grant_resource {
            Resource::Api(app) => dir.membership(user, app),
            Resource::Graph => Default::default(),
        },
    };
    let issuer = req.issuer_in(dir);
    let access_claims = tokens::access_token_claims(&issuer, &access, now, lifetime);
    let access_token = sign(p, access_claims, grant_resource.v1(), now)?;
    let resource_scopes: Vec<String> = granted.iter().map(|s| resource.qualify(s)).collect();
    let mut echo = resource_scopes.clone();
    echo.extend(scopes.oidc_echo().into_iter().map(str::to_owned));
    let mut body = TokenResponse {
        access_token,
        expires_in: lifetime,
        issued_at: now,
        scope: Some(echo.join(" ")),
        granted: granted.clone(),
        resource: resource.written.clone(),
        refresh_token: None,
        refresh_token_expires_in: None,
        id_token: None,
        client_info: None,
    };
    let id_token = if scopes.openid {
        let identity = IdentityGrant {
            client: caller.app,
            user,
            nonce,
            roles: dir.user_roles(user, caller.app),
            session_id: (!family.session_id.is_empty()).then(|| family.session_id.clone()),
            auth_time: Some(family.auth_time),
            email: scopes.email,
            membership: dir.membership(user, caller.app),
            v1: req.endpoint == Endpoint::V1,
        };
        let id_claims =
            tokens::id_token_claims(&issuer, &identity, now, p.settings.id_token_lifetime);
        Some(sign(p, id_claims, identity.v1, now)?)
    } else {
        None
    };
    // Last: store or rotate the refresh token. Nothing after this refuses.
    let remembered = if resource.is_graph() {
        ""
    } else {
        resource.written.as_str()
    };
    let refresh_lifetime = if family.spa {
        p.settings.spa_refresh_token_lifetime
    } else {
        p.settings.refresh_token_lifetime
    };
    let next = || {
        family.next_record(
            now,
            refresh_lifetime,
            remembered,
            &resource_scopes.join(" "),
            caller.auth,
        )
    };
    let issued = match continuation {
        Continuation::Start(_) if !scopes.offline_access => None,
        Continuation::Start(_) => {
            let (record, token) = next();
            p.store.put_refresh(&record).await.map_err(server_error)?;
            Some((record, token))
        }
        Continuation::Rotate { presented, .. } => {
            let (record, token) = next();
            match p
                .store
                .rotate_refresh(&presented, &record, now)
                .await
                .map_err(server_error)?
            {
                Redemption::Rotated(_) => Some((record, token)),
                Redemption::Reused { family_id } => {
                    tracing::warn!(%family_id, client = %caller.app.app_id, "refresh token reuse detected; the token family is revoked");
                    return Err(OAuthError::refresh_token_reused());
                }
                Redemption::Invalid => return Err(OAuthError::expired_grant()),
            }
        }
    };
    if let Some((record, token)) = issued {
        body.refresh_token = Some(token);
        if record.spa {
            body.refresh_token_expires_in = Some((record.expires_at - now).max(0));
        }
    }
    body.id_token = id_token;
    if req.wants_client_info() {
        body.client_info = Some(tokens::client_info(user, &dir.tenant.id));
    }
    Ok(body)
}

/// The resource, the delegated scopes granted on it, and the user's roles.
/// A scope of type `Admin` counts as granted only through an admin consent
/// in the tenant, never through a user's own consent (spec §8).
async fn resolve_resource<'a>(
    p: &Provider,
    dir: &'a Directory,
    client: &Application,
    user: &User,
    resource: &ResourceScopes,
) -> Result<(Resource<'a>, Vec<String>, Vec<String>), OAuthError> {
    if resource.is_graph() {
        let mut scp: Vec<String> = resource
            .values
            .iter()
            .filter(|v| *v != ".default")
            .cloned()
            .collect();
        // `https://graph.microsoft.com/.default`: the Graph permissions the
        // client's registration asks for (requiredResourceAccess) and those
        // an admin consented for it, as Entra grants them statically.
        if resource.is_default()
            && let Some(graph) = dir.resource(crate::directory::microsoft_graph::APP_ID)
        {
            let mut statically: Vec<String> = client
                .required_resource_access
                .iter()
                .filter(|a| a.resource_app_id == graph.app_id)
                .flat_map(|a| a.scopes.iter().cloned())
                .chain(dir.admin_consented_scopes(client, graph))
                .filter(|s| {
                    !matches!(
                        s.as_str(),
                        "openid" | "profile" | "email" | "offline_access"
                    )
                })
                .collect();
            statically.sort();
            statically.dedup();
            scp.extend(statically);
        }
        if scp.is_empty() {
            scp.push("User.Read".to_owned());
        }
        for oidc in ["openid", "profile", "email"] {
            scp.push(oidc.to_owned());
        }
        return Ok((Resource::Graph, scp, Vec::new()));
    }
    let app = dir
        .application(&resource.app_id)
        .ok_or_else(|| resource_not_found(&resource.written, dir))?;
    if app.app_role_assignment_required && !dir.user_is_assigned(user, app) {
        return Err(assignment_required(user, app));
    }
    let consented = granted_scopes(p, dir, client, user, app).await?;
    let granted: Vec<String> = if resource.is_default() {
        app.scopes
            .iter()
            .filter(|s| consented.iter().any(|c| c.eq_ignore_ascii_case(&s.value)))
            .map(|s| s.value.clone())
            .collect()
    } else {
        let mut out = Vec::new();
        for value in &resource.values {
            let Some(defined) = app.scope(value) else {
                continue;
            };
            if !consented
                .iter()
                .any(|c| c.eq_ignore_ascii_case(&defined.value))
            {
                return Err(OAuthError::consent_required(
                    &client.app_id,
                    &resource.written,
                ));
            }
            out.push(defined.value.clone());
        }
        out
    };
    Ok((Resource::Api(app), granted, dir.user_roles(user, app)))
}

/// The delegated scopes of `resource` granted to `client` for `user`: the
/// tenant's admin consents, plus the user's own consents to scopes a user
/// may consent to (type `User`).
pub async fn granted_scopes(
    p: &Provider,
    dir: &Directory,
    client: &Application,
    user: &User,
    resource: &Application,
) -> Result<Vec<String>, OAuthError> {
    let mut granted = dir.admin_consented_scopes(client, resource);
    let own = p
        .store
        .consented_scopes(&client.app_id, &user.object_id, &resource.app_id)
        .await
        .map_err(server_error)?;
    granted.extend(
        own.into_iter()
            .filter(|s| resource.scope(s).is_some_and(|d| !d.admin_only)),
    );
    Ok(granted)
}

/// AADSTS50105.
pub fn assignment_required(user: &User, app: &Application) -> OAuthError {
    OAuthError::new(
        "access_denied",
        aadsts::USER_NOT_ASSIGNED,
        format!(
            "Your administrator has configured the application {} ('{}') to block users unless they are specifically granted ('assigned') access to the application. The signed in user '{}' is blocked because they are not a direct member of a group with access, nor had access directly assigned by an administrator.",
            app.display_name, app.app_id, user.user_principal_name
        ),
    )
}

pub(super) fn sign(
    p: &Provider,
    claims: Map<String, Value>,
    v1: bool,
    now: i64,
) -> Result<String, OAuthError> {
    p.keys.sign(&Value::Object(claims), v1, now).map_err(|e| {
        tracing::error!(error = %e, "token signing failed");
        OAuthError::signing_failed()
    })
}
