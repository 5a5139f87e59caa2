//! PostgreSQL: the conformance suite, plus what only this backend does
//! (migrations under a lock, version checks, keys sealed at rest). Each
//! test gets a database of its own on the server `ROLEGATE_TEST_POSTGRES`
//! names (see `rolegate_testkit::postgres`); without it they are skipped,
//! loudly, and under CI they fail.

use std::sync::Arc;

use base64::Engine as _;
use rolegate_testkit::postgres::{self as testdb, TestDatabase};

use super::*;
use crate::keys::SigningKeys;
use crate::store::conformance::{Backend, key};
use crate::store::key_encryption::generate_key_encryption_key;

/// The conformance suite's PostgreSQL: a fresh database; a replica is
/// another [`PostgresStore`] (its own pool) opened on it.
struct PostgresDb {
    db: TestDatabase,
    url: PostgresUrl,
    kek: KeyEncryptionKey,
    store: PostgresStore,
}

impl Backend for PostgresDb {
    async fn create() -> Option<PostgresDb> {
        let db = TestDatabase::create().await?;
        let url = PostgresUrl::parse(db.url()).unwrap();
        let kek = fresh_kek();
        let store = PostgresStore::open(&url, kek.clone()).await.unwrap();
        Some(PostgresDb {
            db,
            url,
            kek,
            store,
        })
    }

    fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.store.clone())
    }

    async fn replica(&self) -> Arc<dyn Store> {
        Arc::new(
            PostgresStore::open(&self.url, self.kek.clone())
                .await
                .unwrap(),
        )
    }

    async fn remove(self) {
        self.store.close().await;
        drop(self.db);
    }
}

mod conformance {
    crate::store::conformance::suite!(super::PostgresDb);
}

fn fresh_kek() -> KeyEncryptionKey {
    KeyEncryptionKey::from_base64(&generate_key_encryption_key().unwrap()).unwrap()
}

/// The test database's URL with a password added (the test cluster trusts
/// loopback, so the server ignores it): messages must never show it.
fn with_password(db: &TestDatabase) -> PostgresUrl {
    let mut url = url::Url::parse(db.url()).unwrap();
    url.set_password(Some("hunter2")).unwrap();
    PostgresUrl::parse(url.as_str()).unwrap()
}

/// The one test that always says whether the PostgreSQL tests ran
/// (`.config/nextest.toml` shows its output even when it passes).
#[test]
fn postgres_store_tests_run_or_say_loudly_why_not() {
    if let Some(server) = testdb::server_url() {
        let shown = PostgresUrl::parse(&server)
            .map(|url| url.redacted())
            .unwrap_or_else(|e| {
                panic!("{} is not a postgres:// URL: {e}", testdb::SERVER_VARIABLE)
            });
        eprintln!("PostgreSQL store tests run against {shown}");
    }
}

#[test]
fn every_migration_file_is_embedded() {
    super::super::migrations::assert_every_file_is_embedded(startup::MIGRATIONS, "postgres");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_starting_together_all_migrate() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = PostgresUrl::parse(db.url()).unwrap();
    let kek = fresh_kek();
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let (url, kek) = (url.clone(), kek.clone());
            tokio::spawn(async move { PostgresStore::open(&url, kek).await })
        })
        .collect();
    let mut stores = Vec::new();
    for open in opens {
        stores.push(open.await.unwrap().unwrap());
    }
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&stores[0].pool)
            .await
            .unwrap();
    assert_eq!(applied, [1, 2, 3], "each migration applied once");
    for store in stores {
        store.close().await;
    }
}

