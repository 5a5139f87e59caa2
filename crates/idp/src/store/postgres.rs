//! The PostgreSQL backend: one database shared by every replica of the
//! provider, so any replica can serve any step of any flow.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//!
//! use rolegate_idp::store::Store;
//! use rolegate_idp::store::key_encryption::KeyEncryptionKey;
//! use rolegate_idp::store::postgres::{PostgresStore, PostgresUrl};
//!
//! let url = PostgresUrl::parse("postgres://rolegate@db.internal/rolegate?sslmode=verify-full")?;
//! let kek = KeyEncryptionKey::from_base64(&std::fs::read_to_string("/etc/rolegate/kek")?)?;
//! // Migrates, checks the server, the schema version and the KEK.
//! let store: Arc<dyn Store> = Arc::new(PostgresStore::open(&url, kek).await?);
//! # Ok(()) }
//! ```
//!
//! Each single-use operation is atomic in PostgreSQL's own terms, at the
//! default READ COMMITTED isolation, whichever replica runs it:
//!
//! - a code is consumed by one `UPDATE … WHERE redeemed_family IS NULL
//!   RETURNING`: a concurrent redemption waits for the row, re-checks the
//!   condition on the committed row and matches nothing;
//! - a refresh token is rotated holding its family's row (`SELECT … FOR
//!   UPDATE` in a transaction); revoking is one flag on that row, so every
//!   rotation and revocation of a family runs one at a time and a reuse
//!   revokes tokens a concurrent rotation added;
//! - a device grant is polled holding its row (`FOR UPDATE`), so an approval
//!   is handed out once; a pending consent is taken by `DELETE … RETURNING`;
//! - inserts-if-absent are `INSERT … ON CONFLICT`; a client-assertion `jti`
//!   binds with `ON CONFLICT DO UPDATE … WHERE` the old binding expired, so
//!   of concurrent bindings exactly one wins;
//! - counting work (login failures per user, `jti`s per client) holds a
//!   transaction-scoped advisory lock per user or client, so counts are
//!   exact under concurrency.
//!
//! Signing keys are sealed with a [`KeyEncryptionKey`] before they reach the
//! database ([`key_encryption`](super::key_encryption)). Migrations
//! (`crates/idp/migrations/postgres/`) run at [`open`](PostgresStore::open)
//! under a session advisory lock, so replicas starting together take turns.

mod location;
mod rows;
mod startup;

use async_trait::async_trait;
use aws_lc_rs::digest;
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::{Postgres, Row, Transaction};

pub use self::location::{PostgresUrl, PostgresUrlError};
use self::rows::{code_from_row, device_from_row, key_from_row, refresh_from_row, state_columns};
pub use self::startup::{MINIMUM_SERVER_VERSION, OpenError};
use super::key_encryption::KeyEncryptionKey;
use super::{
    AssertionJti, AuthCode, CodeRedemption, DeviceGrant, DeviceState, Digest, JtiUse, KeyRecord,
    LOGIN_FAILURE_RETENTION, PendingConsent, Redemption, RefreshRecord, Session, SigningKeyLock,
    Store, StoreError, user_code_key,
};

/// A [`Store`] kept in PostgreSQL.
///
/// Cheap to clone: clones share one connection pool of at most
/// [`POOL_SIZE`] connections.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    kek: KeyEncryptionKey,
    url: PostgresUrl,
}

