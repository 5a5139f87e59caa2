//! Authorization requirements, composable per route.
//!
//! ```
//! use rolegate_token::requirement::Requirement;
//!
//! // Readers with the delegated scope, or daemons with the app permission.
//! let read = Requirement::scope_or_app_permission(["access_as_user"], ["Orders.Read"]);
//! // Admins only, and only with a signed-in user.
//! let admin = Requirement::any_role(["Orders.Admin"]).and(Requirement::delegated());
//! # let _ = (read, admin);
//! ```

use crate::error::{ErrorCode, list};
use crate::id::{AppRole, Scope};
use crate::principal::Permissions;

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
}

impl AuthorizationError {
    /// The stable error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthorizationError::AppOnlyRequired => ErrorCode::AppOnlyRequired,
            AuthorizationError::DelegatedRequired => ErrorCode::DelegatedRequired,
            AuthorizationError::MissingRole { .. } => ErrorCode::MissingRole,
            AuthorizationError::MissingScope { .. } => ErrorCode::MissingScope,
            AuthorizationError::MissingScopeOrAppPermission { .. } => {
                ErrorCode::MissingScopeOrAppPermission
            }
            AuthorizationError::NoAlternative(items) => items.first().map_or(
                ErrorCode::MissingScopeOrAppPermission,
                AuthorizationError::code,
            ),
        }
    }

    /// The scopes and roles that would have been enough, for the RFC 6750
    /// `scope` attribute of the `WWW-Authenticate` challenge.
    pub fn required(&self) -> Vec<String> {
        let mut all = self.required_with_repeats();
        let mut seen = std::collections::HashSet::new();
        all.retain(|item| seen.insert(item.clone()));
        all
    }

    fn required_with_repeats(&self) -> Vec<String> {
        match self {
            AuthorizationError::AppOnlyRequired | AuthorizationError::DelegatedRequired => {
                Vec::new()
            }
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::Grants;

    fn grants(roles: &[&str], scopes: &[&str], app_only: bool) -> Grants {
        Grants {
            roles: roles.iter().map(|r| AppRole::from(*r)).collect(),
            scopes: scopes.iter().map(|s| Scope::from(*s)).collect(),
            app_only,
        }
    }

    #[test]
    fn roles() {
        let admin = grants(&["Orders.Admin"], &["access_as_user"], false);
        let reader = grants(&["Orders.Read"], &["access_as_user"], false);
        let r = Requirement::any_role(["Orders.Admin", "Orders.Owner"]);
        assert!(r.check(&admin).is_ok());
        let e = r.check(&reader).unwrap_err();
        assert_eq!(e.code(), ErrorCode::MissingRole);
        assert_eq!(e.required(), vec!["Orders.Admin", "Orders.Owner"]);
        assert!(
            Requirement::all_roles(["Orders.Admin", "Orders.Read"])
                .check(&admin)
                .is_err()
        );
    }

    #[test]
    fn scope_or_app_permission() {
        let r = Requirement::scope_or_app_permission(["access_as_user"], ["Orders.Read"]);
        assert!(r.check(&grants(&[], &["access_as_user"], false)).is_ok());
        assert!(r.check(&grants(&["Orders.Read"], &[], true)).is_ok());
        // A user holding the role but not the scope does not pass as an app.
        assert!(
            r.check(&grants(&["Orders.Read"], &["other"], false))
                .is_err()
        );
    }

    #[test]
    fn user_with_roles_and_no_scp_is_a_delegated_caller_without_scopes() {
        // What Entra issues for `.default` when the client holds no
        // delegated permission: the user's roles, no `scp`, no `idtyp`.
        let claims = serde_json::json!({
            "oid": "5f8a3c1e-9b2d-4e7f-a6c0-1d2e3f4a5b6c",
            "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
            "name": "Alice",
            "preferred_username": "alice@contoso.test",
            "roles": ["Orders.Read"],
        });
        let user = Grants::from_claims(claims.as_object().unwrap());
        assert!(!user.is_app_only());
        // Not authorized as an application...
        let read = Requirement::scope_or_app_permission(["access_as_user"], ["Orders.Read"]);
        let e = read.check(&user).unwrap_err();
        assert!(matches!(
            e,
            AuthorizationError::MissingScopeOrAppPermission {
                app_only: false,
                ..
            }
        ));
        assert_eq!(
            Requirement::app_only().check(&user),
            Err(AuthorizationError::AppOnlyRequired)
        );
        // ... refused by scope requirements ...
        assert!(
            Requirement::any_scope(["access_as_user"])
                .check(&user)
                .is_err()
        );
        // ... but the user's app roles are real assignments.
        assert!(Requirement::any_role(["Orders.Read"]).check(&user).is_ok());
        assert!(Requirement::delegated().check(&user).is_ok());
    }

    #[test]
    fn combinators() {
        let r = Requirement::any_role(["Orders.Admin"]).and(Requirement::delegated());
        assert!(r.check(&grants(&["Orders.Admin"], &[], true)).is_err());
        assert!(r.check(&grants(&["Orders.Admin"], &["x"], false)).is_ok());
        let r = Requirement::app_only().or(Requirement::any_scope(["x"]));
        assert!(r.check(&grants(&[], &["x"], false)).is_ok());
        let e = r.check(&grants(&[], &["y"], false)).unwrap_err();
        assert!(matches!(e, AuthorizationError::NoAlternative(_)));
    }
}
