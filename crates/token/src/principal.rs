//! The validated caller.
//!
//! A [`Principal`] answers who called (tenant, object id, client) and what
//! the token grants: app roles, delegated scopes, group membership
//! ([`Principal::groups`], with a groups overage made explicit) and
//! directory roles ([`Principal::directory_roles`]).

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use crate::claims::{Claim, ClaimSet, GroupClaims, Strings};
use crate::id::{
    AppRole, ClientId, DirectoryRoleTemplateId, GroupId, Issuer, KeyId, Scope, TenantId,
};
use crate::issuer::TokenVersion;
use crate::json::{self, Text};
use crate::jwk::VerifyingKey;

/// Who called, as established by a fully validated access token.
///
/// Only [`Validator`](crate::Validator) constructs a `Principal`, and only
/// after the signature, issuer, audience, lifetime and token kind checked
/// out. Cloning is cheap (everything is shared).
///
/// A principal keeps the validated payload and the positions of the claims
/// it exposes, so building one costs a single allocation; typed values
/// (`&TenantId`, `&[AppRole]`, ...) are made on first use, and
/// [`has_role`](Self::has_role) / [`has_scope`](Self::has_scope) never
/// allocate.
#[derive(Clone)]
pub struct Principal(Arc<Inner>);

struct Inner {
    /// The validated payload (JSON text).
    text: Box<str>,
    fields: Fields,
    key: Option<Arc<VerifyingKey>>,
    issuer: OnceLock<Issuer>,
    tenant_id: OnceLock<Option<TenantId>>,
    client_id: OnceLock<Option<ClientId>>,
    roles: OnceLock<Vec<AppRole>>,
    scopes: OnceLock<Vec<Scope>>,
    groups: OnceLock<Vec<GroupId>>,
    directory_roles: OnceLock<Vec<DirectoryRoleTemplateId>>,
    claims: OnceLock<Map<String, Value>>,
}

/// The typed parts of a principal, read from validated claims: positions
/// in the payload and scalars.
#[derive(Debug, PartialEq)]
pub(crate) struct Fields {
    issuer: Option<Text>,
    tenant_id: Option<Text>,
    object_id: Option<Text>,
    subject: Option<Text>,
    name: Option<Text>,
    preferred_username: Option<Text>,
    client_id: Option<Text>,
    /// The JSON text of `roles`, an array of strings.
    roles: Option<Text>,
    scopes: Option<Text>,
    groups: GroupField,
    /// The JSON text of `wids`, an array of strings.
    directory_roles: Option<Text>,
    app_only: bool,
    version: Option<TokenVersion>,
    expires_at: i64,
}

/// `groups` as validated claims state it: positions in the payload.
#[derive(Debug, PartialEq)]
enum GroupField {
    Absent,
    /// The JSON text of `groups`, an array of strings.
    Listed(Text),
    Overage {
        endpoint: Option<Text>,
    },
}

impl Fields {
    /// Reads the fields from claims that have passed validation; `payload`
    /// is the buffer the claims were read from.
    pub(crate) fn read(claims: &ClaimSet<'_>, payload: &[u8]) -> Fields {
        let text = |claim: Claim| claims.raw_str(claim).map(|v| Text::of(v, payload));
        let array = |claim: Claim| claims.raw_array(claim).map(|v| Text::of(v, payload));
        let groups = match claims.group_claims() {
            GroupClaims::Absent => GroupField::Absent,
            GroupClaims::Listed(text) => GroupField::Listed(Text::of(text, payload)),
            GroupClaims::Overage { endpoint } => GroupField::Overage {
                endpoint: endpoint.map(|url| Text::of(&url, payload)),
            },
        };
        Fields {
            version: TokenVersion::from_claims(claims.str(Claim::Ver), claims.str(Claim::Iss)),
            issuer: text(Claim::Iss),
            tenant_id: text(Claim::Tid),
            object_id: text(Claim::Oid),
            subject: text(Claim::Sub),
            name: text(Claim::Name),
            preferred_username: text(Claim::PreferredUsername).or_else(|| text(Claim::Upn)),
            client_id: text(Claim::Azp)
                .or_else(|| text(Claim::Appid))
                .or_else(|| text(Claim::ClientId)),
            roles: array(Claim::Roles),
            scopes: text(Claim::Scp),
            groups,
            directory_roles: array(Claim::Wids),
            app_only: app_only(claims),
            expires_at: claims.numeric_date(Claim::Exp).ok().flatten().unwrap_or(0),
        }
    }
}

