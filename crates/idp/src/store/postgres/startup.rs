//! Opening a PostgreSQL store: connecting, checking the server and the
//! schema version, migrating under a lock, checking the key-encryption key.

use std::time::Duration;

use sqlx::Connection as _;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnection, PgPoolOptions};

use super::{POOL_SIZE, PostgresStore, PostgresUrl};
use crate::store::key_encryption::KeyEncryptionKey;
use crate::store::migrations::Embedded;

/// Why a PostgreSQL store could not be opened. Every message names the
/// database by its URL without the password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The server could not be reached, refused the credentials, or has no
    /// such database.
    #[error("cannot connect to the PostgreSQL database {url}: {source}")]
    Connect {
        /// The database.
        url: PostgresUrl,
        /// What sqlx reported.
        source: sqlx::Error,
    },
    /// The migrations failed (the database is left as the last complete
    /// migration made it).
    #[error("cannot bring the PostgreSQL database {url} up to date: {source}")]
    Migrate {
        /// The database.
        url: PostgresUrl,
        /// What sqlx reported.
        source: MigrateError,
    },
    /// A query during start-up failed.
    #[error("cannot read the PostgreSQL database {url}: {source}")]
    Query {
        /// The database.
        url: PostgresUrl,
        /// What sqlx reported.
        source: sqlx::Error,
    },
    /// A newer rolegate migrated the database: this one does not know its
    /// schema.
    #[error(
        "the PostgreSQL database {url} has schema version {found}, newer than this rolegate knows \
         ({known}): too new: upgrade rolegate"
    )]
    SchemaTooNew {
        /// The database.
        url: PostgresUrl,
        /// The newest migration applied to it.
        found: i64,
        /// The newest migration this binary has.
        known: i64,
    },
    /// A tool (not a provider) found a schema older than it knows: it does
    /// not migrate.
    #[error(
        "the PostgreSQL database {url} has schema version {found}, older than this rolegate knows \
         ({known}): start a provider of this version once to bring it up to date, or use the \
         rolegate that matches the running replicas"
    )]
    SchemaTooOld {
        /// The database.
        url: PostgresUrl,
        /// The newest migration applied to it.
        found: i64,
        /// The newest migration this binary has.
        known: i64,
    },
    /// The server is older than [`MINIMUM_SERVER_VERSION`].
    #[error("the PostgreSQL server of {url} is version {found}; rolegate needs {minimum} or newer")]
    ServerTooOld {
        /// The database.
        url: PostgresUrl,
        /// `server_version_num` (e.g. 150004 for 15.4).
        found: i32,
        /// [`MINIMUM_SERVER_VERSION`].
        minimum: i32,
    },
    /// A stored signing key does not open with the key-encryption key given.
    #[error(
        "the key-encryption key cannot decrypt the signing keys stored in {url} (key {kid:?} does \
         not open): start with the KEK they were stored with"
    )]
    WrongKeyEncryptionKey {
        /// The database.
        url: PostgresUrl,
        /// The first key that did not open.
        kid: String,
    },
}

impl PostgresStore {
    /// Connects to `url`, checks the server version, brings the schema up
    /// to date (holding a session advisory lock, so replicas starting
    /// together take turns) and checks that `kek` opens every stored
    /// signing key.
    ///
    /// # Security
    ///
    /// Use `sslmode=verify-full` (with `sslrootcert=`) in `url` when the
    /// database is not on this host: the connection carries session and
    /// token digests, which a network attacker could otherwise change.
    pub async fn open(
        url: &PostgresUrl,
        kek: KeyEncryptionKey,
    ) -> Result<PostgresStore, OpenError> {
        Self::open_with(url, kek, true).await
    }

    /// [`open`](Self::open) for tools (`rotate-keys`, `rekey`, `export`,
    /// `probe`): the same checks, but a database that has a schema must
    /// already have the one this binary knows — a tool never upgrades a
    /// database running replicas use (an empty one it sets up).
    pub async fn open_existing(
        url: &PostgresUrl,
        kek: KeyEncryptionKey,
    ) -> Result<PostgresStore, OpenError> {
        Self::open_with(url, kek, false).await
    }

