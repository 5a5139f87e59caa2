//! Importing an app registration from an Entra app manifest.
//!
//! The Entra admin center's "Manifest" blade downloads an application as
//! JSON in the Microsoft Graph format (`appId`, `appRoles`,
//! `api.oauth2PermissionScopes`, `spa.redirectUris`, …). A tenant file may
//! name such a file instead of describing the app inline
//! (`manifest = "manifests/orders-api.json"`); [`import`] reads the members
//! the identity provider uses. The older AAD Graph names
//! (`accessTokenAcceptedVersion`, `oauth2Permissions`, `replyUrlsWithType`,
//! `oauth2AllowIdTokenImplicitFlow`, `oauth2AllowImplicitFlow`,
//! `allowPublicClient`, `name`) are read when the Graph member is absent.
//! `keyCredentials` entries that carry the certificate (`key`, base64 DER;
//! type `AsymmetricX509Cert`, usage `Verify`) become certificate
//! credentials; exports usually leave `key` null, and such entries are
//! skipped (give the certificate with `key_credentials` in the tenant file).
//!
//! ```
//! let app = rolegate_idp::directory::manifest::import(r#"{
//!     "appId": "8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c",
//!     "displayName": "Orders API",
//!     "api": { "requestedAccessTokenVersion": 2 }
//! }"#).map_err(|problems| problems.join("\n"))?;
//! assert_eq!(app.requested_access_token_version, 2);
//! # Ok::<(), String>(())
//! ```
//!
//! # Unknown members
//!
//! Unlike the tenant file, a manifest may contain members this module does
//! not know. Exports carry dozens (`id`, `createdDateTime`, `signInAudience`,
//! `verifiedPublisher`, `tags`, …), most of them read-only
//! directory metadata, and their set grows as Entra adds features. Rejecting
//! them would make every real export fail, and the file is produced by Entra,
//! not typed by hand, so a misspelt key is not the risk it is in the tenant
//! file. Members that are read are checked strictly.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use super::certificate::{KeyCredential, Thumbprint};
use super::config::{access_token_version, normalize_guid};
use super::{AppRoleDefinition, PermissionScope, RedirectKind};

/// An application read from a manifest, before its permission requests are
/// matched against the other applications of the tenant file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedApp {
    /// `appId`, as written (the tenant file checks it is a GUID).
    pub app_id: Option<String>,
    /// `displayName` (legacy `name`).
    pub display_name: Option<String>,
    /// `identifierUris`.
    pub identifier_uris: Vec<String>,
    /// `api.requestedAccessTokenVersion` (legacy `accessTokenAcceptedVersion`);
    /// `null` or absent means 1.
    pub requested_access_token_version: u8,
    /// `spa.redirectUris`, `web.redirectUris` and `publicClient.redirectUris`
    /// (legacy `replyUrlsWithType`), in that order.
    pub redirect_uris: Vec<(String, RedirectKind)>,
    /// `isFallbackPublicClient` (legacy `allowPublicClient`).
    pub is_fallback_public_client: bool,
    /// `web.implicitGrantSettings.enableIdTokenIssuance`
    /// (legacy `oauth2AllowIdTokenImplicitFlow`).
    pub enable_id_token_issuance: bool,
    /// `web.implicitGrantSettings.enableAccessTokenIssuance`
    /// (legacy `oauth2AllowImplicitFlow`).
    pub enable_access_token_issuance: bool,
    /// `optionalClaims.accessToken` names `idtyp`.
    pub emit_idtyp: bool,
    /// `groupMembershipClaims`.
    pub group_membership_claims: crate::directory::GroupMembershipClaims,
    /// `signInAudience`.
    pub sign_in_audience: crate::directory::SignInAudience,
    /// Enabled `appRoles`, ids lower-cased.
    pub app_roles: Vec<AppRoleDefinition>,
    /// Enabled `api.oauth2PermissionScopes` (legacy `oauth2Permissions`), ids
    /// lower-cased.
    pub scopes: Vec<PermissionScope>,
    /// `requiredResourceAccess`, by permission id.
    pub required_resource_access: Vec<RequiredResourceAccess>,
    /// `keyCredentials` that carry their certificate (`key`).
    pub key_credentials: Vec<KeyCredential>,
}

