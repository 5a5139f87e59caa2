//! Microsoft Graph writes as edits of a tenant's stored entries (design
//! note 0003): each function changes a [`TenantFile`] the way Graph's
//! operation changes the directory; the caller rebuilds the directory from
//! the result (refusing the write if it does not build) and stores it.
//!
//! Objects are named as Graph names them (object ids, app ids, app role
//! ids) and resolved against the directory as it is (`dir`). Graph JSON
//! members this provider does not model are ignored, as are `@odata.*`
//! annotations.

use serde_json::{Map, Value};

use super::schema::{
    AdminConsentEntry, AppRoleEntry, ApplicationEntry, GroupEntry, KeyCredentialEntry,
    PasswordCredentialEntry, RequiredAccessEntry, RoleAssignmentEntry, ScopeEntry, TenantFile,
    UserEntry,
};
use crate::directory::{AssignedPrincipal, Directory};

/// Why an edit was refused: Graph's `400` with this message.
pub(crate) type EditError = String;

/// Most objects of one kind a tenant holds through Graph (users, groups,
/// applications, role assignments): every write rebuilds the directory, so
/// its size bounds the work per request.
pub(crate) const MAX_OBJECTS: usize = 10_000;

fn quota(count: usize, what: &str) -> Result<(), EditError> {
    if count >= MAX_OBJECTS {
        return Err(format!(
            "Directory_QuotaExceeded: this provider keeps at most {MAX_OBJECTS} {what} per tenant."
        ));
    }
    Ok(())
}

/// `POST /applications`: a new registration with a fresh app id; returns it.
pub(crate) fn create_application(
    file: &mut TenantFile,
    dir: &Directory,
    body: &Value,
) -> Result<String, EditError> {
    quota(file.applications.len(), "applications")?;
    let fields = object(body)?;
    let display_name = fields
        .get("displayName")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or("Property displayName is required.")?;
    let app_id = crate::secret::guid();
    let mut entry = ApplicationEntry {
        display_name: Some(display_name.to_owned()),
        app_id: Some(app_id.clone()),
        manifest: None,
        identifier_uris: None,
        requested_access_token_version: None,
        app_role_assignment_required: None,
        service_principal: None,
        spa_redirect_uris: None,
        web_redirect_uris: None,
        public_client_redirect_uris: None,
        is_fallback_public_client: None,
        enable_id_token_issuance: None,
        enable_access_token_issuance: None,
        emit_idtyp: None,
        group_membership_claims: None,
        sign_in_audience: None,
        app_roles: None,
        oauth2_permission_scopes: None,
        password_credentials: None,
        key_credentials: None,
        required_resource_access: None,
    };
    patch_entry(&mut entry, dir, fields)?;
    file.applications.push(entry);
    Ok(app_id)
}

/// `PATCH /applications/{id}`: the members given replace the app's.
pub(crate) fn update_application(
    file: &mut TenantFile,
    dir: &Directory,
    app_id: &str,
    body: &Value,
) -> Result<(), EditError> {
    let fields = object(body)?;
    let entry = application_entry(file, app_id)?;
    if entry.manifest.is_some() {
        return Err(format!(
            "Application {app_id} is registered from a manifest file; edit the manifest."
        ));
    }
    patch_entry(entry, dir, fields)?;
    if let Some(name) = fields.get("displayName").and_then(Value::as_str) {
        entry.display_name = Some(name.to_owned());
    }
    Ok(())
}

/// `DELETE /applications/{id}`: the registration, its service principal,
/// and the role assignments and consents that name it.
pub(crate) fn delete_application(
    file: &mut TenantFile,
    dir: &Directory,
    app_id: &str,
) -> Result<(), EditError> {
    let before = file.applications.len();
    file.applications.retain(|a| {
        !a.app_id
            .as_deref()
            .is_some_and(|id| id.eq_ignore_ascii_case(app_id))
    });
    if file.applications.len() == before {
        return Err(format!("Application {app_id} is not registered here."));
    }
    let names = |reference: &str| {
        reference.eq_ignore_ascii_case(app_id)
            || dir
                .application(app_id)
                .is_some_and(|a| a.identifier_uris.iter().any(|u| u == reference))
    };
    file.app_role_assignments
        .retain(|a| !names(&a.principal) && !names(&a.resource));
    file.admin_consents
        .retain(|c| !names(&c.client) && !names(&c.resource));
    Ok(())
}

