//! Migrations compiled into the binary, one set per backend:
//! `crates/idp/migrations/sqlite/` and `crates/idp/migrations/postgres/`.
//!
//! The files are listed by hand (the `migrate!` macro needs sqlx's proc
//! macros); versions and descriptions follow the file names as
//! `sqlx migrate` reads them, which a test per backend checks.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType};

/// A backend's migrations: (version, description, SQL), in order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Embedded(pub(crate) &'static [(i64, &'static str, &'static str)]);

impl Embedded {
    /// The highest version this binary knows.
    pub(crate) fn latest(self) -> i64 {
        self.0
            .iter()
            .map(|(version, _, _)| *version)
            .max()
            .unwrap_or(0)
    }
}

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// Asserts that `embedded` lists exactly the `.sql` files of
/// `crates/idp/migrations/{backend}/`, with their contents.
#[cfg(test)]
pub(crate) fn assert_every_file_is_embedded(embedded: Embedded, backend: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut on_disk: Vec<(i64, String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .map(|path| {
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let (version, description) = stem.split_once('_').unwrap();
            let sql = std::fs::read_to_string(&path).unwrap();
            (version.parse().unwrap(), description.replace('_', " "), sql)
        })
        .collect();
    on_disk.sort();
    let listed: Vec<(i64, String, String)> = embedded
        .0
        .iter()
        .map(|(version, description, sql)| (*version, (*description).to_owned(), (*sql).to_owned()))
        .collect();
    assert_eq!(listed, on_disk, "list new files in {backend}'s MIGRATIONS");
}
