//! Runtime state behind one narrow interface, so that SQLite (one process,
//! a file in the data folder) and PostgreSQL (any number of replicas
//! sharing a database) back the same protocol code.
//!
//! Codes and refresh tokens are stored only as SHA-256 digests; signing
//! keys as PKCS#8, sealed under a key-encryption key in PostgreSQL
//! ([`key_encryption`]). Codes are consumed atomically (single use, even
//! under concurrent redemption). One conformance suite
//! (`store/conformance.rs`) runs against both backends.

#[cfg(test)]
mod conformance;
pub mod key_encryption;
mod migrations;
/// How long a revoked refresh-token family is remembered, in seconds:
/// longer than any redemption takes to store the family's first token (a
/// code replayed during its first redemption revokes a family that has no
/// token yet).
pub(crate) const REVOCATION_MEMORY: i64 = 24 * 3600;

#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sqlite;

use async_trait::async_trait;

/// A SHA-256 digest of a code or refresh token.
pub type Digest = [u8; 32];

/// Storage failures. The message is for logs, never for clients.
#[derive(Debug, thiserror::Error)]
#[error("store error: {0}")]
pub struct StoreError(pub String);

/// An authorization code awaiting redemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    /// SHA-256 of the code.
    pub digest: Digest,
    /// The client it was issued to.
    pub client_id: String,
    /// The redirect URI of the authorize request (must match at redemption).
    pub redirect_uri: String,
    /// The signed-in user's object id.
    pub user_id: String,
    /// The scopes requested at /authorize, space-separated, as sent.
    pub scope: String,
    /// The OIDC nonce, copied into ID tokens.
    pub nonce: Option<String>,
    /// PKCE challenge and method (`S256` or `plain`).
    pub code_challenge: Option<(String, String)>,
    /// The SSO session id (`sid`).
    pub session_id: String,
    /// When the user authenticated (unix seconds).
    pub auth_time: i64,
    /// The tenant path segment the code was issued under.
    pub tenant_path: String,
    /// Expiry (unix seconds).
    pub expires_at: i64,
}

/// What became of an authorization code presented for redemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRedemption {
    /// First use: the code is now marked redeemed for this family.
    Redeemed(Box<AuthCode>),
    /// The code was redeemed before: `family_id` names the refresh-token
    /// family issued from it (to revoke), if any was recorded.
    Replayed {
        /// The family the first redemption started.
        family_id: Option<String>,
    },
    /// No such code (never issued, or purged after expiry).
    Unknown,
}

/// One refresh token of a family (all tokens descended from one sign-in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// SHA-256 of the token.
    pub digest: Digest,
    /// The family id.
    pub family_id: String,
    /// The client.
    pub client_id: String,
    /// The user's object id.
    pub user_id: String,
    /// The SSO session id.
    pub session_id: String,
    /// When the user authenticated.
    pub auth_time: i64,
    /// Issued at.
    pub issued_at: i64,
    /// Expiry of this token (sliding for web/native; fixed for SPA).
    pub expires_at: i64,
    /// Whether it was issued through a SPA redirect URI (24 h fixed lifetime).
    pub spa: bool,
    /// The resource identifier as the client wrote it when the family
    /// started (`api://…`, a GUID, a custom URI; empty for Microsoft Graph).
    pub resource: String,
    /// The resource scopes the family was granted, qualified and
    /// space-separated (what a refresh naming no resource scope continues).
    pub scope: String,
    /// How the client authenticated when the family started (`public`,
    /// `secret`, `certificate`): every refresh must authenticate the same way.
    pub client_auth: String,
}

/// What became of a refresh token presented for redemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// It was current: it is now used, and the successor is stored.
    Rotated(Box<RefreshRecord>),
    /// It had already been used: the whole family has been revoked.
    Reused {
        /// The revoked family.
        family_id: String,
    },
    /// Unknown, revoked or expired.
    Invalid,
}

/// An SSO session. The browser's cookie holds a separate 256-bit secret;
/// the store keeps only its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Opaque random id, shown as `sid` in ID tokens and `session_state`
    /// in authorize responses. It grants nothing.
    pub id: String,
    /// SHA-256 of the cookie secret: the only way to find the session.
    pub secret_digest: Digest,
    /// The user's object id.
    pub user_id: String,
    /// When the user authenticated.
    pub auth_time: i64,
    /// Expiry.
    pub expires_at: i64,
}

