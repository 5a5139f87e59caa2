//! The tenant file: a TOML description of one tenant, turned into a
//! validated [`Directory`].
//!
//! ```no_run
//! use std::path::Path;
//!
//! let directory = rolegate_idp::directory::config::load(Path::new("examples/tenant.toml"))?;
//! let api = directory.resource("api://8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c");
//! # Ok::<(), rolegate_idp::directory::config::ConfigErrors>(())
//! ```
//!
//! Two layers, as STYLE §6 asks: the file schema (serde, unknown keys
//! rejected so that a misspelt setting fails closed) and one fallible
//! function, [`from_toml`], that checks every value and cross-reference and
//! reports all problems at once. Keys are the snake_case forms of Entra's
//! manifest names; `examples/tenant.toml` explains each one. An application
//! may instead be imported from an Entra admin center manifest
//! (`manifest = "….json"`, see [`super::manifest`]).
//!
//! Ids left out of the file (user, group and service principal object ids,
//! app role and scope ids) are derived with [`derived_guid`], so they stay
//! the same across restarts and tokens minted earlier keep their meaning.

mod applications;
pub(crate) mod graph_edit;
mod schema;
pub(crate) mod stored;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use aws_lc_rs::digest;

/// How many verified client secrets a directory remembers.
const VERIFIED_SECRETS: usize = 4096;

use self::applications::{AppDraft, NOT_AN_APPLICATION, find_application};
pub(crate) use self::schema::TenantFile;
use self::schema::{
    AdminConsentEntry, GroupEntry, RoleAssignmentEntry, ServicePrincipalEntry, TenantEntry,
    UserEntry,
};
use super::{AdminConsent, AssignedPrincipal, Directory, Group, RoleAssignment, Tenant, User};

/// Every problem found in a tenant file, one per line, each naming where it
/// is (`applications[1] "Orders SPA": required_resource_access[0].scopes: …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The problems, in file order. Never empty. They quote names and URIs
    /// but never passwords or secrets.
    pub problems: Vec<String>,
}

/// Reads and validates the tenant file at `path`. Relative `manifest` paths
/// resolve against the file's folder. Passwords and client secrets are
/// hashed (argon2) here, once.
///
/// # Errors
///
/// Every problem found (see [`from_toml`]), or the one that the file cannot
/// be read.
pub fn load(path: &Path) -> Result<Directory, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
        problems: vec![format!("{}: cannot read: {e}", path.display())],
    })?;
    from_toml(&text, path.parent().unwrap_or(Path::new(".")))
}

/// Validates a tenant file's text. Relative `manifest` paths resolve against
/// `base_dir`.
///
/// Syntax errors and unknown keys stop at the first (that is where the TOML
/// parser stops); all other problems are collected and returned together.
/// Passwords and secrets are hashed only once the file is valid.
///
/// # Errors
///
/// The first syntax error or unknown key, or else every semantic problem:
/// malformed ids, duplicates, dangling references, roles or scopes a
/// resource does not define, disallowed redirect URIs, user principal names
/// outside the tenant domain, empty display names.
pub fn from_toml(text: &str, base_dir: &Path) -> Result<Directory, ConfigErrors> {
    finish(read_file(text, base_dir)?, &[])
}

/// Reads and validates several tenant files served together (the first is
/// the default tenant). Each is checked as [`load`] does; across them,
/// tenant ids, domains, user object ids and app ids must be unique, and a
/// tenant's `[[service_principals]]` must name another tenant's
/// multi-tenant application (`sign_in_audience = "AzureADMultipleOrgs"`).
/// Every multi-tenant application appears in every other tenant's
/// directory (with that tenant's service principal id), installed there
/// from the start if listed under `[[service_principals]]`, otherwise on
/// first consent.
///
/// # Errors
///
/// Every problem of every file, each prefixed with the file's path.
pub fn load_all(paths: &[std::path::PathBuf]) -> Result<Vec<Directory>, ConfigErrors> {
    let mut problems = Vec::new();
    let mut sources = Vec::new();
    for path in paths {
        let label = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                problems.push(format!("{label}: cannot read: {e}"));
                continue;
            }
        };
        match parse(&text) {
            Ok(file) => sources.push(Source {
                label,
                file,
                base_dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            }),
            Err(e) => problems.extend(e.problems.into_iter().map(|p| format!("{label}: {p}"))),
        }
    }
    if !problems.is_empty() {
        return Err(ConfigErrors { problems });
    }
    build_all(sources)
}

