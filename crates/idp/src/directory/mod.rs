//! The directory: tenant, users, groups, app registrations (with app roles
//! and exposed scopes), role assignments and admin consents.
//!
//! Loaded from a TOML tenant file (see [`config`]) into this validated,
//! immutable model. Protocol code only reads it. Names follow Entra's
//! manifest (Microsoft Graph) vocabulary.

pub mod admin_portal;
pub mod certificate;
pub mod config;
pub mod manifest;
pub mod microsoft_graph;
pub mod persist;
mod tenants;

pub use tenants::Tenants;

use std::sync::Mutex;

use self::certificate::KeyCredential;
use crate::secret::{Busy, HashPool};

/// A validated, immutable directory for one tenant.
#[derive(Debug)]
pub struct Directory {
    /// The tenant.
    pub tenant: Tenant,
    /// Users, in file order.
    pub users: Vec<User>,
    /// Groups, in file order.
    pub groups: Vec<Group>,
    /// App registrations (each with its service principal), in file order.
    pub applications: Vec<Application>,
    /// App role assignments (users, groups and client apps to roles).
    pub role_assignments: Vec<RoleAssignment>,
    /// Admin consents (delegated permissions granted for all users).
    pub admin_consents: Vec<AdminConsent>,
    /// Above this many groups a token carries the overage indirection
    /// instead of `groups` (Entra: 200 in JWTs).
    pub groups_overage_limit: usize,
    /// Client secrets that verified, by SHA-256 of `app_id \0 secret`
    /// (least recently used dropped first): argon2 runs once per right
    /// secret, not once per request.
    pub(crate) verified_secrets: Mutex<hashlink::LruCache<[u8; 32], ()>>,
    /// The version of the stored directory document this was built from
    /// (0 when it was built from a file alone).
    pub version: i64,
}

/// The tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Tenant id (GUID), lower case.
    pub id: String,
    /// The verified domain, e.g. `contoso.test`; also accepted in URL paths.
    pub domain: String,
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Object id (GUID): stable, derived from the tenant and UPN.
    pub object_id: String,
    /// Sign-in name, e.g. `alice@contoso.test`.
    pub user_principal_name: String,
    /// Display name.
    pub display_name: String,
    /// Argon2 PHC string of the password; `None` = account picker, no password.
    pub password_hash: Option<String>,
    /// Object ids of the groups the user is a direct member of.
    pub groups: Vec<String>,
    /// Directory roles the user holds: role template ids (`wids`).
    pub directory_roles: Vec<String>,
}

/// A security group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Object id (GUID), derived from the tenant and display name.
    pub object_id: String,
    /// Display name; role assignments may name it.
    pub display_name: String,
    /// A security group (`securityEnabled`); `false` for distribution and
    /// Microsoft 365 groups, which only `All` puts in tokens.
    pub security_enabled: bool,
    /// Object ids of the groups this group is a direct member of (nested
    /// groups: tokens list memberships transitively).
    pub member_of: Vec<String>,
}

/// `groupMembershipClaims`: which memberships an app's tokens carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GroupMembershipClaims {
    /// No `groups` or `wids` (the default).
    #[default]
    None,
    /// Security groups and directory roles.
    SecurityGroup,
    /// Directory roles only (`wids`).
    DirectoryRole,
    /// Only security groups assigned to the application (Enterprise
    /// applications > Users and groups).
    ApplicationGroup,
    /// Security groups, distribution lists, Microsoft 365 groups and
    /// directory roles.
    All,
}

