//! The tenant file's schema: what serde reads, before any checking.
//!
//! Every struct rejects unknown keys, so a misspelt key fails to load
//! instead of silently leaving a security setting at its default (STYLE §6).
//! Keys are the snake_case forms of Entra's manifest names;
//! `examples/tenant.toml` shows and explains each one.

use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TenantFile {
    /// Schema version; only 1 exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) version: Option<i64>,
    /// `[tenant]`: the tenant's id and domain.
    pub(super) tenant: TenantEntry,
    /// `[[users]]`: user accounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) users: Vec<UserEntry>,
    /// `[[groups]]`: security groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) groups: Vec<GroupEntry>,
    /// `[[applications]]`: app registrations (each with its service principal).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) applications: Vec<ApplicationEntry>,
    /// `[[app_role_assignments]]`: app roles held by users, groups and client apps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) app_role_assignments: Vec<RoleAssignmentEntry>,
    /// `[[admin_consents]]`: delegated permissions granted for all users.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) admin_consents: Vec<AdminConsentEntry>,
    /// Enterprise applications: other tenants' multi-tenant apps that have
    /// a service principal here from the start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) service_principals: Vec<ServicePrincipalEntry>,
}

/// `[[service_principals]]`: another tenant's multi-tenant application,
/// installed in this tenant.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServicePrincipalEntry {
    /// The application's app id (registered in another tenant file).
    pub(super) app_id: String,
    /// Users need a role assignment to sign in (this tenant's setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) app_role_assignment_required: Option<bool>,
}

/// `[tenant]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TenantEntry {
    /// Tenant id (GUID): the `tid` claim.
    pub(super) id: String,
    /// The verified domain; user principal names must use it.
    pub(super) domain: String,
    /// Above this many groups, tokens carry the overage indirection
    /// instead of `groups` (default 200, as Entra's JWT limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) groups_overage_limit: Option<i64>,
}

/// `[[users]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UserEntry {
    /// Sign-in name, `name@{tenant domain}`; unique case-insensitively.
    pub(super) user_principal_name: String,
    /// The `name` claim.
    pub(super) display_name: String,
    /// Plain text, hashed at load; absent = account picker without password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) password: Option<String>,
    /// Instead of `password`: its argon2 hash (PHC string), as the store and
    /// `rolegate idp export` keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) password_hash: Option<String>,
    /// Display names of groups the user is a direct member of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) groups: Vec<String>,
    /// Defaults to a GUID derived from the tenant and UPN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) object_id: Option<String>,
    /// Directory roles: built-in role names or template ids (`wids`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) directory_roles: Vec<String>,
}

/// `[[groups]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GroupEntry {
    /// Unique (case-insensitively); users and role assignments name the group by it.
    pub(super) display_name: String,
    /// Defaults to a GUID derived from the tenant and display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) object_id: Option<String>,
    /// `securityEnabled` (default true); false: a distribution or
    /// Microsoft 365 group, in tokens only with `All`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) security_enabled: Option<bool>,
    /// Groups this group is a member of (display names): nesting.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) member_of: Vec<String>,
}

/// `[[applications]]`. Optional so that a `manifest` entry can tell what was
/// given alongside it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ApplicationEntry {
    /// Shown on consent pages and in errors; required unless the manifest has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) display_name: Option<String>,
    /// The application (client) id, a GUID; required unless the manifest has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) app_id: Option<String>,
    /// An Entra manifest (JSON) to import instead of the keys below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) manifest: Option<String>,
    /// App ID URIs, e.g. `api://{app_id}`; unique across applications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) identifier_uris: Option<Vec<String>>,
    /// 1 or 2: which access tokens the app receives as a resource (absent = 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) requested_access_token_version: Option<i64>,
    /// Users need a role assignment (direct or via a group) to sign in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) app_role_assignment_required: Option<bool>,
    /// `false`: the registration has no service principal (enterprise
    /// application) in its tenant, as after `DELETE /servicePrincipals/{id}`:
    /// it can neither get tokens nor be a resource until one is created
    /// (`POST /servicePrincipals`). Absent: it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) service_principal: Option<bool>,
    /// Single-page app redirect URIs (code + PKCE, CORS at the token endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) spa_redirect_uris: Option<Vec<String>>,
    /// Web (confidential) redirect URIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) web_redirect_uris: Option<Vec<String>>,
    /// Native and desktop redirect URIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) public_client_redirect_uris: Option<Vec<String>>,
    /// "Allow public client flows": device code and ROPC without a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) is_fallback_public_client: Option<bool>,
    /// `/authorize` may return an ID token (implicit and hybrid flows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) enable_id_token_issuance: Option<bool>,
    /// `/authorize` may return an access token (implicit flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) enable_access_token_issuance: Option<bool>,
    /// Add the optional claim `idtyp` to access tokens for this resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) emit_idtyp: Option<bool>,
    /// `groupMembershipClaims`: None, SecurityGroup, DirectoryRole,
    /// ApplicationGroup or All.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) group_membership_claims: Option<String>,
    /// `signInAudience`: AzureADMyOrg (default) or AzureADMultipleOrgs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) sign_in_audience: Option<String>,
    /// App roles the application defines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) app_roles: Option<Vec<AppRoleEntry>>,
    /// Delegated permissions (scopes) the application exposes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) oauth2_permission_scopes: Option<Vec<ScopeEntry>>,
    /// Client secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) password_credentials: Option<Vec<PasswordCredentialEntry>>,
    /// Certificates for client assertions (`private_key_jwt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) key_credentials: Option<Vec<KeyCredentialEntry>>,
    /// Permissions the application requests from resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) required_resource_access: Option<Vec<RequiredAccessEntry>>,
}

