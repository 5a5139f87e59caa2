//! Authorization requirements, composable per route.
//!
//! ```
//! use rolegate_token::requirement::Requirement;
//!
//! // Readers with the delegated scope, or daemons with the app permission.
//! let read = Requirement::scope_or_app_permission(["access_as_user"], ["Orders.Read"]);
//! // Admins only, and only with a signed-in user.
//! let admin = Requirement::any_role(["Orders.Admin"]).and(Requirement::delegated());
//! // Members of the auditors group (by object id), or holders of the app role.
//! let audit = Requirement::any_group(["0ba2c7b6-1c0d-4e1f-8a6b-3f1d2c4e5a60"])
//!     .or(Requirement::any_role(["Orders.Auditor"]));
//! # let _ = (read, admin, audit);
//! ```

use crate::error::{ErrorCode, list};
use crate::id::{AppRole, GroupId, Scope};
use crate::principal::{Groups, Permissions};

/// What a caller must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Requirement {
    /// Every one of these requirements.
    All(Vec<Requirement>),
    /// Every one of these app roles.
    AllRoles(Vec<AppRole>),
    /// At least one of these requirements.
    Any(Vec<Requirement>),
    /// Membership of at least one of these groups (`groups`), as the token
    /// lists it. See [`any_group`](Self::any_group).
    AnyGroup(Vec<GroupId>),
    /// At least one of these app roles (`roles`).
    AnyRole(Vec<AppRole>),
    /// At least one of these delegated scopes (`scp`).
    AnyScope(Vec<Scope>),
    /// An app-only token (no signed-in user).
    AppOnly,
    /// A delegated token (a signed-in user).
    Delegated,
    /// A delegated token with one of `scopes`, or an app-only token with one
    /// of `app_permissions` (Microsoft.Identity.Web's
    /// `RequiredScopeOrAppPermission`).
    ScopeOrAppPermission {
        /// Accepted delegated scopes.
        scopes: Vec<Scope>,
        /// Accepted application permissions (app roles).
        app_permissions: Vec<AppRole>,
    },
}

impl Requirement {
    /// At least one of `roles`.
    pub fn any_role<R: Into<AppRole>>(roles: impl IntoIterator<Item = R>) -> Self {
        Requirement::AnyRole(roles.into_iter().map(Into::into).collect())
    }

    /// All of `roles`.
    pub fn all_roles<R: Into<AppRole>>(roles: impl IntoIterator<Item = R>) -> Self {
        Requirement::AllRoles(roles.into_iter().map(Into::into).collect())
    }

    /// Membership of at least one of `groups` (Entra: group object ids;
    /// compared ignoring ASCII case, as GUIDs and on-premises group names
    /// are).
    ///
    /// Only a token that lists its groups can satisfy it. A token with a
    /// groups overage (the user is in more groups than fit in a token) is
    /// refused with `groups_overage`, and a token without group claims
    /// with `no_groups_claim`, each with the fix; neither is ever taken for
    /// "a member of no group".
    ///
    /// ```
    /// use rolegate_token::ErrorCode;
    /// use rolegate_token::id::GroupId;
    /// use rolegate_token::principal::{GroupMembership, Grants};
    /// use rolegate_token::requirement::Requirement;
    ///
    /// let auditors = Requirement::any_group(["0ba2c7b6-1c0d-4e1f-8a6b-3f1d2c4e5a60"]);
    /// let member = Grants {
    ///     groups: GroupMembership::Listed(vec![GroupId::new("0ba2c7b6-1c0d-4e1f-8a6b-3f1d2c4e5a60")]),
    ///     ..Grants::default()
    /// };
    /// assert!(auditors.check(&member).is_ok());
    /// let overage = Grants {
    ///     groups: GroupMembership::Overage { endpoint: None },
    ///     ..Grants::default()
    /// };
    /// assert_eq!(auditors.check(&overage).unwrap_err().code(), ErrorCode::GroupsOverage);
    /// ```
    ///
    /// # Security
    /// Group claims are fixed when a token is issued and, past the overage
    /// limit, absent. App roles assigned to groups are the sturdier way to
    /// authorize by group ([`any_role`](Self::any_role)).
    pub fn any_group<G: Into<GroupId>>(groups: impl IntoIterator<Item = G>) -> Self {
        Requirement::AnyGroup(groups.into_iter().map(Into::into).collect())
    }