/// `label: problem`, or the problem alone without a label.
fn with_label(label: &str, problem: String) -> String {
    if label.is_empty() {
        problem
    } else {
        format!("{label}: {problem}")
    }
}

/// One tenant's entries and where relative paths in them resolve.
pub(crate) struct Source {
    /// Prefixes every problem (the file's path).
    pub(crate) label: String,
    /// The entries.
    pub(crate) file: TenantFile,
    /// Where `manifest` and certificate paths resolve.
    pub(crate) base_dir: std::path::PathBuf,
}

/// [`load_all`] for tenants already parsed (from files or from the store).
pub(crate) fn build_all(sources: Vec<Source>) -> Result<Vec<Directory>, ConfigErrors> {
    let mut problems = Vec::new();
    let mut drafts = Vec::new();
    for Source {
        label,
        file,
        base_dir,
    } in sources
    {
        let prefix = |e: ConfigErrors| {
            e.problems
                .into_iter()
                .map(|p| with_label(&label, p))
                .collect::<Vec<_>>()
        };
        let draft = read_parsed(file, &base_dir);
        if draft.problems.is_empty() {
            drafts.push((label, draft));
        } else {
            // Checked to the end on its own, so every problem is listed.
            problems.extend(prefix(finish(draft, &[]).err().unwrap_or(ConfigErrors {
                problems: Vec::new(),
            })));
        }
    }
    if !problems.is_empty() {
        return Err(ConfigErrors { problems });
    }
    check_across_tenants(&drafts, &mut problems);
    if !problems.is_empty() {
        return Err(ConfigErrors { problems });
    }
    let multi: Vec<AppDraft> = drafts
        .iter()
        .flat_map(|(_, d)| d.apps.iter())
        .filter(|a| a.app.is_multi_tenant())
        .cloned()
        .collect();
    let mut directories = Vec::new();
    for (label, draft) in drafts {
        let foreign: Vec<AppDraft> = multi
            .iter()
            .filter(|a| a.app.is_foreign(&draft.tenant.id))
            .cloned()
            .collect();
        match finish(draft, &foreign) {
            Ok(directory) => directories.push(directory),
            Err(e) => problems.extend(e.problems.into_iter().map(|p| with_label(&label, p))),
        }
    }
    if !problems.is_empty() || directories.is_empty() {
        if problems.is_empty() {
            problems.push("no tenant file given".to_owned());
        }
        return Err(ConfigErrors { problems });
    }
    Ok(directories)
}

fn check_across_tenants(drafts: &[(String, FileDraft)], problems: &mut Vec<String>) {
    let mut tenants: HashMap<String, String> = HashMap::new();
    let mut objects: HashMap<String, String> = HashMap::new();
    for (here, d) in drafts {
        let here = here.clone();
        for key in [
            format!("tenant id {}", d.tenant.id),
            format!("domain {}", d.tenant.domain.to_ascii_lowercase()),
        ] {
            if let Some(first) = tenants.insert(key.clone(), here.clone()) {
                problems.push(format!("{here}: {key} is also served by {first}"));
            }
        }
        let users = d
            .users
            .iter()
            .map(|u| format!("object id {}", u.user.object_id));
        let groups = d
            .groups
            .iter()
            .map(|g| format!("object id {}", g.object_id));
        let apps = d
            .apps
            .iter()
            .filter(|a| !a.app.first_party)
            .map(|a| format!("app id {}", a.app.app_id));
        for key in users.chain(groups).chain(apps) {
            if let Some(first) = objects.insert(key.clone(), here.clone()) {
                problems.push(format!(
                    "{here}: {key} is also used in {first} (ids are global across tenants)"
                ));
            }
        }
    }
}

