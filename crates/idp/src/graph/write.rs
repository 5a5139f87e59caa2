//! Graph writes: each is an edit of the tenant's stored directory
//! ([`crate::directory::persist::edit`]), rebuilt and checked like a tenant
//! file, stored by compare-and-swap and announced to every replica; the
//! next token carries it.

use serde_json::{Value, json};

use super::{
    APPLICATION_ADMINISTRATOR, CLOUD_APPLICATION_ADMINISTRATOR, Caller, GLOBAL_ADMINISTRATOR,
    GROUPS_ADMINISTRATOR, GraphError, GraphResponse, Needs, PRIVILEGED_ROLE_ADMINISTRATOR,
    USER_ADMINISTRATOR, objects, registrations,
};
use crate::directory::config::graph_edit;
use crate::directory::persist::{self, EditFailure};
use crate::directory::{Directory, Tenants};
use crate::protocol::Provider;

const WRITE_APPLICATIONS: Needs = Needs {
    app: &["Application.ReadWrite.All", "Directory.ReadWrite.All"],
    delegated: &["Application.ReadWrite.All", "Directory.AccessAsUser.All"],
    roles: &[
        GLOBAL_ADMINISTRATOR,
        APPLICATION_ADMINISTRATOR,
        CLOUD_APPLICATION_ADMINISTRATOR,
    ],
};

const WRITE_ASSIGNMENTS: Needs = Needs {
    app: &[
        "AppRoleAssignment.ReadWrite.All",
        "Application.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "AppRoleAssignment.ReadWrite.All",
        "Directory.AccessAsUser.All",
    ],
    roles: &[
        GLOBAL_ADMINISTRATOR,
        APPLICATION_ADMINISTRATOR,
        CLOUD_APPLICATION_ADMINISTRATOR,
    ],
};

const WRITE_USERS: Needs = Needs {
    app: &["User.ReadWrite.All", "Directory.ReadWrite.All"],
    delegated: &["User.ReadWrite.All", "Directory.AccessAsUser.All"],
    roles: &[GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR],
};

const WRITE_GRANTS: Needs = Needs {
    app: &[
        "DelegatedPermissionGrant.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "DelegatedPermissionGrant.ReadWrite.All",
        "Directory.AccessAsUser.All",
    ],
    roles: &[GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR],
};

const WRITE_GROUPS: Needs = Needs {
    app: &[
        "Group.ReadWrite.All",
        "GroupMember.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &["Group.ReadWrite.All", "Directory.AccessAsUser.All"],
    roles: &[
        GLOBAL_ADMINISTRATOR,
        GROUPS_ADMINISTRATOR,
        USER_ADMINISTRATOR,
    ],
};

/// What a write is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verb {
    Post,
    Patch,
    Delete,
}