#[tokio::test]
async fn a_schema_newer_than_this_rolegate_is_refused() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = with_password(&db);
    let store = PostgresStore::open(&url, fresh_kek()).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9001, 'from the future', TRUE, '\\x00', 0)",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    store.close().await;
    let err = PostgresStore::open(&url, fresh_kek()).await.unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::SchemaTooNew {
                found: 9001,
                known: 3,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("too new: upgrade rolegate") && message.contains(&url.redacted()),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

/// Needs no server: nothing listens on port 1.
#[tokio::test]
async fn an_unreachable_database_is_named_without_its_password() {
    let url = PostgresUrl::parse("postgres://rolegate:hunter2@127.0.0.1:1/idp").unwrap();
    let err = PostgresStore::open(&url, fresh_kek()).await.unwrap_err();
    assert!(matches!(err, OpenError::Connect { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with(
            "cannot connect to the PostgreSQL database postgres://rolegate@127.0.0.1:1/idp: "
        ),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
    assert!(!format!("{err:?}").contains("hunter2"));
}

#[tokio::test]
async fn a_missing_database_is_named_without_its_password() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = with_password(&db).with_database("rolegate_no_such_database");
    let err = PostgresStore::open(&url, fresh_kek()).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, OpenError::Connect { .. }), "{message}");
    assert!(
        message.contains(&url.redacted()) && message.contains("rolegate_no_such_database"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn signing_keys_are_sealed_at_rest() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = PostgresUrl::parse(db.url()).unwrap();
    let kek_line = generate_key_encryption_key().unwrap();
    let kek = KeyEncryptionKey::from_base64(&kek_line).unwrap();
    let store = PostgresStore::open(&url, kek.clone()).await.unwrap();
    let secret: Vec<u8> = (0..=255u8).cycle().take(1_200).collect();
    let record = KeyRecord {
        pkcs8: secret.clone(),
        ..key("kid-1", 10)
    };
    store.put_key(&record).await.unwrap();
    store
        .update_key(&KeyRecord {
            retired_at: Some(20),
            ..record.clone()
        })
        .await
        .unwrap();

    // What the database holds: the sealed key, opening only with the KEK
    // and this kid; neither the key nor the KEK in any column.
    let sealed: Vec<u8> =
        sqlx::query_scalar("SELECT pkcs8_sealed FROM signing_keys WHERE kid = 'kid-1'")
            .fetch_one(&store.pool)
            .await
            .unwrap();
    assert_eq!(kek.open("kid-1", &sealed).unwrap(), secret);
    assert!(kek.open("kid-2", &sealed).is_err());
    assert!(
        !sealed
            .windows(32)
            .any(|w| secret.windows(32).any(|s| s == w)),
        "no run of the private key appears in the sealed form"
    );
    let row_text: String = sqlx::query_scalar("SELECT row_to_json(k)::text FROM signing_keys k")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert!(!row_text.contains(&kek_line), "{row_text}");
    let dump: String = sqlx::query_scalar(
        "SELECT string_agg(encode(pkcs8_sealed, 'base64') || encode(certificate, 'base64'), '') FROM signing_keys",
    )
    .fetch_one(&store.pool)
    .await
    .unwrap();
    let plain_b64 = base64::engine::general_purpose::STANDARD.encode(&secret[..48]);
    assert!(!dump.contains(&plain_b64));

    // And through the trait, the key as it was.
    assert_eq!(
        store.keys().await.unwrap(),
        vec![KeyRecord {
            retired_at: Some(20),
            ..record
        }]
    );
    store.close().await;
}

#[tokio::test]
async fn a_kek_that_cannot_decrypt_the_stored_keys_refuses_to_start() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = with_password(&db);
    let store = PostgresStore::open(&url, fresh_kek()).await.unwrap();
    store.put_key(&key("kid-1", 10)).await.unwrap();
    store.close().await;

    let err = PostgresStore::open(&url, fresh_kek()).await.unwrap_err();
    assert!(
        matches!(&err, OpenError::WrongKeyEncryptionKey { kid, .. } if kid == "kid-1"),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("the key-encryption key cannot decrypt the signing keys stored in")
            && message.contains(&url.redacted()),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

/// Replicas starting together on an empty database: under the signing-key
/// lock ([`SigningKeys::load_or_create`] takes it), one creates the keys and
/// the others load them, so all sign with one key and publish one JWKS.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_starting_together_share_one_set_of_signing_keys() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = PostgresUrl::parse(db.url()).unwrap();
    let kek = fresh_kek();
    let starts: Vec<_> = (0..3)
        .map(|_| {
            let (url, kek) = (url.clone(), kek.clone());
            tokio::spawn(async move {
                let store = PostgresStore::open(&url, kek).await.unwrap();
                let keys = SigningKeys::load_or_create(Arc::new(store.clone()), 1_000)
                    .await
                    .unwrap();
                (store, keys)
            })
        })
        .collect();
    let mut replicas = Vec::new();
    for start in starts {
        replicas.push(start.await.unwrap());
    }
    let (first_store, first_keys) = &replicas[0];
    assert_eq!(first_store.keys().await.unwrap().len(), 2, "current + next");
    for (_, keys) in &replicas {
        assert_eq!(keys.current_kid(1_000), first_keys.current_kid(1_000));
        assert_eq!(keys.jwks(None, 1_000), first_keys.jwks(None, 1_000));
    }
    for (store, _) in replicas {
        store.close().await;
    }
}

/// A tool opening a database with an older schema refuses instead of
/// upgrading it under running replicas; a provider upgrades it.
#[tokio::test]
async fn tools_never_upgrade_a_schema_providers_do() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = PostgresUrl::parse(db.url()).unwrap();
    let kek = fresh_kek();
    let store = PostgresStore::open(&url, kek.clone()).await.unwrap();
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    store.close().await;
    let err = PostgresStore::open_existing(&url, kek.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, OpenError::SchemaTooOld { .. }), "{err:?}");
    assert!(
        err.to_string().contains("older than this rolegate knows"),
        "{err}"
    );
}