    /// At least one of `scopes`.
    pub fn any_scope<S: Into<Scope>>(scopes: impl IntoIterator<Item = S>) -> Self {
        Requirement::AnyScope(scopes.into_iter().map(Into::into).collect())
    }

    /// A delegated scope from `scopes`, or (app-only) a role from `app_permissions`.
    pub fn scope_or_app_permission<S: Into<Scope>, R: Into<AppRole>>(
        scopes: impl IntoIterator<Item = S>,
        app_permissions: impl IntoIterator<Item = R>,
    ) -> Self {
        Requirement::ScopeOrAppPermission {
            scopes: scopes.into_iter().map(Into::into).collect(),
            app_permissions: app_permissions.into_iter().map(Into::into).collect(),
        }
    }

    /// Only app-only tokens.
    pub fn app_only() -> Self {
        Requirement::AppOnly
    }

    /// Only delegated (user) tokens.
    pub fn delegated() -> Self {
        Requirement::Delegated
    }

    /// Both `self` and `other`.
    pub fn and(self, other: Requirement) -> Self {
        match self {
            Requirement::All(mut items) => {
                items.push(other);
                Requirement::All(items)
            }
            first => Requirement::All(vec![first, other]),
        }
    }

    /// Either `self` or `other`.
    pub fn or(self, other: Requirement) -> Self {
        match self {
            Requirement::Any(mut items) => {
                items.push(other);
                Requirement::Any(items)
            }
            first => Requirement::Any(vec![first, other]),
        }
    }