impl GroupMembershipClaims {
    /// Parses the manifest value (case-insensitive; a comma-separated list
    /// such as `"SecurityGroup, DirectoryRole"` takes the widest).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut out = GroupMembershipClaims::None;
        for part in text.split(',').map(str::trim) {
            let value = match part.to_ascii_lowercase().as_str() {
                "none" | "" => GroupMembershipClaims::None,
                "securitygroup" => GroupMembershipClaims::SecurityGroup,
                "directoryrole" => GroupMembershipClaims::DirectoryRole,
                "applicationgroup" => GroupMembershipClaims::ApplicationGroup,
                "all" => GroupMembershipClaims::All,
                _ => {
                    return Err(format!(
                        "expected None, SecurityGroup, DirectoryRole, ApplicationGroup or All, found {part:?}"
                    ));
                }
            };
            out = out.widest(value);
        }
        Ok(out)
    }

    fn widest(self, other: Self) -> Self {
        use GroupMembershipClaims::*;
        match (self, other) {
            (All, _) | (_, All) => All,
            (SecurityGroup, _) | (_, SecurityGroup) => SecurityGroup,
            (ApplicationGroup, _) | (_, ApplicationGroup) => ApplicationGroup,
            (DirectoryRole, _) | (_, DirectoryRole) => DirectoryRole,
            (None, None) => None,
        }
    }
}

/// The memberships a token states, per the app's
/// [`GroupMembershipClaims`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    /// Group object ids (`groups`); empty when there is overage.
    pub groups: Vec<String>,
    /// The user is in more groups than a token may list: the token says so
    /// (`_claim_names`/`_claim_sources`) instead of listing them.
    pub overage: bool,
    /// Directory role template ids (`wids`).
    pub wids: Vec<String>,
}

/// Role template id every member user holds ("User"); Entra lists it in `wids`.
pub const MEMBER_USER_ROLE: &str = "b79fbf4d-3ef9-4689-8143-76b194e85509";

/// Built-in directory roles the tenant file may name, with their template
/// ids (stable across tenants).
pub const DIRECTORY_ROLES: [(&str, &str); 10] = [
    (
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
    ),
    ("Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451"),
    ("User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"),
    (
        "Application Administrator",
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    ),
    (
        "Cloud Application Administrator",
        "158c047a-c907-4556-b7ef-446551a6b5f7",
    ),
    (
        "Privileged Role Administrator",
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
    ),
    (
        "Security Administrator",
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
    ),
    ("Security Reader", "5d6b6bb7-de71-4623-b4af-96380a352509"),
    (
        "Groups Administrator",
        "fdd7a751-b60b-444a-984c-02652fe8fa1c",
    ),
    (
        "Helpdesk Administrator",
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    ),
];

/// Where a redirect URI is registered (Entra platform types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// `publicClient.redirectUris` (native/desktop).
    PublicClient,
    /// `spa.redirectUris`: PKCE required, CORS at the token endpoint, 24 h refresh tokens.
    Spa,
    /// `web.redirectUris` (confidential web apps).
    Web,
}

/// An app registration and its service principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// `appId`: the client id.
    pub app_id: String,
    /// The service principal's object id (GUID, derived): `oid`/`sub` of app-only tokens.
    pub service_principal_id: String,
    /// Display name.
    pub display_name: String,
    /// App ID URIs, e.g. `api://{appId}`.
    pub identifier_uris: Vec<String>,
    /// `api.requestedAccessTokenVersion`: 1 or 2 (absent means 1).
    pub requested_access_token_version: u8,
    /// Users need a role assignment to sign in (AADSTS50105 otherwise).
    pub app_role_assignment_required: bool,
    /// Redirect URIs with their platform.
    pub redirect_uris: Vec<(String, RedirectKind)>,
    /// `isFallbackPublicClient`: device code and ROPC without a secret.
    pub is_fallback_public_client: bool,
    /// `web.implicitGrantSettings.enableIdTokenIssuance`.
    pub enable_id_token_issuance: bool,
    /// `web.implicitGrantSettings.enableAccessTokenIssuance`.
    pub enable_access_token_issuance: bool,
    /// `appRoles`.
    pub app_roles: Vec<AppRoleDefinition>,
    /// `api.oauth2PermissionScopes`.
    pub scopes: Vec<PermissionScope>,
    /// `passwordCredentials`, hashed.
    pub secrets: Vec<ClientSecret>,
    /// `keyCredentials`: certificates the app signs client assertions with.
    pub key_credentials: Vec<KeyCredential>,
    /// `requiredResourceAccess`: permissions the app asks for.
    pub required_resource_access: Vec<ResourceAccess>,
    /// Emit `idtyp` in access tokens for this resource (optional claim).
    pub emit_idtyp: bool,
    /// `groupMembershipClaims`: `groups`/`wids` in tokens for this app
    /// (access tokens: the resource's setting; ID tokens: the client's).
    pub group_membership_claims: GroupMembershipClaims,
    /// `signInAudience`: which tenants' users may use the app.
    pub sign_in_audience: SignInAudience,
    /// The tenant the app is registered in (its home). A multi-tenant app
    /// of another tenant appears in every directory with this set to its
    /// home and its own service principal id for this tenant.
    pub home_tenant_id: String,
    /// Whether the app's service principal exists in this tenant from the
    /// start: always for apps registered here; for another tenant's
    /// multi-tenant app, when the tenant file lists it under
    /// `[[service_principals]]` (otherwise the first consent creates it).
    pub provisioned: bool,
    /// A Microsoft resource built into every tenant ([`microsoft_graph`]):
    /// a resource only, never a client; not listed among the tenant file's
    /// applications.
    pub first_party: bool,
}