/// One `requiredResourceAccess` entry: permission ids on one resource. The
/// ids name scopes and app roles of that resource; the tenant file resolves
/// them once every application is loaded, and skips resources it does not
/// define (such as Microsoft Graph, `00000003-0000-0000-c000-000000000000`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredResourceAccess {
    /// `resourceAppId`, as written.
    pub resource_app_id: String,
    /// Ids of `type: "Scope"` entries (delegated permissions), lower-cased.
    pub scope_ids: Vec<String>,
    /// Ids of `type: "Role"` entries (application permissions), lower-cased.
    pub role_ids: Vec<String>,
}

/// Reads an Entra app manifest (Microsoft Graph JSON format). Roles and
/// scopes with `isEnabled: false` are left out.
///
/// # Errors
///
/// Every problem found: malformed JSON (the first syntax error only), ids
/// that are not GUIDs, missing values or display names, unknown
/// `allowedMemberTypes`, scope types or `resourceAccess` types, and a token
/// version other than 1 or 2.
pub fn import(json: &str) -> Result<ImportedApp, Vec<String>> {
    let manifest: Manifest =
        serde_json::from_str(json).map_err(|e| vec![format!("not an app manifest: {e}")])?;
    let mut problems = Vec::new();
    let api = manifest.api.unwrap_or_default();
    let web = manifest.web.unwrap_or_default();
    let implicit = web.implicit_grant_settings.unwrap_or_default();

    let (version, version_at) = match api.requested_access_token_version {
        Some(v) => (Some(v), "api.requestedAccessTokenVersion"),
        None => (
            manifest.access_token_accepted_version,
            "accessTokenAcceptedVersion",
        ),
    };
    let requested_access_token_version = access_token_version(version).unwrap_or_else(|e| {
        problems.push(format!("{version_at}: {e}"));
        1
    });

    let app_roles = app_roles(manifest.app_roles, &mut problems);
    let scopes = match api.oauth2_permission_scopes {
        Some(list) => permission_scopes("api.oauth2PermissionScopes", list, &mut problems),
        None => {
            let legacy = manifest.oauth2_permissions.unwrap_or_default();
            permission_scopes("oauth2Permissions", legacy, &mut problems)
        }
    };
    let required_resource_access =
        required_accesses(manifest.required_resource_access, &mut problems);
    let redirect_uris = redirect_uris(
        manifest.spa,
        web.redirect_uris,
        manifest.public_client,
        manifest.reply_urls_with_type,
        &mut problems,
    );
    let key_credentials = key_credentials(manifest.key_credentials, &mut problems);
    let emit_idtyp = manifest
        .optional_claims
        .and_then(|claims| claims.access_token)
        .is_some_and(|claims| claims.iter().any(|c| c.name.as_deref() == Some("idtyp")));

    let group_membership_claims = match manifest.group_membership_claims.as_deref() {
        None => crate::directory::GroupMembershipClaims::None,
        Some(text) => crate::directory::GroupMembershipClaims::parse(text).unwrap_or_else(|e| {
            problems.push(format!("groupMembershipClaims: {e}"));
            crate::directory::GroupMembershipClaims::None
        }),
    };
    let sign_in_audience = match manifest.sign_in_audience.as_deref() {
        None => crate::directory::SignInAudience::MyOrg,
        Some(text) => crate::directory::SignInAudience::parse(text).unwrap_or_else(|e| {
            problems.push(format!("signInAudience: {e}"));
            crate::directory::SignInAudience::MyOrg
        }),
    };

    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(ImportedApp {
        app_id: manifest.app_id,
        display_name: manifest.display_name.or(manifest.name),
        identifier_uris: manifest.identifier_uris.unwrap_or_default(),
        requested_access_token_version,
        redirect_uris,
        is_fallback_public_client: flag(
            manifest.is_fallback_public_client,
            manifest.allow_public_client,
        ),
        enable_id_token_issuance: flag(
            implicit.enable_id_token_issuance,
            manifest.oauth2_allow_id_token_implicit_flow,
        ),
        enable_access_token_issuance: flag(
            implicit.enable_access_token_issuance,
            manifest.oauth2_allow_implicit_flow,
        ),
        emit_idtyp,
        group_membership_claims,
        sign_in_audience,
        app_roles,
        scopes,
        required_resource_access,
        key_credentials,
    })
}

