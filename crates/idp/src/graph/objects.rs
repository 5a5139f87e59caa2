//! Directory objects as Microsoft Graph v1.0 shows them: `application`,
//! `servicePrincipal`, `user`, `group`, `appRoleAssignment`,
//! `oauth2PermissionGrant` (property names and shapes from Graph's REST
//! reference). Ids Graph has and the tenant file does not (application
//! object ids, credential key ids, assignment ids) are derived, so they stay
//! the same across restarts.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::directory::config::derived_guid;
use crate::directory::{
    AdminConsent, AppRoleDefinition, Application, AssignedPrincipal, Directory, Group,
    PermissionScope, RedirectKind, RoleAssignment, SignInAudience, User,
};

/// The object id of an application (not its app id).
pub fn application_object_id(dir: &Directory, app: &Application) -> String {
    derived_guid(&dir.tenant.id, "application", &app.app_id)
}

/// An `application`.
pub fn application(dir: &Directory, app: &Application) -> Value {
    let redirects = |kind: RedirectKind| -> Vec<&str> {
        app.redirect_uris
            .iter()
            .filter(|(_, k)| *k == kind)
            .map(|(uri, _)| uri.as_str())
            .collect()
    };
    let secrets: Vec<Value> = app
        .secrets
        .iter()
        .map(|secret| {
            json!({
                "keyId": secret.key_id,
                "displayName": secret.display_name,
                "hint": secret.hint,
                "customKeyIdentifier": Value::Null,
                "secretText": Value::Null,
                "startDateTime": Value::Null,
                "endDateTime": Value::Null,
            })
        })
        .collect();
    let certificates: Vec<Value> = app
        .key_credentials
        .iter()
        .map(|key| {
            json!({
                "keyId": derived_guid(&dir.tenant.id, "key_credential", &hex(&key.sha1)),
                "displayName": key.display_name,
                "customKeyIdentifier": hex(&key.sha1).to_ascii_uppercase(),
                "type": "AsymmetricX509Cert",
                "usage": "Verify",
                "startDateTime": datetime(key.not_before),
                "endDateTime": datetime(key.not_after),
                "key": Value::Null,
            })
        })
        .collect();
    json!({
        "id": application_object_id(dir, app),
        "appId": app.app_id,
        "displayName": app.display_name,
        "identifierUris": app.identifier_uris,
        "signInAudience": sign_in_audience(app.sign_in_audience),
        "isFallbackPublicClient": app.is_fallback_public_client,
        "groupMembershipClaims": group_membership_claims(app),
        "publisherDomain": dir.tenant.domain,
        "tags": [],
        "deletedDateTime": Value::Null,
        "api": {
            "requestedAccessTokenVersion": app.requested_access_token_version,
            "acceptMappedClaims": Value::Null,
            "knownClientApplications": [],
            "preAuthorizedApplications": [],
            "oauth2PermissionScopes": app.scopes.iter().map(permission_scope).collect::<Vec<_>>(),
        },
        "appRoles": app.app_roles.iter().map(app_role).collect::<Vec<_>>(),
        "spa": { "redirectUris": redirects(RedirectKind::Spa) },
        "web": {
            "redirectUris": redirects(RedirectKind::Web),
            "homePageUrl": Value::Null,
            "logoutUrl": Value::Null,
            "implicitGrantSettings": {
                "enableIdTokenIssuance": app.enable_id_token_issuance,
                "enableAccessTokenIssuance": app.enable_access_token_issuance,
            },
        },
        "publicClient": { "redirectUris": redirects(RedirectKind::PublicClient) },
        "requiredResourceAccess": app.required_resource_access.iter().map(|access| {
            let resource = dir.resource(&access.resource_app_id);
            let mut entries: Vec<Value> = Vec::new();
            if let Some(resource) = resource {
                for value in &access.scopes {
                    if let Some(scope) = resource.scopes.iter().find(|s| s.value == *value) {
                        entries.push(json!({ "id": scope.id, "type": "Scope" }));
                    }
                }
                for value in &access.roles {
                    if let Some(role) = resource.app_roles.iter().find(|r| r.value == *value) {
                        entries.push(json!({ "id": role.id, "type": "Role" }));
                    }
                }
            }
            json!({ "resourceAppId": access.resource_app_id, "resourceAccess": entries })
        }).collect::<Vec<_>>(),
        "passwordCredentials": secrets,
        "keyCredentials": certificates,
    })
}

