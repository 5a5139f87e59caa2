//! `[[applications]]`: read inline or from a manifest, checked one by one,
//! then against each other, then hashed.

use std::collections::HashMap;
use std::path::Path;

use super::schema::{
    AppRoleEntry, ApplicationEntry, KeyCredentialEntry, PasswordCredentialEntry, ScopeEntry,
};
use super::{access_token_version, check_display_name, derived_guid, guid, normalize_guid};
use crate::directory::certificate::KeyCredential;
use crate::directory::manifest::{self, ImportedApp};
use crate::directory::{
    AppRoleDefinition, Application, ClientSecret, GroupMembershipClaims, PermissionScope,
    RedirectKind, ResourceAccess, SignInAudience, Tenant,
};

/// An application before its secrets are hashed and its permission requests
/// resolved.
#[derive(Clone)]
pub(super) struct AppDraft {
    /// Where it is, for messages: `applications[1] "Orders SPA"`.
    pub(super) at: String,
    pub(super) app: Application,
    /// Plain text (or already hashed) until [`hash_secrets`].
    secrets: Vec<SecretDraft>,
    requests: Vec<AccessRequest>,
}

/// A client secret before hashing.
#[derive(Clone)]
struct SecretDraft {
    /// Plain text to hash, or an argon2 hash with its hint.
    value: SecretValue,
    key_id: Option<String>,
    display_name: Option<String>,
}

#[derive(Clone)]
enum SecretValue {
    Plain(String),
    Hashed { hash: String, hint: String },
}

/// A `required_resource_access` entry, unresolved.
#[derive(Clone)]
struct AccessRequest {
    at: String,
    resource: String,
    /// By value (tenant file), or by id (manifest; unknown resources are
    /// skipped, since manifests routinely name Microsoft Graph).
    by_id: bool,
    scopes: Vec<String>,
    roles: Vec<String>,
}

/// Reads the `i`th `[[applications]]` entry, inline or from its manifest
/// (resolved against `base_dir`). `None` when the manifest cannot be used.
pub(super) fn application(
    tenant: &Tenant,
    i: usize,
    mut entry: ApplicationEntry,
    base_dir: &Path,
    problems: &mut Vec<String>,
) -> Option<AppDraft> {
    let at = label(i, entry.display_name.as_deref());
    let display_name = entry.display_name.take();
    let app_id = entry.app_id.take();
    let assignment_required = entry.app_role_assignment_required.unwrap_or(false);
    let has_service_principal = entry.service_principal.unwrap_or(true);
    let credentials = entry.password_credentials.take();
    let certificates = entry.key_credentials.take();
    let (mut imported, requests) = match entry.manifest.take() {
        Some(path) => from_manifest(&at, &entry, &base_dir.join(path), problems)?,
        None => inline(tenant, &at, app_id.as_deref(), entry, problems),
    };
    let display_name = display_name.or(imported.display_name.take());
    let at = label(i, display_name.as_deref());
    match &display_name {
        Some(name) => check_display_name(&at, "display_name", name, problems),
        None => problems.push(format!(
            "{at}: display_name: missing (give it here or in a manifest)"
        )),
    }
    let app_id = match app_id.or(imported.app_id.take()) {
        Some(id) => guid(&at, "app_id", &id, problems),
        None => {
            problems.push(format!(
                "{at}: app_id: missing (give it here or in a manifest)"
            ));
            String::new()
        }
    };
    let mut key_credentials = std::mem::take(&mut imported.key_credentials);
    key_credentials.extend(certificates_from(&at, certificates, base_dir, problems));
    let app = Application {
        service_principal_id: derived_guid(&tenant.id, "service_principal", &app_id),
        app_id,
        display_name: display_name.unwrap_or_default(),
        identifier_uris: imported.identifier_uris,
        requested_access_token_version: imported.requested_access_token_version,
        app_role_assignment_required: assignment_required,
        redirect_uris: imported.redirect_uris,
        is_fallback_public_client: imported.is_fallback_public_client,
        enable_id_token_issuance: imported.enable_id_token_issuance,
        enable_access_token_issuance: imported.enable_access_token_issuance,
        app_roles: imported.app_roles,
        scopes: imported.scopes,
        secrets: Vec::new(),
        key_credentials,
        required_resource_access: Vec::new(),
        emit_idtyp: imported.emit_idtyp,
        group_membership_claims: imported.group_membership_claims,
        sign_in_audience: imported.sign_in_audience,
        home_tenant_id: tenant.id.clone(),
        provisioned: has_service_principal,
        first_party: false,
    };
    let secrets = secrets(&at, credentials, problems);
    Some(AppDraft {
        at,
        app,
        secrets,
        requests,
    })
}