/// A consent page shown to a signed-in user, awaiting the answer. The form
/// only names it (by a random handle, stored as its digest) and says accept
/// or cancel: what is granted is what the server showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingConsent {
    /// SHA-256 of the handle the form carries.
    pub digest: Digest,
    /// The session (its opaque id) the page was shown in.
    pub session_id: String,
    /// The client asking.
    pub client_id: String,
    /// The resource whose scopes were shown.
    pub resource_app_id: String,
    /// The scope values shown.
    pub scopes: Vec<String>,
    /// The authorize request to resume (encoded parameters).
    pub request: String,
    /// Expiry.
    pub expires_at: i64,
}

/// A device-code grant in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceGrant {
    /// SHA-256 of the device code.
    pub digest: Digest,
    /// The short code the user types (e.g. `ABCD-EFGH`).
    pub user_code: String,
    /// The client.
    pub client_id: String,
    /// Requested scopes.
    pub scope: String,
    /// Expiry.
    pub expires_at: i64,
    /// Approval state.
    pub state: DeviceState,
    /// The authority path segment it was requested at (tenant id or
    /// domain, `organizations`, `common`): whose users may approve it.
    pub tenant_path: String,
}

/// Where a device grant stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceState {
    /// Waiting for the user.
    Pending,
    /// Approved by this user at this time.
    Approved {
        /// The user's object id.
        user_id: String,
        /// When the user authenticated.
        auth_time: i64,
    },
    /// The user declined.
    Declined,
}

/// A client assertion's `jti` to remember (RFC 7523 §3, item 7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionJti {
    /// The client that signed the assertion.
    pub client_id: String,
    /// The `jti` claim.
    pub jti: String,
    /// SHA-256 of the whole assertion (the compact JWS as sent).
    pub digest: Digest,
    /// Until when the binding is remembered: the assertion's `exp` plus
    /// the clock skew (unix seconds).
    pub expires_at: i64,
}

/// What became of a client assertion's `jti`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JtiUse {
    /// Unused (or only by expired assertions): now bound to this assertion.
    Bound,
    /// Bound to a different assertion of the same client: a replayed `jti`.
    Conflict,
    /// The client already has as many live `jti`s as allowed; nothing was
    /// stored.
    Full,
    /// Bound to this very assertion, presented before and not yet expired.
    Repeated,
}

/// A signing key as stored. `Debug` never shows the private key.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// `kid` = `x5t`: base64url SHA-1 thumbprint of the certificate.
    pub kid: String,
    /// The RSA private key, PKCS#8 DER.
    pub pkcs8: Vec<u8>,
    /// The self-signed certificate, DER (published as `x5c`).
    pub certificate: Vec<u8>,
    /// Created (unix seconds).
    pub created_at: i64,
    /// Signs tokens from this time (published earlier, before it signs).
    pub active_from: i64,
    /// Stops signing at this time (`None`: current).
    pub retired_at: Option<i64>,
    /// Removed from the JWKS after this time (last token it signed expired).
    pub unpublish_at: Option<i64>,
}

impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRecord")
            .field("kid", &self.kid)
            .field("pkcs8", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("active_from", &self.active_from)
            .field("retired_at", &self.retired_at)
            .field("unpublish_at", &self.unpublish_at)
            .finish_non_exhaustive()
    }
}

/// Holds a store's signing-key lock until dropped (see
/// [`Store::lock_signing_keys`]).
pub struct SigningKeyLock {
    _held: Option<Box<dyn Send>>,
}

impl SigningKeyLock {
    /// A lock that holds nothing (a store only one process writes keys to).
    pub fn unlocked() -> SigningKeyLock {
        SigningKeyLock { _held: None }
    }

    /// A lock released when `guard` drops.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn holding(guard: impl Send + 'static) -> SigningKeyLock {
        SigningKeyLock {
            _held: Some(Box::new(guard)),
        }
    }
}

impl std::fmt::Debug for SigningKeyLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyLock")
            .field("held", &self._held.is_some())
            .finish()
    }
}

/// Signing-key change announcements (see [`Store::key_changes`]).
pub type KeyChanges = tokio::sync::mpsc::Receiver<()>;