/// Serves a write at `segments` (after `/v1.0`).
pub(super) async fn handle(
    p: &Provider,
    caller: &Caller<'_>,
    origin: &str,
    verb: Verb,
    segments: &[&str],
    body: &[u8],
) -> Result<GraphResponse, GraphError> {
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body)
            .map_err(|e| GraphError::bad_request(format!("The request body is not JSON: {e}")))?
    };
    let dir = caller.dir;
    let base = format!("{origin}/v1.0");
    let created = |what: &str, value: Value| GraphResponse {
        status: 201,
        body: super::with_context(value, &format!("{base}/$metadata#{what}/$entity")),
    };
    let done = || GraphResponse {
        status: 204,
        body: Value::Null,
    };
    match (verb, segments) {
        (Verb::Post, ["applications"]) => {
            caller.require(&WRITE_APPLICATIONS)?;
            let (app_id, dirs) = edit(p, dir, |file, d| {
                graph_edit::create_application(file, d, &body)
            })
            .await?;
            let fresh = home(&dirs, dir)?;
            let app = fresh
                .application(&app_id)
                .ok_or_else(|| GraphError::not_found(&app_id))?;
            Ok(created("applications", objects::application(fresh, app)))
        }
        (Verb::Patch | Verb::Delete, [one]) if super::key_of(one, "applications").is_some() => {
            let app_id = super::key_of(one, "applications").unwrap_or_default();
            application_write(p, caller, verb, &app_id, &body).await?;
            Ok(done())
        }
        (Verb::Patch | Verb::Delete, ["applications", id]) => {
            let app_id = app_id_of(dir, id)?;
            application_write(p, caller, verb, &app_id, &body).await?;
            Ok(done())
        }
        (Verb::Post, ["applications", id, "addPassword"]) => {
            caller.require(&WRITE_APPLICATIONS)?;
            let app_id = app_id_of(dir, id)?;
            let display_name = body
                .get("passwordCredential")
                .and_then(|c| c.get("displayName"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let ((secret, key_id, hint), _) = edit(p, dir, |file, _| {
                graph_edit::add_password(file, &app_id, display_name.clone())
            })
            .await?;
            Ok(GraphResponse {
                status: 200,
                body: json!({
                    "@odata.context": format!("{base}/$metadata#microsoft.graph.passwordCredential"),
                    "customKeyIdentifier": Value::Null,
                    "displayName": display_name,
                    "endDateTime": Value::Null,
                    "hint": hint,
                    "keyId": key_id,
                    "secretText": secret,
                    "startDateTime": objects::datetime(p.now()),
                }),
            })
        }
        (Verb::Post, ["applications", id, "removePassword"]) => {
            caller.require(&WRITE_APPLICATIONS)?;
            let app_id = app_id_of(dir, id)?;
            let key_id = body
                .get("keyId")
                .and_then(Value::as_str)
                .ok_or_else(|| GraphError::bad_request("Property keyId is required."))?
                .to_owned();
            edit(p, dir, |file, _| {
                graph_edit::remove_password(file, &app_id, &key_id)
            })
            .await?;
            Ok(done())
        }
        (Verb::Post, ["servicePrincipals"]) => {
            caller.require(&WRITE_APPLICATIONS)?;
            let app_id = body
                .get("appId")
                .and_then(Value::as_str)
                .ok_or_else(|| GraphError::bad_request("Property appId is required."))?;
            // Every application registered here has its service principal,
            // and another tenant's multi-tenant app is installed by this.
            let app = dir.application(app_id).ok_or_else(|| {
                GraphError::bad_request(format!(
                    "The appId '{app_id}' of the service principal does not reference a valid application object."
                ))
            })?;
            if app.is_foreign(&dir.tenant.id) {
                crate::protocol::tenancy::install(p, dir, app)
                    .await
                    .map_err(|e| GraphError::new(500, "generalException", e.to_string()))?;
            } else if !app.provisioned {
                // Its service principal was deleted: it has one again.
                let app_id = app.app_id.clone();
                let (_, dirs) = edit(p, dir, |file, _| {
                    graph_edit::create_service_principal(file, &app_id)
                })
                .await?;
                let fresh = home(&dirs, dir)?;
                let app = fresh.application(&app_id).ok_or_else(|| {
                    GraphError::bad_request("The service principal could not be read back.")
                })?;
                return Ok(created(
                    "servicePrincipals",
                    objects::service_principal(app),
                ));
            }
            Ok(created(
                "servicePrincipals",
                objects::service_principal(app),
            ))
        }
        (Verb::Patch, ["servicePrincipals", id]) => {
            caller.require(&WRITE_APPLICATIONS)?;
            let app_id = super::service_principal(dir, id)?.app_id.clone();
            edit(p, dir, |file, d| {
                graph_edit::update_service_principal(file, d, &app_id, &body)
            })
            .await?;
            Ok(done())
        }
        (Verb::Delete, ["servicePrincipals", id]) => {
            caller.require(&WRITE_APPLICATIONS)?;
            let app_id = super::service_principal(dir, id)?.app_id.clone();
            edit(p, dir, |file, d| {
                graph_edit::delete_service_principal(file, d, &app_id)
            })
            .await?;
            forget_user_consents(p, &app_id).await?;
            Ok(done())
        }
        (
            Verb::Post,
            [
                "servicePrincipals",
                _,
                "appRoleAssignedTo" | "appRoleAssignments",
            ],
        )
        | (Verb::Post, ["users", _, "appRoleAssignments"])
        | (Verb::Post, ["groups", _, "appRoleAssignments"]) => {
            caller.require(&WRITE_ASSIGNMENTS)?;
            let ((principal, resource_app_id, role), dirs) = edit(p, dir, |file, d| {
                graph_edit::add_role_assignment(file, d, &body)
            })
            .await?;
            let fresh = home(&dirs, dir)?;
            let assignment = crate::directory::RoleAssignment {
                principal,
                resource_app_id,
                role,
            };
            let value = objects::app_role_assignment(fresh, &assignment)
                .ok_or_else(|| GraphError::bad_request("The assignment could not be read back."))?;
            Ok(created("appRoleAssignments", value))
        }
        (
            Verb::Delete,
            [
                "servicePrincipals",
                _,
                "appRoleAssignedTo" | "appRoleAssignments",
                assignment_id,
            ],
        )
        | (Verb::Delete, ["users" | "groups", _, "appRoleAssignments", assignment_id]) => {
            caller.require(&WRITE_ASSIGNMENTS)?;
            let assignment = dir
                .role_assignments
                .iter()
                .find(|a| {
                    objects::app_role_assignment(dir, a).is_some_and(|v| {
                        v.get("id").and_then(Value::as_str) == Some(*assignment_id)
                    })
                })
                .cloned()
                .ok_or_else(|| GraphError::not_found(assignment_id))?;
            edit(p, dir, |file, d| {
                graph_edit::remove_role_assignment(
                    file,
                    d,
                    &assignment.principal,
                    &assignment.resource_app_id,
                    &assignment.role,
                )
            })
            .await?;
            Ok(done())
        }
        (Verb::Post, ["users"]) => {
            caller.require(&WRITE_USERS)?;
            let (id, dirs) = edit(p, dir, |file, _| graph_edit::create_user(file, &body)).await?;
            let fresh = home(&dirs, dir)?;
            let user = super::user(fresh, &id)?;
            Ok(created("users", objects::user(user)))
        }
        (Verb::Patch, ["users", id]) => {
            caller.require(&WRITE_USERS)?;
            let user_id = super::user(dir, id)?.object_id.clone();
            edit(p, dir, |file, d| {
                graph_edit::update_user(file, d, &user_id, &body)
            })
            .await?;
            Ok(done())
        }
        (Verb::Patch, ["groups", id]) => {
            caller.require(&WRITE_GROUPS)?;
            let group_id = super::group(dir, id)?.object_id.clone();
            edit(p, dir, |file, d| {
                graph_edit::update_group(file, d, &group_id, &body)
            })
            .await?;
            Ok(done())
        }
        (Verb::Delete, ["users", id]) => {
            caller.require(&WRITE_USERS)?;
            let user_id = super::user(dir, id)?.object_id.clone();
            edit(p, dir, |file, d| graph_edit::delete_user(file, d, &user_id)).await?;
            Ok(done())
        }
        (Verb::Post, ["groups"]) => {
            caller.require(&WRITE_GROUPS)?;
            let (id, dirs) = edit(p, dir, |file, _| graph_edit::create_group(file, &body)).await?;
            let fresh = home(&dirs, dir)?;
            Ok(created("groups", objects::group(super::group(fresh, &id)?)))
        }
        (Verb::Delete, ["groups", id]) => {
            caller.require(&WRITE_GROUPS)?;
            let group_id = super::group(dir, id)?.object_id.clone();
            edit(p, dir, |file, d| {
                graph_edit::delete_group(file, d, &group_id)
            })
            .await?;
            Ok(done())
        }
        (Verb::Post, ["oauth2PermissionGrants"]) => {
            caller.require(&WRITE_GRANTS)?;
            let text = |name: &str| {
                body.get(name)
                    .and_then(Value::as_str)
                    .ok_or_else(|| GraphError::bad_request(format!("Property {name} is required.")))
            };
            let (client_sp, resource_sp, consent_type) =
                (text("clientId")?, text("resourceId")?, text("consentType")?);
            let scopes: Vec<String> = text("scope")?
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            match consent_type {
                "AllPrincipals" => {
                    let ((client_app, resource_app), dirs) = edit(p, dir, |file, d| {
                        graph_edit::grant_admin_consent(file, d, client_sp, resource_sp, &scopes)
                    })
                    .await?;
                    let fresh = home(&dirs, dir)?;
                    let consent = fresh
                        .admin_consents
                        .iter()
                        .find(|c| {
                            c.client_app_id == client_app && c.resource_app_id == resource_app
                        })
                        .ok_or_else(|| {
                            GraphError::bad_request("The grant could not be read back.")
                        })?;
                    let value = objects::admin_consent_grant(fresh, consent).ok_or_else(|| {
                        GraphError::bad_request("The grant could not be read back.")
                    })?;
                    Ok(created("oauth2PermissionGrants", value))
                }
                "Principal" => {
                    let principal = text("principalId")?;
                    let user = super::user(dir, principal)?;
                    let client = dir
                        .applications
                        .iter()
                        .find(|a| {
                            !a.first_party && a.service_principal_id.eq_ignore_ascii_case(client_sp)
                        })
                        .ok_or_else(|| {
                            GraphError::bad_request(format!(
                                "Client service principal {client_sp} does not exist."
                            ))
                        })?;
                    let resource = dir
                        .applications
                        .iter()
                        .find(|a| a.service_principal_id.eq_ignore_ascii_case(resource_sp))
                        .ok_or_else(|| {
                            GraphError::bad_request(format!(
                                "Resource service principal {resource_sp} does not exist."
                            ))
                        })?;
                    for scope in &scopes {
                        if !resource
                            .scopes
                            .iter()
                            .any(|s| s.value.eq_ignore_ascii_case(scope))
                        {
                            return Err(GraphError::new(
                                400,
                                "Request_BadRequest",
                                format!("{scope:?} is not a scope of {:?}.", resource.display_name),
                            ));
                        }
                    }
                    p.store
                        .grant_consent(&client.app_id, &user.object_id, &resource.app_id, &scopes)
                        .await
                        .map_err(GraphError::store)?;
                    let digest = crate::secret::digest(&format!(
                        "{}\0{}\0{}",
                        client.service_principal_id, resource.service_principal_id, user.object_id
                    ));
                    use base64::Engine as _;
                    Ok(created(
                        "oauth2PermissionGrants",
                        json!({
                            "id": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..24]),
                            "clientId": client.service_principal_id,
                            "consentType": "Principal",
                            "principalId": user.object_id,
                            "resourceId": resource.service_principal_id,
                            "scope": scopes.join(" "),
                        }),
                    ))
                }
                other => Err(GraphError::bad_request(format!(
                    "consentType {other:?} is neither AllPrincipals nor Principal."
                ))),
            }
        }
        (Verb::Delete, ["oauth2PermissionGrants", grant_id]) => {
            caller.require(&WRITE_GRANTS)?;
            // A user's own consent (in the store)?
            let consents = p
                .store
                .user_consents(super::query::MAX_TOP as u32 * 10)
                .await
                .map_err(GraphError::store)?;
            if let Some((client, user, resource, _)) = consents.iter().find(|(c, u, r, s)| {
                objects::user_consent_grant(dir, c, u, r, s)
                    .is_some_and(|v| v.get("id").and_then(Value::as_str) == Some(*grant_id))
            }) {
                p.store
                    .revoke_consent(client, user, resource)
                    .await
                    .map_err(GraphError::store)?;
                return Ok(done());
            }
            let consent = dir
                .admin_consents
                .iter()
                .find(|c| {
                    objects::admin_consent_grant(dir, c)
                        .is_some_and(|v| v.get("id").and_then(Value::as_str) == Some(*grant_id))
                })
                .cloned()
                .ok_or_else(|| GraphError::not_found(grant_id))?;
            edit(p, dir, |file, d| {
                graph_edit::revoke_admin_consent(
                    file,
                    d,
                    &consent.client_app_id,
                    &consent.resource_app_id,
                )
            })
            .await?;
            Ok(done())
        }
        (Verb::Post, ["groups", id, "members", "$ref"]) => {
            caller.require(&WRITE_GROUPS)?;
            let reference = body
                .get("@odata.id")
                .and_then(Value::as_str)
                .ok_or_else(|| GraphError::bad_request("Property @odata.id is required."))?;
            // `…/directoryObjects/{id}` (or `…/users/{id}`) on this origin or
            // on graph.microsoft.com: the last segment is the object id.
            let member = reference
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            let group_id = id.to_string();
            edit(p, dir, |file, d| {
                graph_edit::add_member(file, d, &group_id, &member)
            })
            .await?;
            Ok(done())
        }
        (Verb::Delete, ["groups", id, "members", member, "$ref"]) => {
            caller.require(&WRITE_GROUPS)?;
            let (group_id, member) = (id.to_string(), member.to_string());
            edit(p, dir, |file, d| {
                graph_edit::remove_member(file, d, &group_id, &member)
            })
            .await?;
            Ok(done())
        }
        _ => Err(GraphError::bad_request(format!(
            "This provider's Graph subset does not support {verb:?} on '{}'.",
            segments.join("/")
        ))),
    }
}