impl AppDraft {
    /// A built-in resource (Microsoft Graph): nothing to hash or resolve.
    pub(super) fn built_in(app: Application) -> AppDraft {
        AppDraft {
            at: format!("{:?} (built into every tenant)", app.display_name),
            app,
            secrets: Vec::new(),
            requests: Vec::new(),
        }
    }
}

/// Refuses applications that take Microsoft Graph's app id or identifier
/// URI, or the admin portal's app id: both are built into every tenant.
pub(super) fn check_not_graph(apps: &[AppDraft], problems: &mut Vec<String>) {
    use crate::directory::microsoft_graph::{self, IDENTIFIER_URI};
    for draft in apps {
        if microsoft_graph::is_graph(&draft.app.app_id) {
            problems.push(format!(
                "{}: app_id: {} is Microsoft Graph's, built into every tenant: give the app an id of its own",
                draft.at, draft.app.app_id
            ));
        }
        if crate::directory::admin_portal::is_portal(&draft.app.app_id) {
            problems.push(format!(
                "{}: app_id: {} is the admin portal's, built into every tenant: give the app an id of its own",
                draft.at, draft.app.app_id
            ));
        }
        for uri in &draft.app.identifier_uris {
            if microsoft_graph::is_graph(uri) {
                problems.push(format!(
                    "{}: identifier_uris: {uri:?} is Microsoft Graph's ({IDENTIFIER_URI}), built into every tenant",
                    draft.at
                ));
            }
        }
    }
}

/// Checks what is local to one application, whichever way it was given.
pub(super) fn check_application(draft: &AppDraft, problems: &mut Vec<String>) {
    let (at, app) = (&draft.at, &draft.app);
    for (j, uri) in app.identifier_uris.iter().enumerate() {
        if url::Url::parse(uri).is_err() {
            problems.push(format!(
                "{at}: identifier_uris[{j}]: {uri:?} is not an absolute URI such as api://{}",
                app.app_id
            ));
        }
        let earlier = app.identifier_uris.iter().take(j);
        if earlier.clone().any(|other| same_identifier_uri(other, uri)) {
            problems.push(format!(
                "{at}: identifier_uris[{j}]: {uri:?} is listed twice"
            ));
        }
    }
    for (uri, kind) in &app.redirect_uris {
        if let Some(problem) = redirect_problem(uri, *kind) {
            problems.push(format!("{at}: {}: {uri:?} {problem}", redirect_key(*kind)));
        }
    }
    let roles = app
        .app_roles
        .iter()
        .map(|r| (r.id.as_str(), r.value.as_str(), r.display_name.as_str()));
    check_permissions(at, ("app_roles", "display_name"), roles, problems);
    let scopes = app.scopes.iter().map(|s| {
        (
            s.id.as_str(),
            s.value.as_str(),
            s.admin_consent_display_name.as_str(),
        )
    });
    check_permissions(
        at,
        ("oauth2_permission_scopes", "admin_consent_display_name"),
        scopes,
        problems,
    );
}

/// App ids and identifier URIs are unique across applications.
pub(super) fn check_unique_applications(apps: &[AppDraft], problems: &mut Vec<String>) {
    for (i, draft) in apps.iter().enumerate() {
        let earlier = apps.iter().take(i);
        let app_id = &draft.app.app_id;
        if let Some(first) = earlier
            .clone()
            .find(|d| !app_id.is_empty() && d.app.app_id == *app_id)
        {
            problems.push(format!(
                "{}: app_id: {app_id} is already used by {}",
                draft.at, first.at
            ));
        }
        for uri in &draft.app.identifier_uris {
            let owner = earlier.clone().find(|d| {
                d.app
                    .identifier_uris
                    .iter()
                    .any(|u| same_identifier_uri(u, uri))
            });
            if let Some(first) = owner {
                problems.push(format!(
                    "{}: identifier_uris: {uri:?} is already used by {}",
                    draft.at, first.at
                ));
            }
        }
    }
}

