//! The directory kept in the store (design note 0003): tenant files seed
//! it, the running provider builds its [`Directory`]s from it, and every
//! process sharing the store rebuilds when it changes.

use std::path::{Path, PathBuf};

use super::Directory;
use super::config::{self, ConfigErrors, Source, stored};
use crate::store::{Store, StoreError};

/// Why the directory could not be seeded or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// A tenant file, or what seeding it into the store gives, is invalid.
    #[error("{0}")]
    Invalid(ConfigErrors),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Other processes kept changing the stored directory.
    #[error("the stored directory kept changing while it was seeded; try again")]
    Contended,
}

/// How often seeding re-reads after losing a compare-and-swap to another
/// process.
const ATTEMPTS: usize = 8;

/// Seeds the store with the tenant files at `paths` (the first is the
/// default tenant) and returns the directories built from the result.
///
/// Each file's entries replace the stored entries with the same key; what
/// the store holds beyond them (Graph's changes) is kept. Nothing is written
/// unless every tenant builds, so an invalid file changes nothing. Returns
/// the directories, in `paths` order, and the tenant ids.
pub async fn seed(
    store: &dyn Store,
    paths: &[PathBuf],
    now: i64,
) -> Result<(Vec<Directory>, Vec<String>), PersistError> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        let label = label(paths, path);
        let prefix = |p: String| {
            if label.is_empty() {
                p
            } else {
                format!("{label}: {p}")
            }
        };
        match std::fs::read_to_string(path) {
            Ok(text) => match config::parse(&text) {
                Ok(file) => files.push((
                    label.clone(),
                    file,
                    path.parent().unwrap_or(Path::new(".")).to_path_buf(),
                )),
                Err(e) => problems.extend(e.problems.into_iter().map(prefix)),
            },
            Err(e) => problems.push(prefix(format!("cannot read: {e}"))),
        }
    }
    if !problems.is_empty() {
        return Err(PersistError::Invalid(ConfigErrors { problems }));
    }
    for _ in 0..ATTEMPTS {
        let mut sources = Vec::new();
        let mut writes = Vec::new();
        let mut tenant_ids = Vec::new();
        let mut versions = Vec::new();
        for (label, file, base_dir) in &files {
            let tenant_id = stored::tenant_id(file);
            let current = store.directory_document(&tenant_id).await?;
            if let Some((version, _)) = &current {
                versions.push((tenant_id.clone(), *version));
            }
            let previous = match &current {
                Some((_, json)) => Some(stored::from_json(json).map_err(PersistError::Invalid)?),
                None => None,
            };
            let mut normalized = file.clone();
            stored::normalize(
                &mut normalized,
                base_dir,
                previous.as_ref().map(|d| &d.entries),
            )
            .map_err(|e| PersistError::Invalid(prefixed(label, e)))?;
            let merged = stored::merge(normalized, previous.clone());
            if previous.as_ref() != Some(&merged) {
                writes.push((
                    tenant_id.clone(),
                    current.map(|(version, _)| version),
                    stored::to_json(&merged),
                ));
            }
            tenant_ids.push(tenant_id);
            sources.push(Source {
                label: label.clone(),
                file: merged.entries,
                base_dir: base_dir.clone(),
            });
        }
        let mut directories = config::build_all(sources).map_err(PersistError::Invalid)?;
        let mut lost = false;
        for (tenant_id, expected, json) in &writes {
            match store
                .put_directory_document(tenant_id, *expected, json, now)
                .await?
            {
                Some(version) => versions.push((tenant_id.clone(), version)),
                None => {
                    lost = true;
                    break;
                }
            }
        }
        for directory in &mut directories {
            if let Some((_, version)) = versions.iter().find(|(t, _)| *t == directory.tenant.id) {
                directory.version = *version;
            }
        }
        if lost {
            continue;
        }
        if !writes.is_empty()
            && let Err(e) = store.announce_directory_change().await
        {
            tracing::warn!(error = %e, "directory change not announced; other replicas see it when they next reload");
        }
        return Ok((directories, tenant_ids));
    }
    Err(PersistError::Contended)
}

/// Builds the directories of `tenant_ids` (default first) from the store
/// alone: what a replica does when another process changed the directory.
pub async fn load(
    store: &dyn Store,
    tenant_ids: &[String],
) -> Result<Vec<Directory>, PersistError> {
    let mut sources = Vec::new();
    let mut versions = Vec::new();
    for tenant_id in tenant_ids {
        let Some((version, json)) = store.directory_document(tenant_id).await? else {
            return Err(PersistError::Invalid(ConfigErrors {
                problems: vec![format!(
                    "the store holds no directory for tenant {tenant_id}"
                )],
            }));
        };
        versions.push(version);
        sources.push(Source {
            label: format!("the stored directory of tenant {tenant_id}"),
            file: stored::from_json(&json)
                .map_err(PersistError::Invalid)?
                .entries,
            base_dir: PathBuf::from("."),
        });
    }
    let mut directories = config::build_all(sources).map_err(PersistError::Invalid)?;
    for (directory, version) in directories.iter_mut().zip(versions) {
        directory.version = version;
    }
    Ok(directories)
}