/// A `servicePrincipal` (the application's instance in the tenant whose
/// directory it came from).
pub fn service_principal(app: &Application) -> Value {
    let mut names = vec![app.app_id.clone()];
    names.extend(app.identifier_uris.iter().cloned());
    json!({
        "id": app.service_principal_id,
        "appId": app.app_id,
        "displayName": app.display_name,
        "appDisplayName": app.display_name,
        "appOwnerOrganizationId": if app.first_party {
            // Microsoft's own tenant owns first-party applications.
            "f8cdef31-a31e-4b4a-93e4-5f571e91255a".to_owned()
        } else {
            app.home_tenant_id.clone()
        },
        "servicePrincipalType": "Application",
        "accountEnabled": true,
        "appRoleAssignmentRequired": app.app_role_assignment_required,
        "servicePrincipalNames": names,
        "signInAudience": sign_in_audience(app.sign_in_audience),
        "appRoles": app.app_roles.iter().map(app_role).collect::<Vec<_>>(),
        "oauth2PermissionScopes": app.scopes.iter().map(permission_scope).collect::<Vec<_>>(),
        "tags": [],
        "deletedDateTime": Value::Null,
    })
}

/// A `user`: Graph v1.0's default properties.
pub fn user(user: &User) -> Value {
    let (given, surname) = crate::protocol::tokens::split_name(&user.display_name);
    json!({
        "id": user.object_id,
        "userPrincipalName": user.user_principal_name,
        "displayName": user.display_name,
        "givenName": given,
        "surname": surname,
        "mail": user.user_principal_name,
        "businessPhones": [],
        "jobTitle": Value::Null,
        "mobilePhone": Value::Null,
        "officeLocation": Value::Null,
        "preferredLanguage": Value::Null,
    })
}

/// A `group`.
pub fn group(group: &Group) -> Value {
    json!({
        "id": group.object_id,
        "displayName": group.display_name,
        "description": Value::Null,
        "securityEnabled": group.security_enabled,
        "mailEnabled": !group.security_enabled,
        "mailNickname": mail_nickname(&group.display_name),
        "mail": Value::Null,
        "groupTypes": [],
        "deletedDateTime": Value::Null,
    })
}

/// The principal an assignment names, as Graph lists it: (id, type, display name).
fn principal(dir: &Directory, who: &AssignedPrincipal) -> Option<(String, &'static str, String)> {
    match who {
        AssignedPrincipal::User(id) => dir
            .users
            .iter()
            .find(|u| u.object_id == *id)
            .map(|u| (u.object_id.clone(), "User", u.display_name.clone())),
        AssignedPrincipal::Group(id) => dir
            .groups
            .iter()
            .find(|g| g.object_id == *id)
            .map(|g| (g.object_id.clone(), "Group", g.display_name.clone())),
        AssignedPrincipal::Application(app_id) => dir.application(app_id).map(|a| {
            (
                a.service_principal_id.clone(),
                "ServicePrincipal",
                a.display_name.clone(),
            )
        }),
    }
}

/// The tenant as Graph's `organization`.
pub fn organization(dir: &Directory) -> Value {
    json!({
        "id": dir.tenant.id,
        "displayName": dir.tenant.domain,
        "tenantType": "AAD",
        "verifiedDomains": [{
            "name": dir.tenant.domain,
            "isDefault": true,
            "isInitial": true,
            "type": "Managed",
            "capabilities": "Email, OfficeCommunicationsOnline",
        }],
        "deletedDateTime": Value::Null,
    })
}

/// An `appRoleAssignment`, or `None` when what it names is gone.
pub fn app_role_assignment(dir: &Directory, assignment: &RoleAssignment) -> Option<Value> {
    let resource = dir.resource(&assignment.resource_app_id)?;
    let role: &AppRoleDefinition = resource
        .app_roles
        .iter()
        .find(|r| r.value == assignment.role)?;
    let (principal_id, principal_type, principal_name) = principal(dir, &assignment.principal)?;
    let digest = crate::secret::digest(&format!(
        "{principal_id}\0{}\0{}",
        resource.service_principal_id, role.id
    ));
    Some(json!({
        "id": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest),
        "appRoleId": role.id,
        "principalId": principal_id,
        "principalType": principal_type,
        "principalDisplayName": principal_name,
        "resourceId": resource.service_principal_id,
        "resourceDisplayName": resource.display_name,
        "createdDateTime": Value::Null,
        "deletedDateTime": Value::Null,
    }))
}

