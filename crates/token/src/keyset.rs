//! The signing-key cache: discovery, JWKS fetch, refresh and rotation.
//!
//! Behaviour (Microsoft's signing-key-rollover guidance and IdentityModel's
//! `ConfigurationManager` defaults):
//!
//! - Keys load lazily on first use (or on [`Validator::warm_up`](crate::Validator::warm_up)).
//! - A background task refreshes discovery and keys every 12 hours.
//! - A token naming an unknown `kid` triggers a refetch of the JWKS at most
//!   once per throttle window ([`UNKNOWN_KID_THROTTLE`], 5 minutes);
//!   concurrent misses share one fetch (single flight), and misses inside
//!   the window are answered from the cache without any fetch (negative
//!   caching).
//! - A failing or unreachable authority never removes keys already loaded
//!   (stale-if-error). Before the first successful load, failed attempts are
//!   retried at most once per failure backoff (10 seconds).
//! - Keys come only from the configured authority: nothing in a token
//!   (`jku`, `x5u`, `jwk`, `x5c`) is ever fetched or used.
//!
//! # Following key rotation
//!
//! A validator learns a new signing key either from the periodic refresh or
//! from the refetch an unknown `kid` triggers, and that refetch is throttled:
//! after one, further unknown `kid`s are refused from the cache for the rest
//! of [`UNKNOWN_KID_THROTTLE`]. Any token can start that window, including
//! one from another issuer or a forged one. So a key that starts signing
//! less than the window after it was first published can be refused for up
//! to the whole window: the validator may have refetched just before the
//! key appeared. A provider that publishes every key at least
//! [`UNKNOWN_KID_THROTTLE`] before it signs with it cannot be refused this
//! way: a validator either fetched after the publication (and knows the
//! key) or last refetched before it, so its window has ended by the time
//! the first token signed with the key arrives. rolegate's identity
//! provider follows that rule (`rolegate_idp::keys`, "Key rotation that
//! validators can follow" in `docs/idp.md`); Entra publishes its next key
//! well before it signs with it. Shortening [`RefreshSettings::unknown_kid_throttle`] below
//! the provider's lead is safe; lengthening it past the lead is not.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use arc_swap::ArcSwap;
use std::time::Duration;

use url::Url;

use crate::algorithm::AlgorithmPolicy;
use crate::clock::Clock;
use crate::discovery::{self, AuthorityKind, DiscoveryError, ProviderMetadata};
use crate::fetch::{FetchError, Fetcher};
use crate::id::{ClientId, Issuer};
use crate::jwk::{JwkSet, JwksError, SkippedKey, VerifyingKey};

/// Where keys (and, with discovery, accepted issuers) come from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeySource {
    /// OpenID Connect discovery from an authority.
    Discovery {
        /// The authority (Entra: `https://host/{tenant}`; OIDC: the issuer).
        authority: Url,
        /// Its layout.
        kind: AuthorityKind,
    },
    /// A JWKS URL, without discovery.
    JwksUri(Url),
    /// A fixed key set (offline use and tests).
    Static(JwkSet),
}