/// The one app-only rule, for validated principals and unverified
/// diagnostics alike; documented on [`Principal::is_app_only`].
pub(crate) fn app_only(claims: &ClaimSet<'_>) -> bool {
    if claims.contains(Claim::Idtyp) {
        return claims.str(Claim::Idtyp) == Some("app");
    }
    !claims.contains(Claim::Scp) && !names_a_user(claims)
}

/// Whether the claims identify a signed-in user: one of [`USER_CLAIMS`] is
/// present (even as `null`), or `oid` and `sub` are both present and are
/// not the same string (a user's `sub` is pairwise; an application's is
/// its `oid`).
fn names_a_user(claims: &ClaimSet<'_>) -> bool {
    if USER_CLAIMS.iter().any(|&claim| claims.contains(claim)) {
        return true;
    }
    if !(claims.contains(Claim::Oid) && claims.contains(Claim::Sub)) {
        return false;
    }
    match (claims.str(Claim::Oid), claims.str(Claim::Sub)) {
        (Some(oid), Some(sub)) => oid != sub,
        _ => true,
    }
}

impl PartialEq for Principal {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.0.fields == other.0.fields
                && self.key_id() == other.key_id()
                && self.0.text == other.0.text)
    }
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("issuer", &self.issuer().as_str())
            .field("tenant_id", &self.text(&self.0.fields.tenant_id))
            .field("object_id", &self.object_id())
            .field("client_id", &self.text(&self.0.fields.client_id))
            .field("roles", &self.role_names().collect::<Vec<_>>())
            .field("scopes", &self.scope_names().collect::<Vec<_>>())
            .field("groups", &self.groups())
            .field("app_only", &self.is_app_only())
            .field("version", &self.version())
            .field("expires_at", &self.expires_at())
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

/// The permission-bearing parts of a token, for authorization checks. Both
/// [`Principal`] and unverified diagnostics implement it.
pub trait Permissions {
    /// App roles (`roles`).
    fn roles(&self) -> &[AppRole];
    /// Delegated scopes (`scp`).
    fn scopes(&self) -> &[Scope];
    /// Group membership (`groups`), with a groups overage made explicit.
    fn groups(&self) -> Groups<'_>;
    /// Whether the token is app-only (no signed-in user), by the rule of
    /// [`Principal::is_app_only`].
    fn is_app_only(&self) -> bool;
    /// Whether app role `role` is held.
    fn has_role(&self, role: &str) -> bool {
        self.roles().iter().any(|r| r == role)
    }
    /// Whether delegated scope `scope` is held.
    fn has_scope(&self, scope: &str) -> bool {
        self.scopes().iter().any(|s| s == scope)
    }
}

impl Principal {
    /// Builds the principal from the fields of validated claims, the
    /// payload they were read from, and the key whose signature verified.
    pub(crate) fn new(
        fields: Fields,
        payload: String,
        key: Option<&Arc<VerifyingKey>>,
    ) -> Principal {
        Principal(Arc::new(Inner {
            text: payload.into_boxed_str(),
            fields,
            key: key.cloned(),
            issuer: OnceLock::new(),
            tenant_id: OnceLock::new(),
            client_id: OnceLock::new(),
            roles: OnceLock::new(),
            scopes: OnceLock::new(),
            groups: OnceLock::new(),
            directory_roles: OnceLock::new(),
            claims: OnceLock::new(),
        }))
    }

    fn text<'t>(&'t self, field: &'t Option<Text>) -> Option<&'t str> {
        field.as_ref().map(|t| t.get(&self.0.text))
    }