impl PostgresStore {
    /// `NOTIFY channel`: delivered to every replica listening on it.
    async fn notify(&self, channel: &str) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(channel)
            .execute(&self.pool)
            .await
            .context("announce a change")?;
        Ok(())
    }

    /// `LISTEN channel` on a connection of its own (outside the pool),
    /// re-established when lost; a message arrives for each notification
    /// and after each reconnection (notifications may have been missed).
    async fn listen(&self, channel: &'static str) -> Result<super::KeyChanges, StoreError> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool)
            .await
            .context("connect to listen for changes")?;
        listener
            .listen(channel)
            .await
            .context("listen for changes")?;
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        let url = self.url.clone();
        tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    // A notification, or the connection was lost (the next
                    // call reconnects): either way, reload.
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(database = %url, channel, error = %e, "listening for changes failed; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        continue;
                    }
                }
                match sender.try_send(()) {
                    Ok(()) | Err(tokio::sync::mpsc::error::TrySendError::Full(())) => {}
                    Err(tokio::sync::mpsc::error::TrySendError::Closed(())) => return,
                }
            }
        });
        Ok(receiver)
    }

    /// Closes the pool, waiting for connections in use to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Re-seals every stored signing key under `new` (a KEK change): in one
    /// transaction holding the signing-key lock, each key is opened with
    /// this store's KEK, sealed under `new` with a fresh nonce, and checked
    /// to open again before the transaction commits. Returns how many keys
    /// were re-sealed. Nothing changes if any key fails.
    ///
    /// Replicas still holding the old KEK keep signing with the keys they
    /// loaded, but cannot load keys again (a restart or a rotation) until
    /// they are given `new`.
    pub async fn reseal_keys(&self, new: &KeyEncryptionKey) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await.context("begin re-sealing")?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(SIGNING_KEY_LOCK)
            .execute(&mut *tx)
            .await
            .context("take the signing-key lock")?;
        let rows = sqlx::query("SELECT * FROM signing_keys ORDER BY created_at, seq FOR UPDATE")
            .fetch_all(&mut *tx)
            .await
            .context("list signing keys")?;
        let mut resealed = 0;
        for row in &rows {
            let record = key_from_row(row, &self.kek, &self.url)?;
            let sealed = new
                .seal(&record.kid, &record.pkcs8)
                .map_err(|e| StoreError(format!("seal signing key {:?}: {e}", record.kid)))?;
            if new.open(&record.kid, &sealed).as_deref() != Ok(record.pkcs8.as_slice()) {
                return Err(StoreError(format!(
                    "signing key {:?} did not open again under the new key-encryption key",
                    record.kid
                )));
            }
            sqlx::query("UPDATE signing_keys SET pkcs8_sealed = $1 WHERE kid = $2")
                .bind(sealed)
                .bind(&record.kid)
                .execute(&mut *tx)
                .await
                .context("store a re-sealed signing key")?;
            resealed += 1;
        }
        tx.commit().await.context("commit re-sealing")?;
        Ok(resealed)
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.url)
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn put_code(&self, code: &AuthCode) -> Result<(), StoreError> {
        let (challenge, method) = match &code.code_challenge {
            Some((challenge, method)) => (Some(challenge.as_str()), Some(method.as_str())),
            None => (None, None),
        };
        sqlx::query(
            "INSERT INTO codes (digest, client_id, redirect_uri, user_id, scope, nonce, code_challenge, \
             code_challenge_method, session_id, auth_time, tenant_path, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
        // A concurrent UPDATE of the row waits for this one to commit, then
        // re-checks `redeemed_family IS NULL` on the committed row: exactly
        // one redemption matches.
        let row = sqlx::query(
            "UPDATE codes SET redeemed_family = $1 WHERE digest = $2 AND redeemed_family IS NULL \
             RETURNING *",
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
            sqlx::query_scalar("SELECT redeemed_family FROM codes WHERE digest = $1")
                .bind(digest.as_slice())
                .fetch_optional(&self.pool)
                .await
                .context("look up redeemed code")?;
        Ok(match family {
            Some(family_id) => CodeRedemption::Replayed { family_id },
            None => CodeRedemption::Unknown,
        })
    }

    /// A token for a family that exists joins it (and is revoked if the
    /// family is).
    async fn put_refresh(&self, record: &RefreshRecord) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.context("begin refresh token")?;
        insert_refresh(&mut tx, record).await?;
        tx.commit().await.context("commit refresh token")
    }

    async fn rotate_refresh(
        &self,
        digest: &Digest,
        successor: &RefreshRecord,
        now: i64,
    ) -> Result<Redemption, StoreError> {
        let mut tx = self.pool.begin().await.context("begin rotation")?;
        let outcome = rotate_locked(&mut tx, digest, successor, now).await?;
        tx.commit().await.context("commit rotation")?;
        Ok(outcome)
    }

    /// Tokens of a revoked family are reported as absent.
    async fn refresh(&self, digest: &Digest) -> Result<Option<RefreshRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT t.* FROM refresh_tokens t JOIN refresh_families f ON f.family_id = t.family_id \
             WHERE t.digest = $1 AND NOT f.revoked",
        )
        .bind(digest.as_slice())
        .fetch_optional(&self.pool)
        .await
        .context("look up refresh token")?;
        row.as_ref().map(refresh_from_row).transpose()
    }

    /// A family not stored yet (its first redemption still being answered)
    /// is stored revoked, for a day, so its first token is born revoked.
    async fn revoke_family(&self, family_id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO refresh_families (family_id, revoked, expires_at) \
             VALUES ($1, TRUE, EXTRACT(EPOCH FROM now())::BIGINT + $2) \
             ON CONFLICT (family_id) DO UPDATE SET revoked = TRUE",
        )
        .bind(family_id)
        .bind(super::REVOCATION_MEMORY)
        .execute(&self.pool)
        .await
        .context("revoke refresh family")?;
        Ok(())
    }

    /// Replaces a session with the same id.
    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id, secret_digest, user_id, auth_time, expires_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET secret_digest = excluded.secret_digest, \
             user_id = excluded.user_id, auth_time = excluded.auth_time, expires_at = excluded.expires_at",
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
        let row = sqlx::query("SELECT * FROM sessions WHERE secret_digest = $1")
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
        let mut tx = self.pool.begin().await.context("begin session delete")?;
        for statement in [
            "DELETE FROM sessions WHERE id = $1",
            "DELETE FROM session_clients WHERE session_id = $1",
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
        sqlx::query(
            "INSERT INTO session_clients (session_id, client_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(session_id)
        .bind(client_id)
        .execute(&self.pool)
        .await
        .context("record session client")?;
        Ok(())
    }

    /// Sorted by code point, as SQLite sorts.
    async fn session_clients(&self, session_id: &str) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT client_id FROM session_clients WHERE session_id = $1 ORDER BY client_id COLLATE \"C\"",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await
        .context("list session clients")
    }

    /// One statement for all the scopes.
    async fn user_consents(
        &self,
        limit: u32,
    ) -> Result<Vec<(String, String, String, Vec<String>)>, StoreError> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT client_id, user_id, resource_app_id, scope FROM consents \
             ORDER BY client_id, user_id, resource_app_id, scope LIMIT $1",
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
            "DELETE FROM consents WHERE client_id = $1 AND user_id = $2 AND resource_app_id = $3",
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
        sqlx::query(
            "INSERT INTO consents (client_id, user_id, resource_app_id, scope) \
             SELECT $1, $2, $3, scope FROM unnest($4::text[]) AS scope ON CONFLICT DO NOTHING",
        )
        .bind(client_id)
        .bind(user_id)
        .bind(resource_app_id)
        .bind(scopes)
        .execute(&self.pool)
        .await
        .context("store consent")?;
        Ok(())
    }

    /// Sorted by code point, without duplicates.
    async fn consented_scopes(
        &self,
        client_id: &str,
        user_id: &str,
        resource_app_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT scope FROM consents WHERE client_id = $1 AND user_id = $2 AND resource_app_id = $3 \
             ORDER BY scope COLLATE \"C\"",
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
            "INSERT INTO pending_consents (digest, session_id, client_id, resource_app_id, scope, request, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
        let row = sqlx::query("DELETE FROM pending_consents WHERE digest = $1 RETURNING *")
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

    /// Two statements: the read after the insert sees the row whoever
    /// committed it (one statement's snapshot could miss a row a concurrent
    /// replica inserted).
    async fn server_secret(&self, name: &str, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
        sqlx::query(
            "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fresh)
        .execute(&self.pool)
        .await
        .context("store server secret")?;
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .context("read server secret")
    }

    async fn put_device(&self, grant: &DeviceGrant) -> Result<(), StoreError> {
        let (state, user_id, auth_time) = state_columns(&grant.state);
        sqlx::query(
            "INSERT INTO device_grants (digest, user_code, user_code_key, client_id, scope, expires_at, state, \
             user_id, auth_time, tenant_path) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
        let row = sqlx::query("SELECT * FROM device_grants WHERE user_code_key = $1")
            .bind(user_code_key(user_code))
            .fetch_optional(&self.pool)
            .await
            .context("look up device grant")?;
        row.as_ref().map(device_from_row).transpose()
    }

    /// A concurrent decision waits for the row and re-checks `pending`.
    async fn decide_device(
        &self,
        user_code: &str,
        state: &DeviceState,
    ) -> Result<bool, StoreError> {
        let (state, user_id, auth_time) = state_columns(state);
        let result = sqlx::query(
            "UPDATE device_grants SET state = $1, user_id = $2, auth_time = $3 \
             WHERE user_code_key = $4 AND state = 'pending'",
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
        // Read and consume holding the row, so an approval is handed out
        // exactly once even if it lands between two concurrent polls.
        let mut tx = self.pool.begin().await.context("begin device poll")?;
        let row = sqlx::query("SELECT * FROM device_grants WHERE digest = $1 FOR UPDATE")
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
            sqlx::query("DELETE FROM device_grants WHERE digest = $1")
                .bind(digest.as_slice())
                .execute(&mut *tx)
                .await
                .context("consume device grant")?;
        }
        tx.commit().await.context("commit device poll")?;
        Ok(grant)
    }

    /// Also forgets this user's failures older than the window. Holds the
    /// user's advisory lock, so concurrent failures count one by one.
    async fn record_login_failure(
        &self,
        user_id: &str,
        now: i64,
        window: i64,
    ) -> Result<u32, StoreError> {
        let since = now.saturating_sub(window);
        let mut tx = self.pool.begin().await.context("begin login failure")?;
        lock_for(&mut tx, LOGIN_FAILURE_LOCK_CLASS, user_id).await?;
        sqlx::query("DELETE FROM login_failures WHERE user_id = $1 AND at <= $2")
            .bind(user_id)
            .bind(since)
            .execute(&mut *tx)
            .await
            .context("purge login failures")?;
        sqlx::query("INSERT INTO login_failures (user_id, at) VALUES ($1, $2)")
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
        sqlx::query("DELETE FROM login_failures WHERE user_id = $1")
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
        let count: i32 = sqlx::query_scalar(
            "INSERT INTO throttles (key, window_start, expires_at, events) VALUES ($1, $2, $3, 1) \
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
        let count: Option<i32> =
            sqlx::query_scalar("SELECT events FROM throttles WHERE key = $1 AND expires_at > $2")
                .bind(key)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .context("read a throttle")?;
        Ok(count.map_or(0, |c| u32::try_from(c).unwrap_or(u32::MAX)))
    }

    /// A live binding is answered from one read. A new one is counted and
    /// stored holding the client's advisory lock (so the client's rows,
    /// expired ones included, never exceed `limit`), by an insert that only
    /// replaces an expired binding: of concurrent bindings, exactly one
    /// stores its digest, even without the lock.
    async fn bind_assertion_jti(
        &self,
        jti: &AssertionJti,
        now: i64,
        limit: u32,
    ) -> Result<JtiUse, StoreError> {
        if let Some(found) = live_jti(&self.pool, jti, now).await? {
            return Ok(found);
        }
        let mut tx = self.pool.begin().await.context("begin jti binding")?;
        lock_for(&mut tx, JTI_LOCK_CLASS, &jti.client_id).await?;
        if let Some(found) = live_jti(&mut *tx, jti, now).await? {
            return Ok(found);
        }
        if client_jtis(&mut tx, &jti.client_id, limit).await? >= i64::from(limit) {
            sqlx::query("DELETE FROM assertion_jtis WHERE client_id = $1 AND expires_at < $2")
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
        let stored = sqlx::query(
            "INSERT INTO assertion_jtis (client_id, jti, digest, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (client_id, jti) DO UPDATE SET digest = excluded.digest, expires_at = excluded.expires_at \
             WHERE assertion_jtis.expires_at < $5 RETURNING 1",
        )
        .bind(&jti.client_id)
        .bind(&jti.jti)
        .bind(jti.digest.as_slice())
        .bind(jti.expires_at)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .context("bind client assertion jti")?;
        tx.commit().await.context("commit jti binding")?;
        match stored {
            Some(_) => Ok(JtiUse::Bound),
            // Bound by someone else since the read: say how.
            None => Ok(live_jti(&self.pool, jti, now)
                .await?
                .unwrap_or(JtiUse::Conflict)),
        }
    }

    async fn directory_document(
        &self,
        tenant_id: &str,
    ) -> Result<Option<(i64, String)>, StoreError> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT version, document FROM directory_documents WHERE tenant_id = $1",
        )
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
                "INSERT INTO directory_documents (tenant_id, version, document, updated_at) VALUES ($1, 1, $2, $3) ON CONFLICT (tenant_id) DO NOTHING",
            )
            .bind(tenant_id)
            .bind(document)
            .bind(now)
            .execute(&self.pool)
            .await
            .context("store a directory document")?
            .rows_affected(),
            Some(version) => sqlx::query(
                "UPDATE directory_documents SET version = version + 1, document = $1, updated_at = $2 WHERE tenant_id = $3 AND version = $4",
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

    /// A transaction-scoped advisory lock, released when the guard drops
    /// (the transaction rolls back; sqlx sends the rollback as the
    /// connection returns to the pool).
    async fn lock_signing_keys(&self) -> Result<SigningKeyLock, StoreError> {
        let mut transaction = self.pool.begin().await.context("begin key lock")?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(SIGNING_KEY_LOCK)
            .execute(&mut *transaction)
            .await
            .context("take the signing-key lock")?;
        Ok(SigningKeyLock::holding(transaction))
    }

    async fn announce_directory_change(&self) -> Result<(), StoreError> {
        self.notify(DIRECTORY_CHANNEL).await
    }

    async fn directory_changes(&self) -> Result<Option<super::KeyChanges>, StoreError> {
        self.listen(DIRECTORY_CHANNEL).await.map(Some)
    }

    /// `NOTIFY` on `rolegate_signing_keys`: delivered to every listening replica.
    async fn announce_key_change(&self) -> Result<(), StoreError> {
        self.notify(KEY_CHANNEL).await
    }

    /// `LISTEN` on `rolegate_signing_keys` on a connection of its own (outside the
    /// pool), re-established when lost.
    async fn key_changes(&self) -> Result<Option<super::KeyChanges>, StoreError> {
        self.listen(KEY_CHANNEL).await.map(Some)
    }

    /// Opens each sealed key with the KEK.
    async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM signing_keys ORDER BY created_at, seq")
            .fetch_all(&self.pool)
            .await
            .context("list signing keys")?;
        rows.iter()
            .map(|row| key_from_row(row, &self.kek, &self.url))
            .collect()
    }

    /// Seals the private key under the KEK (the kid as associated data).
    async fn put_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        let sealed = self
            .kek
            .seal(&key.kid, &key.pkcs8)
            .map_err(|e| StoreError(format!("seal signing key {:?}: {e}", key.kid)))?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, pkcs8_sealed, certificate, created_at, active_from, retired_at, \
             unpublish_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&key.kid)
        .bind(sealed)
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
    /// material never changes (and is not re-sealed).
    async fn update_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE signing_keys SET active_from = $1, retired_at = $2, unpublish_at = $3 WHERE kid = $4",
        )
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

    /// One statement at a time (no long transaction, so replicas purging
    /// together do not deadlock). Expired refresh families go with their
    /// tokens; login failures older than seven days are dropped too.
    async fn purge_expired(&self, now: i64) -> Result<(), StoreError> {
        for statement in PURGE_EXPIRED {
            sqlx::query(statement)
                .bind(now)
                .execute(&self.pool)
                .await
                .context("purge expired rows")?;
        }
        sqlx::query(
            "DELETE FROM session_clients c WHERE NOT EXISTS \
             (SELECT 1 FROM sessions s WHERE s.id = c.session_id)",
        )
        .execute(&self.pool)
        .await
        .context("purge session clients")?;
        sqlx::query("DELETE FROM login_failures WHERE at < $1")
            .bind(now.saturating_sub(LOGIN_FAILURE_RETENTION))
            .execute(&self.pool)
            .await
            .context("purge login failures")?;
        Ok(())
    }

    async fn install_service_principal(
        &self,
        tenant_id: &str,
        app_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO service_principals (tenant_id, app_id, created_at) VALUES ($1, $2, $3) \
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
            sqlx::query("SELECT 1 FROM service_principals WHERE tenant_id = $1 AND app_id = $2")
                .bind(tenant_id.to_ascii_lowercase())
                .bind(app_id.to_ascii_lowercase())
                .fetch_optional(&self.pool)
                .await
                .context("look up service principal")?;
        Ok(row.is_some())
    }
}