/// Why the authority's signing keys could not be loaded.
///
/// Every variant names the URL concerned; none holds a token.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum KeySetError {
    /// No key has been loaded, the last attempt failed (`last`), and the
    /// next is not due before [`RefreshSettings::failure_backoff`] ends.
    #[error("{last} (next attempt in {retry_in_seconds}s)")]
    BackingOff {
        /// Why the last attempt failed.
        last: Box<KeySetError>,
        /// Seconds until the next attempt.
        retry_in_seconds: i64,
    },
    /// A document could not be fetched: a network failure, a timeout, an
    /// HTTP status other than 200 (with the status), or a body over the
    /// size cap.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The authority's discovery URLs cannot be built.
    #[error("cannot build a discovery URL from {authority}: {reason}")]
    InvalidAuthority {
        /// The configured authority.
        authority: String,
        /// What the URL parser said.
        reason: url::ParseError,
    },
    /// A discovery document was fetched but cannot be used.
    #[error("discovery document {url} is invalid: {reason}")]
    InvalidDiscovery {
        /// Where it came from.
        url: String,
        /// What is wrong with it.
        reason: DiscoveryError,
    },
    /// The key set (JWKS) was fetched but cannot be used as a whole.
    #[error("the key set at {url} is invalid: {reason}")]
    InvalidKeySet {
        /// Where it came from.
        url: String,
        /// What is wrong with it.
        reason: JwksError,
    },
    /// A generic OpenID Connect authority's discovery document names
    /// another issuer than the configured one (OpenID Connect Discovery 1.0
    /// §4.3).
    #[error("discovery document {url} names issuer {found:?}, not the configured {expected:?}")]
    IssuerMismatch {
        /// Where the document came from.
        url: String,
        /// Its `issuer`.
        found: String,
        /// The configured authority.
        expected: String,
    },
    /// None of the authority's discovery documents could be used; one
    /// problem per document.
    #[error("no discovery document could be used: {}", join(problems))]
    NoDiscoveryDocument {
        /// What went wrong with each.
        problems: Vec<KeySetError>,
    },
    /// The key set parsed, but none of its keys can verify a signature with
    /// the allowed algorithms.
    #[error(
        "the key set at {url} has no key usable with the allowed algorithms ({})",
        if skipped.is_empty() { "it is empty".to_owned() } else { join(skipped) }
    )]
    NoUsableKey {
        /// Where it came from.
        url: String,
        /// Each entry of the set, and why it is not usable.
        skipped: Vec<SkippedKey>,
    },
    /// No key has been loaded yet, and no attempt has failed that would
    /// say why.
    #[error("the signing keys have not been loaded yet")]
    NotLoaded,
}

/// The default minimum time between JWKS refetches caused by tokens naming
/// an unknown `kid` ([`RefreshSettings::unknown_kid_throttle`]): 5 minutes,
/// as IdentityModel's `ConfigurationManager`.
///
/// Identity providers must publish a key at least this long before signing
/// with it, or validators may refuse its tokens for up to this long (see
/// "Following key rotation" in the [module docs](self)).
pub const UNKNOWN_KID_THROTTLE: Duration = Duration::from_secs(300);

/// Refresh timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshSettings {
    /// Periodic refresh of discovery and keys (default 12 h).
    pub interval: Duration,
    /// Minimum time between refetches caused by unknown `kid`s (default
    /// [`UNKNOWN_KID_THROTTLE`], 5 min).
    pub unknown_kid_throttle: Duration,
    /// Minimum time between attempts while no key was ever loaded (default 10 s).
    pub failure_backoff: Duration,
    /// Run the periodic refresh on a background task (default true; needs a
    /// Tokio runtime when the validator is built).
    pub background: bool,
    /// Fetch `jwks_uri?appid=<client id>`: for APIs whose tokens are signed
    /// with app-specific keys (claims mapping).
    pub app_id: Option<ClientId>,
}

impl Default for RefreshSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(12 * 3600),
            unknown_kid_throttle: UNKNOWN_KID_THROTTLE,
            failure_backoff: Duration::from_secs(10),
            background: true,
            app_id: None,
        }
    }
}

/// An immutable snapshot of the loaded keys and discovered issuers.
#[derive(Debug, Default)]
pub struct KeyState {
    /// Keys with a `kid`, sorted by it (a key set holds a handful of keys:
    /// a binary search beats hashing the token's `kid`).
    keys: Vec<Arc<VerifyingKey>>,
    unnamed: Vec<Arc<VerifyingKey>>,
    issuers: Vec<Issuer>,
    jwks_uri: Option<Url>,
    loaded_at: Option<i64>,
    generation: u64,
    last_error: Option<KeySetError>,
}

impl KeyState {
    /// The key with `kid`.
    pub fn key(&self, kid: &str) -> Option<&Arc<VerifyingKey>> {
        self.keys
            .binary_search_by(|key| key.kid().unwrap_or_default().cmp(kid))
            .ok()
            .and_then(|at| self.keys.get(at))
    }

    /// Keys without a `kid` plus, when `kid` is absent from the token, every key.
    pub fn all_keys(&self) -> impl Iterator<Item = &Arc<VerifyingKey>> {
        self.keys.iter().chain(self.unnamed.iter())
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len() + self.unnamed.len()
    }

    /// Whether no key is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Issuers named by the discovery documents.
    pub fn issuers(&self) -> &[Issuer] {
        &self.issuers
    }