/// Parses `allowedMemberTypes` into (users allowed, applications allowed).
pub(crate) fn member_types(types: &[String]) -> Result<(bool, bool), String> {
    let mut allowed = (false, false);
    for kind in types {
        match kind.as_str() {
            "User" => allowed.0 = true,
            "Application" => allowed.1 = true,
            other => return Err(format!("{other:?} is not \"User\" or \"Application\"")),
        }
    }
    if allowed == (false, false) {
        return Err("expected \"User\", \"Application\" or both, found none".to_owned());
    }
    Ok(allowed)
}

/// Parses an `oauth2PermissionScopes[].type`: whether only admins may consent.
pub(crate) fn admin_only(kind: Option<&str>) -> Result<bool, String> {
    match kind {
        None | Some("User") => Ok(false),
        Some("Admin") => Ok(true),
        Some(other) => Err(format!("expected \"User\" or \"Admin\", found {other:?}")),
    }
}

fn app_roles(
    roles: Option<Vec<ManifestRole>>,
    problems: &mut Vec<String>,
) -> Vec<AppRoleDefinition> {
    let mut definitions = Vec::new();
    for (i, role) in roles.into_iter().flatten().enumerate() {
        if role.is_enabled == Some(false) {
            continue;
        }
        let at = format!("appRoles[{i}]");
        let types = role.allowed_member_types.unwrap_or_default();
        let (allowed_for_users, allowed_for_applications) =
            member_types(&types).unwrap_or_else(|e| {
                problems.push(format!("{at}.allowedMemberTypes: {e}"));
                (false, false)
            });
        definitions.push(AppRoleDefinition {
            id: guid(&format!("{at}.id"), role.id.as_deref(), problems),
            value: required(&format!("{at}.value"), role.value, problems),
            display_name: required(&format!("{at}.displayName"), role.display_name, problems),
            allowed_for_users,
            allowed_for_applications,
        });
    }
    definitions
}

fn permission_scopes(
    key: &str,
    scopes: Vec<ManifestScope>,
    problems: &mut Vec<String>,
) -> Vec<PermissionScope> {
    let mut definitions = Vec::new();
    for (i, scope) in scopes.into_iter().enumerate() {
        if scope.is_enabled == Some(false) {
            continue;
        }
        let at = format!("{key}[{i}]");
        let admin_only = admin_only(scope.kind.as_deref()).unwrap_or_else(|e| {
            problems.push(format!("{at}.type: {e}"));
            false
        });
        let name_at = format!("{at}.adminConsentDisplayName");
        definitions.push(PermissionScope {
            id: guid(&format!("{at}.id"), scope.id.as_deref(), problems),
            value: required(&format!("{at}.value"), scope.value, problems),
            admin_consent_display_name: required(
                &name_at,
                scope.admin_consent_display_name,
                problems,
            ),
            admin_only,
        });
    }
    definitions
}