/// `signInAudience`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SignInAudience {
    /// `AzureADMyOrg`: users of the home tenant only (the default).
    #[default]
    MyOrg,
    /// `AzureADMultipleOrgs`: users of any tenant; another tenant gets a
    /// service principal on first consent.
    MultipleOrgs,
}

impl SignInAudience {
    /// Parses Entra's value.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "AzureADMyOrg" => Ok(SignInAudience::MyOrg),
            "AzureADMultipleOrgs" => Ok(SignInAudience::MultipleOrgs),
            "AzureADandPersonalMicrosoftAccount" | "PersonalMicrosoftAccount" => Err(format!(
                "{text:?} needs personal Microsoft accounts, which this provider does not emulate; use AzureADMyOrg or AzureADMultipleOrgs"
            )),
            other => Err(format!(
                "expected AzureADMyOrg or AzureADMultipleOrgs, found {other:?}"
            )),
        }
    }
}

/// An app role the application defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRoleDefinition {
    /// Role id (GUID).
    pub id: String,
    /// The `roles` claim value, e.g. `Orders.Admin`.
    pub value: String,
    /// Display name.
    pub display_name: String,
    /// Users and groups may be assigned.
    pub allowed_for_users: bool,
    /// Client applications may be granted it (application permission).
    pub allowed_for_applications: bool,
}

/// A delegated permission the application exposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionScope {
    /// Scope id (GUID).
    pub id: String,
    /// The `scp` value, e.g. `access_as_user`.
    pub value: String,
    /// Shown on the consent page.
    pub admin_consent_display_name: String,
    /// Only an admin may consent (`type: Admin`).
    pub admin_only: bool,
}

/// A client secret, hashed with argon2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSecret {
    /// Argon2 PHC string.
    pub hash: String,
    /// First characters of the secret, as Entra shows them.
    pub hint: String,
    /// `keyId` (GUID).
    pub key_id: String,
    /// A label for people.
    pub display_name: Option<String>,
}

/// Permissions an application requests from a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceAccess {
    /// The resource's app id.
    pub resource_app_id: String,
    /// Delegated permissions (scope values).
    pub scopes: Vec<String>,
    /// Application permissions (app role values).
    pub roles: Vec<String>,
}

/// Who holds a role assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignedPrincipal {
    /// A client application (by app id): an application permission.
    Application(String),
    /// A group (by object id): applies to direct members.
    Group(String),
    /// A user (by object id).
    User(String),
}

/// An app role assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignment {
    /// The holder.
    pub principal: AssignedPrincipal,
    /// The resource application's app id.
    pub resource_app_id: String,
    /// The role value.
    pub role: String,
}

/// Delegated permissions granted for every user (`consentType: AllPrincipals`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConsent {
    /// The client's app id.
    pub client_app_id: String,
    /// The resource's app id.
    pub resource_app_id: String,
    /// Scope values.
    pub scopes: Vec<String>,
}

impl Directory {
    /// Whether `segment` (a URL path segment) names this tenant: its id or
    /// its domain, case-insensitively.
    pub fn is_tenant(&self, segment: &str) -> bool {
        segment.eq_ignore_ascii_case(&self.tenant.id)
            || segment.eq_ignore_ascii_case(&self.tenant.domain)
    }

