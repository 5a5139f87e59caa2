//! The client credentials grant (RFC 6749 §4.4): an app-only token for
//! one resource, `{resource}/.default`.

use crate::protocol::errors::OAuthError;
use crate::protocol::response::TokenResponse;
use crate::protocol::tenancy::{self, Authority};
use crate::protocol::tokens::{self, AccessGrant, Resource};
use crate::protocol::{Provider, aadsts};

use super::client_auth::{Credential, authenticate};
use super::issue::sign;
use super::{TokenRequest, default_scope_error, resource_not_found};

pub(super) async fn client_credentials(
    p: &Provider,
    at: Authority<'_>,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    // An app-only token is for one tenant: `common` names none.
    let Authority::Tenant(dir) = at else {
        return Err(OAuthError::no_tenant());
    };
    let caller = authenticate(p, dir, req, Credential::Required).await?;
    if !tenancy::installed(p, dir, caller.app).await? {
        return Err(tenancy::app_not_found(&caller.app.app_id, dir));
    }
    let scope = req.require("scope")?;
    let parts: Vec<&str> = scope.split_whitespace().collect();
    let resource_ids: Vec<&str> = parts
        .iter()
        .filter_map(|part| part.strip_suffix("/.default"))
        .collect();
    let resource_id = match (parts.as_slice(), resource_ids.as_slice()) {
        ([_], [one]) => *one,
        (_, [_, _, ..]) if resource_ids.len() == parts.len() => {
            // Two resources in one client-credentials request: Entra's
            // AADSTS70011 (one token is for one audience).
            return Err(OAuthError::invalid_scope(
                aadsts::INVALID_SCOPE,
                format!(
                    "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid: a client credentials request names exactly one resource ('{{resource}}/.default')."
                ),
            ));
        }
        _ => return Err(default_scope_error(scope)),
    };
    let resource = dir
        .resource(resource_id)
        .ok_or_else(|| resource_not_found(resource_id, dir))?;
    if !tenancy::installed(p, dir, resource).await? {
        return Err(tenancy::resource_not_installed(resource_id, dir));
    }
    let roles = dir.application_roles(caller.app, resource);
    if resource.app_role_assignment_required && roles.is_empty() {
        return Err(OAuthError::unauthorized_client(
            aadsts::APP_NOT_ASSIGNED_TO_ROLE,
            format!(
                "Application '{}' ({}) is not assigned to a role for the application '{}' ({}).",
                caller.app.app_id, caller.app.display_name, resource.app_id, resource.display_name
            ),
        ));
    }
    let now = p.now();
    let lifetime = p.settings.access_token_lifetime;
    let grant = AccessGrant {
        resource: Resource::Api(resource),
        audience_written: resource_id.to_owned(),
        client: caller.app,
        client_auth: caller.auth,
        user: None,
        scopes: Vec::new(),
        roles,
        auth_time: None,
        membership: Default::default(),
    };
    let claims = tokens::access_token_claims(&req.issuer_in(dir), &grant, now, lifetime);
    let access_token = sign(p, claims, grant.resource.v1(), now)?;
    Ok(TokenResponse {
        access_token,
        expires_in: lifetime,
        issued_at: now,
        scope: None,
        granted: Vec::new(),
        resource: resource_id.to_owned(),
        refresh_token: None,
        refresh_token_expires_in: None,
        id_token: None,
        client_info: None,
    })
}
