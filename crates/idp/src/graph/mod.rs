//! A Microsoft Graph v1.0 subset over the provider's directory, at
//! `/v1.0/` on the provider's origin: applications, service principals,
//! users, groups, app role assignments and delegated permission grants, in
//! Graph's JSON shapes, OData query options and error bodies.
//!
//! Graph is a resource server like any API: a request carries a Graph
//! access token (client credentials with `https://graph.microsoft.com/.default`,
//! or a delegated token with Graph scopes), validated with rolegate-token
//! (signature, the v1.0 issuer of a served tenant, audience
//! `https://graph.microsoft.com` or Graph's app id, lifetime) and authorized
//! per operation by Graph's own permissions: the application permissions in
//! `roles` (see [`crate::directory::microsoft_graph`]) or the delegated ones
//! in `scp`. The tenant is the token's `tid`.
//!
//! Writes ([`write`]) edit the directory the store keeps (design note
//! 0003) and reach the next token at once.

pub mod objects;
pub mod query;
mod write;

use serde_json::{Value, json};

use crate::directory::{Application, Directory, microsoft_graph};
use crate::protocol::Provider;
use crate::protocol::own_tokens::Audiences;
use crate::protocol::tokens::IssuerContext;
use rolegate_token::Principal;

use self::query::Query;

/// A Graph error: status, Graph's `code` and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// HTTP status.
    pub status: u16,
    /// Graph's error code (`Authorization_RequestDenied`, …).
    pub code: &'static str,
    /// The message.
    pub message: String,
}

impl GraphError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 400 `Request_UnsupportedQuery`.
    pub fn unsupported_query(message: impl Into<String>) -> Self {
        Self::new(400, "Request_UnsupportedQuery", message)
    }

    /// 404 `Request_ResourceNotFound` for a directory object.
    pub fn not_found(id: &str) -> Self {
        Self::new(
            404,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    /// 503 `serviceNotAvailable` for a store failure: the details go to the
    /// log, never to the client.
    pub fn store(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "Graph: store failure");
        Self::new(
            503,
            "serviceNotAvailable",
            "The directory could not be read or changed; try again.",
        )
    }

    /// 401 `InvalidAuthenticationToken`.
    pub fn invalid_token(message: impl Into<String>) -> Self {
        Self::new(401, "InvalidAuthenticationToken", message)
    }

    /// 403 `Authorization_RequestDenied`.
    pub fn denied() -> Self {
        Self::new(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    /// The JSON body: `{"error":{"code","message","innerError":{…}}}`.
    pub fn body(&self, request_id: &str, client_request_id: &str, now: i64) -> Value {
        let date = objects::datetime(now);
        let date = date
            .as_str()
            .map(|d| d.trim_end_matches('Z').to_owned())
            .unwrap_or_default();
        json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": date,
                    "request-id": request_id,
                    "client-request-id": client_request_id,
                },
            }
        })
    }
}

/// What a request wants done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`: create, or an action (`addPassword`).
    Post,
    /// `PATCH`: update.
    Patch,
    /// `DELETE`.
    Delete,
    /// Anything else.
    Other,
}

/// An answer: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphResponse {
    /// HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
}

/// Which permissions allow an operation: application permissions (in
/// `roles`) and delegated ones (in `scp`).
struct Needs {
    app: &'static [&'static str],
    delegated: &'static [&'static str],
    /// With a delegated token, the signed-in user must also hold one of
    /// these directory roles (template ids), as Entra checks both the
    /// app's permission and the user's role; empty: any member user.
    roles: &'static [&'static str],
}

/// Directory role template ids (`crate::directory::DIRECTORY_ROLES`).
const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
const APPLICATION_ADMINISTRATOR: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
const CLOUD_APPLICATION_ADMINISTRATOR: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";
const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
const GROUPS_ADMINISTRATOR: &str = "fdd7a751-b60b-444a-984c-02652fe8fa1c";
const PRIVILEGED_ROLE_ADMINISTRATOR: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";