/// `POST /applications/{id}/addPassword`: a fresh secret from the OS RNG,
/// stored only as its argon2 hash; returns (secret, key id, hint).
pub(crate) fn add_password(
    file: &mut TenantFile,
    app_id: &str,
    display_name: Option<String>,
) -> Result<(String, String, String), EditError> {
    let entry = application_entry(file, app_id)?;
    let credentials = entry.password_credentials.get_or_insert_with(Vec::new);
    if credentials.len() >= 16 {
        return Err("An application holds at most 16 client secrets here.".to_owned());
    }
    // Entra's shape: 40 characters with "~" after a 3-character prefix.
    let random = crate::secret::random_token(30);
    let secret: String = format!("{}8Q~{}", &random[..3], &random[3..]);
    let secret: String = secret.chars().take(40).collect();
    let hash = crate::secret::hash(&secret).map_err(|e| format!("cannot hash the secret: {e}"))?;
    let key_id = crate::secret::guid();
    let hint: String = secret.chars().take(3).collect();
    credentials.push(PasswordCredentialEntry {
        secret: None,
        hash: Some(hash),
        hint: Some(hint.clone()),
        key_id: Some(key_id.clone()),
        display_name,
    });
    Ok((secret, key_id, hint))
}

/// `POST /applications/{id}/removePassword`.
pub(crate) fn remove_password(
    file: &mut TenantFile,
    app_id: &str,
    key_id: &str,
) -> Result<(), EditError> {
    let entry = application_entry(file, app_id)?;
    let credentials = entry.password_credentials.get_or_insert_with(Vec::new);
    let before = credentials.len();
    credentials.retain(|c| {
        !c.key_id
            .as_deref()
            .is_some_and(|id| id.eq_ignore_ascii_case(key_id))
    });
    if credentials.len() == before {
        return Err(format!(
            "No password credential with keyId {key_id} on application {app_id}."
        ));
    }
    Ok(())
}

/// `POST …/appRoleAssignedTo` or `…/appRoleAssignments`: `principalId`
/// (a user, group or service principal) gets the app role `appRoleId` of
/// the resource service principal `resourceId`. Returns the assignment's
/// (principal, resource app id, role value).
pub(crate) fn add_role_assignment(
    file: &mut TenantFile,
    dir: &Directory,
    body: &Value,
) -> Result<(AssignedPrincipal, String, String), EditError> {
    quota(file.app_role_assignments.len(), "app role assignments")?;
    let fields = object(body)?;
    let text = |name: &str| {
        fields
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("Property {name} is required."))
    };
    let (principal_id, resource_id, role_id) = (
        text("principalId")?,
        text("resourceId")?,
        text("appRoleId")?,
    );
    let resource = dir
        .applications
        .iter()
        .find(|a| a.service_principal_id.eq_ignore_ascii_case(resource_id))
        .ok_or_else(|| format!("Resource service principal {resource_id} does not exist."))?;
    let role = resource
        .app_roles
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(role_id))
        .ok_or_else(|| {
            format!(
                "Permission being assigned was not found on application '{}'.",
                resource.app_id
            )
        })?;
    let (principal, reference) = if let Some(user) = dir
        .users
        .iter()
        .find(|u| u.object_id.eq_ignore_ascii_case(principal_id))
    {
        (
            AssignedPrincipal::User(user.object_id.clone()),
            user.user_principal_name.clone(),
        )
    } else if let Some(group) = dir
        .groups
        .iter()
        .find(|g| g.object_id.eq_ignore_ascii_case(principal_id))
    {
        (
            AssignedPrincipal::Group(group.object_id.clone()),
            group.display_name.clone(),
        )
    } else if let Some(app) = dir
        .applications
        .iter()
        .find(|a| !a.first_party && a.service_principal_id.eq_ignore_ascii_case(principal_id))
    {
        (
            AssignedPrincipal::Application(app.app_id.clone()),
            app.app_id.clone(),
        )
    } else {
        return Err(format!("Principal {principal_id} does not exist."));
    };
    let resource_ref = if resource.first_party {
        resource
            .identifier_uris
            .first()
            .cloned()
            .unwrap_or_default()
    } else {
        resource.app_id.clone()
    };
    let exists = file.app_role_assignments.iter().any(|a| {
        a.principal.eq_ignore_ascii_case(&reference)
            && a.resource.eq_ignore_ascii_case(&resource_ref)
            && a.role == role.value
    });
    if exists {
        return Err("Permission being assigned already exists on the object".to_owned());
    }
    file.app_role_assignments.push(RoleAssignmentEntry {
        principal: reference,
        resource: resource_ref,
        role: role.value.clone(),
    });
    Ok((principal, resource.app_id.clone(), role.value.clone()))
}

