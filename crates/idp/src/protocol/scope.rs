//! Scope strings (spec §7): OIDC scopes, resource-qualified delegated
//! scopes (`api://{id}/access_as_user`, `{id}/.default`), and unqualified
//! Microsoft Graph scopes (`User.Read`).

use crate::directory::{Application, Directory};
use crate::protocol::aadsts;
use crate::protocol::errors::OAuthError;

/// Microsoft Graph's application id: unqualified scopes and OIDC-only
/// requests yield tokens for it.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Graph's identifier as written in scopes.
pub const GRAPH_URI: &str = "https://graph.microsoft.com";

/// A parsed `scope` parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet {
    /// `openid`: an ID token.
    pub openid: bool,
    /// `profile`.
    pub profile: bool,
    /// `email`.
    pub email: bool,
    /// `offline_access`: a refresh token.
    pub offline_access: bool,
    /// Resource scopes, one entry per resource, in request order.
    pub resources: Vec<ResourceScopes>,
}

/// The scopes requested of one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceScopes {
    /// The resource's app id ([`GRAPH_APP_ID`] for Graph).
    pub app_id: String,
    /// The identifier as first written (`api://{id}`, `{id}`, a custom URI).
    pub written: String,
    /// Scope values as written; `.default` alone means "all granted".
    pub values: Vec<String>,
}

impl ResourceScopes {
    /// Whether this is a `/.default` request.
    pub fn is_default(&self) -> bool {
        self.values.iter().any(|v| v == ".default")
    }

    /// Whether the resource is Microsoft Graph.
    pub fn is_graph(&self) -> bool {
        self.app_id == GRAPH_APP_ID
    }

    /// `{written}/{value}`, the form scopes are echoed in. A resource URI
    /// ending in `/` gets the double slash Entra requires.
    pub fn qualify(&self, value: &str) -> String {
        if self.is_graph() {
            return value.to_owned();
        }
        format!("{}/{value}", self.written)
    }
}

impl ScopeSet {
    /// Parses and checks a scope string against the directory.
    pub fn parse(scope: &str, directory: &Directory) -> Result<ScopeSet, OAuthError> {
        let mut set = ScopeSet::default();
        for item in scope.split_whitespace() {
            match item.to_ascii_lowercase().as_str() {
                "openid" => set.openid = true,
                "profile" => set.profile = true,
                "email" => set.email = true,
                "offline_access" => set.offline_access = true,
                "address" | "phone" => return Err(invalid(item, "is not supported")),
                _ => set.add(item, directory)?,
            }
        }
        for resource in &set.resources {
            if resource.is_default() && resource.values.len() > 1 {
                return Err(OAuthError::invalid_scope(
                    aadsts::INVALID_SCOPE,
                    format!(
                        "The provided value for the input parameter 'scope' is not valid. '{}/.default' cannot be combined with other scopes of the same resource.",
                        resource.written
                    ),
                ));
            }
        }
        Ok(set)
    }

    /// Adds the resource scopes of `scope` (a family's remembered scopes;
    /// OIDC scopes in it are ignored).
    pub fn add_all(&mut self, scope: &str, directory: &Directory) -> Result<(), OAuthError> {
        for item in scope.split_whitespace() {
            if !matches!(
                item.to_ascii_lowercase().as_str(),
                "openid" | "profile" | "email" | "offline_access"
            ) {
                self.add(item, directory)?;
            }
        }
        Ok(())
    }

    fn add(&mut self, item: &str, directory: &Directory) -> Result<(), OAuthError> {
        let (written, value, app_id) = match item.rsplit_once('/') {
            Some((resource, value)) if !resource.is_empty() && !value.is_empty() => {
                if resource.eq_ignore_ascii_case(GRAPH_URI) || resource == GRAPH_APP_ID {
                    (
                        resource.to_owned(),
                        value.to_owned(),
                        GRAPH_APP_ID.to_owned(),
                    )
                } else {
                    let app = directory.resource(resource).ok_or_else(|| {
                        crate::protocol::tenancy::resource_not_installed(resource, directory)
                    })?;
                    if value != ".default" && app.scope(value).is_none() {
                        return Err(invalid(
                            item,
                            &format!(
                                "is not a scope of {} (Expose an API lists: {})",
                                app.display_name,
                                scope_list(app)
                            ),
                        ));
                    }
                    (resource.to_owned(), value.to_owned(), app.app_id.clone())
                }
            }
            Some(_) => return Err(invalid(item, "is malformed")),
            None => (
                GRAPH_URI.to_owned(),
                item.to_owned(),
                GRAPH_APP_ID.to_owned(),
            ),
        };
        match self.resources.iter_mut().find(|r| r.app_id == app_id) {
            Some(existing) => {
                if !existing
                    .values
                    .iter()
                    .any(|v| v.eq_ignore_ascii_case(&value))
                {
                    existing.values.push(value);
                }
            }
            None => self.resources.push(ResourceScopes {
                app_id,
                written,
                values: vec![value],
            }),
        }
        Ok(())
    }

    /// Resources other than Graph.
    pub fn api_resources(&self) -> impl Iterator<Item = &ResourceScopes> {
        self.resources.iter().filter(|r| !r.is_graph())
    }

    /// The OIDC scopes that were requested, space-separated, for echoing.
    pub fn oidc_echo(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        for (on, name) in [
            (self.openid, "openid"),
            (self.profile, "profile"),
            (self.email, "email"),
            (self.offline_access, "offline_access"),
        ] {
            if on {
                out.push(name);
            }
        }
        out
    }

    /// The single resource a token may be issued for: the one API resource,
    /// or Graph when only Graph/OIDC scopes were requested. More than one
    /// resource is AADSTS28000 at the token endpoint.
    pub fn single_resource(&self) -> Result<ResourceScopes, OAuthError> {
        let apis: Vec<&ResourceScopes> = self.api_resources().collect();
        match apis.as_slice() {
            [] => Ok(self
                .resources
                .iter()
                .find(|r| r.is_graph())
                .cloned()
                .unwrap_or_else(|| ResourceScopes {
                    app_id: GRAPH_APP_ID.to_owned(),
                    written: GRAPH_URI.to_owned(),
                    values: vec!["User.Read".to_owned()],
                })),
            [one] if !self.resources.iter().any(|r| r.is_graph()) => Ok((*one).clone()),
            _ => Err(OAuthError::invalid_scope(
                aadsts::SEVERAL_RESOURCES,
                "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope "
                    .to_owned()
                    + &self
                        .resources
                        .iter()
                        .map(|r| r.written.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                    + " is not valid.",
            )),
        }
    }

    /// Whether no scope at all was given.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
            && !self.openid
            && !self.profile
            && !self.email
            && !self.offline_access
    }
}

fn scope_list(app: &Application) -> String {
    if app.scopes.is_empty() {
        return "no scopes".to_owned();
    }
    app.scopes
        .iter()
        .map(|s| s.value.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn invalid(item: &str, why: &str) -> OAuthError {
    OAuthError::invalid_scope(
        aadsts::INVALID_SCOPE,
        format!(
            "The provided value for the input parameter 'scope' is not valid. The scope '{item}' {why}."
        ),
    )
}