async fn application_write(
    p: &Provider,
    caller: &Caller<'_>,
    verb: Verb,
    app_id: &str,
    body: &Value,
) -> Result<(), GraphError> {
    caller.require(&WRITE_APPLICATIONS)?;
    let dir = caller.dir;
    if !registrations(dir).any(|a| a.app_id.eq_ignore_ascii_case(app_id)) {
        return Err(GraphError::not_found(app_id));
    }
    match verb {
        Verb::Patch => {
            edit(p, dir, |file, d| {
                graph_edit::update_application(file, d, app_id, body)
            })
            .await?;
        }
        _ => {
            edit(p, dir, |file, d| {
                graph_edit::delete_application(file, d, app_id)
            })
            .await?;
            forget_user_consents(p, app_id).await?;
        }
    }
    Ok(())
}

/// Revokes the users' own consents (kept in the store, not in the
/// directory) that name `app_id` as client or resource, when its
/// application or service principal is deleted: they must not come back
/// with an app of the same id. Bounded as the Graph listing of them.
async fn forget_user_consents(p: &Provider, app_id: &str) -> Result<(), GraphError> {
    let consents = p
        .store
        .user_consents(super::query::MAX_TOP as u32 * 10)
        .await
        .map_err(GraphError::store)?;
    for (client, user, resource, _) in consents.iter().filter(|(client, _, resource, _)| {
        client.eq_ignore_ascii_case(app_id) || resource.eq_ignore_ascii_case(app_id)
    }) {
        p.store
            .revoke_consent(client, user, resource)
            .await
            .map_err(GraphError::store)?;
    }
    Ok(())
}

