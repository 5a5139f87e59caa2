//! The SQLite backend: one database file in WAL mode.
//!
//! Single-use operations are single statements or `BEGIN IMMEDIATE`
//! transactions, so they stay atomic across the pool's connections (and
//! across processes sharing the file): a code is consumed by one
//! `DELETE … RETURNING`, a refresh token is rotated while holding the write
//! lock.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};

use super::migrations::Embedded;
use super::{
    AssertionJti, AuthCode, CodeRedemption, DeviceGrant, DeviceState, Digest, JtiUse, KeyRecord,
    LOGIN_FAILURE_RETENTION, PendingConsent, Redemption, RefreshRecord, Session, SigningKeyLock,
    Store, StoreError, user_code_key,
};

/// A [`Store`] kept in SQLite.
///
/// Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its
    /// schema up to date.
    ///
    /// The file is created readable by its owner only: it holds the signing
    /// keys. Connections use WAL journaling, `synchronous=NORMAL`, foreign
    /// keys and a 5 s busy timeout.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        create_private_file(path)?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_SIZE)
            .connect_with(options)
            .await
            .context("open database")?;
        Self::migrated(pool).await
    }

    /// Opens the existing database at `path` read-only, without creating
    /// or migrating anything: for tools that only read it (`rolegate probe`
    /// signs with the provider's keys while the provider runs).
    pub async fn open_read_only(path: &Path) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .context("open database read-only")?;
        Ok(SqliteStore { pool })
    }

    /// A private in-memory database, for tests: one connection that lives
    /// as long as the store.
    pub async fn in_memory() -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .context("in-memory database options")?
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .context("open in-memory database")?;
        Self::migrated(pool).await
    }

    async fn migrated(pool: SqlitePool) -> Result<SqliteStore, StoreError> {
        let applied: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
            .fetch_one(&pool)
            .await
            .or_else(|e| match &e {
                // No migrations table yet: a new database.
                sqlx::Error::Database(db) if db.message().contains("no such table") => Ok(None),
                _ => Err(e),
            })
            .context("read the schema version")?;
        let known = MIGRATIONS.latest();
        if let Some(found) = applied.filter(|found| *found > known) {
            return Err(StoreError(format!(
                "the database has schema version {found}, newer than this rolegate knows \
                 ({known}): too new: a newer rolegate wrote it; upgrade rolegate, or start with \
                 another --data-dir"
            )));
        }
        let migrator = Migrator::new(MIGRATIONS).await.context("load migrations")?;
        migrator
            .run(&pool)
            .await
            .map_err(|e| StoreError(format!("migrate database: {e}")))?;
        Ok(SqliteStore { pool })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn put_code(&self, code: &AuthCode) -> Result<(), StoreError> {
        let (challenge, method) = match &code.code_challenge {
            Some((challenge, method)) => (Some(challenge.as_str()), Some(method.as_str())),
            None => (None, None),
        };
        sqlx::query(
            "INSERT INTO codes (digest, client_id, redirect_uri, user_id, scope, nonce, code_challenge, \
             code_challenge_method, session_id, auth_time, tenant_path, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(code.digest.as_slice())
        .bind(&code.client_id)
        .bind(&code.redirect_uri)
        .bind(&code.user_id)
        .bind(&code.scope)
        .bind(code.nonce.as_deref())
        .bind(challenge)
        .bind(method)
        .bind(&code.session_id)
        .bind(code.auth_time)
        .bind(&code.tenant_path)
        .bind(code.expires_at)
        .execute(&self.pool)
        .await
        .context("store code")?;
        Ok(())
    }

    async fn take_code(
        &self,
        digest: &Digest,
        family_id: &str,
    ) -> Result<CodeRedemption, StoreError> {
        // One statement marks the code: of concurrent redemptions, exactly
        // one sees `redeemed_family` still empty.
        let row = sqlx::query(
            "UPDATE codes SET redeemed_family = ? WHERE digest = ? AND redeemed_family IS NULL RETURNING *",
        )
        .bind(family_id)
        .bind(digest.as_slice())
        .fetch_optional(&self.pool)
        .await
        .context("take code")?;
        if let Some(row) = row {
            return code_from_row(&row).map(|code| CodeRedemption::Redeemed(Box::new(code)));
        }
        let family: Option<Option<String>> =
            sqlx::query_scalar("SELECT redeemed_family FROM codes WHERE digest = ?")
                .bind(digest.as_slice())
                .fetch_optional(&self.pool)
                .await
                .context("look up redeemed code")?;
        Ok(match family {
            Some(family_id) => CodeRedemption::Replayed { family_id },
            None => CodeRedemption::Unknown,
        })
    }

    async fn put_refresh(&self, record: &RefreshRecord) -> Result<(), StoreError> {
        insert_refresh(&self.pool, record).await
    }

    async fn rotate_refresh(
        &self,
        digest: &Digest,
        successor: &RefreshRecord,
        now: i64,
    ) -> Result<Redemption, StoreError> {
        // IMMEDIATE takes the write lock up front: a concurrent rotation of
        // the same token waits, then finds it used.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .context("begin rotation")?;
        let outcome = rotate_locked(&mut tx, digest, successor, now).await?;
        tx.commit().await.context("commit rotation")?;
        Ok(outcome)
    }

    /// Revoked tokens are reported as absent.
    async fn refresh(&self, digest: &Digest) -> Result<Option<RefreshRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM refresh_tokens WHERE digest = ? AND revoked = 0")
            .bind(digest.as_slice())
            .fetch_optional(&self.pool)
            .await
            .context("look up refresh token")?;
        row.as_ref().map(refresh_from_row).transpose()
    }

    /// Also remembers the revocation for a day, so a token stored into the
    /// family later (its first redemption still being answered) is born
    /// revoked.
    async fn revoke_family(&self, family_id: &str) -> Result<(), StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .context("begin family revocation")?;
        sqlx::query(
            "INSERT INTO revoked_families (family_id, expires_at) \
             VALUES (?, CAST(strftime('%s', 'now') AS INTEGER) + ?) \
             ON CONFLICT (family_id) DO NOTHING",
        )
        .bind(family_id)
        .bind(super::REVOCATION_MEMORY)
        .execute(&mut *tx)
        .await
        .context("remember revoked family")?;
        sqlx::query("UPDATE refresh_tokens SET revoked = 1 WHERE family_id = ?")
            .bind(family_id)
            .execute(&mut *tx)
            .await
            .context("revoke refresh family")?;
        tx.commit().await.context("commit family revocation")?;
        Ok(())
    }

    /// Replaces a session with the same id.
    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id, secret_digest, user_id, auth_time, expires_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET secret_digest = excluded.secret_digest, user_id = excluded.user_id, \
             auth_time = excluded.auth_time, expires_at = excluded.expires_at",
        )
        .bind(&session.id)
        .bind(session.secret_digest.as_slice())
        .bind(&session.user_id)
        .bind(session.auth_time)
        .bind(session.expires_at)
        .execute(&self.pool)
        .await
        .context("store session")?;
        Ok(())
    }

    async fn session(&self, secret_digest: &Digest) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query("SELECT * FROM sessions WHERE secret_digest = ?")
            .bind(secret_digest.as_slice())
            .fetch_optional(&self.pool)
            .await
            .context("look up session")?;
        row.as_ref()
            .map(|row| -> Result<Session, sqlx::Error> {
                Ok(Session {
                    id: row.try_get("id")?,
                    secret_digest: *secret_digest,
                    user_id: row.try_get("user_id")?,
                    auth_time: row.try_get("auth_time")?,
                    expires_at: row.try_get("expires_at")?,
                })
            })
            .transpose()
            .context("decode session")
    }

    async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .context("begin session delete")?;
        for statement in [
            "DELETE FROM sessions WHERE id = ?",
            "DELETE FROM session_clients WHERE session_id = ?",
        ] {
            sqlx::query(statement)
                .bind(id)
                .execute(&mut *tx)
                .await
                .context("delete session")?;
        }
        tx.commit().await.context("commit session delete")
    }

    async fn add_session_client(
        &self,
        session_id: &str,
        client_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT OR IGNORE INTO session_clients (session_id, client_id) VALUES (?, ?)")
            .bind(session_id)
            .bind(client_id)
            .execute(&self.pool)
            .await
            .context("record session client")?;
        Ok(())
    }

    async fn session_clients(&self, session_id: &str) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT client_id FROM session_clients WHERE session_id = ? ORDER BY client_id",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await
        .context("list session clients")
    }

    async fn user_consents(
        &self,
        limit: u32,
    ) -> Result<Vec<(String, String, String, Vec<String>)>, StoreError> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT client_id, user_id, resource_app_id, scope FROM consents \
             ORDER BY client_id, user_id, resource_app_id, scope LIMIT ?",
        )
        .bind(i64::from(limit).saturating_mul(64))
        .fetch_all(&self.pool)
        .await
        .context("list consents")?;
        let mut grants: Vec<(String, String, String, Vec<String>)> = Vec::new();
        for (client, user, resource, scope) in rows {
            let full = grants.len() >= limit as usize;
            match grants.last_mut() {
                Some(last) if last.0 == client && last.1 == user && last.2 == resource => {
                    last.3.push(scope)
                }
                _ if full => break,
                _ => grants.push((client, user, resource, vec![scope])),
            }
        }
        Ok(grants)
    }

    async fn revoke_consent(
        &self,
        client_id: &str,
        user_id: &str,
        resource_app_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM consents WHERE client_id = ? AND user_id = ? AND resource_app_id = ?",
        )
        .bind(client_id)
        .bind(user_id)
        .bind(resource_app_id)
        .execute(&self.pool)
        .await
        .context("revoke consent")?;
        Ok(done.rows_affected() > 0)
    }

    async fn grant_consent(
        &self,
        client_id: &str,
        user_id: &str,
        resource_app_id: &str,
        scopes: &[String],
    ) -> Result<(), StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .context("begin consent")?;
        for scope in scopes {
            sqlx::query("INSERT OR IGNORE INTO consents (client_id, user_id, resource_app_id, scope) VALUES (?, ?, ?, ?)")
                .bind(client_id)
                .bind(user_id)
                .bind(resource_app_id)
                .bind(scope)
                .execute(&mut *tx)
                .await
                .context("store consent")?;
        }
        tx.commit().await.context("commit consent")
    }

    /// Sorted, without duplicates.
    async fn consented_scopes(
        &self,
        client_id: &str,
        user_id: &str,
        resource_app_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT scope FROM consents WHERE client_id = ? AND user_id = ? AND resource_app_id = ? ORDER BY scope",
        )
        .bind(client_id)
        .bind(user_id)
        .bind(resource_app_id)
        .fetch_all(&self.pool)
        .await
        .context("look up consent")
    }

    async fn put_pending_consent(&self, pending: &PendingConsent) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pending_consents (digest, session_id, client_id, resource_app_id, scope, request, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(pending.digest.as_slice())
        .bind(&pending.session_id)
        .bind(&pending.client_id)
        .bind(&pending.resource_app_id)
        .bind(pending.scopes.join(" "))
        .bind(&pending.request)
        .bind(pending.expires_at)
        .execute(&self.pool)
        .await
        .context("store pending consent")?;
        Ok(())
    }

    async fn take_pending_consent(
        &self,
        digest: &Digest,
    ) -> Result<Option<PendingConsent>, StoreError> {
        let row = sqlx::query("DELETE FROM pending_consents WHERE digest = ? RETURNING *")
            .bind(digest.as_slice())
            .fetch_optional(&self.pool)
            .await
            .context("take pending consent")?;
        row.as_ref()
            .map(|row| -> Result<PendingConsent, sqlx::Error> {
                let scope: String = row.try_get("scope")?;
                Ok(PendingConsent {
                    digest: *digest,
                    session_id: row.try_get("session_id")?,
                    client_id: row.try_get("client_id")?,
                    resource_app_id: row.try_get("resource_app_id")?,
                    scopes: scope.split_whitespace().map(str::to_owned).collect(),
                    request: row.try_get("request")?,
                    expires_at: row.try_get("expires_at")?,
                })
            })
            .transpose()
            .context("decode pending consent")
    }

    async fn server_secret(&self, name: &str, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
        sqlx::query("INSERT OR IGNORE INTO server_secrets (name, value) VALUES (?, ?)")
            .bind(name)
            .bind(fresh)
            .execute(&self.pool)
            .await
            .context("store server secret")?;
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = ?")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .context("read server secret")
    }

    async fn put_device(&self, grant: &DeviceGrant) -> Result<(), StoreError> {
        let (state, user_id, auth_time) = state_columns(&grant.state);
        sqlx::query(
            "INSERT INTO device_grants (digest, user_code, user_code_key, client_id, scope, expires_at, state, \
             user_id, auth_time, tenant_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(grant.digest.as_slice())
        .bind(&grant.user_code)
        .bind(user_code_key(&grant.user_code))
        .bind(&grant.client_id)
        .bind(&grant.scope)
        .bind(grant.expires_at)
        .bind(state)
        .bind(user_id)
        .bind(auth_time)
        .bind(&grant.tenant_path)
        .execute(&self.pool)
        .await
        .context("store device grant")?;
        Ok(())
    }

    async fn device_by_user_code(
        &self,
        user_code: &str,
    ) -> Result<Option<DeviceGrant>, StoreError> {
        let row = sqlx::query("SELECT * FROM device_grants WHERE user_code_key = ?")
            .bind(user_code_key(user_code))
            .fetch_optional(&self.pool)
            .await
            .context("look up device grant")?;
        row.as_ref().map(device_from_row).transpose()
    }

    async fn decide_device(
        &self,
        user_code: &str,
        state: &DeviceState,
    ) -> Result<bool, StoreError> {
        let (state, user_id, auth_time) = state_columns(state);
        let result = sqlx::query(
            "UPDATE device_grants SET state = ?, user_id = ?, auth_time = ? \
             WHERE user_code_key = ? AND state = 'pending'",
        )
        .bind(state)
        .bind(user_id)
        .bind(auth_time)
        .bind(user_code_key(user_code))
        .execute(&self.pool)
        .await
        .context("decide device grant")?;
        Ok(result.rows_affected() == 1)
    }

    async fn poll_device(&self, digest: &Digest) -> Result<Option<DeviceGrant>, StoreError> {
        // Read and consume under the write lock, so an approval is handed
        // out exactly once even if it lands between two concurrent polls.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .context("begin device poll")?;
        let row = sqlx::query("SELECT * FROM device_grants WHERE digest = ?")
            .bind(digest.as_slice())
            .fetch_optional(&mut *tx)
            .await
            .context("poll device grant")?;
        let grant = row.as_ref().map(device_from_row).transpose()?;
        if let Some(DeviceGrant {
            state: DeviceState::Approved { .. },
            ..
        }) = &grant
        {
            sqlx::query("DELETE FROM device_grants WHERE digest = ?")
                .bind(digest.as_slice())
                .execute(&mut *tx)
                .await
                .context("consume device grant")?;
        }
        tx.commit().await.context("commit device poll")?;
        Ok(grant)
    }

    async fn install_service_principal(
        &self,
        tenant_id: &str,
        app_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO service_principals (tenant_id, app_id, created_at) VALUES (?, ?, ?) \
             ON CONFLICT (tenant_id, app_id) DO NOTHING",
        )
        .bind(tenant_id.to_ascii_lowercase())
        .bind(app_id.to_ascii_lowercase())
        .bind(now)
        .execute(&self.pool)
        .await
        .context("store service principal")?;
        Ok(())
    }

    async fn service_principal_installed(
        &self,
        tenant_id: &str,
        app_id: &str,
    ) -> Result<bool, StoreError> {
        let row =
            sqlx::query("SELECT 1 FROM service_principals WHERE tenant_id = ? AND app_id = ?")
                .bind(tenant_id.to_ascii_lowercase())
                .bind(app_id.to_ascii_lowercase())
                .fetch_optional(&self.pool)
                .await
                .context("look up service principal")?;
        Ok(row.is_some())
    }

    /// Also forgets this user's failures older than the window.
    async fn record_login_failure(
        &self,
        user_id: &str,
        now: i64,
        window: i64,
    ) -> Result<u32, StoreError> {
        let since = now.saturating_sub(window);
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .context("begin login failure")?;
        sqlx::query("DELETE FROM login_failures WHERE user_id = ? AND at <= ?")
            .bind(user_id)
            .bind(since)
            .execute(&mut *tx)
            .await
            .context("purge login failures")?;
        sqlx::query("INSERT INTO login_failures (user_id, at) VALUES (?, ?)")
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .context("record login failure")?;
        let count = count_failures(&mut tx, user_id, since).await?;
        tx.commit().await.context("commit login failure")?;
        Ok(count)
    }

    async fn login_failures(
        &self,
        user_id: &str,
        now: i64,
        window: i64,
    ) -> Result<u32, StoreError> {
        let mut conn = self.pool.acquire().await.context("acquire connection")?;
        count_failures(&mut conn, user_id, now.saturating_sub(window)).await
    }

    async fn clear_login_failures(&self, user_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE user_id = ?")
            .bind(user_id)
            .execute(&self.pool)
            .await
            .context("clear login failures")?;
        Ok(())
    }

    /// One upsert: a row per key holds its window (which starts at the
    /// key's first event) and the window's count.
    async fn count_throttle_event(
        &self,
        key: &str,
        now: i64,
        window: i64,
    ) -> Result<u32, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "INSERT INTO throttles (key, window_start, expires_at, events) VALUES (?, ?, ?, 1) \
             ON CONFLICT (key) DO UPDATE SET \
             events = CASE WHEN throttles.expires_at > excluded.window_start \
             THEN throttles.events + 1 ELSE 1 END, \
             window_start = CASE WHEN throttles.expires_at > excluded.window_start \
             THEN throttles.window_start ELSE excluded.window_start END, \
             expires_at = CASE WHEN throttles.expires_at > excluded.window_start \
             THEN throttles.expires_at ELSE excluded.expires_at END \
             RETURNING events",
        )
        .bind(key)
        .bind(now)
        .bind(now.saturating_add(window))
        .fetch_one(&self.pool)
        .await
        .context("count a throttled event")?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn throttle_events(&self, key: &str, now: i64, _window: i64) -> Result<u32, StoreError> {
        let count: Option<i64> =
            sqlx::query_scalar("SELECT events FROM throttles WHERE key = ? AND expires_at > ?")
                .bind(key)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .context("read a throttle")?;
        Ok(count.map_or(0, |c| u32::try_from(c).unwrap_or(u32::MAX)))
    }

    /// A live binding is answered from one read; a new one is counted and
    /// stored holding the write lock. A client's rows, expired ones
    /// included, never exceed `limit`.
    async fn bind_assertion_jti(
        &self,
        jti: &AssertionJti,
        now: i64,
        limit: u32,
    ) -> Result<JtiUse, StoreError> {
        if let Some(found) = live_jti(&self.pool, jti, now).await? {
            return Ok(found);
        }
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .context("begin jti binding")?;
        if let Some(found) = live_jti(&mut *tx, jti, now).await? {
            return Ok(found);
        }
        // Expired rows count too, so the client's rows never exceed
        // `limit`; at the limit its expired rows (at most `limit`) go first.
        if client_jtis(&mut tx, &jti.client_id, limit).await? >= i64::from(limit) {
            sqlx::query("DELETE FROM assertion_jtis WHERE client_id = ? AND expires_at < ?")
                .bind(&jti.client_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .context("prune client assertion jtis")?;
            if client_jtis(&mut tx, &jti.client_id, limit).await? >= i64::from(limit) {
                tx.commit().await.context("commit jti pruning")?;
                return Ok(JtiUse::Full);
            }
        }
        sqlx::query(
            "INSERT INTO assertion_jtis (client_id, jti, digest, expires_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (client_id, jti) DO UPDATE SET digest = excluded.digest, expires_at = excluded.expires_at \
             WHERE assertion_jtis.expires_at < ?",
        )
        .bind(&jti.client_id)
        .bind(&jti.jti)
        .bind(jti.digest.as_slice())
        .bind(jti.expires_at)
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("bind client assertion jti")?;
        tx.commit().await.context("commit jti binding")?;
        Ok(JtiUse::Bound)
    }

    async fn directory_document(
        &self,
        tenant_id: &str,
    ) -> Result<Option<(i64, String)>, StoreError> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT version, document FROM directory_documents WHERE tenant_id = ?")
                .bind(tenant_id)
                .fetch_optional(&self.pool)
                .await
                .context("read a directory document")?;
        Ok(row)
    }

    async fn directory_versions(&self) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query_as("SELECT tenant_id, version FROM directory_documents")
            .fetch_all(&self.pool)
            .await
            .context("read directory versions")
    }

    async fn put_directory_document(
        &self,
        tenant_id: &str,
        expected: Option<i64>,
        document: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let done = match expected {
            None => sqlx::query(
                "INSERT INTO directory_documents (tenant_id, version, document, updated_at) VALUES (?, 1, ?, ?) ON CONFLICT (tenant_id) DO NOTHING",
            )
            .bind(tenant_id)
            .bind(document)
            .bind(now)
            .execute(&self.pool)
            .await
            .context("store a directory document")?
            .rows_affected(),
            Some(version) => sqlx::query(
                "UPDATE directory_documents SET version = version + 1, document = ?, updated_at = ? WHERE tenant_id = ? AND version = ?",
            )
            .bind(document)
            .bind(now)
            .bind(tenant_id)
            .bind(version)
            .execute(&self.pool)
            .await
            .context("replace a directory document")?
            .rows_affected(),
        };
        Ok((done == 1).then(|| expected.map_or(1, |v| v + 1)))
    }

    /// Holds nothing: one provider process writes a database file's keys
    /// (`rolegate idp rotate-keys` only adds keys to an existing set).
    async fn lock_signing_keys(&self) -> Result<SigningKeyLock, StoreError> {
        Ok(SigningKeyLock::unlocked())
    }

    async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM signing_keys ORDER BY created_at, rowid")
            .fetch_all(&self.pool)
            .await
            .context("list signing keys")?;
        rows.iter()
            .map(|row| -> Result<KeyRecord, sqlx::Error> {
                Ok(KeyRecord {
                    kid: row.try_get("kid")?,
                    pkcs8: row.try_get("pkcs8")?,
                    certificate: row.try_get("certificate")?,
                    created_at: row.try_get("created_at")?,
                    active_from: row.try_get("active_from")?,
                    retired_at: row.try_get("retired_at")?,
                    unpublish_at: row.try_get("unpublish_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .context("decode signing key")
    }

    async fn put_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, pkcs8, certificate, created_at, active_from, retired_at, unpublish_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&key.kid)
        .bind(key.pkcs8.as_slice())
        .bind(key.certificate.as_slice())
        .bind(key.created_at)
        .bind(key.active_from)
        .bind(key.retired_at)
        .bind(key.unpublish_at)
        .execute(&self.pool)
        .await
        .context("store signing key")?;
        Ok(())
    }

    /// Updates `active_from`, `retired_at` and `unpublish_at`; the key
    /// material never changes.
    async fn update_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE signing_keys SET active_from = ?, retired_at = ?, unpublish_at = ? WHERE kid = ?")
            .bind(key.active_from)
            .bind(key.retired_at)
            .bind(key.unpublish_at)
            .bind(&key.kid)
            .execute(&self.pool)
            .await
            .context("update signing key")?;
        match result.rows_affected() {
            1 => Ok(()),
            _ => Err(StoreError(format!(
                "update signing key: no key with kid {:?}",
                key.kid
            ))),
        }
    }

    /// Also drops login failures older than seven days.
    async fn purge_expired(&self, now: i64) -> Result<(), StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .context("begin purge")?;
        for statement in PURGE_EXPIRED {
            sqlx::query(statement)
                .bind(now)
                .execute(&mut *tx)
                .await
                .context("purge expired rows")?;
        }
        sqlx::query(
            "DELETE FROM session_clients WHERE session_id NOT IN (SELECT id FROM sessions)",
        )
        .execute(&mut *tx)
        .await
        .context("purge session clients")?;
        sqlx::query("DELETE FROM login_failures WHERE at < ?")
            .bind(now.saturating_sub(LOGIN_FAILURE_RETENTION))
            .execute(&mut *tx)
            .await
            .context("purge login failures")?;
        tx.commit().await.context("commit purge")
    }
}