/// One tenant file, read and checked on its own, before it is joined with
/// the other tenants' multi-tenant applications.
struct FileDraft {
    /// What is wrong so far (reported with the rest by [`finish`]).
    problems: Vec<String>,
    tenant: Tenant,
    groups_overage_limit: usize,
    groups: Vec<Group>,
    users: Vec<UserDraft>,
    apps: Vec<AppDraft>,
    role_assignments: Vec<RoleAssignmentEntry>,
    admin_consents: Vec<AdminConsentEntry>,
    service_principals: Vec<ServicePrincipalEntry>,
}

/// Parses a tenant file's text (syntax and unknown keys only).
pub(crate) fn parse(text: &str) -> Result<TenantFile, ConfigErrors> {
    toml::from_str(text).map_err(|e| ConfigErrors {
        problems: vec![syntax_problem(text, &e)],
    })
}

/// Parses and checks what one file holds on its own.
fn read_file(text: &str, base_dir: &Path) -> Result<FileDraft, ConfigErrors> {
    Ok(read_parsed(parse(text)?, base_dir))
}

/// Checks what one tenant's entries hold on their own.
fn read_parsed(file: TenantFile, base_dir: &Path) -> FileDraft {
    let mut problems = Vec::new();
    if let Some(version) = file.version
        && version != 1
    {
        problems.push(format!("version: expected 1, found {version}"));
    }
    let tenant = tenant(&file.tenant, &mut problems);
    let groups_overage_limit = match file.tenant.groups_overage_limit {
        None => 200,
        Some(n @ 1..=100_000) => n as usize,
        Some(n) => {
            problems.push(format!(
                "tenant.groups_overage_limit: expected 1 to 100000 (Entra: 200), found {n}"
            ));
            200
        }
    };
    let groups = groups(&tenant, &file.groups, &mut problems);
    let users = users(&tenant, file.users, &groups, &mut problems);
    check_unique_object_ids(&users, &groups, &mut problems);
    let mut apps = Vec::new();
    for (i, entry) in file.applications.into_iter().enumerate() {
        if let Some(draft) = applications::application(&tenant, i, entry, base_dir, &mut problems) {
            applications::check_application(&draft, &mut problems);
            apps.push(draft);
        }
    }
    applications::check_unique_applications(&apps, &mut problems);
    applications::check_not_graph(&apps, &mut problems);
    apps.push(AppDraft::built_in(super::microsoft_graph::application(
        &tenant,
    )));
    apps.push(AppDraft::built_in(super::admin_portal::application(
        &tenant,
    )));
    applications::resolve_required_access(&mut apps, &mut problems);
    FileDraft {
        problems,
        tenant,
        groups_overage_limit,
        groups,
        users,
        apps,
        role_assignments: file.app_role_assignments,
        admin_consents: file.admin_consents,
        service_principals: file.service_principals,
    }
}