/// Removes the assignment of `role` on `resource_app_id` held by
/// `principal` (as named in `dir`).
pub(crate) fn remove_role_assignment(
    file: &mut TenantFile,
    dir: &Directory,
    principal: &AssignedPrincipal,
    resource_app_id: &str,
    role: &str,
) -> Result<(), EditError> {
    let resource = dir
        .resource(resource_app_id)
        .ok_or("The resource no longer exists.")?;
    let names_principal =
        |reference: &str| match principal {
            AssignedPrincipal::User(id) => dir
                .users
                .iter()
                .find(|u| u.object_id == *id)
                .is_some_and(|u| {
                    u.user_principal_name.eq_ignore_ascii_case(reference)
                        || u.object_id == reference
                }),
            AssignedPrincipal::Group(id) => dir
                .groups
                .iter()
                .find(|g| g.object_id == *id)
                .is_some_and(|g| {
                    g.display_name.eq_ignore_ascii_case(reference) || g.object_id == reference
                }),
            AssignedPrincipal::Application(app_id) => app_id.eq_ignore_ascii_case(reference),
        };
    let names_resource = |reference: &str| {
        reference.eq_ignore_ascii_case(&resource.app_id)
            || resource
                .identifier_uris
                .iter()
                .any(|u| u.trim_end_matches('/') == reference.trim_end_matches('/'))
    };
    let before = file.app_role_assignments.len();
    file.app_role_assignments.retain(|a| {
        !(names_principal(&a.principal) && names_resource(&a.resource) && a.role == role)
    });
    if file.app_role_assignments.len() == before {
        return Err(
            "The assignment comes from another tenant's file and cannot be removed here."
                .to_owned(),
        );
    }
    Ok(())
}

/// `PATCH /servicePrincipals/{id}`: `appRoleAssignmentRequired` (the
/// enterprise application's "assignment required" switch).
pub(crate) fn update_service_principal(
    file: &mut TenantFile,
    dir: &Directory,
    app_id: &str,
    body: &Value,
) -> Result<(), EditError> {
    let fields = object(body)?;
    let Some(required) = fields
        .get("appRoleAssignmentRequired")
        .and_then(Value::as_bool)
    else {
        return Ok(());
    };
    let app = service_principal_app(dir, app_id, "changed")?;
    if app.is_foreign(&dir.tenant.id) {
        match file
            .service_principals
            .iter_mut()
            .find(|p| p.app_id.eq_ignore_ascii_case(app_id))
        {
            Some(entry) => entry.app_role_assignment_required = Some(required),
            None => file
                .service_principals
                .push(super::schema::ServicePrincipalEntry {
                    app_id: app.app_id.clone(),
                    app_role_assignment_required: Some(required),
                }),
        }
        return Ok(());
    }
    application_entry(file, app_id)?.app_role_assignment_required = Some(required);
    Ok(())
}

/// The application whose service principal a Graph write names; the
/// built-in Microsoft ones are refused (`what`: "changed", "deleted").
fn service_principal_app<'a>(
    dir: &'a Directory,
    app_id: &str,
    what: &str,
) -> Result<&'a crate::directory::Application, EditError> {
    let app = dir
        .applications
        .iter()
        .find(|a| a.app_id.eq_ignore_ascii_case(app_id))
        .ok_or_else(|| format!("Application {app_id} does not exist."))?;
    if app.first_party {
        return Err(format!(
            "{}'s service principal is built into every tenant and cannot be {what} here.",
            app.display_name
        ));
    }
    Ok(app)
}

/// `POST /servicePrincipals` for an application registered here whose
/// service principal was deleted: it has one again (with no assignments).
pub(crate) fn create_service_principal(
    file: &mut TenantFile,
    app_id: &str,
) -> Result<(), EditError> {
    application_entry(file, app_id)?.service_principal = None;
    Ok(())
}

/// `DELETE /servicePrincipals/{id}`: the enterprise application goes, with
/// the role assignments and admin consents that name the app as principal,
/// client or resource; the registration stays (for an app registered here)
/// and another tenant's app is uninstalled from the tenant file's
/// `[[service_principals]]`.
pub(crate) fn delete_service_principal(
    file: &mut TenantFile,
    dir: &Directory,
    app_id: &str,
) -> Result<(), EditError> {
    let app = service_principal_app(dir, app_id, "deleted")?;
    if app.is_foreign(&dir.tenant.id) {
        let before = file.service_principals.len();
        file.service_principals
            .retain(|p| !p.app_id.eq_ignore_ascii_case(app_id));
        if file.service_principals.len() == before {
            return Err(format!(
                "The service principal of {app_id} was created by a consent; this provider deletes only those the tenant file or Graph installed."
            ));
        }
    } else {
        application_entry(file, app_id)?.service_principal = Some(false);
    }
    let names = |reference: &str| {
        reference.eq_ignore_ascii_case(app_id) || app.identifier_uris.iter().any(|u| u == reference)
    };
    file.app_role_assignments
        .retain(|a| !names(&a.principal) && !names(&a.resource));
    file.admin_consents
        .retain(|c| !names(&c.client) && !names(&c.resource));
    Ok(())
}