/// The app id of the application whose object id is `id`.
fn app_id_of(dir: &Directory, id: &str) -> Result<String, GraphError> {
    registrations(dir)
        .find(|a| objects::application_object_id(dir, a).eq_ignore_ascii_case(id))
        .map(|a| a.app_id.clone())
        .ok_or_else(|| GraphError::not_found(id))
}

/// Applies `change` to the caller's tenant, swaps the provider's
/// directories for the result, and returns what `change` returned with
/// them.
async fn edit<T>(
    p: &Provider,
    dir: &Directory,
    change: impl FnMut(&mut crate::directory::config::TenantFile, &Directory) -> Result<T, String>,
) -> Result<(T, std::sync::Arc<Tenants>), GraphError> {
    let tenant_ids: Vec<String> = p.tenants().iter().map(|d| d.tenant.id.clone()).collect();
    match persist::edit(
        p.store.as_ref(),
        &tenant_ids,
        &dir.tenant.id,
        dir,
        p.now(),
        change,
    )
    .await
    {
        Ok((out, directories)) => {
            p.replace_tenants(Tenants::new(directories));
            Ok((out, p.tenants()))
        }
        Err(EditFailure::Refused(message)) => {
            Err(GraphError::new(400, "Request_BadRequest", message))
        }
        Err(EditFailure::Invalid(problems)) => Err(GraphError::new(
            400,
            "Request_BadRequest",
            problems.problems.join(" "),
        )),
        Err(EditFailure::Store(e)) => {
            tracing::error!(error = %e, "a Graph write could not be stored");
            Err(GraphError::new(
                503,
                "serviceNotAvailable",
                "The directory could not be changed; try again.",
            ))
        }
    }
}

/// The caller's tenant in freshly built directories.
fn home<'a>(
    tenants: &'a std::sync::Arc<Tenants>,
    dir: &Directory,
) -> Result<&'a Directory, GraphError> {
    tenants
        .iter()
        .find(|d| d.tenant.id == dir.tenant.id)
        .ok_or_else(|| GraphError::new(500, "generalException", "The tenant vanished."))
}