/// The runtime store.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Stores a new authorization code.
    async fn put_code(&self, code: &AuthCode) -> Result<(), StoreError>;
    /// Redeems a code: marks it redeemed for `family_id` in one atomic
    /// step, so a code is redeemed at most once even under concurrent
    /// requests; a second presentation is reported as a replay with the
    /// family to revoke. Expired codes are returned (the caller reports
    /// expiry precisely).
    async fn take_code(
        &self,
        digest: &Digest,
        family_id: &str,
    ) -> Result<CodeRedemption, StoreError>;

    /// Stores the first refresh token of a family.
    async fn put_refresh(&self, record: &RefreshRecord) -> Result<(), StoreError>;
    /// Redeems a refresh token at `now`: if current, marks it used and
    /// stores `successor` (same family) atomically; if already used, revokes
    /// the whole family.
    async fn rotate_refresh(
        &self,
        digest: &Digest,
        successor: &RefreshRecord,
        now: i64,
    ) -> Result<Redemption, StoreError>;
    /// Looks up a refresh token without changing anything.
    async fn refresh(&self, digest: &Digest) -> Result<Option<RefreshRecord>, StoreError>;
    /// Revokes every token of a family.
    async fn revoke_family(&self, family_id: &str) -> Result<(), StoreError>;

    /// Stores an SSO session.
    async fn put_session(&self, session: &Session) -> Result<(), StoreError>;
    /// A session by the digest of its cookie secret, if it exists (expired
    /// ones too).
    async fn session(&self, secret_digest: &Digest) -> Result<Option<Session>, StoreError>;
    /// Ends a session (and forgets the apps it signed in to).
    async fn delete_session(&self, id: &str) -> Result<(), StoreError>;
    /// Records that the session (by id) signed in to `client_id`.
    async fn add_session_client(&self, session_id: &str, client_id: &str)
    -> Result<(), StoreError>;
    /// The apps a session signed in to.
    async fn session_clients(&self, session_id: &str) -> Result<Vec<String>, StoreError>;

    /// Records consent given by a user at run time (adds to earlier grants).
    async fn grant_consent(
        &self,
        client_id: &str,
        user_id: &str,
        resource_app_id: &str,
        scopes: &[String],
    ) -> Result<(), StoreError>;
    /// Scopes the user consented to for client → resource.
    async fn consented_scopes(
        &self,
        client_id: &str,
        user_id: &str,
        resource_app_id: &str,
    ) -> Result<Vec<String>, StoreError>;

    /// Every user's consents (client, user, resource, scopes sorted), at most
    /// `limit` (client, user, resource) combinations, for Graph's
    /// `oauth2PermissionGrants` of consent type `Principal`.
    async fn user_consents(
        &self,
        limit: u32,
    ) -> Result<Vec<(String, String, String, Vec<String>)>, StoreError>;
    /// Withdraws a user's consent for client → resource (every scope);
    /// false when there was none.
    async fn revoke_consent(
        &self,
        client_id: &str,
        user_id: &str,
        resource_app_id: &str,
    ) -> Result<bool, StoreError>;

    /// Stores a consent page's pending answer.
    async fn put_pending_consent(&self, pending: &PendingConsent) -> Result<(), StoreError>;
    /// Takes (returns and deletes) a pending consent: each is answered once.
    async fn take_pending_consent(
        &self,
        digest: &Digest,
    ) -> Result<Option<PendingConsent>, StoreError>;

    /// A named server secret: the stored value, or `fresh` stored now if
    /// there is none (the first caller wins; every caller gets the same).
    async fn server_secret(&self, name: &str, fresh: &[u8]) -> Result<Vec<u8>, StoreError>;

    /// Stores a new device grant.
    async fn put_device(&self, grant: &DeviceGrant) -> Result<(), StoreError>;
    /// A device grant by user code (case-insensitive, dash optional).
    async fn device_by_user_code(&self, user_code: &str)
    -> Result<Option<DeviceGrant>, StoreError>;
    /// Sets the state of a pending grant; false if it was not pending.
    async fn decide_device(&self, user_code: &str, state: &DeviceState)
    -> Result<bool, StoreError>;
    /// Polls a device grant: an approved grant is consumed (returned once).
    async fn poll_device(&self, digest: &Digest) -> Result<Option<DeviceGrant>, StoreError>;

    /// Records a failed password for a user at `now`; returns the failures
    /// within the last `window` seconds, this one included.
    async fn record_login_failure(
        &self,
        user_id: &str,
        now: i64,
        window: i64,
    ) -> Result<u32, StoreError>;
    /// Failures within the window, without recording one.
    async fn login_failures(&self, user_id: &str, now: i64, window: i64)
    -> Result<u32, StoreError>;
    /// Clears failures after a successful sign-in.
    async fn clear_login_failures(&self, user_id: &str) -> Result<(), StoreError>;

    /// Counts one event for a throttle `key` at `now`; returns the count in
    /// the key's current window, this event included. A window starts at
    /// the first event after the previous one ended and lasts `window`
    /// seconds; one row per key.
    async fn count_throttle_event(
        &self,
        key: &str,
        now: i64,
        window: i64,
    ) -> Result<u32, StoreError>;
    /// Events counted for `key` in its window, if that is still open at
    /// `now` (0 otherwise).
    async fn throttle_events(&self, key: &str, now: i64, window: i64) -> Result<u32, StoreError>;

    /// Binds `jti.jti` to the assertion `jti.digest` for `jti.client_id`
    /// unless a live binding exists (insert-if-absent: of concurrent calls
    /// with different digests exactly one binds). A live binding to the
    /// same digest is [`JtiUse::Repeated`], to another digest
    /// [`JtiUse::Conflict`]; a binding that expired before `now` is
    /// replaced. A new binding is refused ([`JtiUse::Full`]) when the client
    /// already holds `limit` live ones, so the table stays bounded and each
    /// call does bounded work.
    async fn bind_assertion_jti(
        &self,
        jti: &AssertionJti,
        now: i64,
        limit: u32,
    ) -> Result<JtiUse, StoreError>;

    /// Takes the store-wide signing-key lock, held until the returned
    /// guard drops: processes sharing the store then create the first keys
    /// one at a time, so all of them sign with the same key
    /// ([`SigningKeys::load_or_create`](crate::keys::SigningKeys::load_or_create)
    /// holds it).
    async fn lock_signing_keys(&self) -> Result<SigningKeyLock, StoreError>;
    /// Every stored signing key, oldest first.
    async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError>;
    /// Stores a new signing key.
    async fn put_key(&self, key: &KeyRecord) -> Result<(), StoreError>;
    /// Updates a key's retirement times.
    async fn update_key(&self, key: &KeyRecord) -> Result<(), StoreError>;

    /// A tenant's stored directory document and its version, if the tenant
    /// was ever seeded.
    async fn directory_document(
        &self,
        tenant_id: &str,
    ) -> Result<Option<(i64, String)>, StoreError>;
    /// Every stored directory document's tenant and version (a cheap check
    /// whether a process's directories are current).
    async fn directory_versions(&self) -> Result<Vec<(String, i64)>, StoreError>;
    /// Replaces a tenant's directory document if its version is still
    /// `expected` (`None`: no document yet), in one atomic step; returns
    /// the new version, or `None` when another writer came first (read
    /// again and retry).
    async fn put_directory_document(
        &self,
        tenant_id: &str,
        expected: Option<i64>,
        document: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError>;
    /// Tells every process sharing the store that a directory changed.
    /// Stores that one process uses do nothing.
    async fn announce_directory_change(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Announcements of [`announce_directory_change`](Self::announce_directory_change),
    /// as [`key_changes`](Self::key_changes) delivers key changes.
    async fn directory_changes(&self) -> Result<Option<KeyChanges>, StoreError> {
        Ok(None)
    }

    /// Tells every process sharing the store that the signing keys
    /// changed (a rotation, the first keys), so that they reload them now
    /// rather than at their next poll. Stores that one process uses do
    /// nothing.
    async fn announce_key_change(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Announcements of [`announce_key_change`](Self::announce_key_change)
    /// from any process, once listening has started; `None` when the store
    /// has no such channel (the provider then only polls). A message also
    /// arrives after the channel was lost and re-established, since
    /// announcements may have been missed meanwhile.
    async fn key_changes(&self) -> Result<Option<KeyChanges>, StoreError> {
        Ok(None)
    }

    /// Deletes expired codes, sessions, pending consents, device grants,
    /// refresh tokens, client-assertion `jti`s and throttle windows.
    async fn purge_expired(&self, now: i64) -> Result<(), StoreError>;
    /// Records that another tenant's multi-tenant `app_id` has a service
    /// principal in `tenant_id` (its first consent there); idempotent.
    async fn install_service_principal(
        &self,
        tenant_id: &str,
        app_id: &str,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Whether [`install_service_principal`](Self::install_service_principal)
    /// ran for this tenant and app.
    async fn service_principal_installed(
        &self,
        tenant_id: &str,
        app_id: &str,
    ) -> Result<bool, StoreError>;
}

/// User codes compare case-insensitively, ignoring dashes and spaces
/// (`abcd efgh` finds `ABCD-EFGH`): the form both backends store and look
/// up.
pub(crate) fn user_code_key(user_code: &str) -> String {
    user_code
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Login failures older than this are dropped by [`Store::purge_expired`],
/// whatever window callers count over.
pub(crate) const LOGIN_FAILURE_RETENTION: i64 = 7 * 24 * 3600;

#[cfg(test)]
mod tests {
    use super::user_code_key;

    #[test]
    fn user_codes_normalise() {
        assert_eq!(user_code_key("abcd-efgh"), "ABCDEFGH");
        assert_eq!(user_code_key(" Ab Cd\t-EF-gh "), "ABCDEFGH");
        assert_eq!(user_code_key(""), "");
    }
}