/// The body of [`Store::rotate_refresh`], in a transaction.
async fn rotate_locked(
    tx: &mut Transaction<'static, Postgres>,
    digest: &Digest,
    successor: &RefreshRecord,
    now: i64,
) -> Result<Redemption, StoreError> {
    // The family row is the lock: every rotation and revocation of the
    // family takes it, so they run one at a time, and the token read after
    // it is the latest committed state.
    let family: Option<(String, bool)> = sqlx::query_as(
        "SELECT f.family_id, f.revoked FROM refresh_tokens t \
         JOIN refresh_families f ON f.family_id = t.family_id WHERE t.digest = $1 FOR UPDATE OF f",
    )
    .bind(digest.as_slice())
    .fetch_optional(&mut **tx)
    .await
    .context("lock refresh family")?;
    let Some((family_id, false)) = family else {
        return Ok(Redemption::Invalid);
    };
    let row = sqlx::query("SELECT * FROM refresh_tokens WHERE digest = $1")
        .bind(digest.as_slice())
        .fetch_optional(&mut **tx)
        .await
        .context("look up refresh token")?;
    let Some(row) = row else {
        return Ok(Redemption::Invalid);
    };
    let record = refresh_from_row(&row)?;
    let used_at: Option<i64> = row.try_get("used_at").context("decode refresh token")?;
    if record.expires_at < now {
        return Ok(Redemption::Invalid);
    }
    if used_at.is_some() {
        // A used token came back: someone holds a copy. Revoke the family.
        sqlx::query("UPDATE refresh_families SET revoked = TRUE WHERE family_id = $1")
            .bind(&family_id)
            .execute(&mut **tx)
            .await
            .context("revoke refresh family")?;
        return Ok(Redemption::Reused { family_id });
    }
    sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE digest = $2")
        .bind(now)
        .bind(digest.as_slice())
        .execute(&mut **tx)
        .await
        .context("mark refresh token used")?;
    insert_refresh(tx, successor).await?;
    Ok(Redemption::Rotated(Box::new(record)))
}

