use std::path::PathBuf;
use std::sync::Arc;

use super::*;
use crate::secret;
use crate::store::conformance::{Backend, code, key, refresh};

/// A database file in the temp dir, removed (with its WAL files) on drop.
struct TempDb(PathBuf);

impl TempDb {
    fn new() -> TempDb {
        TempDb(std::env::temp_dir().join(format!("rolegate-store-{}.db", secret::random_token(9))))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The conformance suite's SQLite: a file in WAL mode, which a second
/// [`SqliteStore`] (its own pool, as another process would) opens too.
struct SqliteFile {
    db: TempDb,
    store: SqliteStore,
}

impl Backend for SqliteFile {
    async fn create() -> Option<SqliteFile> {
        let db = TempDb::new();
        let store = SqliteStore::open(&db.0).await.unwrap();
        Some(SqliteFile { db, store })
    }

    fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.store.clone())
    }

    async fn replica(&self) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open(&self.db.0).await.unwrap())
    }

    async fn remove(self) {
        self.store.pool.close().await;
    }
}

mod conformance {
    crate::store::conformance::suite!(super::SqliteFile);
}

#[tokio::test]
async fn state_survives_reopening_the_file() {
    let db = TempDb::new();
    {
        let store = SqliteStore::open(&db.0).await.unwrap();
        store.put_code(&code([1; 32])).await.unwrap();
        store.put_refresh(&refresh([1; 32], "fam")).await.unwrap();
        store.put_key(&key("k", 1)).await.unwrap();
        store
            .grant_consent("c", "u", "api", &["read".to_owned()])
            .await
            .unwrap();
        store.pool.close().await;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&db.0).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the database holds private keys");
    }
    let store = SqliteStore::open(&db.0).await.unwrap();
    assert_eq!(
        store.take_code(&[1; 32], "f").await.unwrap(),
        CodeRedemption::Redeemed(Box::new(code([1; 32])))
    );
    assert_eq!(
        store.refresh(&[1; 32]).await.unwrap(),
        Some(refresh([1; 32], "fam"))
    );
    assert_eq!(store.keys().await.unwrap(), vec![key("k", 1)]);
    assert_eq!(
        store.consented_scopes("c", "u", "api").await.unwrap(),
        vec!["read".to_owned()]
    );
}

#[test]
fn every_migration_file_is_embedded() {
    super::super::migrations::assert_every_file_is_embedded(MIGRATIONS, "sqlite");
}

#[tokio::test]
async fn a_schema_newer_than_this_rolegate_is_refused() {
    let db = TempDb::new();
    let store = SqliteStore::open(&db.0).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9001, 'from the future', TRUE, x'00', 0)",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    store.pool.close().await;
    let err = SqliteStore::open(&db.0).await.unwrap_err().to_string();
    assert!(
        err.contains("schema version 9001") && err.contains("too new"),
        "{err}"
    );
}