    async fn open_with(
        url: &PostgresUrl,
        kek: KeyEncryptionKey,
        may_migrate: bool,
    ) -> Result<PostgresStore, OpenError> {
        let connect_error = |source| OpenError::Connect {
            url: url.clone(),
            source,
        };
        let options = url.connect_options().map_err(connect_error)?;
        let mut setup = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .unwrap_or_else(|_| Err(timed_out()))
            .map_err(connect_error)?;
        let migrated = migrate(&mut setup, url, may_migrate).await;
        // Closing the session also releases the migration lock.
        let _ = setup.close().await;
        migrated?;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        let store = PostgresStore {
            pool,
            kek,
            url: url.clone(),
        };
        store.check_key_encryption_key().await?;
        Ok(store)
    }

    /// Fails if a stored key does not open with this store's KEK.
    async fn check_key_encryption_key(&self) -> Result<(), OpenError> {
        let rows: Vec<(String, Vec<u8>)> =
            sqlx::query_as("SELECT kid, pkcs8_sealed FROM signing_keys ORDER BY created_at, seq")
                .fetch_all(&self.pool)
                .await
                .map_err(|source| OpenError::Query {
                    url: self.url.clone(),
                    source,
                })?;
        for (kid, sealed) in rows {
            if self.kek.open(&kid, &sealed).is_err() {
                return Err(OpenError::WrongKeyEncryptionKey {
                    url: self.url.clone(),
                    kid,
                });
            }
        }
        Ok(())
    }
}

/// Checks the server, then applies the migrations this binary has and the
/// database lacks, holding [`MIGRATION_LOCK`] for the session (`conn` is
/// closed afterwards, which releases it even on failure).
async fn migrate(
    conn: &mut PgConnection,
    url: &PostgresUrl,
    may_migrate: bool,
) -> Result<(), OpenError> {
    let query_error = |source| OpenError::Query {
        url: url.clone(),
        source,
    };
    let version: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int")
        .fetch_one(&mut *conn)
        .await
        .map_err(query_error)?;
    if version < MINIMUM_SERVER_VERSION {
        return Err(OpenError::ServerTooOld {
            url: url.clone(),
            found: version,
            minimum: MINIMUM_SERVER_VERSION,
        });
    }
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *conn)
        .await
        .map_err(query_error)?;
    let has_table: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .map_err(query_error)?;
    let applied: Option<i64> = if has_table {
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
            .fetch_one(&mut *conn)
            .await
            .map_err(query_error)?
    } else {
        None
    };
    let known = MIGRATIONS.latest();
    if let Some(found) = applied.filter(|found| *found > known) {
        return Err(OpenError::SchemaTooNew {
            url: url.clone(),
            found,
            known,
        });
    }
    // A tool may create the schema of an empty database (no replica can be
    // using it) but never upgrades one.
    if !may_migrate && let Some(found) = applied {
        if found < known {
            return Err(OpenError::SchemaTooOld {
                url: url.clone(),
                found,
                known,
            });
        }
        return Ok(());
    }
    let mut migrator = Migrator::new(MIGRATIONS)
        .await
        .map_err(|source| OpenError::Migrate {
            url: url.clone(),
            source,
        })?;
    // This session already holds the lock. `run_direct` is `run` on one
    // connection; `run(&mut *conn)` does not compile inside a future that
    // must be `Send` (sqlx's `Acquire` is not general enough for that).
    migrator.set_locking(false);
    migrator
        .run_direct(conn)
        .await
        .map_err(|source| OpenError::Migrate {
            url: url.clone(),
            source,
        })
}

fn timed_out() -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("no connection within {}s", CONNECT_TIMEOUT.as_secs()),
    ))
}

/// The oldest PostgreSQL accepted, as `server_version_num`: 13 (nothing the
/// schema uses is newer, but older releases are out of upstream support; CI
/// runs Debian 12's PostgreSQL 15).
pub const MINIMUM_SERVER_VERSION: i32 = 130_000;

/// How long to wait for a connection (at start-up and from the pool).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The session advisory lock the migrations run under ("rolegate" in ASCII).
const MIGRATION_LOCK: i64 = 0x726f_6c65_6761_7465;

/// `crates/idp/migrations/postgres/`, in order.
pub(super) const MIGRATIONS: Embedded = Embedded(&[
    (
        1,
        "initial",
        include_str!("../../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "throttles",
        include_str!("../../../migrations/postgres/0002_throttles.sql"),
    ),
    (
        3,
        "directory",
        include_str!("../../../migrations/postgres/0003_directory.sql"),
    ),
]);