/// `POST /users`: `userPrincipalName`, `displayName` and
/// `passwordProfile.password` (hashed at once); returns the object id.
pub(crate) fn create_user(file: &mut TenantFile, body: &Value) -> Result<String, EditError> {
    quota(file.users.len(), "users")?;
    let fields = object(body)?;
    let upn = fields
        .get("userPrincipalName")
        .and_then(Value::as_str)
        .ok_or("Property userPrincipalName is required.")?;
    let display_name = fields
        .get("displayName")
        .and_then(Value::as_str)
        .ok_or("Property displayName is required.")?;
    let password = fields
        .get("passwordProfile")
        .and_then(|p| p.get("password"))
        .and_then(Value::as_str);
    let password_hash = match password {
        Some(p) if p.len() >= 8 => {
            Some(crate::secret::hash(p).map_err(|e| format!("cannot hash the password: {e}"))?)
        }
        Some(_) => {
            return Err(
                "The specified password does not comply with password complexity requirements."
                    .to_owned(),
            );
        }
        None => None,
    };
    let object_id = crate::secret::guid();
    file.users.push(UserEntry {
        user_principal_name: upn.to_owned(),
        display_name: display_name.to_owned(),
        password: None,
        password_hash,
        groups: Vec::new(),
        object_id: Some(object_id.clone()),
        directory_roles: Vec::new(),
    });
    Ok(object_id)
}

/// `DELETE /users/{id}`, with the role assignments naming the user.
pub(crate) fn delete_user(
    file: &mut TenantFile,
    dir: &Directory,
    id: &str,
) -> Result<(), EditError> {
    let user = find_user(dir, id)?;
    let upn = user.user_principal_name.clone();
    file.users
        .retain(|u| !u.user_principal_name.eq_ignore_ascii_case(&upn));
    file.app_role_assignments.retain(|a| {
        !a.principal.eq_ignore_ascii_case(&upn) && !a.principal.eq_ignore_ascii_case(id)
    });
    Ok(())
}

/// `PATCH /users/{id}`: `displayName`, `userPrincipalName` (references to
/// the old name follow it), `passwordProfile.password` (hashed at once).
pub(crate) fn update_user(
    file: &mut TenantFile,
    dir: &Directory,
    id: &str,
    body: &Value,
) -> Result<(), EditError> {
    let fields = object(body)?;
    let user = find_user(dir, id)?;
    let old = user.user_principal_name.clone();
    let entry = user_entry(file, &old)?;
    if let Some(name) = fields.get("displayName").and_then(Value::as_str) {
        entry.display_name = name.to_owned();
    }
    if let Some(password) = fields
        .get("passwordProfile")
        .and_then(|p| p.get("password"))
        .and_then(Value::as_str)
    {
        if password.len() < 8 {
            return Err(
                "The specified password does not comply with password complexity requirements."
                    .to_owned(),
            );
        }
        entry.password = None;
        entry.password_hash = Some(
            crate::secret::hash(password).map_err(|e| format!("cannot hash the password: {e}"))?,
        );
    }
    if let Some(upn) = fields.get("userPrincipalName").and_then(Value::as_str) {
        // Keep the object id: it was derived from the old name.
        entry.object_id = Some(user.object_id.clone());
        entry.user_principal_name = upn.to_owned();
        for assignment in &mut file.app_role_assignments {
            if assignment.principal.eq_ignore_ascii_case(&old) {
                assignment.principal = upn.to_owned();
            }
        }
    }
    Ok(())
}