fn required_accesses(
    accesses: Option<Vec<ManifestRequiredAccess>>,
    problems: &mut Vec<String>,
) -> Vec<RequiredResourceAccess> {
    let mut result = Vec::new();
    for (i, access) in accesses.into_iter().flatten().enumerate() {
        let at = format!("requiredResourceAccess[{i}]");
        let resource_app_id = required(
            &format!("{at}.resourceAppId"),
            access.resource_app_id,
            problems,
        );
        let (mut scope_ids, mut role_ids) = (Vec::new(), Vec::new());
        for (j, entry) in access.resource_access.into_iter().flatten().enumerate() {
            let at = format!("{at}.resourceAccess[{j}]");
            let id = guid(&format!("{at}.id"), entry.id.as_deref(), problems);
            match entry.kind.as_deref() {
                Some("Scope") => scope_ids.push(id),
                Some("Role") => role_ids.push(id),
                Some(other) => problems.push(format!(
                    "{at}.type: expected \"Scope\" or \"Role\", found {other:?}"
                )),
                None => problems.push(format!("{at}.type: missing")),
            }
        }
        result.push(RequiredResourceAccess {
            resource_app_id,
            scope_ids,
            role_ids,
        });
    }
    result
}

/// Certificates (`AsymmetricX509Cert`, usage `Verify`) whose `key` is
/// given; `customKeyIdentifier`, when it reads as a thumbprint, must be the
/// certificate's.
fn key_credentials(
    entries: Option<Vec<ManifestKeyCredential>>,
    problems: &mut Vec<String>,
) -> Vec<KeyCredential> {
    let mut credentials = Vec::new();
    for (i, entry) in entries.into_iter().flatten().enumerate() {
        let at = format!("keyCredentials[{i}]");
        let verify_certificate = entry.kind.as_deref() == Some("AsymmetricX509Cert")
            && entry.usage.as_deref() == Some("Verify");
        let (true, Some(key)) = (verify_certificate, entry.key) else {
            continue;
        };
        let credential = STANDARD
            .decode(key.trim())
            .map_err(|e| format!("not base64 ({e})"))
            .and_then(|der| KeyCredential::from_der(&der).map_err(|e| e.to_string()));
        let mut credential = match credential {
            Ok(credential) => credential,
            Err(e) => {
                problems.push(format!("{at}.key: {e}"));
                continue;
            }
        };
        if let Some(identifier) = entry.custom_key_identifier.as_deref()
            && let Some(thumbprint) = Thumbprint::decode(identifier)
            && !credential.matches(&thumbprint)
        {
            problems.push(format!(
                "{at}.customKeyIdentifier: {thumbprint} is not the thumbprint of the certificate in key ({})",
                credential.thumbprint_hex()
            ));
        }
        credential.display_name = entry.display_name;
        credentials.push(credential);
    }
    credentials
}

/// Graph platform lists first; the legacy `replyUrlsWithType` only when none
/// of them is present.
fn redirect_uris(
    spa: Option<ManifestRedirects>,
    web: Option<Vec<String>>,
    public_client: Option<ManifestRedirects>,
    legacy: Option<Vec<ManifestReplyUrl>>,
    problems: &mut Vec<String>,
) -> Vec<(String, RedirectKind)> {
    let spa = spa.and_then(|s| s.redirect_uris);
    let public_client = public_client.and_then(|p| p.redirect_uris);
    if spa.is_none() && web.is_none() && public_client.is_none() {
        let mut uris = Vec::new();
        for (i, reply) in legacy.unwrap_or_default().into_iter().enumerate() {
            let kind = match reply.kind.as_deref() {
                Some("Spa") => RedirectKind::Spa,
                Some("Web") => RedirectKind::Web,
                Some("InstalledClient") => RedirectKind::PublicClient,
                other => {
                    problems.push(format!(
                        "replyUrlsWithType[{i}].type: expected \"Web\", \"Spa\" or \"InstalledClient\", found {other:?}"
                    ));
                    continue;
                }
            };
            uris.push((
                required(&format!("replyUrlsWithType[{i}].url"), reply.url, problems),
                kind,
            ));
        }
        return uris;
    }
    let tagged = |list: Option<Vec<String>>, kind| {
        list.unwrap_or_default().into_iter().map(move |u| (u, kind))
    };
    tagged(spa, RedirectKind::Spa)
        .chain(tagged(web, RedirectKind::Web))
        .chain(tagged(public_client, RedirectKind::PublicClient))
        .collect()
}