    /// A user by sign-in name (case-insensitive).
    pub fn user_by_upn(&self, upn: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.user_principal_name.eq_ignore_ascii_case(upn))
    }

    /// A user by object id.
    pub fn user(&self, object_id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.object_id == object_id)
    }

    /// An application by client id.
    pub fn application(&self, app_id: &str) -> Option<&Application> {
        self.applications
            .iter()
            .find(|a| !a.first_party && a.app_id.eq_ignore_ascii_case(app_id))
    }

    /// A client application by client id: the tenant's own (as
    /// [`Directory::application`], if its service principal was not
    /// deleted) or the built-in [`admin_portal`].
    pub fn client(&self, app_id: &str) -> Option<&Application> {
        if admin_portal::is_portal(app_id) {
            return self
                .applications
                .iter()
                .find(|a| a.first_party && admin_portal::is_portal(&a.app_id));
        }
        self.application(app_id)
            .filter(|a| a.usable_in(&self.tenant.id))
    }

    /// A resource by app id or App ID URI (exact; a trailing `/` on the URI
    /// is tolerated as Entra does).
    pub fn resource(&self, identifier: &str) -> Option<&Application> {
        // An app registered here whose service principal was deleted is no
        // resource (AADSTS500011) until it has one again.
        let usable = |a: &&Application| a.usable_in(&self.tenant.id);
        let by_id = self
            .applications
            .iter()
            .filter(usable)
            .find(|a| a.app_id.eq_ignore_ascii_case(identifier));
        by_id.or_else(|| {
            self.applications.iter().filter(usable).find(|a| {
                a.identifier_uris.iter().any(|u| {
                    u == identifier || u.trim_end_matches('/') == identifier.trim_end_matches('/')
                })
            })
        })
    }

    /// The user's app roles on `resource`: direct assignments and those of
    /// groups the user is a direct member of, for roles that allow users.
    pub fn user_roles(&self, user: &User, resource: &Application) -> Vec<String> {
        let mut roles = Vec::new();
        for assignment in self
            .role_assignments
            .iter()
            .filter(|a| a.resource_app_id == resource.app_id)
        {
            let holds = match &assignment.principal {
                AssignedPrincipal::User(oid) => *oid == user.object_id,
                AssignedPrincipal::Group(gid) => user.groups.contains(gid),
                AssignedPrincipal::Application(_) => false,
            };
            let allowed = resource
                .app_roles
                .iter()
                .any(|r| r.value == assignment.role && r.allowed_for_users);
            if holds && allowed && !roles.contains(&assignment.role) {
                roles.push(assignment.role.clone());
            }
        }
        roles
    }

    /// The user's groups, transitively (direct groups first, then the
    /// groups they belong to), each once.
    pub fn transitive_groups(&self, user: &User) -> Vec<&Group> {
        let mut out: Vec<&Group> = Vec::new();
        let mut queue: std::collections::VecDeque<&str> =
            user.groups.iter().map(String::as_str).collect();
        while let Some(id) = queue.pop_front() {
            if out.iter().any(|g| g.object_id == id) {
                continue;
            }
            if let Some(group) = self.groups.iter().find(|g| g.object_id == id) {
                out.push(group);
                queue.extend(group.member_of.iter().map(String::as_str));
            }
        }
        out
    }

    /// What a token for `app` (the resource of an access token, the client
    /// of an ID token) states about the user's memberships.
    pub fn membership(&self, user: &User, app: &Application) -> Membership {
        use GroupMembershipClaims as G;
        let setting = app.group_membership_claims;
        let groups: Vec<String> = match setting {
            G::None | G::DirectoryRole => Vec::new(),
            G::All => self
                .transitive_groups(user)
                .into_iter()
                .map(|g| g.object_id.clone())
                .collect(),
            G::SecurityGroup => self
                .transitive_groups(user)
                .into_iter()
                .filter(|g| g.security_enabled)
                .map(|g| g.object_id.clone())
                .collect(),
            G::ApplicationGroup => self
                .transitive_groups(user)
                .into_iter()
                .filter(|g| {
                    g.security_enabled
                        && self.role_assignments.iter().any(|a| {
                            a.resource_app_id == app.app_id
                                && a.principal == AssignedPrincipal::Group(g.object_id.clone())
                        })
                })
                .map(|g| g.object_id.clone())
                .collect(),
        };
        let wids = match setting {
            G::SecurityGroup | G::DirectoryRole | G::All => {
                let mut wids = user.directory_roles.clone();
                wids.push(MEMBER_USER_ROLE.to_owned());
                wids
            }
            G::None | G::ApplicationGroup => Vec::new(),
        };
        let overage = groups.len() > self.groups_overage_limit;
        Membership {
            groups: if overage { Vec::new() } else { groups },
            overage,
            wids,
        }
    }

    /// Whether the user holds any assignment on `resource` (for
    /// `app_role_assignment_required`).
    pub fn user_is_assigned(&self, user: &User, resource: &Application) -> bool {
        self.role_assignments.iter().any(|a| {
            a.resource_app_id == resource.app_id
                && match &a.principal {
                    AssignedPrincipal::User(oid) => *oid == user.object_id,
                    AssignedPrincipal::Group(gid) => user.groups.contains(gid),
                    AssignedPrincipal::Application(_) => false,
                }
        })
    }

    /// Application permissions granted to `client` on `resource`.
    pub fn application_roles(&self, client: &Application, resource: &Application) -> Vec<String> {
        let mut roles = Vec::new();
        for a in &self.role_assignments {
            if a.resource_app_id == resource.app_id
                && a.principal == AssignedPrincipal::Application(client.app_id.clone())
                && resource
                    .app_roles
                    .iter()
                    .any(|r| r.value == a.role && r.allowed_for_applications)
                && !roles.contains(&a.role)
            {
                roles.push(a.role.clone());
            }
        }
        roles
    }

    /// Delegated scopes an admin consented for `client` on `resource`.
    pub fn admin_consented_scopes(
        &self,
        client: &Application,
        resource: &Application,
    ) -> Vec<String> {
        self.admin_consents
            .iter()
            .filter(|c| c.client_app_id == client.app_id && c.resource_app_id == resource.app_id)
            .flat_map(|c| c.scopes.iter().cloned())
            .collect()
    }

    /// Verifies a user's password (argon2, on `pool`). Users without a
    /// password never match.
    pub async fn verify_password(
        &self,
        pool: &HashPool,
        user: &User,
        password: &str,
    ) -> Result<bool, Busy> {
        match &user.password_hash {
            Some(hash) => pool.verify_any(vec![hash.clone()], password).await,
            None => Ok(false),
        }
    }

    /// Verifies a client secret. A (client, secret) pair that verified is
    /// remembered under its SHA-256 (the secret itself is not kept) in a
    /// bounded LRU, so a daemon's steady requests cost one hash lookup;
    /// wrong secrets are never cached (they cannot crowd out right ones)
    /// and each costs an argon2 run on `pool`, which bounds them.
    pub async fn verify_client_secret(
        &self,
        pool: &HashPool,
        app: &Application,
        secret: &str,
    ) -> Result<bool, Busy> {
        let key = crate::secret::cache_key(&app.app_id, secret);
        if let Ok(mut cache) = self.verified_secrets.lock()
            && cache.get(&key).is_some()
        {
            return Ok(true);
        }
        let hashes = app.secrets.iter().map(|s| s.hash.clone()).collect();
        let ok = pool.verify_any(hashes, secret).await?;
        if ok && let Ok(mut cache) = self.verified_secrets.lock() {
            cache.insert(key, ());
        }
        Ok(ok)
    }
}