/// `PATCH /groups/{id}`: `displayName` (memberships and assignments that
/// name the group follow it), `securityEnabled`.
pub(crate) fn update_group(
    file: &mut TenantFile,
    dir: &Directory,
    id: &str,
    body: &Value,
) -> Result<(), EditError> {
    let fields = object(body)?;
    let group = find_group(dir, id)?;
    let old = group.display_name.clone();
    let entry = file
        .groups
        .iter_mut()
        .find(|g| g.display_name.eq_ignore_ascii_case(&old))
        .ok_or("The group is not in the stored directory.")?;
    if let Some(enabled) = fields.get("securityEnabled").and_then(Value::as_bool) {
        entry.security_enabled = Some(enabled);
    }
    if let Some(name) = fields.get("displayName").and_then(Value::as_str) {
        // Keep the object id: it was derived from the old name.
        entry.object_id = Some(group.object_id.clone());
        entry.display_name = name.to_owned();
        let rename = |names: &mut Vec<String>| {
            for n in names.iter_mut() {
                if n.eq_ignore_ascii_case(&old) {
                    *n = name.to_owned();
                }
            }
        };
        for user in &mut file.users {
            rename(&mut user.groups);
        }
        for other in &mut file.groups {
            rename(&mut other.member_of);
        }
        for assignment in &mut file.app_role_assignments {
            if assignment.principal.eq_ignore_ascii_case(&old) {
                assignment.principal = name.to_owned();
            }
        }
    }
    Ok(())
}

/// `POST /groups`: `displayName`, `securityEnabled`; returns the object id.
pub(crate) fn create_group(file: &mut TenantFile, body: &Value) -> Result<String, EditError> {
    quota(file.groups.len(), "groups")?;
    let fields = object(body)?;
    let display_name = fields
        .get("displayName")
        .and_then(Value::as_str)
        .ok_or("Property displayName is required.")?;
    let object_id = crate::secret::guid();
    file.groups.push(GroupEntry {
        display_name: display_name.to_owned(),
        object_id: Some(object_id.clone()),
        security_enabled: fields.get("securityEnabled").and_then(Value::as_bool),
        member_of: Vec::new(),
    });
    Ok(object_id)
}

/// `POST /groups/{id}/members/$ref`: a user joins the group.
pub(crate) fn add_member(
    file: &mut TenantFile,
    dir: &Directory,
    group_id: &str,
    member_id: &str,
) -> Result<(), EditError> {
    let group = find_group(dir, group_id)?;
    let user = find_user(dir, member_id)
        .map_err(|_| format!("Member {member_id} is not a user of this tenant."))?;
    let entry = user_entry(file, &user.user_principal_name)?;
    if entry
        .groups
        .iter()
        .any(|g| g.eq_ignore_ascii_case(&group.display_name))
    {
        return Err(
            "One or more added object references already exist for the following modified properties: 'members'."
                .to_owned(),
        );
    }
    entry.groups.push(group.display_name.clone());
    Ok(())
}

/// `DELETE /groups/{id}/members/{member}/$ref`.
pub(crate) fn remove_member(
    file: &mut TenantFile,
    dir: &Directory,
    group_id: &str,
    member_id: &str,
) -> Result<(), EditError> {
    let group = find_group(dir, group_id)?;
    let user =
        find_user(dir, member_id).map_err(|_| format!("Member {member_id} does not exist."))?;
    let entry = user_entry(file, &user.user_principal_name)?;
    let before = entry.groups.len();
    entry
        .groups
        .retain(|g| !g.eq_ignore_ascii_case(&group.display_name));
    if entry.groups.len() == before {
        return Err(format!("{member_id} is not a member of {group_id}."));
    }
    Ok(())
}

/// `DELETE /groups/{id}`: the group, memberships in it, and role
/// assignments naming it.
pub(crate) fn delete_group(
    file: &mut TenantFile,
    dir: &Directory,
    id: &str,
) -> Result<(), EditError> {
    let group = find_group(dir, id)?;
    let name = group.display_name.clone();
    file.groups
        .retain(|g| !g.display_name.eq_ignore_ascii_case(&name));
    for user in &mut file.users {
        user.groups.retain(|g| !g.eq_ignore_ascii_case(&name));
    }
    for other in &mut file.groups {
        other.member_of.retain(|g| !g.eq_ignore_ascii_case(&name));
    }
    file.app_role_assignments
        .retain(|a| !a.principal.eq_ignore_ascii_case(&name));
    Ok(())
}