/// Resolves `required_resource_access` to resource app ids and permission
/// values, now that every application is known.
pub(super) fn resolve_required_access(apps: &mut [AppDraft], problems: &mut Vec<String>) {
    let mut resolved = Vec::with_capacity(apps.len());
    for draft in apps.iter() {
        let mut accesses = Vec::new();
        for request in &draft.requests {
            let at = format!("{}: {}", draft.at, request.at);
            let Some(resource) = find_application(apps, &request.resource) else {
                if !request.by_id {
                    problems.push(format!(
                        "{at}.resource: {:?} {NOT_AN_APPLICATION}",
                        request.resource
                    ));
                }
                continue;
            };
            let name = &resource.app.display_name;
            let mut access = ResourceAccess {
                resource_app_id: resource.app.app_id.clone(),
                scopes: Vec::new(),
                roles: Vec::new(),
            };
            for wanted in &request.scopes {
                let found = resource.app.scopes.iter().find(|s| {
                    let key = if request.by_id { &s.id } else { &s.value };
                    key.eq_ignore_ascii_case(wanted)
                });
                match found {
                    Some(scope) => access.scopes.push(scope.value.clone()),
                    // Manifests name many Graph permissions by id; those
                    // this provider does not emulate are left out.
                    None if request.by_id && resource.app.first_party => {}
                    None => problems.push(format!(
                        "{at}.scopes: {wanted:?} is not a scope of {name:?}"
                    )),
                }
            }
            for wanted in &request.roles {
                let found = resource.app.app_roles.iter().find(|r| {
                    if request.by_id {
                        r.id.eq_ignore_ascii_case(wanted)
                    } else {
                        r.value == *wanted
                    }
                });
                match found {
                    Some(role) if role.allowed_for_applications => access.roles.push(role.value.clone()),
                    Some(role) => problems.push(format!(
                        "{at}.roles: {:?} of {name:?} does not allow Application members (allowed_member_types), so it is no application permission",
                        role.value
                    )),
                    None if request.by_id && resource.app.first_party => {}
                    None => problems.push(format!("{at}.roles: {wanted:?} is not an app role of {name:?}")),
                }
            }
            accesses.push(access);
        }
        resolved.push(accesses);
    }
    for (draft, accesses) in apps.iter_mut().zip(resolved) {
        draft.app.required_resource_access = accesses;
    }
}

/// Hashes the client secrets (argon2) into [`ClientSecret`]s (secrets
/// given as hashes are kept).
pub(super) fn hash_secrets(apps: Vec<AppDraft>, problems: &mut Vec<String>) -> Vec<Application> {
    let mut applications = Vec::with_capacity(apps.len());
    for AppDraft {
        at,
        mut app,
        secrets,
        ..
    } in apps
    {
        for (j, draft) in secrets.into_iter().enumerate() {
            let key_id = draft.key_id.unwrap_or_else(|| {
                derived_guid(
                    &app.home_tenant_id,
                    "password_credential",
                    &format!("{}/{j}", app.app_id),
                )
            });
            let (hash, hint) = match draft.value {
                SecretValue::Hashed { hash, hint } => (hash, hint),
                SecretValue::Plain(secret) => match crate::secret::hash(&secret) {
                    Ok(hash) => (hash, secret.chars().take(3).collect()),
                    Err(e) => {
                        problems.push(format!("{at}: password_credentials[{j}]: cannot hash: {e}"));
                        continue;
                    }
                },
            };
            app.secrets.push(ClientSecret {
                hash,
                hint,
                key_id,
                display_name: draft.display_name,
            });
        }
        applications.push(app);
    }
    applications
}

/// An application by app id or identifier URI, as [`Directory::resource`]
/// will find it.
///
/// [`Directory::resource`]: crate::directory::Directory::resource
pub(super) fn find_application<'a>(apps: &'a [AppDraft], reference: &str) -> Option<&'a AppDraft> {
    apps.iter()
        .find(|a| a.app.app_id.eq_ignore_ascii_case(reference))
        .or_else(|| {
            apps.iter().find(|a| {
                a.app.identifier_uris.iter().any(|u| {
                    u == reference || u.trim_end_matches('/') == reference.trim_end_matches('/')
                })
            })
        })
}