/// Stores a token, creating its family or extending the family's expiry.
async fn insert_refresh(
    tx: &mut Transaction<'static, Postgres>,
    record: &RefreshRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO refresh_families (family_id, expires_at) VALUES ($1, $2) \
         ON CONFLICT (family_id) DO UPDATE \
         SET expires_at = GREATEST(refresh_families.expires_at, excluded.expires_at)",
    )
    .bind(&record.family_id)
    .bind(record.expires_at)
    .execute(&mut **tx)
    .await
    .context("store refresh family")?;
    sqlx::query(
        "INSERT INTO refresh_tokens (digest, family_id, client_id, user_id, session_id, auth_time, issued_at, \
         expires_at, spa, resource, scope, client_auth) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
    .execute(&mut **tx)
    .await
    .context("store refresh token")?;
    Ok(())
}

/// Takes the transaction-scoped advisory lock for `name` in `class` (the
/// two-key form: `class` keeps the uses apart; `name` is hashed into the
/// other key, so two names may share a lock, which only serialises them).
async fn lock_for(
    tx: &mut Transaction<'static, Postgres>,
    class: i32,
    name: &str,
) -> Result<(), StoreError> {
    let hash = digest::digest(&digest::SHA256, name.as_bytes());
    // SHA-256 has 32 bytes: the first four are there.
    let key = i32::from_be_bytes(*hash.as_ref().first_chunk::<4>().unwrap_or(&[0; 4]));
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(class)
        .bind(key)
        .execute(&mut **tx)
        .await
        .context("take advisory lock")?;
    Ok(())
}