    /// Checks the caller's grants.
    pub fn check(&self, caller: &impl Permissions) -> Result<(), AuthorizationError> {
        let roles = || {
            caller
                .roles()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        let scopes = || {
            caller
                .scopes()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        match self {
            Requirement::All(items) => items.iter().try_for_each(|r| r.check(caller)),
            Requirement::Any(items) => {
                let mut failures = Vec::new();
                for item in items {
                    match item.check(caller) {
                        Ok(()) => return Ok(()),
                        Err(e) => failures.push(e),
                    }
                }
                match failures.len() {
                    1 => Err(failures.remove(0)),
                    _ => Err(AuthorizationError::NoAlternative(failures)),
                }
            }
            Requirement::AllRoles(required) => {
                let missing: Vec<String> = required
                    .iter()
                    .filter(|r| !caller.has_role(r.as_str()))
                    .map(ToString::to_string)
                    .collect();
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(AuthorizationError::MissingRole {
                        required: missing,
                        all: true,
                        found: roles(),
                    })
                }
            }
            Requirement::AnyRole(required) => {
                if required.iter().any(|r| caller.has_role(r.as_str())) {
                    Ok(())
                } else {
                    Err(AuthorizationError::MissingRole {
                        required: required.iter().map(ToString::to_string).collect(),
                        all: false,
                        found: roles(),
                    })
                }
            }
            Requirement::AnyGroup(required) => check_groups(required, caller.groups()),
            Requirement::AnyScope(required) => {
                if required.iter().any(|s| caller.has_scope(s.as_str())) {
                    Ok(())
                } else {
                    Err(AuthorizationError::MissingScope {
                        required: required.iter().map(ToString::to_string).collect(),
                        found: scopes(),
                    })
                }
            }
            Requirement::AppOnly if caller.is_app_only() => Ok(()),
            Requirement::AppOnly => Err(AuthorizationError::AppOnlyRequired),
            Requirement::Delegated if !caller.is_app_only() => Ok(()),
            Requirement::Delegated => Err(AuthorizationError::DelegatedRequired),
            Requirement::ScopeOrAppPermission {
                scopes: accepted_scopes,
                app_permissions,
            } => {
                let by_scope = !caller.is_app_only()
                    && accepted_scopes.iter().any(|s| caller.has_scope(s.as_str()));
                let by_role = caller.is_app_only()
                    && app_permissions.iter().any(|r| caller.has_role(r.as_str()));
                if by_scope || by_role {
                    Ok(())
                } else {
                    Err(AuthorizationError::MissingScopeOrAppPermission {
                        scopes: accepted_scopes.iter().map(ToString::to_string).collect(),
                        app_permissions: app_permissions.iter().map(ToString::to_string).collect(),
                        app_only: caller.is_app_only(),
                        found_scopes: scopes(),
                        found_roles: roles(),
                    })
                }
            }
        }
    }
}

/// The [`Requirement::AnyGroup`] check.
fn check_groups(required: &[GroupId], groups: Groups<'_>) -> Result<(), AuthorizationError> {
    let names = || required.iter().map(ToString::to_string).collect();
    match groups {
        Groups::Listed(held)
            if required.iter().any(|r| {
                held.iter()
                    .any(|h| h.as_str().eq_ignore_ascii_case(r.as_str()))
            }) =>
        {
            Ok(())
        }
        Groups::Listed(held) => Err(AuthorizationError::MissingGroup {
            required: names(),
            found: held.len(),
        }),
        Groups::Overage { .. } => Err(AuthorizationError::GroupsOverage { required: names() }),
        Groups::Absent => Err(AuthorizationError::NoGroupsClaim { required: names() }),
    }
}

/// Why an authenticated caller may not proceed (HTTP 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizationError {
    /// An app-only token is required.
    #[error(
        "this operation accepts only app-only tokens, but the token is delegated (a signed-in user)"
    )]
    AppOnlyRequired,
    /// A delegated token is required.
    #[error("this operation needs a signed-in user, but the token is app-only")]
    DelegatedRequired,
    /// Group membership is required, but the token has a groups overage:
    /// the user is in more groups than fit in a token, so it lists none.
    #[error(
        "the token lists no groups: the user is in more groups than fit in a token (groups overage), so membership of {} cannot be checked",
        list(required)
    )]
    GroupsOverage {
        /// The groups that would satisfy the requirement (any one).
        required: Vec<String>,
    },
    /// None of the required groups.
    #[error(
        "caller is in none of the groups {}; the token lists {found} group{}",
        list(required),
        if *found == 1 { "" } else { "s" }
    )]
    MissingGroup {
        /// The groups that would satisfy the requirement (any one).
        required: Vec<String>,
        /// How many groups the token lists.
        found: usize,
    },
    /// Missing app role(s).
    #[error("caller {} the app roles {}; the token's roles: {}", if *all { "lacks" } else { "holds none of" }, list(required), list(found))]
    MissingRole {
        /// The roles that would satisfy the requirement: any one of them,
        /// or (when `all`) the ones still missing.
        required: Vec<String>,
        /// Whether all were required (else any one).
        all: bool,
        /// The token's roles.
        found: Vec<String>,
    },
    /// Missing scope.
    #[error(
        "caller holds none of the delegated scopes {}; the token's scp: {}",
        list(required),
        list(found)
    )]
    MissingScope {
        /// The accepted scopes.
        required: Vec<String>,
        /// The token's scopes.
        found: Vec<String>,
    },
    /// Neither scope nor app permission.
    #[error("caller holds neither a delegated scope ({}) nor an application permission ({}); the token is {} with scp: {} and roles: {}", list(scopes), list(app_permissions), if *app_only { "app-only" } else { "delegated" }, list(found_scopes), list(found_roles))]
    MissingScopeOrAppPermission {
        /// Accepted delegated scopes.
        scopes: Vec<String>,
        /// Accepted application permissions.
        app_permissions: Vec<String>,
        /// Whether the token was app-only.
        app_only: bool,
        /// The token's scopes.
        found_scopes: Vec<String>,
        /// The token's roles.
        found_roles: Vec<String>,
    },
    /// None of several alternatives held.
    #[error("no alternative was satisfied: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; or "))]
    NoAlternative(Vec<AuthorizationError>),
    /// Group membership is required, but the token carries no group claims
    /// (no `groups`, no overage).
    #[error(
        "the token carries no group claims, so membership of {} cannot be checked",
        list(required)
    )]
    NoGroupsClaim {
        /// The groups that would satisfy the requirement (any one).
        required: Vec<String>,
    },
}