    /// When keys were last loaded (seconds since the epoch).
    pub fn loaded_at(&self) -> Option<i64> {
        self.loaded_at
    }

    /// The last refresh error, if the last attempt failed.
    pub fn last_error(&self) -> Option<&KeySetError> {
        self.last_error.as_ref()
    }

    /// Some known key ids, for messages.
    pub fn sample_kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self
            .keys
            .iter()
            .filter_map(|key| key.kid())
            .take(5)
            .map(str::to_owned)
            .collect();
        kids.sort();
        kids
    }
}

#[cfg(test)]
impl KeyState {
    /// A loaded snapshot of `set` (unit tests).
    pub(crate) fn of(set: &JwkSet) -> KeyState {
        state_from(set, Vec::new(), None, 0, 1)
    }
}

/// Fetch counters, for tests and operations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyStats {
    /// Discovery documents fetched (successfully or not).
    pub discovery_fetches: u64,
    /// Key sets fetched (successfully or not).
    pub jwks_fetches: u64,
    /// Successful loads.
    pub loads: u64,
    /// Keys in the current snapshot (0 before the first load).
    pub keys: u64,
}

/// Loads and refreshes keys. Shared by a validator and its background task.
#[derive(Debug)]
pub(crate) struct KeyManager {
    source: KeySource,
    algorithms: AlgorithmPolicy,
    settings: RefreshSettings,
    fetcher: Arc<dyn Fetcher>,
    clock: Arc<dyn Clock>,
    /// The current snapshot; read without locking (validation reads it on
    /// every token, on every core).
    state: ArcSwap<KeyState>,
    refresh_lock: tokio::sync::Mutex<()>,
    last_miss_refresh: AtomicI64,
    last_failure: AtomicI64,
    discovery_fetches: AtomicU64,
    jwks_fetches: AtomicU64,
    loads: AtomicU64,
}

impl KeyManager {
    pub(crate) fn new(
        source: KeySource,
        algorithms: AlgorithmPolicy,
        settings: RefreshSettings,
        fetcher: Arc<dyn Fetcher>,
        clock: Arc<dyn Clock>,
    ) -> KeyManager {
        let mut initial = KeyState::default();
        if let KeySource::Static(set) = &source {
            initial = state_from(set, Vec::new(), None, clock.now(), 1);
        }
        KeyManager {
            source,
            algorithms,
            settings,
            fetcher,
            clock,
            state: ArcSwap::from_pointee(initial),
            refresh_lock: tokio::sync::Mutex::new(()),
            last_miss_refresh: AtomicI64::new(i64::MIN),
            last_failure: AtomicI64::new(i64::MIN),
            discovery_fetches: AtomicU64::new(0),
            jwks_fetches: AtomicU64::new(0),
            loads: AtomicU64::new(0),
        }
    }

    pub(crate) fn snapshot(&self) -> Arc<KeyState> {
        self.state.load_full()
    }

    pub(crate) fn stats(&self) -> KeyStats {
        KeyStats {
            discovery_fetches: self.discovery_fetches.load(Ordering::Relaxed),
            jwks_fetches: self.jwks_fetches.load(Ordering::Relaxed),
            loads: self.loads.load(Ordering::Relaxed),
            keys: u64::try_from(self.state.load().len()).unwrap_or(u64::MAX),
        }
    }

    /// Keys loaded at least once, or why not.
    pub(crate) async fn loaded(&self) -> Result<Arc<KeyState>, KeySetError> {
        let snapshot = self.snapshot();
        if snapshot.loaded_at.is_some() {
            return Ok(snapshot);
        }
        if let Some(wait) = self.backoff_remaining() {
            return Err(KeySetError::BackingOff {
                last: Box::new(
                    snapshot
                        .last_error
                        .clone()
                        .unwrap_or(KeySetError::NotLoaded),
                ),
                retry_in_seconds: wait,
            });
        }
        let _guard = self.refresh_lock.lock().await;
        let snapshot = self.snapshot();
        if snapshot.loaded_at.is_some() {
            return Ok(snapshot);
        }
        if snapshot.generation > 0 && self.backoff_remaining().is_some() {
            // Another caller just failed while we waited: share its answer.
            return Err(snapshot
                .last_error
                .clone()
                .unwrap_or(KeySetError::NotLoaded));
        }
        self.load(true).await
    }