/// How many `jti`s `client_id` has stored, counting up to `limit`.
async fn client_jtis(
    conn: &mut PgConnection,
    client_id: &str,
    limit: u32,
) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT 1 FROM assertion_jtis WHERE client_id = $1 LIMIT $2) AS bounded",
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
    E: sqlx::Executor<'c, Database = Postgres>,
{
    let digest: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT digest FROM assertion_jtis WHERE client_id = $1 AND jti = $2 AND expires_at >= $3",
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

async fn count_failures(
    conn: &mut PgConnection,
    user_id: &str,
    since: i64,
) -> Result<u32, StoreError> {
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE user_id = $1 AND at > $2")
            .bind(user_id)
            .bind(since)
            .fetch_one(conn)
            .await
            .context("count login failures")?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
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

/// Connections each provider process opens at most.
pub const POOL_SIZE: u32 = 8;

/// `pg_advisory_xact_lock(class, …)` classes: login failures per user and
/// client-assertion `jti`s per client ("rlgf", "rlgj").
const LOGIN_FAILURE_LOCK_CLASS: i32 = 0x726c_6766;
const JTI_LOCK_CLASS: i32 = 0x726c_676a;

/// What [`Store::purge_expired`] deletes (bound to `now`). Deleting a
/// family deletes its tokens.
const PURGE_EXPIRED: [&str; 8] = [
    "DELETE FROM throttles WHERE expires_at < $1",
    "DELETE FROM codes WHERE expires_at < $1",
    "DELETE FROM sessions WHERE expires_at < $1",
    "DELETE FROM pending_consents WHERE expires_at < $1",
    "DELETE FROM device_grants WHERE expires_at < $1",
    "DELETE FROM refresh_tokens WHERE expires_at < $1",
    "DELETE FROM refresh_families WHERE expires_at < $1",
    "DELETE FROM assertion_jtis WHERE expires_at < $1",
];

/// The `LISTEN`/`NOTIFY` channel announcing signing-key changes.
const KEY_CHANNEL: &str = "rolegate_signing_keys";

/// The `LISTEN`/`NOTIFY` channel announcing directory changes.
const DIRECTORY_CHANNEL: &str = "rolegate_directory";

/// The transaction advisory lock first key set-up runs under ("rolekeys").
const SIGNING_KEY_LOCK: i64 = 0x726f_6c65_6b65_7973;

#[cfg(test)]
mod tests;