/// Attaches what was being done to a database error.
trait Context<T> {
    fn context(self, doing: &str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, sqlx::Error> {
    fn context(self, doing: &str) -> Result<T, StoreError> {
        self.map_err(|e| StoreError(format!("{doing}: {e}")))
    }
}

impl<T> Context<T> for Result<T, sqlx::migrate::MigrateError> {
    fn context(self, doing: &str) -> Result<T, StoreError> {
        self.map_err(|e| StoreError(format!("{doing}: {e}")))
    }
}

/// How many `jti`s `client_id` has stored, counting up to `limit`.
async fn client_jtis(
    conn: &mut SqliteConnection,
    client_id: &str,
    limit: u32,
) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT 1 FROM assertion_jtis WHERE client_id = ? LIMIT ?)",
    )
    .bind(client_id)
    .bind(i64::from(limit))
    .fetch_one(conn)
    .await
    .context("count client assertion jtis")
}

/// The live binding of `jti.jti`, compared with `jti.digest`.
async fn live_jti<'c, E>(
    executor: E,
    jti: &AssertionJti,
    now: i64,
) -> Result<Option<JtiUse>, StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Sqlite>,
{
    let digest: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT digest FROM assertion_jtis WHERE client_id = ? AND jti = ? AND expires_at >= ?",
    )
    .bind(&jti.client_id)
    .bind(&jti.jti)
    .bind(now)
    .fetch_optional(executor)
    .await
    .context("look up client assertion jti")?;
    Ok(digest.map(|digest| {
        if digest == jti.digest {
            JtiUse::Repeated
        } else {
            JtiUse::Conflict
        }
    }))
}