impl Application {
    /// A Microsoft application built into every tenant ([`microsoft_graph`],
    /// [`admin_portal`]) as `tenant` sees it: provisioned, with the
    /// tenant's own service principal id, v1.0 tokens and nothing else yet
    /// (the caller fills in what the application has).
    pub(crate) fn built_in(tenant: &Tenant, app_id: &str, display_name: &str) -> Application {
        Application {
            app_id: app_id.to_owned(),
            service_principal_id: config::derived_guid(&tenant.id, "service_principal", app_id),
            display_name: display_name.to_owned(),
            identifier_uris: Vec::new(),
            requested_access_token_version: 1,
            app_role_assignment_required: false,
            redirect_uris: Vec::new(),
            is_fallback_public_client: false,
            enable_id_token_issuance: false,
            enable_access_token_issuance: false,
            app_roles: Vec::new(),
            scopes: Vec::new(),
            secrets: Vec::new(),
            key_credentials: Vec::new(),
            required_resource_access: Vec::new(),
            emit_idtyp: false,
            group_membership_claims: GroupMembershipClaims::None,
            sign_in_audience: SignInAudience::MyOrg,
            home_tenant_id: tenant.id.clone(),
            provisioned: true,
            first_party: true,
        }
    }

    /// Whether the app is registered in another tenant (a multi-tenant app
    /// seen from here).
    pub fn is_foreign(&self, tenant_id: &str) -> bool {
        !self.home_tenant_id.eq_ignore_ascii_case(tenant_id)
    }