/// The tenant file's description of an application, in the shape a manifest
/// import has; permission requests stay by value.
fn inline(
    tenant: &Tenant,
    at: &str,
    app_id: Option<&str>,
    entry: ApplicationEntry,
    problems: &mut Vec<String>,
) -> (ImportedApp, Vec<AccessRequest>) {
    // For derived role and scope ids; a malformed app id is reported later.
    let app_id = app_id.map(|id| normalize_guid(id).unwrap_or_else(|| id.to_ascii_lowercase()));
    let app_id = app_id.unwrap_or_default();
    let version = access_token_version(entry.requested_access_token_version).unwrap_or_else(|e| {
        problems.push(format!("{at}: requested_access_token_version: {e}"));
        1
    });
    let mut redirect_uris = Vec::new();
    for (uris, kind) in [
        (entry.spa_redirect_uris, RedirectKind::Spa),
        (entry.web_redirect_uris, RedirectKind::Web),
        (
            entry.public_client_redirect_uris,
            RedirectKind::PublicClient,
        ),
    ] {
        redirect_uris.extend(uris.into_iter().flatten().map(|uri| (uri, kind)));
    }
    let requests = entry
        .required_resource_access
        .into_iter()
        .flatten()
        .enumerate();
    let requests = requests.map(|(j, access)| AccessRequest {
        at: format!("required_resource_access[{j}]"),
        resource: access.resource,
        by_id: false,
        scopes: access.scopes,
        roles: access.roles,
    });
    let imported = ImportedApp {
        app_id: None,
        display_name: None,
        identifier_uris: entry.identifier_uris.unwrap_or_default(),
        requested_access_token_version: version,
        redirect_uris,
        is_fallback_public_client: entry.is_fallback_public_client.unwrap_or(false),
        enable_id_token_issuance: entry.enable_id_token_issuance.unwrap_or(false),
        enable_access_token_issuance: entry.enable_access_token_issuance.unwrap_or(false),
        emit_idtyp: entry.emit_idtyp.unwrap_or(false),
        group_membership_claims: match entry.group_membership_claims.as_deref() {
            None => GroupMembershipClaims::None,
            Some(text) => GroupMembershipClaims::parse(text).unwrap_or_else(|e| {
                problems.push(format!("{at}: group_membership_claims: {e}"));
                GroupMembershipClaims::None
            }),
        },
        sign_in_audience: match entry.sign_in_audience.as_deref() {
            None => SignInAudience::MyOrg,
            Some(text) => SignInAudience::parse(text).unwrap_or_else(|e| {
                problems.push(format!("{at}: sign_in_audience: {e}"));
                SignInAudience::MyOrg
            }),
        },
        app_roles: inline_roles(tenant, &app_id, at, entry.app_roles, problems),
        scopes: inline_scopes(
            tenant,
            &app_id,
            at,
            entry.oauth2_permission_scopes,
            problems,
        ),
        required_resource_access: Vec::new(),
        key_credentials: Vec::new(),
    };
    (imported, requests.collect())
}

/// The manifest's description of an application; permission requests are by
/// id. `None` when the manifest cannot be read or imported.
fn from_manifest(
    at: &str,
    entry: &ApplicationEntry,
    path: &Path,
    problems: &mut Vec<String>,
) -> Option<(ImportedApp, Vec<AccessRequest>)> {
    for key in entry.registration_keys() {
        problems.push(format!(
            "{at}: {key}: not allowed with manifest (the manifest defines it)"
        ));
    }
    let imported = match std::fs::read_to_string(path) {
        Ok(json) => manifest::import(&json),
        Err(e) => Err(vec![format!("cannot read: {e}")]),
    };
    let mut imported = match imported {
        Ok(imported) => imported,
        Err(found) => {
            for problem in found {
                problems.push(format!("{at}: manifest {}: {problem}", path.display()));
            }
            return None;
        }
    };
    let requests = std::mem::take(&mut imported.required_resource_access);
    let requests = requests
        .into_iter()
        .enumerate()
        .map(|(j, access)| AccessRequest {
            at: format!("manifest requiredResourceAccess[{j}]"),
            resource: access.resource_app_id,
            by_id: true,
            scopes: access.scope_ids,
            roles: access.role_ids,
        });
    Some((imported, requests.collect()))
}

fn inline_roles(
    tenant: &Tenant,
    app_id: &str,
    at: &str,
    roles: Option<Vec<AppRoleEntry>>,
    problems: &mut Vec<String>,
) -> Vec<AppRoleDefinition> {
    let mut definitions = Vec::new();
    for (j, role) in roles.into_iter().flatten().enumerate() {
        let at = format!("{at}: app_roles[{j}]");
        let types = manifest::member_types(&role.allowed_member_types);
        let (allowed_for_users, allowed_for_applications) = types.unwrap_or_else(|e| {
            problems.push(format!("{at}.allowed_member_types: {e}"));
            (false, false)
        });
        definitions.push(AppRoleDefinition {
            id: permission_id(
                tenant,
                ("app_role", app_id, &role.value),
                &at,
                role.id.as_deref(),
                problems,
            ),
            value: role.value,
            display_name: role.display_name,
            allowed_for_users,
            allowed_for_applications,
        });
    }
    definitions
}