/// Rebuilds the directories from the store when another process changed
/// it since `current` was built (one small query when nothing changed);
/// `None` when `current` is up to date.
pub async fn refreshed(
    store: &dyn Store,
    current: &super::Tenants,
) -> Result<Option<Vec<Directory>>, PersistError> {
    let stored = store.directory_versions().await?;
    let stale = current.iter().any(|d| {
        stored
            .iter()
            .find(|(tenant, _)| *tenant == d.tenant.id)
            .is_some_and(|(_, version)| *version != d.version)
    });
    if !stale {
        return Ok(None);
    }
    let tenant_ids: Vec<String> = current.iter().map(|d| d.tenant.id.clone()).collect();
    load(store, &tenant_ids).await.map(Some)
}

/// Problems of one file carry its path when several are served.
fn label(paths: &[PathBuf], path: &Path) -> String {
    if paths.len() == 1 {
        String::new()
    } else {
        path.display().to_string()
    }
}

fn prefixed(label: &str, e: ConfigErrors) -> ConfigErrors {
    if label.is_empty() {
        return e;
    }
    ConfigErrors {
        problems: e
            .problems
            .into_iter()
            .map(|p| format!("{label}: {p}"))
            .collect(),
    }
}

/// Why a directory edit was not made.
#[derive(Debug)]
pub enum EditFailure {
    /// The edit itself was refused (Graph's 400, with this message).
    Refused(String),
    /// The edited directory does not build (every problem).
    Invalid(ConfigErrors),
    /// The store failed, or kept changing under the edit.
    Store(PersistError),
}

/// Edits tenant `tenant_id`'s stored entries with `edit` (given the
/// directory as it is), rebuilds every tenant's directory from the result,
/// and stores it by compare-and-swap, re-reading and re-applying `edit`
/// when another process wrote first. Nothing is stored when the edit is
/// refused or the result does not build. Returns what `edit` returned and
/// the new directories (in `tenant_ids` order), and announces the change.
pub(crate) async fn edit<T>(
    store: &dyn Store,
    tenant_ids: &[String],
    tenant_id: &str,
    current: &Directory,
    now: i64,
    mut edit: impl FnMut(&mut config::TenantFile, &Directory) -> Result<T, String>,
) -> Result<(T, Vec<Directory>), EditFailure> {
    for _ in 0..ATTEMPTS {
        let mut sources = Vec::new();
        let mut target = None;
        let mut versions = Vec::new();
        for id in tenant_ids {
            let Some((version, json)) = store
                .directory_document(id)
                .await
                .map_err(|e| EditFailure::Store(e.into()))?
            else {
                return Err(EditFailure::Store(PersistError::Invalid(ConfigErrors {
                    problems: vec![format!("the store holds no directory for tenant {id}")],
                })));
            };
            versions.push(version);
            let mut document = stored::from_json(&json).map_err(EditFailure::Invalid)?;
            if id == tenant_id {
                let out = edit(&mut document.entries, current).map_err(EditFailure::Refused)?;
                target = Some((version, stored::to_json(&document), out));
            }
            sources.push(Source {
                label: String::new(),
                file: document.entries,
                base_dir: PathBuf::from("."),
            });
        }
        let Some((version, json, out)) = target else {
            return Err(EditFailure::Refused(format!(
                "tenant {tenant_id} is not served here"
            )));
        };
        let mut directories = config::build_all(sources).map_err(EditFailure::Invalid)?;
        match store
            .put_directory_document(tenant_id, Some(version), &json, now)
            .await
            .map_err(|e| EditFailure::Store(e.into()))?
        {
            Some(new_version) => {
                for (directory, version) in directories.iter_mut().zip(&versions) {
                    directory.version = if directory.tenant.id == tenant_id {
                        new_version
                    } else {
                        *version
                    };
                }
                if let Err(e) = store.announce_directory_change().await {
                    tracing::warn!(error = %e, "directory change not announced; other replicas see it when they next reload");
                }
                return Ok((out, directories));
            }
            None => continue,
        }
    }
    Err(EditFailure::Store(PersistError::Contended))
}

/// The stored directory of `tenant_id` as a tenant file (TOML), for
/// `rolegate idp export`: what Graph changed included, secrets and
/// passwords as their argon2 hashes (`hash`, `password_hash`), certificates
/// inline. Loading it as a tenant file gives the same directory.
pub async fn export(store: &dyn Store, tenant_id: &str) -> Result<String, PersistError> {
    let Some((_, json)) = store.directory_document(tenant_id).await? else {
        return Err(PersistError::Invalid(ConfigErrors {
            problems: vec![format!(
                "the store holds no directory for tenant {tenant_id}: start the provider with its tenant file once"
            )],
        }));
    };
    let file = stored::from_json(&json)
        .map_err(PersistError::Invalid)?
        .entries;
    let toml = toml::to_string(&file).map_err(|e| {
        PersistError::Invalid(ConfigErrors {
            problems: vec![format!("cannot write the directory as TOML: {e}")],
        })
    })?;
    Ok(format!(
        "# The directory of tenant {tenant_id} as `rolegate idp export` wrote it: a tenant file\n\
         # (client secrets and passwords as argon2 hashes).\n{toml}"
    ))
}