    fn role_names(&self) -> impl Iterator<Item = Cow<'_, str>> {
        self.text(&self.0.fields.roles)
            .map(Strings::array)
            .into_iter()
            .flatten()
    }

    fn scope_names(&self) -> impl Iterator<Item = &str> {
        self.text(&self.0.fields.scopes)
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
    }

    /// `iss`.
    pub fn issuer(&self) -> &Issuer {
        self.0
            .issuer
            .get_or_init(|| Issuer::new(self.text(&self.0.fields.issuer).unwrap_or_default()))
    }

    /// `tid`: the tenant the token was issued in.
    pub fn tenant_id(&self) -> Option<&TenantId> {
        self.0
            .tenant_id
            .get_or_init(|| self.text(&self.0.fields.tenant_id).map(TenantId::new))
            .as_ref()
    }

    /// `oid`: the immutable object id of the user (or, for app-only tokens,
    /// of the client's service principal). Authorize on `(tid, oid)`.
    pub fn object_id(&self) -> Option<&str> {
        self.text(&self.0.fields.object_id)
    }

    /// `sub`: pairwise subject (differs per application).
    pub fn subject(&self) -> Option<&str> {
        self.text(&self.0.fields.subject)
    }

    /// `name`: display name, for display only.
    pub fn name(&self) -> Option<&str> {
        self.text(&self.0.fields.name)
    }

    /// `preferred_username` (or v1 `upn`): mutable; never authorize on it.
    pub fn preferred_username(&self) -> Option<&str> {
        self.text(&self.0.fields.preferred_username)
    }

    /// The calling client application (`azp` in v2, `appid` in v1).
    pub fn client_id(&self) -> Option<&ClientId> {
        self.0
            .client_id
            .get_or_init(|| self.text(&self.0.fields.client_id).map(ClientId::new))
            .as_ref()
    }

    /// The token version, when it could be determined.
    pub fn version(&self) -> Option<TokenVersion> {
        self.0.fields.version
    }

    /// `exp`.
    pub fn expires_at(&self) -> i64 {
        self.0.fields.expires_at
    }

    /// The `kid` of the key that signed the token.
    pub fn key_id(&self) -> Option<&KeyId> {
        self.0.key.as_ref().and_then(|k| k.key_id())
    }

    /// Every claim, as validated. Prefer the typed accessors.
    pub fn claims(&self) -> &Map<String, Value> {
        self.0.claims.get_or_init(|| {
            // The payload passed the same parser during validation.
            json::parse_object(self.0.text.as_bytes(), usize::MAX).unwrap_or_default()
        })
    }

    /// App roles (`roles`): the user's assignments, or for app-only tokens
    /// the application permissions granted to the client.
    pub fn roles(&self) -> &[AppRole] {
        self.0
            .roles
            .get_or_init(|| self.role_names().map(AppRole::new).collect())
    }

    /// Delegated scopes (`scp`), split.
    pub fn scopes(&self) -> &[Scope] {
        self.0
            .scopes
            .get_or_init(|| self.scope_names().map(Scope::new).collect())
    }

    /// The groups the caller is a member of (`groups`), as the token states
    /// them: listed, left out because there are too many (a groups
    /// overage), or not stated at all. See [`Groups`].
    ///
    /// ```
    /// use rolegate_token::Principal;
    /// use rolegate_token::principal::Groups;
    ///
    /// /// Whether the caller is in the auditors group, when the token says.
    /// fn is_auditor(caller: &Principal) -> Option<bool> {
    ///     const AUDITORS: &str = "0ba2c7b6-1c0d-4e1f-8a6b-3f1d2c4e5a60";
    ///     match caller.groups() {
    ///         Groups::Listed(groups) => Some(groups.iter().any(|g| g == AUDITORS)),
    ///         // Ask Microsoft Graph (or authorize with app roles instead).
    ///         Groups::Overage { .. } => None,
    ///         // The API's app registration does not ask for group claims.
    ///         Groups::Absent => None,
    ///     }
    /// }
    /// ```
    ///
    /// [`Requirement::any_group`](crate::requirement::Requirement::any_group)
    /// refuses overage and group-less tokens with their own error codes.
    pub fn groups(&self) -> Groups<'_> {
        match &self.0.fields.groups {
            GroupField::Absent => Groups::Absent,
            GroupField::Listed(text) => Groups::Listed(self.0.groups.get_or_init(|| {
                Strings::array(text.get(&self.0.text))
                    .map(GroupId::new)
                    .collect()
            })),
            GroupField::Overage { endpoint } => Groups::Overage {
                endpoint: self.text(endpoint),
            },
        }
    }

    /// The caller's directory roles (`wids`): the template ids of the
    /// tenant-wide Entra roles the user holds, such as
    /// `62e90394-69f5-4237-9190-012177145e10` (Global Administrator).
    /// `None` when the token has no `wids` claim: Entra emits it when the
    /// API's app registration sets `groupMembershipClaims` to `All` or
    /// `DirectoryRole`.
    ///
    /// ```
    /// use rolegate_token::Principal;
    ///
    /// fn is_global_administrator(caller: &Principal) -> bool {
    ///     const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
    ///     caller
    ///         .directory_roles()
    ///         .is_some_and(|roles| roles.iter().any(|r| r == GLOBAL_ADMINISTRATOR))
    /// }
    /// ```
    ///
    /// Prefer app roles for an API's own authorization: directory roles
    /// describe power over the tenant, not over the API.
    #[doc(alias = "wids")]
    pub fn directory_roles(&self) -> Option<&[DirectoryRoleTemplateId]> {
        let text = self.0.fields.directory_roles.as_ref()?;
        Some(self.0.directory_roles.get_or_init(|| {
            Strings::array(text.get(&self.0.text))
                .map(DirectoryRoleTemplateId::new)
                .collect()
        }))
    }

    /// Whether the token is app-only (no signed-in user).
    ///
    /// A token is app-only exactly when
    ///
    /// - it has `idtyp` and its value is `"app"` (any other `idtyp`,
    ///   including `"user"`, makes the token delegated), or
    /// - it has no `idtyp`, no `scp`, and no user identity: none of `upn`,
    ///   `preferred_username`, `unique_name`, `name`, `given_name`,
    ///   `family_name` and `email` is present (with any value, even
    ///   `null`), and when `oid` and `sub` are both present they are the
    ///   same string.
    ///
    /// Everything else is delegated, possibly with no scopes. Entra's
    /// app-only tokens carry `oid` = `sub` (the client's service principal)
    /// and no user names; a user's v1 and v2 tokens have a pairwise `sub`
    /// that differs from `oid`. A present `scp` makes a token delegated even
    /// when it is empty or `null`.
    ///
    /// # Security
    ///
    /// App-only callers usually see more than any one user (every
    /// customer's data, say), so the rule errs towards delegated: a user
    /// token without `scp` (Entra mints them, e.g. for `.default` when no
    /// delegated permission is granted) is never app-only, since it names
    /// the user. Such a token can still satisfy role requirements (a
    /// user's app roles are real assignments) but never
    /// [`Requirement::AppOnly`](crate::requirement::Requirement::AppOnly)
    /// nor the app-permission half of
    /// [`Requirement::ScopeOrAppPermission`](crate::requirement::Requirement::ScopeOrAppPermission).
    pub fn is_app_only(&self) -> bool {
        self.0.fields.app_only
    }

    /// Whether the principal holds app role `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.role_names().any(|r| r == role)
    }

    /// Whether the principal holds delegated scope `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope_names().any(|s| s == scope)
    }
}

