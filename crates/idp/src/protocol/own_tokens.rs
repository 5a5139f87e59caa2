//! Validating the provider's own tokens (on-behalf-of assertions, UserInfo
//! bearers) with rolegate-token, as any API would, without building a
//! validator per request.
//!
//! A validator is made for one (published key set, issuers, audiences)
//! and kept in a small LRU; a key rotation changes the key set and so the
//! cache key, and the stale validator ages out.

use std::sync::{Arc, Mutex};

use rolegate_token::audience::AudiencePolicy;
use rolegate_token::id::Issuer;
use rolegate_token::issuer::IssuerPolicy;
use rolegate_token::keyset::RefreshSettings;
use rolegate_token::{Validator, ValidatorConfig};

use crate::protocol::Provider;
use crate::protocol::errors::OAuthError;

/// How many validators are kept (one per origin × audience set in use).
const CAPACITY: usize = 32;

/// Validators for the provider's own tokens, by what they accept.
pub struct OwnTokenValidators {
    cache: Mutex<hashlink::LruCache<[u8; 32], Arc<Validator>>>,
}

impl std::fmt::Debug for OwnTokenValidators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnTokenValidators").finish_non_exhaustive()
    }
}

impl Default for OwnTokenValidators {
    fn default() -> Self {
        Self {
            cache: Mutex::new(hashlink::LruCache::new(CAPACITY)),
        }
    }
}

/// Which audiences a validator accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audiences<'a> {
    /// An API: its client id, with `api://{id}` accepted as the library does,
    /// plus its App ID URIs.
    Api(&'a [String]),
    /// Exactly these values.
    Exact(&'a [&'a str]),
}

impl OwnTokenValidators {
    /// A validator for tokens signed with `p`'s current keys, issued by one
    /// of `issuers`, for `audiences`.
    ///
    /// # Errors
    ///
    /// A server error when the validator cannot be built (the published key
    /// set does not parse: a bug).
    pub fn get(
        &self,
        p: &Provider,
        issuers: &[String],
        audiences: Audiences<'_>,
    ) -> Result<Arc<Validator>, OAuthError> {
        let jwks = p.keys.jwks(None, p.now()).to_string();
        let mut key = jwks.clone();
        for issuer in issuers {
            key.push('\0');
            key.push_str(issuer);
        }
        key.push('\u{1}');
        match audiences {
            Audiences::Api(values) => values.iter().for_each(|a| {
                key.push('\0');
                key.push_str(a);
            }),
            Audiences::Exact(values) => {
                key.push('=');
                values.iter().for_each(|a| {
                    key.push('\0');
                    key.push_str(a);
                });
            }
        }
        let key = crate::secret::digest(&key);
        if let Ok(mut cache) = self.cache.lock()
            && let Some(found) = cache.get(&key)
        {
            return Ok(Arc::clone(found));
        }
        let issuers = IssuerPolicy::entra(issuers.iter().map(|i| Issuer::new(i.clone())));
        let audiences = match audiences {
            Audiences::Api(values) => AudiencePolicy::new(values.iter().cloned()),
            Audiences::Exact(values) => AudiencePolicy::exact(values.iter().copied()),
        };
        let config = ValidatorConfig::static_keys(jwks, issuers, audiences)
            .clock(Arc::clone(&p.clock))
            .token_cache(0)
            .refresh(RefreshSettings {
                background: false,
                ..RefreshSettings::default()
            });
        let validator = Arc::new(Validator::new(config).map_err(|e| {
            tracing::error!(error = %e, "cannot build a validator for the provider's own tokens");
            OAuthError::validator_failed()
        })?);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, Arc::clone(&validator));
        }
        Ok(validator)
    }
}