/// The body of [`Store::rotate_refresh`], run holding the write lock.
async fn rotate_locked(
    conn: &mut SqliteConnection,
    digest: &Digest,
    successor: &RefreshRecord,
    now: i64,
) -> Result<Redemption, StoreError> {
    let row = sqlx::query("SELECT * FROM refresh_tokens WHERE digest = ?")
        .bind(digest.as_slice())
        .fetch_optional(&mut *conn)
        .await
        .context("look up refresh token")?;
    let Some(row) = row else {
        return Ok(Redemption::Invalid);
    };
    let record = refresh_from_row(&row)?;
    let revoked: bool = row.try_get("revoked").context("decode refresh token")?;
    let used_at: Option<i64> = row.try_get("used_at").context("decode refresh token")?;
    if revoked || record.expires_at < now {
        return Ok(Redemption::Invalid);
    }
    if used_at.is_some() {
        // A used token came back: someone holds a copy. Revoke the family.
        sqlx::query("UPDATE refresh_tokens SET revoked = 1 WHERE family_id = ?")
            .bind(&record.family_id)
            .execute(&mut *conn)
            .await
            .context("revoke refresh family")?;
        return Ok(Redemption::Reused {
            family_id: record.family_id,
        });
    }
    sqlx::query("UPDATE refresh_tokens SET used_at = ? WHERE digest = ?")
        .bind(now)
        .bind(digest.as_slice())
        .execute(&mut *conn)
        .await
        .context("mark refresh token used")?;
    insert_refresh(&mut *conn, successor).await?;
    Ok(Redemption::Rotated(Box::new(record)))
}