impl Permissions for Principal {
    fn roles(&self) -> &[AppRole] {
        Principal::roles(self)
    }

    fn scopes(&self) -> &[Scope] {
        Principal::scopes(self)
    }

    fn groups(&self) -> Groups<'_> {
        Principal::groups(self)
    }

    fn is_app_only(&self) -> bool {
        Principal::is_app_only(self)
    }

    fn has_role(&self, role: &str) -> bool {
        Principal::has_role(self, role)
    }

    fn has_scope(&self, scope: &str) -> bool {
        Principal::has_scope(self, scope)
    }
}

/// Roles, scopes, groups and the app-only flag read from (possibly
/// unverified) claims, leniently: wrongly typed claims count as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// `roles`.
    pub roles: Vec<AppRole>,
    /// `scp`, split.
    pub scopes: Vec<Scope>,
    /// `groups`, or the groups overage, as [`Principal::groups`] reads them.
    pub groups: GroupMembership,
    /// App-only, by the rule of [`Principal::is_app_only`].
    pub app_only: bool,
}

/// The groups a token says its subject is a member of (`groups`), with a
/// groups overage made explicit, so that "the token does not say" can never
/// be read as "a member of no group".
///
/// Entra lists a user's groups only when the API's app registration asks
/// for them (`groupMembershipClaims`), and only up to a limit (200 in a
/// JWT): past it, the token lists none and instead names where to ask (a
/// distributed claim, `"_claim_names":{"groups":"src1"}` with
/// `"_claim_sources":{"src1":{"endpoint":"…"}}`). Tokens from the implicit
/// flow say `"hasgroups":true` instead (Microsoft Learn, *Access token
/// claims reference*: `groups`, `hasgroups`, "Groups overage claim").
/// Microsoft's guidance: query Microsoft Graph for the user's groups
/// (`getMemberObjects`), or authorize with app roles assigned to groups,
/// which never overflow.
///
/// ```
/// use rolegate_token::principal::Groups;
///
/// fn describe(groups: Groups<'_>) -> String {
///     match groups {
///         Groups::Listed([]) => "a member of no group the API asks about".to_owned(),
///         Groups::Listed(groups) => format!("a member of {} groups", groups.len()),
///         Groups::Overage { .. } => "in too many groups to list: ask Microsoft Graph".to_owned(),
///         Groups::Absent => "the token says nothing about groups".to_owned(),
///     }
/// }
/// assert_eq!(describe(Groups::Absent), "the token says nothing about groups");
/// assert_eq!(describe(Groups::Listed(&[])), "a member of no group the API asks about");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Groups<'p> {
    /// The token carries no group information: no `groups` claim and no
    /// overage. Usually the API's app registration does not ask for group
    /// claims (`groupMembershipClaims`); this is not the same as
    /// `Listed(&[])`.
    Absent,
    /// The token lists the groups, possibly none (`Listed(&[])`: a member
    /// of no group that `groupMembershipClaims` covers). Entra lists object
    /// ids; see [`GroupId`].
    Listed(&'p [GroupId]),
    /// A groups overage: the caller is in more groups than fit in a token,
    /// so the token lists none. The membership must come from Microsoft
    /// Graph.
    Overage {
        /// The `endpoint` the token names for the groups
        /// (`_claim_sources`), when it names one. `None` for the implicit
        /// flow's `hasgroups`.
        ///
        /// # Security
        /// The value comes from a validated token, but Entra's v1.0 tokens
        /// name the retired Azure AD Graph here; call Microsoft Graph's
        /// `getMemberObjects` for the user's `oid` instead of fetching this
        /// URL, and never send a credential to a host you did not choose.
        endpoint: Option<&'p str>,
    },
}