    /// Called when a token names a key that `seen` does not have. Refetches
    /// the JWKS at most once per throttle window, with single flight.
    pub(crate) async fn refresh_for_unknown_kid(&self, seen: &KeyState) -> Arc<KeyState> {
        if self.throttled() {
            // Inside the window no new fetch starts; but one may be under
            // way (started by the first miss): wait for it rather than
            // answer from the keys it is replacing.
            if self.refresh_lock.try_lock().is_err() {
                let _settled = self.refresh_lock.lock().await;
            }
            return self.snapshot();
        }
        let _guard = self.refresh_lock.lock().await;
        let current = self.snapshot();
        if current.generation != seen.generation || self.throttled() {
            return current;
        }
        self.last_miss_refresh
            .store(self.clock.now(), Ordering::SeqCst);
        tracing::debug!("token names an unknown key id; refetching the key set");
        match self.load(false).await {
            Ok(state) => state,
            Err(_) => self.snapshot(),
        }
    }

    /// Periodic refresh (discovery and keys).
    pub(crate) async fn refresh(&self) -> Result<Arc<KeyState>, KeySetError> {
        let _guard = self.refresh_lock.lock().await;
        self.load(true).await
    }

    fn throttled(&self) -> bool {
        let last = self.last_miss_refresh.load(Ordering::SeqCst);
        let window =
            i64::try_from(self.settings.unknown_kid_throttle.as_secs()).unwrap_or(i64::MAX);
        last != i64::MIN && self.clock.now().saturating_sub(last) < window
    }

    fn backoff_remaining(&self) -> Option<i64> {
        let last = self.last_failure.load(Ordering::SeqCst);
        let window = i64::try_from(self.settings.failure_backoff.as_secs()).unwrap_or(i64::MAX);
        let elapsed = self.clock.now().saturating_sub(last);
        (last != i64::MIN && elapsed < window).then(|| window - elapsed)
    }

    /// Loads keys (re-running discovery when `rediscover` or never done).
    /// Must be called with `refresh_lock` held.
    async fn load(&self, rediscover: bool) -> Result<Arc<KeyState>, KeySetError> {
        let previous = self.snapshot();
        let result = self.fetch_all(&previous, rediscover).await;
        let now = self.clock.now();
        let next = match result {
            Ok((set, issuers, jwks_uri)) => {
                for why in set.skipped() {
                    tracing::debug!(%why, "skipped a key in the key set");
                }
                self.loads.fetch_add(1, Ordering::Relaxed);
                self.last_failure.store(i64::MIN, Ordering::SeqCst);
                state_from(&set, issuers, jwks_uri, now, previous.generation + 1)
            }
            Err(why) => {
                if previous.loaded_at.is_some() {
                    tracing::warn!(error = %why, "signing keys could not be refreshed; keeping the cached keys");
                } else {
                    tracing::warn!(error = %why, "signing keys could not be loaded");
                }
                self.last_failure.store(now, Ordering::SeqCst);
                let stale = KeyState {
                    keys: previous.keys.clone(),
                    unnamed: previous.unnamed.clone(),
                    issuers: previous.issuers.clone(),
                    jwks_uri: previous.jwks_uri.clone(),
                    loaded_at: previous.loaded_at,
                    generation: previous.generation + 1,
                    last_error: Some(why.clone()),
                };
                self.store(Arc::new(stale));
                return if previous.loaded_at.is_some() {
                    Ok(self.snapshot())
                } else {
                    Err(why)
                };
            }
        };
        let next = Arc::new(next);
        self.store(Arc::clone(&next));
        Ok(next)
    }

    fn store(&self, next: Arc<KeyState>) {
        self.state.store(next);
    }

    /// The current snapshot, borrowed (no reference count is touched on the
    /// fast path): for the duration of one synchronous validation.
    pub(crate) fn current(&self) -> arc_swap::Guard<Arc<KeyState>> {
        self.state.load()
    }