fn inline_scopes(
    tenant: &Tenant,
    app_id: &str,
    at: &str,
    scopes: Option<Vec<ScopeEntry>>,
    problems: &mut Vec<String>,
) -> Vec<PermissionScope> {
    let mut definitions = Vec::new();
    for (j, scope) in scopes.into_iter().flatten().enumerate() {
        let at = format!("{at}: oauth2_permission_scopes[{j}]");
        let admin_only = manifest::admin_only(scope.kind.as_deref()).unwrap_or_else(|e| {
            problems.push(format!("{at}.type: {e}"));
            false
        });
        definitions.push(PermissionScope {
            id: permission_id(
                tenant,
                ("scope", app_id, &scope.value),
                &at,
                scope.id.as_deref(),
                problems,
            ),
            value: scope.value,
            admin_consent_display_name: scope.admin_consent_display_name,
            admin_only,
        });
    }
    definitions
}

/// A role or scope id: as given (checked), or derived from the tenant, the
/// app id and the value.
fn permission_id(
    tenant: &Tenant,
    (kind, app_id, value): (&str, &str, &str),
    at: &str,
    given: Option<&str>,
    problems: &mut Vec<String>,
) -> String {
    match given {
        Some(id) => guid(at, "id", id, problems),
        None => derived_guid(&tenant.id, kind, &format!("{app_id}/{value}")),
    }
}

fn secrets(
    at: &str,
    credentials: Option<Vec<PasswordCredentialEntry>>,
    problems: &mut Vec<String>,
) -> Vec<SecretDraft> {
    let mut secrets = Vec::new();
    for (j, credential) in credentials.unwrap_or_default().into_iter().enumerate() {
        let here = format!("{at}: password_credentials[{j}]");
        if let Some(name) = &credential.display_name {
            let key = format!("password_credentials[{j}].display_name");
            check_display_name(at, &key, name, problems);
        }
        let key_id = credential
            .key_id
            .as_ref()
            .map(|id| guid(&here, "key_id", id, problems));
        let value = match (credential.secret, credential.hash) {
            (Some(secret), None) => {
                if secret.is_empty() {
                    problems.push(format!("{here}.secret: empty"));
                }
                SecretValue::Plain(secret)
            }
            (None, Some(hash)) => {
                if !crate::secret::is_hash(&hash) {
                    problems.push(format!(
                        "{here}.hash: not an argon2 hash (a PHC string such as $argon2id$v=19$...)"
                    ));
                }
                SecretValue::Hashed {
                    hash,
                    hint: credential.hint.unwrap_or_default(),
                }
            }
            (Some(_), Some(_)) => {
                problems.push(format!("{here}: give secret or hash, not both"));
                continue;
            }
            (None, None) => {
                problems.push(format!("{here}: secret: missing"));
                continue;
            }
        };
        secrets.push(SecretDraft {
            value,
            key_id,
            display_name: credential.display_name,
        });
    }
    secrets
}

/// Reads `key_credentials`: each entry's certificate from its file
/// (resolved against `base_dir`) or inline PEM; each certificate once.
fn certificates_from(
    at: &str,
    entries: Option<Vec<KeyCredentialEntry>>,
    base_dir: &Path,
    problems: &mut Vec<String>,
) -> Vec<KeyCredential> {
    let mut credentials: Vec<(usize, KeyCredential)> = Vec::new();
    for (j, entry) in entries.unwrap_or_default().into_iter().enumerate() {
        let at = format!("{at}: key_credentials[{j}]");
        if let Some(name) = &entry.display_name {
            check_display_name(&at, "display_name", name, problems);
        }
        let (source, pem) = match (entry.certificate, entry.pem) {
            (Some(file), None) => {
                let path = base_dir.join(&file);
                match std::fs::read(&path) {
                    Ok(pem) => (format!("certificate: {}", path.display()), pem),
                    Err(e) => {
                        problems.push(format!(
                            "{at}.certificate: cannot read {}: {e}",
                            path.display()
                        ));
                        continue;
                    }
                }
            }
            (None, Some(pem)) => ("pem".to_owned(), pem.into_bytes()),
            (Some(_), Some(_)) => {
                problems.push(format!(
                    "{at}: give either certificate (a PEM file) or pem (the PEM text), not both"
                ));
                continue;
            }
            (None, None) => {
                problems.push(format!(
                    "{at}: missing the certificate: give certificate = \"<PEM file>\" or pem = \"-----BEGIN CERTIFICATE-----…\""
                ));
                continue;
            }
        };
        match KeyCredential::from_pem(&pem) {
            Ok(credential) => {
                if let Some((first, _)) =
                    credentials.iter().find(|(_, c)| c.sha1 == credential.sha1)
                {
                    problems.push(format!(
                        "{at}: certificate {} is already key_credentials[{first}]",
                        credential.thumbprint_hex()
                    ));
                }
                credentials.push((
                    j,
                    KeyCredential {
                        display_name: entry.display_name,
                        ..credential
                    },
                ));
            }
            Err(e) => problems.push(format!("{at}.{source}: {e}")),
        }
    }
    credentials.into_iter().map(|(_, c)| c).collect()
}