/// `POST /oauth2PermissionGrants` with `consentType: AllPrincipals`: the
/// client (service principal `clientId`) may use `scope` of the resource
/// (service principal `resourceId`) for every user. Returns (client app
/// id, resource app id).
pub(crate) fn grant_admin_consent(
    file: &mut TenantFile,
    dir: &Directory,
    client_sp: &str,
    resource_sp: &str,
    scopes: &[String],
) -> Result<(String, String), EditError> {
    let client = dir
        .applications
        .iter()
        .find(|a| !a.first_party && a.service_principal_id.eq_ignore_ascii_case(client_sp))
        .ok_or_else(|| format!("Client service principal {client_sp} does not exist."))?;
    let resource = dir
        .applications
        .iter()
        .find(|a| a.service_principal_id.eq_ignore_ascii_case(resource_sp))
        .ok_or_else(|| format!("Resource service principal {resource_sp} does not exist."))?;
    let resource_ref = if resource.first_party {
        resource
            .identifier_uris
            .first()
            .cloned()
            .unwrap_or_default()
    } else {
        resource.app_id.clone()
    };
    let names_resource = |reference: &str| {
        reference.eq_ignore_ascii_case(&resource.app_id)
            || resource
                .identifier_uris
                .iter()
                .any(|u| u.trim_end_matches('/') == reference.trim_end_matches('/'))
    };
    match file
        .admin_consents
        .iter_mut()
        .find(|c| c.client.eq_ignore_ascii_case(&client.app_id) && names_resource(&c.resource))
    {
        Some(existing) => {
            for scope in scopes {
                if !existing.scopes.iter().any(|s| s == scope) {
                    existing.scopes.push(scope.clone());
                }
            }
        }
        None => file.admin_consents.push(AdminConsentEntry {
            client: client.app_id.clone(),
            resource: resource_ref,
            scopes: scopes.to_vec(),
        }),
    }
    Ok((client.app_id.clone(), resource.app_id.clone()))
}

/// `DELETE /oauth2PermissionGrants/{id}` of an `AllPrincipals` grant.
pub(crate) fn revoke_admin_consent(
    file: &mut TenantFile,
    dir: &Directory,
    client_app_id: &str,
    resource_app_id: &str,
) -> Result<(), EditError> {
    let resource = dir
        .resource(resource_app_id)
        .ok_or("The resource no longer exists.")?;
    let before = file.admin_consents.len();
    file.admin_consents.retain(|c| {
        !(c.client.eq_ignore_ascii_case(client_app_id)
            && (c.resource.eq_ignore_ascii_case(&resource.app_id)
                || resource
                    .identifier_uris
                    .iter()
                    .any(|u| u.trim_end_matches('/') == c.resource.trim_end_matches('/'))))
    });
    if file.admin_consents.len() == before {
        return Err(
            "The grant comes from another tenant's file and cannot be removed here.".to_owned(),
        );
    }
    Ok(())
}

/// A user of `dir` by object id.
fn find_user<'a>(dir: &'a Directory, id: &str) -> Result<&'a crate::directory::User, EditError> {
    dir.users
        .iter()
        .find(|u| u.object_id.eq_ignore_ascii_case(id))
        .ok_or_else(|| format!("User {id} does not exist."))
}

/// A group of `dir` by object id.
fn find_group<'a>(dir: &'a Directory, id: &str) -> Result<&'a crate::directory::Group, EditError> {
    dir.groups
        .iter()
        .find(|g| g.object_id.eq_ignore_ascii_case(id))
        .ok_or_else(|| format!("Group {id} does not exist."))
}

/// The stored entry of the user signing in as `upn`.
fn user_entry<'a>(file: &'a mut TenantFile, upn: &str) -> Result<&'a mut UserEntry, EditError> {
    file.users
        .iter_mut()
        .find(|u| u.user_principal_name.eq_ignore_ascii_case(upn))
        .ok_or_else(|| "The user is not in the stored directory.".to_owned())
}

fn object(body: &Value) -> Result<&Map<String, Value>, EditError> {
    body.as_object()
        .ok_or_else(|| "The request body must be a JSON object.".to_owned())
}

fn application_entry<'a>(
    file: &'a mut TenantFile,
    app_id: &str,
) -> Result<&'a mut ApplicationEntry, EditError> {
    file.applications
        .iter_mut()
        .find(|a| {
            a.app_id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(app_id))
        })
        .ok_or_else(|| format!("Application {app_id} is not registered here."))
}

/// Applies Graph's application members present in `fields` to `entry`.
/// Most certificates one application holds through Graph.
const MAX_KEY_CREDENTIALS: usize = 20;