impl AuthorizationError {
    /// The stable error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthorizationError::AppOnlyRequired => ErrorCode::AppOnlyRequired,
            AuthorizationError::DelegatedRequired => ErrorCode::DelegatedRequired,
            AuthorizationError::GroupsOverage { .. } => ErrorCode::GroupsOverage,
            AuthorizationError::MissingGroup { .. } => ErrorCode::MissingGroup,
            AuthorizationError::MissingRole { .. } => ErrorCode::MissingRole,
            AuthorizationError::MissingScope { .. } => ErrorCode::MissingScope,
            AuthorizationError::MissingScopeOrAppPermission { .. } => {
                ErrorCode::MissingScopeOrAppPermission
            }
            AuthorizationError::NoAlternative(items) => items.first().map_or(
                ErrorCode::MissingScopeOrAppPermission,
                AuthorizationError::code,
            ),
            AuthorizationError::NoGroupsClaim { .. } => ErrorCode::NoGroupsClaim,
        }
    }

    /// The scopes and roles that would have been enough, for the RFC 6750
    /// `scope` attribute of the `WWW-Authenticate` challenge. Groups are
    /// not listed: no client can request them.
    pub fn required(&self) -> Vec<String> {
        let mut all = self.required_with_repeats();
        let mut seen = std::collections::HashSet::new();
        all.retain(|item| seen.insert(item.clone()));
        all
    }

    fn required_with_repeats(&self) -> Vec<String> {
        match self {
            AuthorizationError::AppOnlyRequired
            | AuthorizationError::DelegatedRequired
            | AuthorizationError::GroupsOverage { .. }
            | AuthorizationError::MissingGroup { .. }
            | AuthorizationError::NoGroupsClaim { .. } => Vec::new(),
            AuthorizationError::MissingRole { required, .. }
            | AuthorizationError::MissingScope { required, .. } => required.clone(),
            AuthorizationError::MissingScopeOrAppPermission {
                scopes,
                app_permissions,
                ..
            } => scopes.iter().chain(app_permissions).cloned().collect(),
            AuthorizationError::NoAlternative(items) => items
                .iter()
                .flat_map(AuthorizationError::required_with_repeats)
                .collect(),
        }
    }

    /// What to change so that the call succeeds.
    pub fn hint(&self) -> String {
        match self {
            AuthorizationError::AppOnlyRequired => "call this operation with an app-only token from the client credentials flow (scope api://<api>/.default)".to_owned(),
            AuthorizationError::DelegatedRequired => "call this operation with a token acquired for a signed-in user (authorization code flow), not client credentials".to_owned(),
            AuthorizationError::GroupsOverage { .. } => "the token lists no groups because the user is in more groups than fit in a token (overage); query Microsoft Graph (getMemberObjects) or use app roles assigned to groups instead (or emit only the groups assigned to the API: \"groupMembershipClaims\": \"ApplicationGroup\")".to_owned(),
            AuthorizationError::MissingGroup { required, .. } => format!(
                "add the user to one of the groups {}, then acquire a new token, since group claims are fixed when a token is issued; with \"groupMembershipClaims\": \"ApplicationGroup\" the group must also be assigned to the API's enterprise application (Users and groups)",
                list(required)
            ),
            AuthorizationError::MissingRole { required, .. } => format!(
                "assign the user (or group) one of the app roles {} on the API's enterprise application (Users and groups), or for a daemon add it as an application permission under API permissions and grant admin consent; then acquire a new token, since roles are fixed when a token is issued",
                list(required)
            ),
            AuthorizationError::MissingScope { required, .. } => format!(
                "request one of the delegated scopes {} for this API (scope api://<api>/{}); the client needs it under API permissions, with consent granted",
                list(required),
                required.first().map_or("<scope>", String::as_str)
            ),
            AuthorizationError::MissingScopeOrAppPermission { scopes, app_permissions, app_only, .. } => {
                if *app_only {
                    format!(
                        "grant the client application one of the application permissions {} (API permissions, then admin consent) and request api://<api>/.default",
                        list(app_permissions)
                    )
                } else {
                    format!(
                        "request one of the delegated scopes {} (scope api://<api>/<scope>), consented for the client",
                        list(scopes)
                    )
                }
            }
            AuthorizationError::NoAlternative(items) => items
                .iter()
                .map(AuthorizationError::hint)
                .collect::<Vec<_>>()
                .join("; or "),
            AuthorizationError::NoGroupsClaim { .. } => "the API's app registration does not emit group claims: set \"groupMembershipClaims\" in its manifest (\"SecurityGroup\", or \"ApplicationGroup\" for only the groups assigned to the API; Token configuration, Add groups claim), then acquire a new token".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests;