const READ_APPLICATIONS: Needs = Needs {
    app: &[
        "Application.Read.All",
        "Application.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "Application.Read.All",
        "Application.ReadWrite.All",
        "Directory.Read.All",
        "Directory.AccessAsUser.All",
    ],
    roles: &[],
};

const READ_USERS: Needs = Needs {
    app: &[
        "User.Read.All",
        "User.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "User.ReadBasic.All",
        "User.Read.All",
        "User.ReadWrite.All",
        "Directory.Read.All",
        "Directory.AccessAsUser.All",
    ],
    roles: &[],
};

const READ_GROUPS: Needs = Needs {
    app: &[
        "Group.Read.All",
        "Group.ReadWrite.All",
        "GroupMember.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "Group.Read.All",
        "Group.ReadWrite.All",
        "Directory.Read.All",
        "Directory.AccessAsUser.All",
    ],
    roles: &[],
};

const READ_ASSIGNMENTS: Needs = Needs {
    app: &[
        "Application.Read.All",
        "Application.ReadWrite.All",
        "AppRoleAssignment.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "Application.Read.All",
        "Application.ReadWrite.All",
        "AppRoleAssignment.ReadWrite.All",
        "Directory.Read.All",
        "Directory.AccessAsUser.All",
    ],
    roles: &[],
};

const READ_GRANTS: Needs = Needs {
    app: &[
        "DelegatedPermissionGrant.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "DelegatedPermissionGrant.ReadWrite.All",
        "Directory.Read.All",
        "Directory.AccessAsUser.All",
    ],
    roles: &[],
};

const READ_ME: Needs = Needs {
    app: &[],
    delegated: &[
        "User.Read",
        "User.ReadWrite",
        "User.ReadBasic.All",
        "User.Read.All",
        "User.ReadWrite.All",
        "Directory.Read.All",
        "Directory.AccessAsUser.All",
    ],
    roles: &[],
};

/// A validated caller in its home directory.
struct Caller<'a> {
    principal: Principal,
    dir: &'a Directory,
}

impl Caller<'_> {
    fn require(&self, needs: &Needs) -> Result<(), GraphError> {
        let allowed = if self.principal.is_app_only() {
            needs.app.iter().any(|role| self.principal.has_role(role))
        } else {
            let user_roles = self
                .principal
                .object_id()
                .and_then(|oid| self.dir.user(oid))
                .map(|u| u.directory_roles.as_slice())
                .unwrap_or_default();
            needs
                .delegated
                .iter()
                .any(|scope| self.principal.has_scope(scope))
                && (needs.roles.is_empty()
                    || needs
                        .roles
                        .iter()
                        .any(|r| user_roles.iter().any(|u| u == r)))
        };
        if allowed {
            Ok(())
        } else {
            Err(GraphError::denied())
        }
    }
}