/// App roles or scopes, as `(id, value, display name)`: values without
/// spaces, unique values and ids, non-empty display names.
fn check_permissions<'a>(
    at: &str,
    (key, name_key): (&str, &str),
    items: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
    problems: &mut Vec<String>,
) {
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut values: HashMap<String, usize> = HashMap::new();
    for (j, (id, value, display_name)) in items.enumerate() {
        if value.is_empty() || value.contains(char::is_whitespace) {
            problems.push(format!(
                "{at}: {key}[{j}].value: {value:?} must be non-empty and contain no spaces"
            ));
        }
        if let Some(first) = values.get(&value.to_lowercase()) {
            problems.push(format!(
                "{at}: {key}[{j}].value: {value:?} duplicates {key}[{first}] (case-insensitively)"
            ));
        } else {
            values.insert(value.to_lowercase(), j);
        }
        if let Some(first) = ids.get(id) {
            problems.push(format!(
                "{at}: {key}[{j}].id: {id} duplicates {key}[{first}]"
            ));
        } else {
            ids.insert(id, j);
        }
        check_display_name(
            at,
            &format!("{key}[{j}].{name_key}"),
            display_name,
            problems,
        );
    }
}

/// Identifier URIs that would be ambiguous: equal but for case or a
/// trailing `/`.
fn same_identifier_uri(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// What is wrong with a redirect URI, if anything. Entra's rules: absolute,
/// at most 256 characters, no fragment (RFC 6749 §3.1.2), `http` only for
/// `localhost` and `127.0.0.1`; web and SPA platforms take only `http(s)`,
/// public clients also custom schemes (`msal{app id}://auth`).
fn redirect_problem(uri: &str, kind: RedirectKind) -> Option<String> {
    let parsed = match url::Url::parse(uri) {
        Ok(parsed) => parsed,
        Err(e) => return Some(format!("is not an absolute URL ({e})")),
    };
    if uri.chars().count() > 256 {
        return Some("is longer than 256 characters".to_owned());
    }
    if parsed.fragment().is_some() {
        return Some("has a fragment (RFC 6749 §3.1.2)".to_owned());
    }
    match parsed.scheme() {
        "https" => None,
        "http" if matches!(parsed.host_str(), Some("localhost" | "127.0.0.1")) => None,
        "http" => Some(
            "uses http for a host other than localhost or 127.0.0.1 (Entra requires https)"
                .to_owned(),
        ),
        scheme @ ("javascript" | "data" | "vbscript" | "file") => {
            Some(format!("uses the {scheme} scheme"))
        }
        _ if kind == RedirectKind::PublicClient => None,
        scheme => Some(format!(
            "uses the {scheme} scheme; this platform takes https (or http for localhost)"
        )),
    }
}

fn redirect_key(kind: RedirectKind) -> &'static str {
    match kind {
        RedirectKind::PublicClient => "public_client_redirect_uris",
        RedirectKind::Spa => "spa_redirect_uris",
        RedirectKind::Web => "web_redirect_uris",
    }
}

fn label(i: usize, display_name: Option<&str>) -> String {
    match display_name {
        Some(name) => format!("applications[{i}] {name:?}"),
        None => format!("applications[{i}]"),
    }
}

/// How a failed resource reference reads.
pub(super) const NOT_AN_APPLICATION: &str =
    "is not the app_id or an identifier URI of an application";
