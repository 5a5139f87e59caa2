//! The OAuth 2.0 / OpenID Connect logic, independent of HTTP plumbing.

pub mod aadsts;
pub mod assertion;
pub mod authorize;
pub mod device;
pub mod discovery;
pub mod endpoints;
pub mod errors;
pub mod limits;
pub mod own_tokens;
pub mod pkce;
pub mod response;
pub mod scope;
pub mod tenancy;
pub mod token;
pub mod tokens;
pub mod userinfo;

use std::sync::{Arc, RwLock};

use rolegate_token::clock::Clock;

use crate::directory::Tenants;
use crate::keys::SigningKeys;
use crate::protocol::limits::Limits;
use crate::secret::HashPool;
use crate::store::{Store, StoreError};

/// Lifetimes and limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Access-token lifetime in seconds (`expires_in`).
    pub access_token_lifetime: i64,
    /// ID-token lifetime.
    pub id_token_lifetime: i64,
    /// Authorization-code lifetime.
    pub code_lifetime: i64,
    /// Web/native refresh-token lifetime (sliding).
    pub refresh_token_lifetime: i64,
    /// SPA refresh-token lifetime (fixed from the first sign-in).
    pub spa_refresh_token_lifetime: i64,
    /// Device-code lifetime.
    pub device_code_lifetime: i64,
    /// Device-code polling interval.
    pub device_code_interval: i64,
    /// SSO session lifetime.
    pub session_lifetime: i64,
    /// Failed passwords allowed per user within `lockout_window`.
    pub max_failed_logins: u32,
    /// The failed-password window, in seconds.
    pub lockout_window: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            access_token_lifetime: 3599,
            id_token_lifetime: 3600,
            code_lifetime: 600,
            refresh_token_lifetime: 90 * 24 * 3600,
            spa_refresh_token_lifetime: 24 * 3600,
            device_code_lifetime: 900,
            device_code_interval: 5,
            session_lifetime: 24 * 3600,
            max_failed_logins: 5,
            lockout_window: 15 * 60,
        }
    }
}

/// The identity provider's state: directory, store, keys, settings, clock,
/// and the bounds on expensive work.
#[derive(Debug)]
pub struct Provider {
    tenants: RwLock<Arc<Tenants>>,
    /// Runtime state.
    pub store: Arc<dyn Store>,
    /// Signing keys.
    pub keys: SigningKeys,
    /// Lifetimes and limits.
    pub settings: Settings,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Password and secret verification, bounded.
    pub hashing: HashPool,
    /// Per-source throttles.
    pub limits: Limits,
    /// The key CSRF tokens are bound with (from the store, made once).
    form_key: tokio::sync::OnceCell<Vec<u8>>,
    /// Validators for the provider's own tokens (OBO, UserInfo).
    pub own_tokens: own_tokens::OwnTokenValidators,
}

impl Provider {
    /// Assembles a provider.
    pub fn new(
        tenants: Tenants,
        store: Arc<dyn Store>,
        keys: SigningKeys,
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            tenants: RwLock::new(Arc::new(tenants)),
            store,
            keys,
            settings,
            clock,
            hashing: HashPool::for_this_machine(),
            limits: Limits::default(),
            form_key: tokio::sync::OnceCell::new(),
            own_tokens: own_tokens::OwnTokenValidators::default(),
        }
    }

    /// The key that binds CSRF tokens to their cookie: 32 bytes from the OS
    /// random source, made once and kept in the store (so forms survive a
    /// restart and replicas agree).
    pub async fn form_key(&self) -> Result<&[u8], StoreError> {
        self.form_key
            .get_or_try_init(|| async {
                let mut fresh = [0u8; 32];
                aws_lc_rs::rand::fill(&mut fresh)
                    .map_err(|_| StoreError("the OS random source failed".to_owned()))?;
                self.store.server_secret("form_key", &fresh).await
            })
            .await
            .map(Vec::as_slice)
    }

    /// The current snapshot of every tenant served.
    pub fn tenants(&self) -> Arc<Tenants> {
        match self.tenants.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Swaps in reloaded tenants; sessions and tokens in the store survive.
    pub fn replace_tenants(&self, tenants: Tenants) {
        let next = Arc::new(tenants);
        match self.tenants.write() {
            Ok(mut guard) => *guard = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
    }

    /// Now, in seconds since the epoch.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
