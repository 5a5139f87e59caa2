//! The directory as the store keeps it (design note 0003): one document
//! per tenant, the tenant file's own entries as JSON, normalised so that
//! every replica can build the same `Directory` from it alone — no secret or
//! password in plain text (argon2 hashes with their hints and key ids), no
//! relative paths (manifests resolved, certificates inlined as PEM).
//!
//! A tenant file *seeds* the stored document: its entries replace the
//! stored entries with the same key (users by sign-in name, groups by
//! display name, applications and service principals by app id, role
//! assignments by principal, resource and role, admin consents by client
//! and resource) and every other stored entry — what Graph created — is
//! kept. A secret or password that verifies against the stored hash keeps
//! that hash (and key id), so restarts and replicas seeding the same file
//! agree on one document.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::schema::{
    AdminConsentEntry, ApplicationEntry, GroupEntry, RoleAssignmentEntry, ServicePrincipalEntry,
    TenantFile, UserEntry,
};
use super::{ConfigErrors, derived_guid, normalize_guid};

/// A tenant's stored directory: its entries, and which of them the tenant
/// file seeded last (so that an entry removed from the file is removed from
/// the store, while what Graph created stays).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Document {
    /// The entries, in the tenant file's schema.
    pub(crate) entries: TenantFile,
    /// Keys of the entries the tenant file named when it last seeded.
    #[serde(default)]
    pub(crate) from_file: FileKeys,
}

/// Keys of entries, per kind (see [`keys_of`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileKeys {
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    applications: Vec<String>,
    #[serde(default)]
    app_role_assignments: Vec<String>,
    #[serde(default)]
    admin_consents: Vec<String>,
    #[serde(default)]
    service_principals: Vec<String>,
}

/// Serialises a document.
pub(crate) fn to_json(document: &Document) -> String {
    serde_json::to_string(document).unwrap_or_default()
}

/// Reads a stored document.
pub(crate) fn from_json(text: &str) -> Result<Document, ConfigErrors> {
    serde_json::from_str(text).map_err(|e| ConfigErrors {
        problems: vec![format!("the stored directory does not parse: {e}")],
    })
}

fn user_key(tenant: &str, u: &UserEntry) -> String {
    u.object_id
        .as_deref()
        .and_then(normalize_guid)
        .unwrap_or_else(|| derived_guid(tenant, "user", &u.user_principal_name.to_lowercase()))
}

fn group_key(tenant: &str, g: &GroupEntry) -> String {
    g.object_id
        .as_deref()
        .and_then(normalize_guid)
        .unwrap_or_else(|| derived_guid(tenant, "group", &g.display_name.to_lowercase()))
}

fn application_key(a: &ApplicationEntry) -> String {
    a.app_id.as_deref().unwrap_or_default().to_ascii_lowercase()
}

fn assignment_key(a: &RoleAssignmentEntry) -> String {
    format!(
        "{}|{}|{}",
        a.principal.to_lowercase(),
        a.resource.to_lowercase(),
        a.role
    )
}

fn consent_key(c: &AdminConsentEntry) -> String {
    format!("{}|{}", c.client.to_lowercase(), c.resource.to_lowercase())
}

fn principal_key(s: &ServicePrincipalEntry) -> String {
    s.app_id.to_ascii_lowercase()
}

/// The keys of every entry of `file`.
fn keys_of(file: &TenantFile) -> FileKeys {
    let tenant = tenant_id(file);
    FileKeys {
        users: file.users.iter().map(|u| user_key(&tenant, u)).collect(),
        groups: file.groups.iter().map(|g| group_key(&tenant, g)).collect(),
        applications: file.applications.iter().map(application_key).collect(),
        app_role_assignments: file
            .app_role_assignments
            .iter()
            .map(assignment_key)
            .collect(),
        admin_consents: file.admin_consents.iter().map(consent_key).collect(),
        service_principals: file.service_principals.iter().map(principal_key).collect(),
    }
}