/// The owned form of [`Groups`], for [`Grants`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum GroupMembership {
    /// See [`Groups::Absent`].
    #[default]
    Absent,
    /// See [`Groups::Listed`].
    Listed(Vec<GroupId>),
    /// See [`Groups::Overage`].
    Overage {
        /// See [`Groups::Overage`]'s `endpoint`.
        endpoint: Option<String>,
    },
}

impl GroupMembership {
    /// The borrowed view.
    pub fn as_groups(&self) -> Groups<'_> {
        match self {
            GroupMembership::Absent => Groups::Absent,
            GroupMembership::Listed(groups) => Groups::Listed(groups),
            GroupMembership::Overage { endpoint } => Groups::Overage {
                endpoint: endpoint.as_deref(),
            },
        }
    }
}

impl From<Groups<'_>> for GroupMembership {
    fn from(groups: Groups<'_>) -> Self {
        match groups {
            Groups::Absent => GroupMembership::Absent,
            Groups::Listed(groups) => GroupMembership::Listed(groups.to_vec()),
            Groups::Overage { endpoint } => GroupMembership::Overage {
                endpoint: endpoint.map(str::to_owned),
            },
        }
    }
}

impl Grants {
    /// Reads the grants from a claims map.
    pub fn from_claims(claims: &Map<String, Value>) -> Grants {
        Grants::from_claim_set(&ClaimSet::from_map(claims))
    }

    /// Reads the grants from a claim set.
    pub fn from_claim_set(claims: &ClaimSet<'_>) -> Grants {
        let roles: Vec<AppRole> = claims
            .string_array(Claim::Roles)
            .ok()
            .flatten()
            .map(|roles| roles.map(AppRole::new).collect())
            .unwrap_or_default();
        let scopes: Vec<Scope> = claims
            .scopes()
            .map(|scopes| scopes.map(Scope::from).collect())
            .unwrap_or_default();
        let groups = match claims.group_claims() {
            GroupClaims::Absent => GroupMembership::Absent,
            GroupClaims::Listed(text) => {
                GroupMembership::Listed(Strings::array(text).map(GroupId::new).collect())
            }
            GroupClaims::Overage { endpoint } => GroupMembership::Overage {
                endpoint: endpoint.map(Cow::into_owned),
            },
        };
        let app_only = app_only(claims);
        Grants {
            roles,
            scopes,
            groups,
            app_only,
        }
    }
}

impl Permissions for Grants {
    fn roles(&self) -> &[AppRole] {
        &self.roles
    }

    fn scopes(&self) -> &[Scope] {
        &self.scopes
    }

    fn groups(&self) -> Groups<'_> {
        self.groups.as_groups()
    }

    fn is_app_only(&self) -> bool {
        self.app_only
    }
}

/// Claims that only a user's token carries (their presence alone makes a
/// token delegated).
const USER_CLAIMS: [Claim; 7] = [
    Claim::Email,
    Claim::FamilyName,
    Claim::GivenName,
    Claim::Name,
    Claim::PreferredUsername,
    Claim::UniqueName,
    Claim::Upn,
];

#[cfg(test)]
mod tests;