    async fn fetch_all(
        &self,
        previous: &KeyState,
        rediscover: bool,
    ) -> Result<(JwkSet, Vec<Issuer>, Option<Url>), KeySetError> {
        let (issuers, jwks_uri) = match &self.source {
            KeySource::Static(set) => return Ok((set.clone(), Vec::new(), None)),
            KeySource::JwksUri(uri) => (Vec::new(), uri.clone()),
            KeySource::Discovery { authority, kind } => match (&previous.jwks_uri, rediscover) {
                (Some(uri), false) => (previous.issuers.clone(), uri.clone()),
                _ => self.discover(authority, *kind).await?,
            },
        };
        let mut url = jwks_uri.clone();
        if let Some(app_id) = &self.settings.app_id {
            url.query_pairs_mut().append_pair("appid", app_id.as_str());
        }
        self.jwks_fetches.fetch_add(1, Ordering::Relaxed);
        let body = self.fetcher.fetch(&url).await?;
        let set = JwkSet::parse(&body, &self.algorithms).map_err(|reason| {
            KeySetError::InvalidKeySet {
                url: url.to_string(),
                reason,
            }
        })?;
        if set.is_empty() {
            return Err(KeySetError::NoUsableKey {
                url: url.to_string(),
                skipped: set.skipped().to_vec(),
            });
        }
        Ok((set, issuers, Some(jwks_uri)))
    }

    async fn discover(
        &self,
        authority: &Url,
        kind: AuthorityKind,
    ) -> Result<(Vec<Issuer>, Url), KeySetError> {
        let urls = discovery::discovery_urls(authority, kind).map_err(|reason| {
            KeySetError::InvalidAuthority {
                authority: authority.to_string(),
                reason,
            }
        })?;
        let mut issuers = Vec::new();
        let mut jwks_uri = None;
        let mut problems = Vec::new();
        for url in &urls {
            self.discovery_fetches.fetch_add(1, Ordering::Relaxed);
            let metadata = match self.fetcher.fetch(url).await {
                Ok(body) => {
                    ProviderMetadata::parse(&body).map_err(|reason| KeySetError::InvalidDiscovery {
                        url: url.to_string(),
                        reason,
                    })
                }
                Err(e) => Err(KeySetError::Fetch(e)),
            };
            match metadata {
                Ok(m) => {
                    if kind == AuthorityKind::Oidc
                        && m.issuer.as_str() != authority.as_str().trim_end_matches('/')
                        && m.issuer.as_str() != authority.as_str()
                    {
                        problems.push(KeySetError::IssuerMismatch {
                            url: url.to_string(),
                            found: m.issuer.as_str().to_owned(),
                            expected: authority.to_string(),
                        });
                        continue;
                    }
                    if !issuers.contains(&m.issuer) {
                        issuers.push(m.issuer);
                    }
                    jwks_uri.get_or_insert(m.jwks_uri);
                }
                Err(e) => problems.push(e),
            }
        }
        match jwks_uri {
            Some(uri) => Ok((issuers, uri)),
            // One document (generic OIDC) needs no summary around its problem.
            None if problems.len() == 1 => Err(problems.remove(0)),
            None => Err(KeySetError::NoDiscoveryDocument { problems }),
        }
    }
}

/// Spawns the periodic refresh, if a Tokio runtime is running. The task ends
/// when the last validator sharing `manager` is dropped.
pub(crate) fn spawn_background_refresh(manager: &Arc<KeyManager>) {
    if !manager.settings.background || matches!(manager.source, KeySource::Static(_)) {
        return;
    }
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak = Arc::downgrade(manager);
    let interval = manager.settings.interval;
    handle.spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let Some(manager) = weak.upgrade() else { break };
            if let Err(why) = manager.refresh().await {
                tracing::warn!(error = %why, "periodic key refresh failed");
            }
        }
    });
}

/// The items' messages, separated by semicolons.
fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn state_from(
    set: &JwkSet,
    issuers: Vec<Issuer>,
    jwks_uri: Option<Url>,
    now: i64,
    generation: u64,
) -> KeyState {
    let (mut keys, unnamed): (Vec<_>, Vec<_>) = set
        .keys()
        .iter()
        .cloned()
        .partition(|key| key.kid().is_some());
    // Key ids are unique within a set (duplicates are skipped when parsing).
    keys.sort_by(|a, b| a.kid().cmp(&b.kid()));
    KeyState {
        keys,
        unnamed,
        issuers,
        jwks_uri,
        loaded_at: Some(now),
        generation,
        last_error: None,
    }
}