/// `keyCredentials` replaces the application's certificates, as in Graph:
/// an entry with `key` (base64 of the certificate's DER, or of its PEM
/// text) adds that certificate; an entry with only the `keyId` of one the
/// application has keeps it; certificates not listed are removed.
fn key_credentials(
    existing: &[KeyCredentialEntry],
    tenant_id: &str,
    value: &Value,
) -> Result<Vec<KeyCredentialEntry>, EditError> {
    use crate::directory::certificate::KeyCredential;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    let items = value
        .as_array()
        .ok_or("keyCredentials: expected an array of keyCredential objects.")?;
    if items.len() > MAX_KEY_CREDENTIALS {
        return Err(format!(
            "keyCredentials: an application holds at most {MAX_KEY_CREDENTIALS} certificates here."
        ));
    }
    let key_id_of = |entry: &KeyCredentialEntry| {
        let key = KeyCredential::from_pem(entry.pem.as_deref()?.as_bytes()).ok()?;
        let thumbprint: String = key.sha1.iter().map(|b| format!("{b:02x}")).collect();
        Some(crate::directory::config::derived_guid(
            tenant_id,
            "key_credential",
            &thumbprint,
        ))
    };
    let mut out = Vec::new();
    for item in items {
        let text = |name: &str| item.get(name).and_then(Value::as_str);
        let display_name = text("displayName").map(str::to_owned);
        match text("key") {
            Some(key) => {
                if let Some(kind) = text("type").filter(|t| *t != "AsymmetricX509Cert") {
                    return Err(format!(
                        "keyCredentials: type {kind:?} is not supported; certificates are AsymmetricX509Cert."
                    ));
                }
                if let Some(usage) = text("usage").filter(|u| *u != "Verify") {
                    return Err(format!(
                        "keyCredentials: usage {usage:?} is not supported; client assertion certificates have usage Verify."
                    ));
                }
                let compact: String = key.chars().filter(|c| !c.is_whitespace()).collect();
                let bytes = STANDARD
                    .decode(compact)
                    .map_err(|_| "keyCredentials: key must be the certificate, base64-encoded.")?;
                let pem = if bytes.starts_with(b"-----BEGIN") {
                    String::from_utf8(bytes)
                        .map_err(|_| "keyCredentials: key holds PEM text that is not UTF-8.")?
                } else {
                    let body = STANDARD.encode(&bytes);
                    let lines: Vec<&str> = body
                        .as_bytes()
                        .chunks(64)
                        .map(|c| std::str::from_utf8(c).unwrap_or_default())
                        .collect();
                    format!(
                        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                        lines.join("\n")
                    )
                };
                KeyCredential::from_pem(pem.as_bytes())
                    .map_err(|e| format!("keyCredentials: the key {e}."))?;
                out.push(KeyCredentialEntry {
                    certificate: None,
                    pem: Some(pem),
                    display_name,
                });
            }
            None => {
                let key_id = text("keyId").ok_or(
                    "keyCredentials: each entry needs key (a new certificate, base64-encoded) or the keyId of a certificate the application has.",
                )?;
                let mut kept = existing
                    .iter()
                    .find(|e| key_id_of(e).is_some_and(|k| k.eq_ignore_ascii_case(key_id)))
                    .cloned()
                    .ok_or_else(|| {
                        format!("keyCredentials: the application has no certificate with keyId {key_id}.")
                    })?;
                if display_name.is_some() {
                    kept.display_name = display_name;
                }
                out.push(kept);
            }
        }
    }
    Ok(out)
}