/// Joins a file with the other tenants' multi-tenant applications
/// (`foreign`), resolves assignments and consents, and hashes credentials.
fn finish(draft: FileDraft, foreign: &[AppDraft]) -> Result<Directory, ConfigErrors> {
    let FileDraft {
        mut problems,
        tenant,
        groups_overage_limit,
        groups,
        users,
        mut apps,
        role_assignments: assignment_entries,
        admin_consents: consent_entries,
        service_principals,
    } = draft;
    let mut installed = Vec::new();
    for (i, entry) in service_principals.iter().enumerate() {
        let at = format!("service_principals[{i}]");
        match foreign
            .iter()
            .find(|a| a.app.app_id.eq_ignore_ascii_case(&entry.app_id))
        {
            Some(_) if installed.iter().any(|id: &String| id.eq_ignore_ascii_case(&entry.app_id)) => {
                problems.push(format!("{at}.app_id: {} is listed twice", entry.app_id));
            }
            Some(app) => installed.push(app.app.app_id.clone()),
            None => problems.push(format!(
                "{at}.app_id: {:?} is not a multi-tenant application (sign_in_audience = \"AzureADMultipleOrgs\") registered in another tenant file served with this one",
                entry.app_id
            )),
        }
    }
    for app in foreign {
        let mut copy = app.clone();
        let entry = service_principals
            .iter()
            .find(|e| e.app_id.eq_ignore_ascii_case(&app.app.app_id));
        copy.app.service_principal_id =
            derived_guid(&tenant.id, "service_principal", &copy.app.app_id);
        copy.app.provisioned = entry.is_some();
        copy.app.app_role_assignment_required = entry
            .and_then(|e| e.app_role_assignment_required)
            .unwrap_or(false);
        apps.push(copy);
    }
    let uninstalled = |reference: &str| {
        foreign.iter().any(|f| {
            let named = f.app.app_id.eq_ignore_ascii_case(reference)
                || f.app
                    .identifier_uris
                    .iter()
                    .any(|u| u.trim_end_matches('/') == reference.trim_end_matches('/'));
            named
                && !installed
                    .iter()
                    .any(|i| i.eq_ignore_ascii_case(&f.app.app_id))
        })
    };
    // Assignments and consents may name another tenant's application only
    // once it is installed here.
    for (i, entry) in assignment_entries.iter().enumerate() {
        for reference in [&entry.principal, &entry.resource] {
            if uninstalled(reference) {
                problems.push(format!(
                    "app_role_assignments[{i}]: {reference:?} is another tenant's application: list it under [[service_principals]] first"
                ));
            }
        }
    }
    for (i, entry) in consent_entries.iter().enumerate() {
        for reference in [&entry.client, &entry.resource] {
            if uninstalled(reference) {
                problems.push(format!(
                    "admin_consents[{i}]: {reference:?} is another tenant's application: list it under [[service_principals]] first"
                ));
            }
        }
    }
    let role_assignments =
        role_assignments(&assignment_entries, &users, &groups, &apps, &mut problems);
    let admin_consents = admin_consents(&consent_entries, &apps, &mut problems);
    if !problems.is_empty() {
        return Err(ConfigErrors { problems });
    }
    let users = hash_passwords(users, &mut problems);
    let applications = applications::hash_secrets(apps, &mut problems);
    if !problems.is_empty() {
        return Err(ConfigErrors { problems });
    }
    Ok(Directory {
        tenant,
        users,
        groups,
        applications,
        role_assignments,
        admin_consents,
        groups_overage_limit,
        verified_secrets: std::sync::Mutex::new(hashlink::LruCache::new(VERIFIED_SECRETS)),
        version: 0,
    })
}

/// A deterministic GUID for an object the file names but gives no id:
/// SHA-256 of `tenant \0 kind \0 name`, its first 16 bytes formatted as a
/// version-5-style UUID (version nibble 5, variant bits `10`), lower case.
///
/// The loader passes the lower-case tenant id and these kinds and names:
/// `user` (lower-case UPN), `group` (lower-case display name),
/// `service_principal` (app id), `app_role` and `scope` (`{app id}/{value}`).
pub fn derived_guid(tenant: &str, kind: &str, name: &str) -> String {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(tenant.as_bytes());
    context.update(&[0]);
    context.update(kind.as_bytes());
    context.update(&[0]);
    context.update(name.as_bytes());
    let hash = context.finish();
    let mut bytes = [0u8; 16];
    for (byte, hashed) in bytes.iter_mut().zip(hash.as_ref()) {
        *byte = *hashed;
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut guid = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            guid.push('-');
        }
        guid.push_str(&format!("{byte:02x}"));
    }
    guid
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problems.join("\n"))
    }
}

impl std::error::Error for ConfigErrors {}

/// The GUID in lower case, if `value` is one (`8-4-4-4-12` hex digits).
pub(crate) fn normalize_guid(value: &str) -> Option<String> {
    let well_formed = value.len() == 36
        && value.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    well_formed.then(|| value.to_ascii_lowercase())
}

/// `requestedAccessTokenVersion`: absent means 1, as in Entra.
pub(crate) fn access_token_version(value: Option<i64>) -> Result<u8, String> {
    match value {
        None | Some(1) => Ok(1),
        Some(2) => Ok(2),
        Some(other) => Err(format!("expected 1 or 2, found {other}")),
    }
}