/// The tenant id a document is for (lower case).
pub(crate) fn tenant_id(file: &TenantFile) -> String {
    normalize_guid(&file.tenant.id).unwrap_or_else(|| file.tenant.id.to_ascii_lowercase())
}

/// Makes a tenant file's entries storable: paths resolved against
/// `base_dir`, certificates inlined, passwords and client secrets hashed
/// (re-using `stored` hashes they verify against).
pub(crate) fn normalize(
    file: &mut TenantFile,
    base_dir: &Path,
    stored: Option<&TenantFile>,
) -> Result<(), ConfigErrors> {
    let mut problems = Vec::new();
    let tenant = tenant_id(file);
    for (i, user) in file.users.iter_mut().enumerate() {
        let Some(password) = user.password.take() else {
            continue;
        };
        let previous = stored.and_then(|s| {
            s.users.iter().find(|u| {
                u.user_principal_name
                    .eq_ignore_ascii_case(&user.user_principal_name)
            })
        });
        let kept = previous
            .and_then(|u| u.password_hash.clone())
            .filter(|hash| crate::secret::verify(hash, &password));
        match kept.map_or_else(|| crate::secret::hash(&password), Ok) {
            Ok(hash) => user.password_hash = Some(hash),
            Err(e) => problems.push(format!("users[{i}]: password: cannot hash: {e}")),
        }
    }
    for (i, app) in file.applications.iter_mut().enumerate() {
        if let Some(manifest) = &app.manifest {
            let path = base_dir.join(manifest);
            app.manifest = Some(
                std::fs::canonicalize(&path)
                    .unwrap_or(path)
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        for (j, key) in app.key_credentials.iter_mut().flatten().enumerate() {
            if let Some(file_name) = key.certificate.take() {
                let path = base_dir.join(&file_name);
                match std::fs::read_to_string(&path) {
                    Ok(pem) => key.pem = Some(pem),
                    Err(e) => problems.push(format!(
                        "applications[{i}]: key_credentials[{j}].certificate: cannot read {}: {e}",
                        path.display()
                    )),
                }
            }
        }
        let app_id = app
            .app_id
            .as_deref()
            .map(|id| normalize_guid(id).unwrap_or_else(|| id.to_ascii_lowercase()))
            .unwrap_or_default();
        let previous: Vec<_> = stored
            .and_then(|s| {
                s.applications.iter().find(|a| {
                    a.app_id
                        .as_deref()
                        .is_some_and(|id| id.eq_ignore_ascii_case(&app_id))
                })
            })
            .and_then(|a| a.password_credentials.clone())
            .unwrap_or_default();
        for (j, credential) in app.password_credentials.iter_mut().flatten().enumerate() {
            let Some(secret) = credential.secret.take() else {
                continue;
            };
            let kept = previous.iter().find(|p| {
                p.hash
                    .as_deref()
                    .is_some_and(|hash| crate::secret::verify(hash, &secret))
            });
            match kept {
                Some(p) => {
                    credential.hash = p.hash.clone();
                    credential.hint = p.hint.clone();
                    credential.key_id = credential.key_id.take().or_else(|| p.key_id.clone());
                }
                None => match crate::secret::hash(&secret) {
                    Ok(hash) => {
                        credential.hash = Some(hash);
                        credential.hint = Some(secret.chars().take(3).collect());
                    }
                    Err(e) => problems.push(format!(
                        "applications[{i}]: password_credentials[{j}]: cannot hash: {e}"
                    )),
                },
            }
            if credential.key_id.is_none() {
                credential.key_id = Some(derived_guid(
                    &tenant,
                    "password_credential",
                    &format!("{app_id}/{j}"),
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigErrors { problems })
    }
}

/// The stored document after seeding it with `file` (both normalised): the
/// file's entries, then the stored entries the file does not name, each in
/// its own order — except stored entries the file named when it last seeded
/// and names no more: those were removed from the file, and go.
pub(crate) fn merge(file: TenantFile, stored: Option<Document>) -> Document {
    let from_file = keys_of(&file);
    let Some(Document {
        entries: mut stored,
        from_file: before,
    }) = stored
    else {
        return Document {
            entries: file,
            from_file,
        };
    };
    let tenant = tenant_id(&file);
    // Removed from the file since it last seeded.
    let gone =
        |was: &[String], now: &[String], key: String| was.contains(&key) && !now.contains(&key);
    stored
        .users
        .retain(|u| !gone(&before.users, &from_file.users, user_key(&tenant, u)));
    stored
        .groups
        .retain(|g| !gone(&before.groups, &from_file.groups, group_key(&tenant, g)));
    stored.applications.retain(|a| {
        !gone(
            &before.applications,
            &from_file.applications,
            application_key(a),
        )
    });
    stored.app_role_assignments.retain(|a| {
        !gone(
            &before.app_role_assignments,
            &from_file.app_role_assignments,
            assignment_key(a),
        )
    });
    stored.admin_consents.retain(|c| {
        !gone(
            &before.admin_consents,
            &from_file.admin_consents,
            consent_key(c),
        )
    });
    stored.service_principals.retain(|p| {
        !gone(
            &before.service_principals,
            &from_file.service_principals,
            principal_key(p),
        )
    });
    let mut merged = file;
    fn keep<T: Clone>(into: &mut Vec<T>, from: Vec<T>, same: impl Fn(&T, &T) -> bool) {
        let extra: Vec<T> = from
            .into_iter()
            .filter(|old| !into.iter().any(|new| same(new, old)))
            .collect();
        into.extend(extra);
    }
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    // Users and groups are the same object when their object ids are
    // (explicit, or derived from the name as the loader derives them): a
    // user Graph renamed is still the file's user, and the file wins.
    let user_id = |u: &UserEntry| user_key(&tenant, u);
    let group_id = |g: &GroupEntry| group_key(&tenant, g);
    // Names the store uses for objects the file names differently (a Graph
    // rename the file now undoes): references follow the file's name.
    let mut renamed: Vec<(String, String)> = Vec::new();
    for old in &stored.users {
        if let Some(new) = merged.users.iter().find(|n| user_id(n) == user_id(old))
            && !eq(&new.user_principal_name, &old.user_principal_name)
        {
            renamed.push((
                old.user_principal_name.clone(),
                new.user_principal_name.clone(),
            ));
        }
    }
    for old in &stored.groups {
        if let Some(new) = merged.groups.iter().find(|n| group_id(n) == group_id(old))
            && !eq(&new.display_name, &old.display_name)
        {
            renamed.push((old.display_name.clone(), new.display_name.clone()));
        }
    }
    let follow = |name: &mut String| {
        if let Some((_, new)) = renamed.iter().find(|(old, _)| eq(old, name)) {
            *name = new.clone();
        }
    };
    for user in &mut stored.users {
        user.groups.iter_mut().for_each(follow);
    }
    for group in &mut stored.groups {
        group.member_of.iter_mut().for_each(follow);
    }
    for assignment in &mut stored.app_role_assignments {
        follow(&mut assignment.principal);
    }
    keep(&mut merged.users, stored.users, |a, b| {
        eq(&a.user_principal_name, &b.user_principal_name) || user_id(a) == user_id(b)
    });
    keep(&mut merged.groups, stored.groups, |a, b| {
        eq(&a.display_name, &b.display_name) || group_id(a) == group_id(b)
    });
    keep(&mut merged.applications, stored.applications, |a, b| {
        application_key(a) == application_key(b)
    });
    keep(
        &mut merged.app_role_assignments,
        stored.app_role_assignments,
        |a, b| assignment_key(a) == assignment_key(b),
    );
    keep(&mut merged.admin_consents, stored.admin_consents, |a, b| {
        consent_key(a) == consent_key(b)
    });
    keep(
        &mut merged.service_principals,
        stored.service_principals,
        |a, b| principal_key(a) == principal_key(b),
    );
    Document {
        entries: merged,
        from_file,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::config::parse;

    const FILE: &str = r#"
[tenant]
id = "7D3E1B5A-2F4C-4E8D-9A6B-0C1D2E3F4A5B"
domain = "contoso.test"

[[users]]
user_principal_name = "alice@contoso.test"
display_name = "Alice"
password = "alice-Passw0rd"

[[applications]]
display_name = "Daemon"
app_id = "7fbf04bb-64db-4661-a8cd-d2d07d250ad8"
  [[applications.password_credentials]]
  secret = "daemon-secret"
"#;

    #[test]
    fn normalising_hashes_secrets_and_keeps_hashes_that_still_verify() {
        let mut first = parse(FILE).unwrap();
        normalize(&mut first, Path::new("."), None).unwrap();
        let json = serde_json::to_string(&first).unwrap();
        assert!(
            !json.contains("alice-Passw0rd") && !json.contains("daemon-secret"),
            "{json}"
        );
        let credential = &first.applications[0].password_credentials.as_ref().unwrap()[0];
        assert_eq!(credential.hint.as_deref(), Some("dae"));
        assert!(credential.key_id.is_some());
        // Seeding the same file again keeps the stored hashes: one document.
        let mut second = parse(FILE).unwrap();
        normalize(&mut second, Path::new("."), Some(&first)).unwrap();
        assert_eq!(second, first);
        // A changed secret gets a new hash.
        let mut changed = parse(&FILE.replace("daemon-secret", "another-secret")).unwrap();
        normalize(&mut changed, Path::new("."), Some(&first)).unwrap();
        assert_ne!(
            changed.applications[0].password_credentials,
            first.applications[0].password_credentials
        );
        let document = merge(first.clone(), None);
        assert_eq!(from_json(&to_json(&document)).unwrap(), document);
    }

    #[test]
    fn seeding_replaces_what_the_file_names_and_keeps_the_rest() {
        let mut stored = merge(parse(FILE).unwrap(), None);
        stored.entries.users[0].display_name = "Alice (renamed in the store)".to_owned();
        let mut extra = stored.entries.users[0].clone();
        extra.user_principal_name = "graph-made@contoso.test".to_owned();
        extra.object_id = Some("0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a".to_owned());
        stored.entries.users.push(extra);
        let file = parse(FILE).unwrap();
        let merged = merge(file, Some(stored)).entries;
        let names: Vec<&str> = merged
            .users
            .iter()
            .map(|u| u.user_principal_name.as_str())
            .collect();
        assert_eq!(names, ["alice@contoso.test", "graph-made@contoso.test"]);
        assert_eq!(merged.users[0].display_name, "Alice", "the file wins");
    }

    #[test]
    fn an_entry_removed_from_the_file_leaves_the_store_and_graphs_stay() {
        let seeded = merge(parse(FILE).unwrap(), None);
        let mut stored = seeded.clone();
        let mut made = stored.entries.users[0].clone();
        made.user_principal_name = "graph-made@contoso.test".to_owned();
        made.object_id = Some("0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a".to_owned());
        stored.entries.users.push(made);
        // The operator removes alice from the file.
        let without_alice = FILE.replace(
            "[[users]]\nuser_principal_name = \"alice@contoso.test\"\ndisplay_name = \"Alice\"\npassword = \"alice-Passw0rd\"\n",
            "",
        );
        let file = parse(&without_alice).unwrap();
        assert!(file.users.is_empty());
        let merged = merge(file, Some(stored)).entries;
        let names: Vec<&str> = merged
            .users
            .iter()
            .map(|u| u.user_principal_name.as_str())
            .collect();
        assert_eq!(names, ["graph-made@contoso.test"]);
    }
}