    /// Whether the app has a service principal in the directory of
    /// `tenant_id` as far as tokens go: another tenant's app always (its
    /// installation is checked where it matters), an app registered here
    /// unless its service principal was deleted.
    fn usable_in(&self, tenant_id: &str) -> bool {
        self.provisioned || self.is_foreign(tenant_id)
    }

    /// `AzureADMultipleOrgs`.
    pub fn is_multi_tenant(&self) -> bool {
        self.sign_in_audience == SignInAudience::MultipleOrgs
    }

    /// Whether the app has a credential, a secret or a certificate (a
    /// confidential client).
    pub fn is_confidential(&self) -> bool {
        !self.secrets.is_empty() || !self.key_credentials.is_empty()
    }

    /// The platform a redirect URI is registered under: exact match, except
    /// that the port of a `localhost`/`127.0.0.1` URI is ignored (RFC 8252 §7.3,
    /// as Entra does).
    pub fn redirect_kind(&self, uri: &str) -> Option<RedirectKind> {
        self.redirect_uris
            .iter()
            .find(|(registered, _)| redirect_matches(registered, uri))
            .map(|(_, kind)| *kind)
    }

    /// The role definition named `value`.
    pub fn app_role(&self, value: &str) -> Option<&AppRoleDefinition> {
        self.app_roles.iter().find(|r| r.value == value)
    }

    /// The exposed scope named `value` (case-insensitive, as Entra).
    pub fn scope(&self, value: &str) -> Option<&PermissionScope> {
        self.scopes
            .iter()
            .find(|s| s.value.eq_ignore_ascii_case(value))
    }
}

/// Exact redirect URI matching; loopback URIs match on any port.
pub fn redirect_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    let (Ok(r), Ok(p)) = (url::Url::parse(registered), url::Url::parse(presented)) else {
        return false;
    };
    let loopback = |u: &url::Url| matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    loopback(&r)
        && loopback(&p)
        && r.scheme() == p.scheme()
        && r.host_str() == p.host_str()
        && r.path() == p.path()
        && r.query() == p.query()
        && p.fragment().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_matching_is_exact_but_loopback_ports_float() {
        assert!(redirect_matches(
            "https://app.test/cb",
            "https://app.test/cb"
        ));
        assert!(!redirect_matches(
            "https://app.test/cb",
            "https://app.test/cb/"
        ));
        assert!(!redirect_matches(
            "https://app.test/cb",
            "https://app.test/CB"
        ));
        assert!(!redirect_matches(
            "https://app.test/cb",
            "https://app.test.evil/cb"
        ));
        assert!(redirect_matches(
            "http://localhost/",
            "http://localhost:53111/"
        ));
        assert!(redirect_matches(
            "http://127.0.0.1:3000/cb",
            "http://127.0.0.1:4000/cb"
        ));
        assert!(!redirect_matches(
            "http://localhost/cb",
            "http://localhost:1/cb2"
        ));
        assert!(!redirect_matches(
            "http://localhost/cb",
            "https://localhost/cb"
        ));
    }
}