/// Serves one Graph request. `path` is what follows `/v1.0` (empty segments,
/// as from a doubled slash, are ignored); `origin` is the provider's origin
/// as the client reached it (for `@odata.context` and `@odata.nextLink`).
pub async fn handle(
    p: &Provider,
    origin: &str,
    method: Method,
    path: &str,
    raw_query: Option<&str>,
    bearer: Option<&str>,
    body: &[u8],
) -> Result<GraphResponse, GraphError> {
    // Read your writes across replicas: a directory another replica changed
    // is rebuilt before this request is served.
    match crate::directory::persist::refreshed(p.store.as_ref(), &p.tenants()).await {
        Ok(Some(directories)) => p.replace_tenants(crate::directory::Tenants::new(directories)),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "checking the stored directory's version failed"),
    }
    let tenants = p.tenants();
    let principal = authenticate(p, &tenants, bearer).await?;
    let dir = principal
        .tenant_id()
        .and_then(|tid| tenants.iter().find(|d| d.tenant.id == tid.as_str()))
        .ok_or_else(|| GraphError::invalid_token("The token's tenant is not served here."))?;
    let caller = Caller { principal, dir };
    let query = Query::parse(raw_query)?;
    // Segments arrive percent-encoded (`users/bob%40contoso.test`).
    let decoded: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    // `applications(appId='…')/…` and `servicePrincipals(appId='…')[/…]`
    // address the same objects as their ids.
    let decoded = by_app_id(dir, decoded);
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let verb = match method {
        Method::Get => None,
        Method::Post => Some(write::Verb::Post),
        Method::Patch => Some(write::Verb::Patch),
        Method::Delete => Some(write::Verb::Delete),
        Method::Other => {
            return Err(GraphError::new(
                405,
                "Request_BadRequest",
                "The HTTP method is not supported here.",
            ));
        }
    };
    if let Some(verb) = verb {
        return write::handle(p, &caller, origin, verb, &segments, body).await;
    }
    let base = format!("{origin}/v1.0");
    let context = |what: &str| format!("{base}/$metadata#{what}");
    let entity = |what: &str, value: Value| GraphResponse {
        status: 200,
        body: with_context(
            objects::select(value, &query.select),
            &context(&format!("{what}/$entity")),
        ),
    };
    let page = |what: &str, items: Vec<Value>| {
        collection(&base, path, raw_query, &query, &context(what), items)
    };
    match segments.as_slice() {
        ["applications"] => {
            caller.require(&READ_APPLICATIONS)?;
            Ok(page(
                "applications",
                registrations(dir)
                    .map(|a| objects::application(dir, a))
                    .collect(),
            ))
        }
        [one] if key_of(one, "applications").is_some() => {
            caller.require(&READ_APPLICATIONS)?;
            let app_id = key_of(one, "applications").unwrap_or_default();
            let app = registrations(dir)
                .find(|a| a.app_id.eq_ignore_ascii_case(&app_id))
                .ok_or_else(|| GraphError::not_found(&app_id))?;
            Ok(entity("applications", objects::application(dir, app)))
        }
        ["applications", id] => {
            caller.require(&READ_APPLICATIONS)?;
            let app = registrations(dir)
                .find(|a| objects::application_object_id(dir, a).eq_ignore_ascii_case(id))
                .ok_or_else(|| GraphError::not_found(id))?;
            Ok(entity("applications", objects::application(dir, app)))
        }
        ["servicePrincipals"] => {
            caller.require(&READ_APPLICATIONS)?;
            Ok(page(
                "servicePrincipals",
                installed(dir).map(objects::service_principal).collect(),
            ))
        }
        [one] if key_of(one, "servicePrincipals").is_some() => {
            caller.require(&READ_APPLICATIONS)?;
            let app_id = key_of(one, "servicePrincipals").unwrap_or_default();
            let app = installed(dir)
                .find(|a| a.app_id.eq_ignore_ascii_case(&app_id))
                .ok_or_else(|| GraphError::not_found(&app_id))?;
            Ok(entity("servicePrincipals", objects::service_principal(app)))
        }
        ["servicePrincipals", id] => {
            caller.require(&READ_APPLICATIONS)?;
            let app = service_principal(dir, id)?;
            Ok(entity("servicePrincipals", objects::service_principal(app)))
        }
        ["servicePrincipals", id, "appRoleAssignedTo"] => {
            caller.require(&READ_ASSIGNMENTS)?;
            let app = service_principal(dir, id)?;
            let items = dir
                .role_assignments
                .iter()
                .filter(|a| a.resource_app_id.eq_ignore_ascii_case(&app.app_id))
                .filter_map(|a| objects::app_role_assignment(dir, a))
                .collect();
            Ok(page(
                &format!("servicePrincipals('{id}')/appRoleAssignedTo"),
                items,
            ))
        }
        ["servicePrincipals", id, "appRoleAssignments"] => {
            caller.require(&READ_ASSIGNMENTS)?;
            let app = service_principal(dir, id)?;
            let items = dir
                .role_assignments
                .iter()
                .filter(|a| matches!(&a.principal, crate::directory::AssignedPrincipal::Application(c) if c.eq_ignore_ascii_case(&app.app_id)))
                .filter_map(|a| objects::app_role_assignment(dir, a))
                .collect();
            Ok(page(
                &format!("servicePrincipals('{id}')/appRoleAssignments"),
                items,
            ))
        }
        ["users"] => {
            caller.require(&READ_USERS)?;
            Ok(page("users", dir.users.iter().map(objects::user).collect()))
        }
        ["me"] => {
            let user = me(&caller)?;
            caller.require(&READ_ME)?;
            Ok(entity("users", objects::user(user)))
        }
        ["users", id] => {
            caller.require(&READ_USERS)?;
            Ok(entity("users", objects::user(user(dir, id)?)))
        }
        ["me", "memberOf"] => {
            let user = me(&caller)?;
            caller.require(&READ_ME)?;
            Ok(page("directoryObjects", member_of(dir, user)))
        }
        ["users", id, "memberOf"] => {
            caller.require(&READ_USERS)?;
            Ok(page("directoryObjects", member_of(dir, user(dir, id)?)))
        }
        ["users", id, "appRoleAssignments"] => {
            caller.require(&READ_USERS)?;
            let user = user(dir, id)?;
            let items = dir
                .role_assignments
                .iter()
                .filter(|a| matches!(&a.principal, crate::directory::AssignedPrincipal::User(u) if *u == user.object_id))
                .filter_map(|a| objects::app_role_assignment(dir, a))
                .collect();
            Ok(page(&format!("users('{id}')/appRoleAssignments"), items))
        }
        ["groups"] => {
            caller.require(&READ_GROUPS)?;
            Ok(page(
                "groups",
                dir.groups.iter().map(objects::group).collect(),
            ))
        }
        ["groups", id] => {
            caller.require(&READ_GROUPS)?;
            Ok(entity("groups", objects::group(group(dir, id)?)))
        }
        ["groups", id, "members"] => {
            caller.require(&READ_GROUPS)?;
            let group = group(dir, id)?;
            let items = dir
                .users
                .iter()
                .filter(|u| u.groups.contains(&group.object_id))
                .map(|u| {
                    let mut value = objects::user(u);
                    if let Value::Object(fields) = &mut value {
                        fields.insert("@odata.type".into(), "#microsoft.graph.user".into());
                    }
                    value
                })
                .collect();
            Ok(page("directoryObjects", items))
        }
        ["organization"] => {
            // Any valid Graph token of the tenant may read its organization
            // (Graph: User.Read and up); the body names the tenant.
            Ok(page("organization", vec![objects::organization(dir)]))
        }
        ["organization", id] if id.eq_ignore_ascii_case(&dir.tenant.id) => {
            Ok(entity("organization", objects::organization(dir)))
        }
        ["oauth2PermissionGrants"] => {
            caller.require(&READ_GRANTS)?;
            let mut items: Vec<Value> = dir
                .admin_consents
                .iter()
                .filter_map(|c| objects::admin_consent_grant(dir, c))
                .collect();
            let consents = p
                .store
                .user_consents(query::MAX_TOP as u32 * 10)
                .await
                .map_err(GraphError::store)?;
            items.extend(
                consents
                    .iter()
                    .filter_map(|(client, user, resource, scopes)| {
                        objects::user_consent_grant(dir, client, user, resource, scopes)
                    }),
            );
            Ok(page("oauth2PermissionGrants", items))
        }
        _ => Err(GraphError::new(
            400,
            "BadRequest",
            format!(
                "Resource not found for the segment '{}'.",
                segments.first().copied().unwrap_or_default()
            ),
        )),
    }
}