/// A Graph flag, else its legacy AAD Graph twin, else false.
fn flag(graph: Option<bool>, legacy: Option<bool>) -> bool {
    graph.or(legacy).unwrap_or(false)
}

fn guid(at: &str, value: Option<&str>, problems: &mut Vec<String>) -> String {
    match value {
        Some(v) => normalize_guid(v).unwrap_or_else(|| {
            problems.push(format!("{at}: expected a GUID, found {v:?}"));
            v.to_owned()
        }),
        None => {
            problems.push(format!("{at}: missing"));
            String::new()
        }
    }
}

fn required(at: &str, value: Option<String>, problems: &mut Vec<String>) -> String {
    value.unwrap_or_else(|| {
        problems.push(format!("{at}: missing"));
        String::new()
    })
}

// The manifest members read. No `deny_unknown_fields`: see the module docs.
// Every member is optional because exports write `null` for unset ones.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    app_id: Option<String>,
    display_name: Option<String>,
    identifier_uris: Option<Vec<String>>,
    app_roles: Option<Vec<ManifestRole>>,
    api: Option<ManifestApi>,
    spa: Option<ManifestRedirects>,
    web: Option<ManifestWeb>,
    public_client: Option<ManifestRedirects>,
    is_fallback_public_client: Option<bool>,
    required_resource_access: Option<Vec<ManifestRequiredAccess>>,
    optional_claims: Option<ManifestOptionalClaims>,
    group_membership_claims: Option<String>,
    sign_in_audience: Option<String>,
    key_credentials: Option<Vec<ManifestKeyCredential>>,
    // Legacy AAD Graph names.
    name: Option<String>,
    access_token_accepted_version: Option<i64>,
    #[serde(rename = "oauth2Permissions")]
    oauth2_permissions: Option<Vec<ManifestScope>>,
    reply_urls_with_type: Option<Vec<ManifestReplyUrl>>,
    #[serde(rename = "oauth2AllowIdTokenImplicitFlow")]
    oauth2_allow_id_token_implicit_flow: Option<bool>,
    #[serde(rename = "oauth2AllowImplicitFlow")]
    oauth2_allow_implicit_flow: Option<bool>,
    allow_public_client: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ManifestApi {
    requested_access_token_version: Option<i64>,
    #[serde(rename = "oauth2PermissionScopes")]
    oauth2_permission_scopes: Option<Vec<ManifestScope>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestRole {
    id: Option<String>,
    value: Option<String>,
    display_name: Option<String>,
    allowed_member_types: Option<Vec<String>>,
    is_enabled: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestScope {
    id: Option<String>,
    value: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    admin_consent_display_name: Option<String>,
    is_enabled: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestRedirects {
    redirect_uris: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ManifestWeb {
    redirect_uris: Option<Vec<String>>,
    implicit_grant_settings: Option<ManifestImplicitGrant>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ManifestImplicitGrant {
    enable_id_token_issuance: Option<bool>,
    enable_access_token_issuance: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestRequiredAccess {
    resource_app_id: Option<String>,
    resource_access: Option<Vec<ManifestResourceAccess>>,
}

#[derive(Deserialize)]
struct ManifestResourceAccess {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestOptionalClaims {
    access_token: Option<Vec<ManifestOptionalClaim>>,
}

#[derive(Deserialize)]
struct ManifestOptionalClaim {
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestKeyCredential {
    key: Option<String>,
    custom_key_identifier: Option<String>,
    display_name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    usage: Option<String>,
}

#[derive(Deserialize)]
struct ManifestReplyUrl {
    url: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_the_example_export() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/manifests/orders-api.json"
        );
        let app = import(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(
            app.app_id.as_deref(),
            Some("8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c")
        );
        assert_eq!(app.display_name.as_deref(), Some("Orders API"));
        assert_eq!(
            app.identifier_uris,
            ["api://8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c"]
        );
        assert_eq!(app.requested_access_token_version, 2);
        assert!(app.emit_idtyp);
        assert!(app.redirect_uris.is_empty());
        let roles: Vec<_> = app.app_roles.iter().map(|r| r.value.as_str()).collect();
        assert_eq!(roles, ["Orders.Read", "Orders.Admin"]);
        assert!(
            app.app_roles
                .iter()
                .all(|r| r.allowed_for_users && r.allowed_for_applications)
        );
        // The disabled Orders.Export scope is left out.
        assert_eq!(
            app.scopes,
            [PermissionScope {
                id: "5a23ef1e-7e53-4f04-91f9-231bfd24e2c6".to_owned(),
                value: "access_as_user".to_owned(),
                admin_consent_display_name: "Access orders as the signed-in user".to_owned(),
                admin_only: false,
            }]
        );
        assert_eq!(
            app.required_resource_access,
            [RequiredResourceAccess {
                resource_app_id: "00000003-0000-0000-c000-000000000000".to_owned(),
                scope_ids: vec!["e1fe6dd8-ba31-4d61-89e7-88639da4683d".to_owned()],
                role_ids: vec![],
            }]
        );
    }

    #[test]
    fn reads_legacy_aad_graph_names() {
        let app = import(
            r#"{
                "appId": "2732dc92-37da-4c7f-a87a-1900d556a951",
                "name": "Legacy",
                "accessTokenAcceptedVersion": null,
                "allowPublicClient": true,
                "oauth2AllowIdTokenImplicitFlow": true,
                "oauth2Permissions": [{"id": "5A23EF1E-7E53-4F04-91F9-231BFD24E2C6", "value": "read",
                    "type": "Admin", "adminConsentDisplayName": "Read", "isEnabled": true}],
                "replyUrlsWithType": [{"url": "https://app.test/cb", "type": "Web"},
                    {"url": "http://localhost", "type": "InstalledClient"}]
            }"#,
        )
        .unwrap();
        assert_eq!(app.display_name.as_deref(), Some("Legacy"));
        assert_eq!(app.requested_access_token_version, 1);
        assert!(app.is_fallback_public_client && app.enable_id_token_issuance);
        assert!(!app.enable_access_token_issuance);
        assert_eq!(app.scopes[0].id, "5a23ef1e-7e53-4f04-91f9-231bfd24e2c6");
        assert!(app.scopes[0].admin_only);
        assert_eq!(
            app.redirect_uris,
            [
                ("https://app.test/cb".to_owned(), RedirectKind::Web),
                ("http://localhost".to_owned(), RedirectKind::PublicClient)
            ]
        );
    }

    #[test]
    fn reports_every_problem() {
        let problems = import(
            r#"{
                "api": {"requestedAccessTokenVersion": 3, "oauth2PermissionScopes": [{"id": "x", "value": "a"}]},
                "appRoles": [{"id": "e0fc5a79-9c4e-42f3-9ff3-e4f69658c6c4", "value": "R", "displayName": "R",
                    "allowedMemberTypes": ["Device"]}],
                "requiredResourceAccess": [{"resourceAppId": "r", "resourceAccess": [{"id": "e0fc5a79-9c4e-42f3-9ff3-e4f69658c6c4", "type": "Both"}]}]
            }"#,
        )
        .unwrap_err();
        assert_eq!(
            problems,
            [
                "api.requestedAccessTokenVersion: expected 1 or 2, found 3",
                r#"appRoles[0].allowedMemberTypes: "Device" is not "User" or "Application""#,
                r#"api.oauth2PermissionScopes[0].id: expected a GUID, found "x""#,
                "api.oauth2PermissionScopes[0].adminConsentDisplayName: missing",
                r#"requiredResourceAccess[0].resourceAccess[0].type: expected "Scope" or "Role", found "Both""#,
            ]
        );
        assert!(import("[]").unwrap_err()[0].starts_with("not an app manifest: "));
    }
}