/// A user before its password is hashed.
struct UserDraft {
    user: User,
    password: Option<String>,
}

fn tenant(entry: &TenantEntry, problems: &mut Vec<String>) -> Tenant {
    let id = normalize_guid(&entry.id).unwrap_or_else(|| {
        problems.push(format!("tenant.id: expected a GUID, found {:?}", entry.id));
        entry.id.to_ascii_lowercase()
    });
    let domain = entry.domain.to_ascii_lowercase();
    let valid_domain = domain.split('.').all(|label| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if !valid_domain {
        problems.push(format!(
            "tenant.domain: expected a DNS name such as contoso.test, found {:?}",
            entry.domain
        ));
    }
    Tenant { id, domain }
}

fn groups(tenant: &Tenant, entries: &[GroupEntry], problems: &mut Vec<String>) -> Vec<Group> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut groups = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("groups[{i}] {:?}", entry.display_name);
        let key = entry.display_name.to_lowercase();
        check_display_name(&at, "display_name", &entry.display_name, problems);
        if let Some(first) = seen.get(&key) {
            problems.push(format!(
                "{at}: display_name duplicates groups[{first}] (names are case-insensitive)"
            ));
        } else {
            seen.insert(key.clone(), i);
        }
        let object_id = match &entry.object_id {
            Some(id) => guid(&at, "object_id", id, problems),
            None => derived_guid(&tenant.id, "group", &key),
        };
        groups.push(Group {
            object_id,
            display_name: entry.display_name.clone(),
            security_enabled: entry.security_enabled.unwrap_or(true),
            member_of: Vec::new(),
        });
    }
    // Nesting, once every group has its id.
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("groups[{i}] {:?}", entry.display_name);
        let mut parents = Vec::new();
        for name in &entry.member_of {
            match groups
                .iter()
                .find(|g| g.display_name.eq_ignore_ascii_case(name))
            {
                Some(parent)
                    if parent
                        .display_name
                        .eq_ignore_ascii_case(&entry.display_name) =>
                {
                    problems.push(format!("{at}: member_of: a group cannot contain itself"));
                }
                Some(parent) => parents.push(parent.object_id.clone()),
                None => problems.push(format!("{at}: member_of: {name:?} is not a group")),
            }
        }
        if let Some(group) = groups.get_mut(i) {
            group.member_of = parents;
        }
    }
    groups
}

/// A directory role by built-in name (case-insensitive) or template id.
fn directory_role(at: &str, text: &str, problems: &mut Vec<String>) -> Option<String> {
    if let Some((_, id)) = crate::directory::DIRECTORY_ROLES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
    {
        return Some((*id).to_owned());
    }
    if let Some(id) = normalize_guid(text) {
        return Some(id);
    }
    let names: Vec<&str> = crate::directory::DIRECTORY_ROLES
        .iter()
        .map(|(n, _)| *n)
        .collect();
    problems.push(format!(
        "{at}: directory_roles: {text:?} is neither a role template id (GUID) nor one of: {}",
        names.join(", ")
    ));
    None
}