/// Validates the bearer token as a Graph access token of a served tenant.
async fn authenticate(
    p: &Provider,
    tenants: &crate::directory::Tenants,
    bearer: Option<&str>,
) -> Result<Principal, GraphError> {
    let Some(bearer) = bearer.filter(|b| !b.is_empty()) else {
        return Err(GraphError::invalid_token("Access token is empty."));
    };
    let issuers: Vec<String> = tenants
        .iter()
        .map(|d| {
            IssuerContext {
                origin: String::new(),
                tenant_id: d.tenant.id.clone(),
            }
            .v1_issuer()
        })
        .collect();
    let validator = p
        .own_tokens
        .get(
            p,
            &issuers,
            Audiences::Exact(&[microsoft_graph::IDENTIFIER_URI, microsoft_graph::APP_ID]),
        )
        .map_err(|_| {
            GraphError::new(
                500,
                "generalException",
                "The token validator could not be built.",
            )
        })?;
    validator
        .validate(bearer)
        .await
        .map_err(|e| match e.code() {
            // A valid Graph token that grants nothing (a client holding no
            // Graph permission): Graph's answer is a refusal, not a 401.
            rolegate_token::ErrorCode::NoPermissions => GraphError::denied(),
            code => {
                GraphError::invalid_token(format!("Access token validation failure: {e} ({code})."))
            }
        })
}