async fn insert_refresh<'c, E>(executor: E, record: &RefreshRecord) -> Result<(), StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Sqlite>,
{
    sqlx::query(
        "INSERT INTO refresh_tokens (digest, family_id, client_id, user_id, session_id, auth_time, issued_at, \
         expires_at, spa, resource, scope, client_auth, revoked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \
         EXISTS (SELECT 1 FROM revoked_families WHERE family_id = ?))",
    )
    .bind(record.digest.as_slice())
    .bind(&record.family_id)
    .bind(&record.client_id)
    .bind(&record.user_id)
    .bind(&record.session_id)
    .bind(record.auth_time)
    .bind(record.issued_at)
    .bind(record.expires_at)
    .bind(record.spa)
    .bind(&record.resource)
    .bind(&record.scope)
    .bind(&record.client_auth)
    .bind(&record.family_id)
    .execute(executor)
    .await
    .context("store refresh token")?;
    Ok(())
}

async fn count_failures(
    conn: &mut SqliteConnection,
    user_id: &str,
    since: i64,
) -> Result<u32, StoreError> {
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE user_id = ? AND at > ?")
            .bind(user_id)
            .bind(since)
            .fetch_one(conn)
            .await
            .context("count login failures")?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

fn code_from_row(row: &SqliteRow) -> Result<AuthCode, StoreError> {
    let decode = || -> Result<AuthCode, sqlx::Error> {
        let challenge: Option<String> = row.try_get("code_challenge")?;
        let method: Option<String> = row.try_get("code_challenge_method")?;
        Ok(AuthCode {
            digest: [0; 32],
            client_id: row.try_get("client_id")?,
            redirect_uri: row.try_get("redirect_uri")?,
            user_id: row.try_get("user_id")?,
            scope: row.try_get("scope")?,
            nonce: row.try_get("nonce")?,
            code_challenge: challenge.zip(method),
            session_id: row.try_get("session_id")?,
            auth_time: row.try_get("auth_time")?,
            tenant_path: row.try_get("tenant_path")?,
            expires_at: row.try_get("expires_at")?,
        })
    };
    let mut code = decode().context("decode code")?;
    code.digest = digest_from_row(row)?;
    Ok(code)
}

fn refresh_from_row(row: &SqliteRow) -> Result<RefreshRecord, StoreError> {
    let decode = || -> Result<RefreshRecord, sqlx::Error> {
        Ok(RefreshRecord {
            digest: [0; 32],
            family_id: row.try_get("family_id")?,
            client_id: row.try_get("client_id")?,
            user_id: row.try_get("user_id")?,
            session_id: row.try_get("session_id")?,
            auth_time: row.try_get("auth_time")?,
            issued_at: row.try_get("issued_at")?,
            expires_at: row.try_get("expires_at")?,
            spa: row.try_get("spa")?,
            resource: row.try_get("resource")?,
            scope: row.try_get("scope")?,
            client_auth: row.try_get("client_auth")?,
        })
    };
    let mut record = decode().context("decode refresh token")?;
    record.digest = digest_from_row(row)?;
    Ok(record)
}

fn device_from_row(row: &SqliteRow) -> Result<DeviceGrant, StoreError> {
    let decode = || -> Result<(DeviceGrant, String, Option<String>, Option<i64>), sqlx::Error> {
        let grant = DeviceGrant {
            digest: [0; 32],
            user_code: row.try_get("user_code")?,
            client_id: row.try_get("client_id")?,
            scope: row.try_get("scope")?,
            expires_at: row.try_get("expires_at")?,
            state: DeviceState::Pending,
            tenant_path: row.try_get("tenant_path")?,
        };
        Ok((
            grant,
            row.try_get("state")?,
            row.try_get("user_id")?,
            row.try_get("auth_time")?,
        ))
    };
    let (mut grant, state, user_id, auth_time) = decode().context("decode device grant")?;
    grant.digest = digest_from_row(row)?;
    grant.state = match (state.as_str(), user_id, auth_time) {
        ("pending", _, _) => DeviceState::Pending,
        ("declined", _, _) => DeviceState::Declined,
        ("approved", Some(user_id), Some(auth_time)) => {
            DeviceState::Approved { user_id, auth_time }
        }
        (other, _, _) => {
            return Err(StoreError(format!(
                "decode device grant: unexpected state {other:?}"
            )));
        }
    };
    Ok(grant)
}

fn digest_from_row(row: &SqliteRow) -> Result<Digest, StoreError> {
    let bytes: Vec<u8> = row.try_get("digest").context("decode digest")?;
    let found = bytes.len();
    bytes
        .try_into()
        .map_err(|_| StoreError(format!("decode digest: expected 32 bytes, found {found}")))
}

/// The `state`, `user_id` and `auth_time` columns for a device state.
fn state_columns(state: &DeviceState) -> (&'static str, Option<&str>, Option<i64>) {
    match state {
        DeviceState::Approved { user_id, auth_time } => {
            ("approved", Some(user_id), Some(*auth_time))
        }
        DeviceState::Declined => ("declined", None, None),
        DeviceState::Pending => ("pending", None, None),
    }
}

/// Creates the database file with owner-only permissions if it is missing
/// (SQLite gives its `-wal` and `-shm` files the same mode).
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError(format!(
            "create database file {}: {e}",
            path.display()
        ))),
    }
}

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// `crates/idp/migrations/sqlite/`, in order.
const MIGRATIONS: Embedded = Embedded(&[
    (
        1,
        "initial",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "trust",
        include_str!("../../migrations/sqlite/0002_trust.sql"),
    ),
    (
        3,
        "assertion jtis",
        include_str!("../../migrations/sqlite/0003_assertion_jtis.sql"),
    ),
    (
        4,
        "tenants",
        include_str!("../../migrations/sqlite/0004_tenants.sql"),
    ),
    (
        5,
        "revoked families",
        include_str!("../../migrations/sqlite/0005_revoked_families.sql"),
    ),
    (
        6,
        "throttles",
        include_str!("../../migrations/sqlite/0006_throttles.sql"),
    ),
    (
        7,
        "directory",
        include_str!("../../migrations/sqlite/0007_directory.sql"),
    ),
]);

const POOL_SIZE: u32 = 4;

/// What [`Store::purge_expired`] deletes (bound to `now`).
const PURGE_EXPIRED: [&str; 8] = [
    "DELETE FROM throttles WHERE expires_at < ?",
    "DELETE FROM codes WHERE expires_at < ?",
    "DELETE FROM sessions WHERE expires_at < ?",
    "DELETE FROM pending_consents WHERE expires_at < ?",
    "DELETE FROM device_grants WHERE expires_at < ?",
    "DELETE FROM refresh_tokens WHERE expires_at < ?",
    "DELETE FROM assertion_jtis WHERE expires_at < ?",
    "DELETE FROM revoked_families WHERE expires_at < ?",
];

#[cfg(test)]
mod tests;