/// An `oauth2PermissionGrant` of consent type `AllPrincipals`.
pub fn admin_consent_grant(dir: &Directory, consent: &AdminConsent) -> Option<Value> {
    let client = dir.application(&consent.client_app_id)?;
    let resource = dir.resource(&consent.resource_app_id)?;
    let digest = crate::secret::digest(&format!(
        "{}\0{}\0AllPrincipals",
        client.service_principal_id, resource.service_principal_id
    ));
    Some(json!({
        "id": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..24]),
        "clientId": client.service_principal_id,
        "consentType": "AllPrincipals",
        "principalId": Value::Null,
        "resourceId": resource.service_principal_id,
        "scope": consent.scopes.join(" "),
    }))
}

/// An `oauth2PermissionGrant` of consent type `Principal` (a user's own
/// consent), or `None` when what it names is gone or in another tenant.
pub fn user_consent_grant(
    dir: &Directory,
    client_app_id: &str,
    user_id: &str,
    resource_app_id: &str,
    scopes: &[String],
) -> Option<Value> {
    let client = dir.application(client_app_id)?;
    let resource = dir.resource(resource_app_id)?;
    let user = dir.user(user_id)?;
    let digest = crate::secret::digest(&format!(
        "{}\0{}\0{}",
        client.service_principal_id, resource.service_principal_id, user.object_id
    ));
    Some(json!({
        "id": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..24]),
        "clientId": client.service_principal_id,
        "consentType": "Principal",
        "principalId": user.object_id,
        "resourceId": resource.service_principal_id,
        "scope": scopes.join(" "),
    }))
}

fn app_role(role: &AppRoleDefinition) -> Value {
    let mut members = Vec::new();
    if role.allowed_for_users {
        members.push("User");
    }
    if role.allowed_for_applications {
        members.push("Application");
    }
    json!({
        "id": role.id,
        "value": role.value,
        "displayName": role.display_name,
        "description": role.display_name,
        "allowedMemberTypes": members,
        "isEnabled": true,
        "origin": "Application",
    })
}

fn permission_scope(scope: &PermissionScope) -> Value {
    json!({
        "id": scope.id,
        "value": scope.value,
        "type": if scope.admin_only { "Admin" } else { "User" },
        "adminConsentDisplayName": scope.admin_consent_display_name,
        "adminConsentDescription": scope.admin_consent_display_name,
        "userConsentDisplayName": Value::Null,
        "userConsentDescription": Value::Null,
        "isEnabled": true,
    })
}

fn sign_in_audience(audience: SignInAudience) -> &'static str {
    match audience {
        SignInAudience::MyOrg => "AzureADMyOrg",
        SignInAudience::MultipleOrgs => "AzureADMultipleOrgs",
    }
}

fn group_membership_claims(app: &Application) -> Value {
    use crate::directory::GroupMembershipClaims as G;
    match app.group_membership_claims {
        G::None => Value::Null,
        G::SecurityGroup => "SecurityGroup".into(),
        G::DirectoryRole => "DirectoryRole".into(),
        G::ApplicationGroup => "ApplicationGroup".into(),
        G::All => "All".into(),
    }
}

fn mail_nickname(display_name: &str) -> String {
    display_name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// ISO 8601 in UTC with a `Z`, as Graph writes `DateTimeOffset`s.
pub fn datetime(unix: i64) -> Value {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .map_or(Value::Null, Value::String)
}

/// Keeps only `select`ed properties (all when empty).
pub fn select(value: Value, select: &[String]) -> Value {
    if select.is_empty() {
        return value;
    }
    match value {
        Value::Object(fields) => {
            let kept: Map<String, Value> = fields
                .into_iter()
                .filter(|(name, _)| select.iter().any(|s| s.eq_ignore_ascii_case(name)))
                .collect();
            Value::Object(kept)
        }
        other => other,
    }
}