/// Applications registered in the tenant (not other tenants' apps, not
/// Microsoft Graph).
fn registrations(dir: &Directory) -> impl Iterator<Item = &Application> {
    dir.applications
        .iter()
        .filter(|a| !a.first_party && !a.is_foreign(&dir.tenant.id))
}

/// Service principals in the tenant: its own apps (unless deleted),
/// installed foreign apps, and the built-in Microsoft ones.
fn installed(dir: &Directory) -> impl Iterator<Item = &Application> {
    dir.applications
        .iter()
        .filter(|a| a.first_party || a.provisioned)
}

fn service_principal<'a>(dir: &'a Directory, id: &str) -> Result<&'a Application, GraphError> {
    installed(dir)
        .find(|a| a.service_principal_id.eq_ignore_ascii_case(id))
        .ok_or_else(|| GraphError::not_found(id))
}

fn user<'a>(dir: &'a Directory, id: &str) -> Result<&'a crate::directory::User, GraphError> {
    dir.users
        .iter()
        .find(|u| {
            u.object_id.eq_ignore_ascii_case(id) || u.user_principal_name.eq_ignore_ascii_case(id)
        })
        .ok_or_else(|| GraphError::not_found(id))
}

fn group<'a>(dir: &'a Directory, id: &str) -> Result<&'a crate::directory::Group, GraphError> {
    dir.groups
        .iter()
        .find(|g| g.object_id.eq_ignore_ascii_case(id))
        .ok_or_else(|| GraphError::not_found(id))
}

fn me<'a>(caller: &Caller<'a>) -> Result<&'a crate::directory::User, GraphError> {
    if caller.principal.is_app_only() {
        return Err(GraphError::new(
            400,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        ));
    }
    let oid = caller.principal.object_id().unwrap_or_default();
    user(caller.dir, oid)
}

/// The groups `user` is a direct member of, typed as directory objects.
fn member_of(dir: &Directory, user: &crate::directory::User) -> Vec<Value> {
    dir.groups
        .iter()
        .filter(|g| user.groups.contains(&g.object_id))
        .map(|g| {
            let mut value = objects::group(g);
            if let Value::Object(fields) = &mut value {
                fields.insert("@odata.type".into(), "#microsoft.graph.group".into());
            }
            value
        })
        .collect()
}