fn patch_entry(
    entry: &mut ApplicationEntry,
    dir: &Directory,
    fields: &Map<String, Value>,
) -> Result<(), EditError> {
    let strings = |value: &Value| -> Result<Vec<String>, EditError> {
        value
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .ok_or_else(|| "Expected an array of strings.".to_owned())
    };
    if let Some(value) = fields.get("identifierUris") {
        entry.identifier_uris = Some(strings(value)?);
    }
    if let Some(value) = fields.get("keyCredentials") {
        let existing = entry.key_credentials.take().unwrap_or_default();
        entry.key_credentials = Some(key_credentials(&existing, &dir.tenant.id, value)?);
    }
    if let Some(value) = fields.get("signInAudience").and_then(Value::as_str) {
        entry.sign_in_audience = Some(value.to_owned());
    }
    if let Some(value) = fields.get("isFallbackPublicClient") {
        entry.is_fallback_public_client = value.as_bool();
    }
    if let Some(value) = fields.get("groupMembershipClaims") {
        entry.group_membership_claims = value.as_str().map(str::to_owned);
    }
    for (member, slot) in [
        ("spa", &mut entry.spa_redirect_uris),
        ("publicClient", &mut entry.public_client_redirect_uris),
    ] {
        if let Some(uris) = fields.get(member).and_then(|m| m.get("redirectUris")) {
            *slot = Some(strings(uris)?);
        }
    }
    if let Some(web) = fields.get("web") {
        if let Some(uris) = web.get("redirectUris") {
            entry.web_redirect_uris = Some(strings(uris)?);
        }
        if let Some(implicit) = web.get("implicitGrantSettings") {
            if let Some(v) = implicit.get("enableIdTokenIssuance") {
                entry.enable_id_token_issuance = v.as_bool();
            }
            if let Some(v) = implicit.get("enableAccessTokenIssuance") {
                entry.enable_access_token_issuance = v.as_bool();
            }
        }
    }
    if let Some(api) = fields.get("api") {
        if let Some(version) = api.get("requestedAccessTokenVersion") {
            entry.requested_access_token_version = version.as_i64();
        }
        if let Some(scopes) = api.get("oauth2PermissionScopes").and_then(Value::as_array) {
            entry.oauth2_permission_scopes = Some(
                scopes
                    .iter()
                    .filter(|s| s.get("isEnabled").and_then(Value::as_bool) != Some(false))
                    .map(|s| {
                        let text =
                            |name: &str| s.get(name).and_then(Value::as_str).map(str::to_owned);
                        Ok(ScopeEntry {
                            value: text("value")
                                .ok_or("Each oauth2PermissionScope needs a value.")?,
                            admin_consent_display_name: text("adminConsentDisplayName")
                                .or_else(|| text("value"))
                                .unwrap_or_default(),
                            kind: text("type"),
                            id: text("id"),
                        })
                    })
                    .collect::<Result<Vec<_>, EditError>>()?,
            );
        }
    }
    if let Some(roles) = fields.get("appRoles").and_then(Value::as_array) {
        entry.app_roles = Some(
            roles
                .iter()
                .filter(|r| r.get("isEnabled").and_then(Value::as_bool) != Some(false))
                .map(|r| {
                    let text = |name: &str| r.get(name).and_then(Value::as_str).map(str::to_owned);
                    Ok(AppRoleEntry {
                        value: text("value").ok_or("Each appRole needs a value.")?,
                        display_name: text("displayName")
                            .or_else(|| text("value"))
                            .unwrap_or_default(),
                        allowed_member_types: r
                            .get("allowedMemberTypes")
                            .map(strings)
                            .transpose()?
                            .unwrap_or_default(),
                        id: text("id"),
                        description: text("description"),
                    })
                })
                .collect::<Result<Vec<_>, EditError>>()?,
        );
    }
    if let Some(requests) = fields
        .get("requiredResourceAccess")
        .and_then(Value::as_array)
    {
        let mut entries = Vec::new();
        for request in requests {
            let resource_app_id = request
                .get("resourceAppId")
                .and_then(Value::as_str)
                .ok_or("Each requiredResourceAccess needs a resourceAppId.")?;
            let resource = dir.resource(resource_app_id);
            let (mut scopes, mut roles) = (Vec::new(), Vec::new());
            for access in request
                .get("resourceAccess")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let id = access.get("id").and_then(Value::as_str).unwrap_or_default();
                let kind = access
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let Some(resource) = resource else { continue };
                match kind {
                    "Scope" => {
                        if let Some(scope) = resource
                            .scopes
                            .iter()
                            .find(|s| s.id.eq_ignore_ascii_case(id))
                        {
                            scopes.push(scope.value.clone());
                        }
                    }
                    "Role" => {
                        if let Some(role) = resource
                            .app_roles
                            .iter()
                            .find(|r| r.id.eq_ignore_ascii_case(id))
                        {
                            roles.push(role.value.clone());
                        }
                    }
                    other => {
                        return Err(format!(
                            "resourceAccess type {other:?} is neither Scope nor Role."
                        ));
                    }
                }
            }
            if resource.is_some() {
                entries.push(RequiredAccessEntry {
                    resource: resource_app_id.to_owned(),
                    scopes,
                    roles,
                });
            }
        }
        entry.required_resource_access = Some(entries);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::config::parse;

    #[test]
    fn graph_creates_at_most_the_quota_of_objects() {
        let mut file = parse(
            "[tenant]\nid = \"7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b\"\ndomain = \"contoso.test\"\n",
        )
        .unwrap();
        let body = serde_json::json!({"displayName": "G"});
        for _ in 0..MAX_OBJECTS {
            create_group(&mut file, &body).unwrap();
        }
        let refused = create_group(&mut file, &body).unwrap_err();
        assert!(refused.starts_with("Directory_QuotaExceeded"), "{refused}");
        assert_eq!(file.groups.len(), MAX_OBJECTS);
    }
}