impl ApplicationEntry {
    /// The keys given that describe the app registration itself, which an
    /// imported manifest defines and so may not be given alongside it.
    /// `display_name` and `app_id` may (they override the manifest), and so
    /// may what a manifest cannot carry: `app_role_assignment_required` (a
    /// service principal setting), `password_credentials` (exports never
    /// contain secret text) and `key_credentials` (exports rarely contain the
    /// certificate itself).
    pub(super) fn registration_keys(&self) -> Vec<&'static str> {
        let given = [
            ("identifier_uris", self.identifier_uris.is_some()),
            (
                "requested_access_token_version",
                self.requested_access_token_version.is_some(),
            ),
            ("spa_redirect_uris", self.spa_redirect_uris.is_some()),
            ("web_redirect_uris", self.web_redirect_uris.is_some()),
            (
                "public_client_redirect_uris",
                self.public_client_redirect_uris.is_some(),
            ),
            (
                "is_fallback_public_client",
                self.is_fallback_public_client.is_some(),
            ),
            (
                "enable_id_token_issuance",
                self.enable_id_token_issuance.is_some(),
            ),
            (
                "enable_access_token_issuance",
                self.enable_access_token_issuance.is_some(),
            ),
            ("emit_idtyp", self.emit_idtyp.is_some()),
            (
                "group_membership_claims",
                self.group_membership_claims.is_some(),
            ),
            ("sign_in_audience", self.sign_in_audience.is_some()),
            ("app_roles", self.app_roles.is_some()),
            (
                "oauth2_permission_scopes",
                self.oauth2_permission_scopes.is_some(),
            ),
            (
                "required_resource_access",
                self.required_resource_access.is_some(),
            ),
        ];
        given
            .into_iter()
            .filter(|(_, is_given)| *is_given)
            .map(|(key, _)| key)
            .collect()
    }
}

/// `[[applications.app_roles]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AppRoleEntry {
    /// The `roles` claim value; no spaces, unique in the application.
    pub(super) value: String,
    /// Shown to administrators.
    pub(super) display_name: String,
    /// `"User"`, `"Application"` or both.
    pub(super) allowed_member_types: Vec<String>,
    /// Role id (GUID); defaults to one derived from the tenant, app id and value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) id: Option<String>,
    /// Documentation only.
    #[serde(
        rename = "description",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) description: Option<String>,
}

/// `[[applications.oauth2_permission_scopes]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScopeEntry {
    /// The `scp` claim value; no spaces, unique in the application.
    pub(super) value: String,
    /// Shown on the consent page.
    pub(super) admin_consent_display_name: String,
    /// `"User"` (default) or `"Admin"`.
    #[serde(rename = "type")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) kind: Option<String>,
    /// Scope id (GUID); defaults to one derived from the tenant, app id and value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) id: Option<String>,
}

/// `[[applications.password_credentials]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordCredentialEntry {
    /// Plain text, hashed at load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) secret: Option<String>,
    /// Instead of `secret`: its argon2 hash (PHC string), as the store and
    /// `rolegate idp export` keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) hash: Option<String>,
    /// With `hash`: the secret's first characters, as Entra shows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) hint: Option<String>,
    /// The credential's id (`keyId`), a GUID; derived when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) key_id: Option<String>,
    /// A label for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) display_name: Option<String>,
}

/// `[[applications.key_credentials]]`: one certificate, from a file or
/// inline (exactly one of the two).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KeyCredentialEntry {
    /// A PEM file holding the certificate (and no private key), relative to
    /// the tenant file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) certificate: Option<String>,
    /// The certificate itself, PEM (`-----BEGIN CERTIFICATE-----…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) pem: Option<String>,
    /// A label for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) display_name: Option<String>,
}

/// `[[applications.required_resource_access]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RequiredAccessEntry {
    /// App id or identifier URI.
    pub(super) resource: String,
    /// Delegated permissions: scope values of the resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) scopes: Vec<String>,
    /// Application permissions: app role values of the resource that allow `Application`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) roles: Vec<String>,
}

/// `[[app_role_assignments]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RoleAssignmentEntry {
    /// A user's UPN, a group's display name or a client's app id.
    pub(super) principal: String,
    /// App id or identifier URI.
    pub(super) resource: String,
    /// An app role value of the resource that allows this kind of principal.
    pub(super) role: String,
}

/// `[[admin_consents]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AdminConsentEntry {
    /// The client's app id.
    pub(super) client: String,
    /// App id or identifier URI.
    pub(super) resource: String,
    /// Scope values of the resource, granted for every user.
    pub(super) scopes: Vec<String>,
}