/// `applications(appId='…')` → the app id (OData alternate key).
/// Rewrites a leading `applications(appId='…')` followed by more segments,
/// and a leading `servicePrincipals(appId='…')`, into the object-id form the
/// handlers match.
fn by_app_id(dir: &Directory, mut segments: Vec<String>) -> Vec<String> {
    let Some(first) = segments.first() else {
        return segments;
    };
    if segments.len() > 1
        && let Some(app_id) = key_of(first, "applications")
    {
        // Not found: the app id stands in for the object id, so that the
        // handler checks the caller's permission first and then answers 404.
        let id = registrations(dir)
            .find(|a| a.app_id.eq_ignore_ascii_case(&app_id))
            .map_or(app_id, |app| objects::application_object_id(dir, app));
        segments.splice(0..1, ["applications".to_owned(), id]);
    } else if let Some(app_id) = key_of(first, "servicePrincipals") {
        let id = installed(dir)
            .find(|a| a.app_id.eq_ignore_ascii_case(&app_id))
            .map_or(app_id, |app| app.service_principal_id.clone());
        segments.splice(0..1, ["servicePrincipals".to_owned(), id]);
    }
    segments
}

fn key_of(segment: &str, collection: &str) -> Option<String> {
    let inner = segment
        .strip_prefix(collection)?
        .strip_prefix("(appId=")?
        .strip_suffix(')')?;
    let literal = inner.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(literal.replace("''", "'"))
}

fn with_context(mut value: Value, context: &str) -> Value {
    if let Value::Object(fields) = &mut value {
        let mut ordered = serde_json::Map::new();
        ordered.insert("@odata.context".into(), context.into());
        ordered.extend(std::mem::take(fields));
        *fields = ordered;
    }
    value
}

/// A page of a collection, with `@odata.nextLink` when more follow.
fn collection(
    base: &str,
    path: &str,
    raw_query: Option<&str>,
    query: &Query,
    context: &str,
    items: Vec<Value>,
) -> GraphResponse {
    let matching: Vec<Value> = items.into_iter().filter(|v| query.matches(v)).collect();
    let total = matching.len();
    let size = query.page_size();
    let page: Vec<Value> = matching
        .into_iter()
        .skip(query.skip)
        .take(size)
        .map(|v| objects::select(v, &query.select))
        .collect();
    let mut body = serde_json::Map::new();
    body.insert("@odata.context".into(), context.into());
    if query.count {
        body.insert("@odata.count".into(), total.into());
    }
    let next = query.skip.saturating_add(size);
    if next < total {
        let kept: Vec<(String, String)> = raw_query
            .map(|raw| {
                url::form_urlencoded::parse(raw.as_bytes())
                    .into_owned()
                    .filter(|(name, _)| name != "$skiptoken")
                    .collect()
            })
            .unwrap_or_default();
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        serializer.extend_pairs(kept);
        serializer.append_pair("$skiptoken", &format!("rg{next}"));
        let path = path.trim_start_matches('/');
        body.insert(
            "@odata.nextLink".into(),
            format!("{base}/{path}?{}", serializer.finish()).into(),
        );
    }
    body.insert("value".into(), Value::Array(page));
    GraphResponse {
        status: 200,
        body: Value::Object(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternate_keys_parse() {
        assert_eq!(
            key_of("applications(appId='abc')", "applications").as_deref(),
            Some("abc")
        );
        assert_eq!(
            key_of("servicePrincipals(appId='a''b')", "servicePrincipals").as_deref(),
            Some("a'b")
        );
        assert_eq!(key_of("applications", "applications"), None);
        assert_eq!(key_of("applications(id='x')", "applications"), None);
    }

    #[test]
    fn error_bodies_have_graphs_shape() {
        let body = GraphError::denied().body("r-1", "c-1", 0);
        assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
        assert_eq!(
            body["error"]["message"],
            "Insufficient privileges to complete the operation."
        );
        assert_eq!(body["error"]["innerError"]["request-id"], "r-1");
        assert_eq!(body["error"]["innerError"]["client-request-id"], "c-1");
        assert_eq!(body["error"]["innerError"]["date"], "1970-01-01T00:00:00");
    }
}