fn users(
    tenant: &Tenant,
    entries: Vec<UserEntry>,
    groups: &[Group],
    problems: &mut Vec<String>,
) -> Vec<UserDraft> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut users = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let upn = entry.user_principal_name;
        let at = format!("users[{i}] {upn:?}");
        check_user_principal_name(&at, &upn, tenant, problems);
        let key = upn.to_lowercase();
        if let Some(first) = seen.get(&key) {
            problems.push(format!(
                "{at}: user_principal_name duplicates users[{first}] (case-insensitively)"
            ));
        } else {
            seen.insert(key.clone(), i);
        }
        check_display_name(&at, "display_name", &entry.display_name, problems);
        if entry.password.as_deref() == Some("") {
            problems.push(format!(
                "{at}: password: empty (leave the key out for a password-less account)"
            ));
        }
        if entry.password.is_some() && entry.password_hash.is_some() {
            problems.push(format!("{at}: give password or password_hash, not both"));
        }
        if let Some(hash) = &entry.password_hash
            && !crate::secret::is_hash(hash)
        {
            problems.push(format!(
                "{at}: password_hash: not an argon2 hash (a PHC string such as $argon2id$v=19$...)"
            ));
        }
        let mut member_of = Vec::new();
        for name in &entry.groups {
            match groups
                .iter()
                .find(|g| g.display_name.eq_ignore_ascii_case(name))
            {
                Some(group) => member_of.push(group.object_id.clone()),
                None => problems.push(format!("{at}: groups: {name:?} is not a group")),
            }
        }
        let object_id = match &entry.object_id {
            Some(id) => guid(&at, "object_id", id, problems),
            None => derived_guid(&tenant.id, "user", &key),
        };
        let directory_roles = entry
            .directory_roles
            .iter()
            .filter_map(|r| directory_role(&at, r, problems))
            .collect();
        let user = User {
            object_id,
            user_principal_name: upn,
            display_name: entry.display_name,
            password_hash: entry.password_hash,
            groups: member_of,
            directory_roles,
        };
        users.push(UserDraft {
            user,
            password: entry.password,
        });
    }
    users
}

/// `name@domain`, where the domain is the tenant's (Entra signs users in
/// only under verified domains).
fn check_user_principal_name(at: &str, upn: &str, tenant: &Tenant, problems: &mut Vec<String>) {
    match upn.rsplit_once('@') {
        Some((name, domain)) if !name.is_empty() && !name.contains(char::is_whitespace) => {
            if !domain.eq_ignore_ascii_case(&tenant.domain) {
                problems.push(format!(
                    "{at}: user_principal_name: domain {domain:?} is not the tenant domain {:?} (Entra requires a verified domain)",
                    tenant.domain
                ));
            }
        }
        _ => problems.push(format!(
            "{at}: user_principal_name: expected name@{}",
            tenant.domain
        )),
    }
}

/// Explicit user and group object ids must not collide (derived ones
/// cannot, short of a SHA-256 collision).
fn check_unique_object_ids(users: &[UserDraft], groups: &[Group], problems: &mut Vec<String>) {
    let mut seen: HashMap<&str, String> = HashMap::new();
    let users = users.iter().map(|u| {
        (
            &u.user.object_id,
            format!("user {:?}", u.user.user_principal_name),
        )
    });
    let groups = groups
        .iter()
        .map(|g| (&g.object_id, format!("group {:?}", g.display_name)));
    for (id, owner) in users.chain(groups) {
        if let Some(first) = seen.get(id.as_str()) {
            problems.push(format!(
                "object id {id} is used by both {first} and {owner}"
            ));
        } else {
            seen.insert(id, owner);
        }
    }
}

fn role_assignments(
    entries: &[RoleAssignmentEntry],
    users: &[UserDraft],
    groups: &[Group],
    apps: &[AppDraft],
    problems: &mut Vec<String>,
) -> Vec<RoleAssignment> {
    let mut assignments = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("app_role_assignments[{i}]");
        let principal = principal(&entry.principal, users, groups, apps);
        if principal.is_none() {
            problems.push(format!(
                "{at}.principal: {:?} is not a user (user_principal_name), group (display_name) or application (app_id)",
                entry.principal
            ));
        }
        let Some(resource) = find_application(apps, &entry.resource) else {
            problems.push(format!(
                "{at}.resource: {:?} {NOT_AN_APPLICATION}",
                entry.resource
            ));
            continue;
        };
        let name = &resource.app.display_name;
        let Some(role) = resource.app.app_role(&entry.role) else {
            problems.push(format!(
                "{at}.role: {:?} is not an app role of {name:?}",
                entry.role
            ));
            continue;
        };
        let Some(principal) = principal else { continue };
        let (allowed, member_type) = match principal {
            AssignedPrincipal::Application(_) => (role.allowed_for_applications, "Application"),
            AssignedPrincipal::Group(_) | AssignedPrincipal::User(_) => {
                (role.allowed_for_users, "User")
            }
        };
        if !allowed {
            problems.push(format!(
                "{at}.role: {:?} of {name:?} does not allow {member_type} members (allowed_member_types)",
                role.value
            ));
            continue;
        }
        assignments.push(RoleAssignment {
            principal,
            resource_app_id: resource.app.app_id.clone(),
            role: role.value.clone(),
        });
    }
    assignments
}

/// A role assignment's principal: a user by UPN, a group by display name or
/// a client application by app id (all case-insensitive), in that order.
fn principal(
    name: &str,
    users: &[UserDraft],
    groups: &[Group],
    apps: &[AppDraft],
) -> Option<AssignedPrincipal> {
    let user = users
        .iter()
        .find(|u| u.user.user_principal_name.eq_ignore_ascii_case(name));
    let group = || {
        groups
            .iter()
            .find(|g| g.display_name.eq_ignore_ascii_case(name))
    };
    let app = || {
        apps.iter()
            .find(|a| a.app.app_id.eq_ignore_ascii_case(name))
    };
    user.map(|u| AssignedPrincipal::User(u.user.object_id.clone()))
        .or_else(|| group().map(|g| AssignedPrincipal::Group(g.object_id.clone())))
        .or_else(|| app().map(|a| AssignedPrincipal::Application(a.app.app_id.clone())))
}

fn admin_consents(
    entries: &[AdminConsentEntry],
    apps: &[AppDraft],
    problems: &mut Vec<String>,
) -> Vec<AdminConsent> {
    let mut consents = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("admin_consents[{i}]");
        let client = apps
            .iter()
            .find(|a| a.app.app_id.eq_ignore_ascii_case(&entry.client));
        if client.is_none() {
            problems.push(format!(
                "{at}.client: {:?} is not the app_id of an application",
                entry.client
            ));
        }
        let Some(resource) = find_application(apps, &entry.resource) else {
            problems.push(format!(
                "{at}.resource: {:?} {NOT_AN_APPLICATION}",
                entry.resource
            ));
            continue;
        };
        if entry.scopes.is_empty() {
            problems.push(format!(
                "{at}.scopes: empty (name the delegated permissions granted)"
            ));
        }
        let mut scopes = Vec::new();
        for wanted in &entry.scopes {
            match resource.app.scope(wanted) {
                Some(scope) => scopes.push(scope.value.clone()),
                None => problems.push(format!(
                    "{at}.scopes: {wanted:?} is not a scope of {:?}",
                    resource.app.display_name
                )),
            }
        }
        if let Some(client) = client {
            consents.push(AdminConsent {
                client_app_id: client.app.app_id.clone(),
                resource_app_id: resource.app.app_id.clone(),
                scopes,
            });
        }
    }
    consents
}

fn hash_passwords(users: Vec<UserDraft>, problems: &mut Vec<String>) -> Vec<User> {
    let mut hashed = Vec::with_capacity(users.len());
    for UserDraft { mut user, password } in users {
        if let Some(password) = password {
            match crate::secret::hash(&password) {
                Ok(hash) => user.password_hash = Some(hash),
                Err(e) => problems.push(format!(
                    "user {:?}: password: cannot hash: {e}",
                    user.user_principal_name
                )),
            }
        }
        hashed.push(user);
    }
    hashed
}

fn check_display_name(at: &str, key: &str, name: &str, problems: &mut Vec<String>) {
    if name.trim().is_empty() {
        problems.push(format!("{at}: {key}: empty"));
    }
}

/// The lower-case GUID, or a problem and the value as given.
fn guid(at: &str, key: &str, value: &str, problems: &mut Vec<String>) -> String {
    normalize_guid(value).unwrap_or_else(|| {
        problems.push(format!("{at}: {key}: expected a GUID, found {value:?}"));
        value.to_ascii_lowercase()
    })
}

/// One line: `line 3, column 1: unknown field ...`.
fn syntax_problem(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', " ");
    let Some(span) = error.span() else {
        return message;
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}: {message}")
}

#[cfg(test)]
mod tests;
