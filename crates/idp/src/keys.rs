//! Token signing keys: RS256 over RSA-2048, published as a JWKS, rotated on
//! a schedule that never strands a token (spec §1.3, §10).
//!
//! Each key is an RSA key pair with a self-signed certificate, as Entra
//! publishes them: `kid` = `x5t` = base64url SHA-1 thumbprint of the
//! certificate, which is also published as `x5c`. There is always a
//! *current* key (it signs) and a *next* key (published, not yet signing);
//! a retired key stays published until the last token it signed expires.
//!
//! # Key rotation that validators can follow
//!
//! A validator learns a new key when a token names a `kid` it has not seen,
//! and refetches the JWKS for that at most once per
//! [`VALIDATOR_REFETCH_WINDOW`] (rolegate-token's
//! [`UNKNOWN_KID_THROTTLE`]; Microsoft.IdentityModel uses the same 5
//! minutes). Any token, even a forged one, can start that window. A key
//! that signs sooner than the window after it was published is therefore
//! refused, for up to the whole window, by every validator that refetched
//! just before the key appeared. So [`SigningKeys::rotate`] never lets a key
//! sign before it has existed for [`PUBLICATION_BEFORE_SIGNING`]: the
//! window, plus the [`RELOAD_INTERVAL`] within which a running provider
//! publishes a key that `rolegate idp rotate-keys` wrote to its store. A
//! validator then either fetched after the key appeared (and knows it) or
//! last refetched before, and its window has ended by the first token the
//! key signs.
//!
//! ```text
//! rotate(now, lead, max_lifetime), P = PUBLICATION_BEFORE_SIGNING:
//!   next made    now          switch = max(now+lead, next made+P,       switch+max_lifetime
//!   │            │                         a pending switch)            │
//!   next: published ───────── signs (current)
//!   old:         signs ────── retires ───────────────────────────────── unpublished
//!   new next:    published …  (promoted by the next rotation, ≥ now+P)
//! ```
//!
//! A rotation that follows another before that one's switch (or within P
//! of it) promotes the key the first one made, so its switch waits until
//! that key has been published for P: two rotations back to back take P,
//! not zero. A lead shorter than the window is refused by the CLI unless
//! forced ([`check_publish_lead`]): a provider that was stopped when the
//! next key was made published it only when it restarted, which `created_at`
//! does not show, and a lead of at least the window covers that.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustls::pki_types::PrivatePkcs8KeyDer;
use serde_json::{Value, json};

use rolegate_token::keyset::UNKNOWN_KID_THROTTLE;

use crate::store::{KeyRecord, Store, StoreError};
use crate::tls::{der, set_validity};

/// How long (seconds) a validator may go without refetching the JWKS after
/// a token names an unknown `kid`: rolegate-token's
/// [`UNKNOWN_KID_THROTTLE`], 300 seconds.
// The value is 300: the cast cannot wrap.
pub const VALIDATOR_REFETCH_WINDOW: i64 = UNKNOWN_KID_THROTTLE.as_secs() as i64;

/// How often (seconds) a running provider re-reads its keys from the store,
/// picking up rotations made by `rolegate idp rotate-keys` (SIGHUP reloads
/// at once).
pub const RELOAD_INTERVAL: i64 = 30;

/// The least time (seconds) between a key's creation and the first token it
/// signs: [`VALIDATOR_REFETCH_WINDOW`] plus [`RELOAD_INTERVAL`].
///
/// # Security
///
/// Shorter, and validators that refetched keys just before the key was
/// published refuse its tokens until their window ends (see the module
/// docs).
pub const PUBLICATION_BEFORE_SIGNING: i64 = VALIDATOR_REFETCH_WINDOW + RELOAD_INTERVAL;

/// The signing keys, loaded from the store and cached (parsed) in memory.
///
/// Share it (`Arc`) between handlers: signing only takes a read lock.
pub struct SigningKeys {
    store: Arc<dyn Store>,
    loaded: RwLock<Vec<Arc<LoadedKey>>>,
    rotation: tokio::sync::Mutex<()>,
    rng: SystemRandom,
}

/// What [`SigningKeys::rotate`] changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    /// The key that signed until now; it stops signing at `switch_at`.
    pub retired_kid: String,
    /// The key that signs from `switch_at` on (it was already published,
    /// at least [`PUBLICATION_BEFORE_SIGNING`] before `switch_at`).
    pub promoted_kid: String,
    /// The newly generated key, published now, signing from a year after
    /// `switch_at` unless another rotation promotes it earlier (and no
    /// sooner than [`PUBLICATION_BEFORE_SIGNING`] from now).
    pub next_kid: String,
    /// When the signer changes (unix seconds).
    pub switch_at: i64,
    /// When the retired key leaves the JWKS (unix seconds).
    pub unpublish_at: i64,
}

/// Signing-key failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// rcgen refused to build the key's certificate.
    #[error("cannot create the signing key certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// The claims could not be serialised.
    #[error("cannot serialise token claims: {0}")]
    Claims(#[from] serde_json::Error),
    /// The system could not generate an RSA key.
    #[error("cannot generate an RSA-2048 signing key")]
    Generate,
    /// A stored key could not be used.
    #[error("stored signing key {kid:?} is unusable: {reason}")]
    InvalidKey {
        /// The key's id.
        kid: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No key signs at this time (every key is retired or not yet active).
    #[error("no signing key is active at {now}")]
    NoActiveKey {
        /// The time asked about (unix seconds).
        now: i64,
    },
    /// A publish lead shorter than the validators' refetch window was asked
    /// for (see [`check_publish_lead`]).
    #[error(
        "publish lead {lead}s is shorter than the validators' unknown-kid refetch window ({window}s)"
    )]
    PublishLeadTooShort {
        /// The lead asked for (seconds).
        lead: i64,
        /// [`VALIDATOR_REFETCH_WINDOW`].
        window: i64,
    },
    /// The RSA signature operation failed.
    #[error("RSA signing failed")]
    Sign,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SigningKeys {
    /// Loads the keys from `store`, creating them on first use.
    ///
    /// Afterwards there is a key that signs at `now` and a next key that is
    /// published but does not sign yet (it would start a year from its
    /// creation, or earlier through [`rotate`](Self::rotate)). Keys that a
    /// newer key superseded without a rotation are retired, staying
    /// published for a day.
    ///
    /// Runs holding the store's signing-key lock
    /// ([`Store::lock_signing_keys`]), so that replicas starting together on
    /// an empty store create one set of keys, not one each.
    pub async fn load_or_create(store: Arc<dyn Store>, now: i64) -> Result<SigningKeys, KeyError> {
        let lock = store.lock_signing_keys().await?;
        let mut records = store.keys().await?;
        let current = current_record(&records, now).cloned();
        let mut created = current.is_none();
        let current = match current {
            Some(current) => current,
            None => {
                let created = generate(now, now).await?;
                store.put_key(&created).await?;
                records.push(created.clone());
                created
            }
        };
        for old in &mut records {
            if old.kid != current.kid && old.retired_at.is_none() && old.active_from <= now {
                old.retired_at = Some(current.active_from);
                old.unpublish_at = Some(current.active_from.saturating_add(SUPERSEDED_KEY_GRACE));
                store.update_key(old).await?;
            }
        }
        if next_record(&records, now).is_none() {
            created = true;
            store
                .put_key(&generate(now, now.saturating_add(NEXT_KEY_DELAY)).await?)
                .await?;
        }
        drop(lock);
        if created && let Err(e) = store.announce_key_change().await {
            tracing::warn!(error = %e, "new signing keys not announced; other replicas reload at their next poll");
        }
        let keys = SigningKeys {
            store,
            loaded: RwLock::new(Vec::new()),
            rotation: tokio::sync::Mutex::new(()),
            rng: SystemRandom::new(),
        };
        keys.reload().await?;
        Ok(keys)
    }

    /// Signs `claims` as a compact JWS with the key current at `now`.
    ///
    /// The header is `{"typ":"JWT","alg":"RS256","kid":…}`, plus `x5t` (the
    /// same value) for v1 tokens (spec §3.2).
    pub fn sign(&self, claims: &Value, v1: bool, now: i64) -> Result<String, KeyError> {
        let key = self.current(now).ok_or(KeyError::NoActiveKey { now })?;
        let payload = serde_json::to_vec(claims)?;
        let header = if v1 { &key.header_v1 } else { &key.header_v2 };
        let signature_len = key.pair.public_modulus_len();
        let mut token =
            String::with_capacity(header.len() + 2 + (payload.len() + signature_len) * 4 / 3 + 4);
        token.push_str(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let mut signature = vec![0u8; signature_len];
        key.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                token.as_bytes(),
                &mut signature,
            )
            .map_err(|_| KeyError::Sign)?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
    }

    /// The JWKS document at `now`: every key not yet unpublished, the
    /// current one first (spec §1.3).
    ///
    /// With an `issuer`, each key also carries `issuer` and
    /// `cloud_instance_name`, as Entra's v2 keys do.
    pub fn jwks(&self, issuer: Option<&str>, now: i64) -> Value {
        let loaded = self.snapshot();
        let current = current_index(&loaded, now);
        let mut published: Vec<(usize, &Arc<LoadedKey>)> = loaded
            .iter()
            .enumerate()
            .filter(|(_, key)| key.record.unpublish_at.is_none_or(|at| now < at))
            .collect();
        published.sort_by_key(|(index, _)| Some(*index) != current);
        let keys: Vec<Value> = published
            .into_iter()
            .map(|(_, key)| {
                let mut jwk = key.jwk.clone();
                if let (Some(issuer), Value::Object(fields)) = (issuer, &mut jwk) {
                    fields.insert("issuer".to_owned(), Value::from(issuer));
                    fields.insert(
                        "cloud_instance_name".to_owned(),
                        Value::from(CLOUD_INSTANCE_NAME),
                    );
                }
                jwk
            })
            .collect();
        json!({ "keys": keys })
    }

    /// Rolls the keys over (spec §10: add key → switch signer → retire).
    ///
    /// The next key, already published, starts signing at
    /// `now + publish_lead` (or earlier if it was already due), but never
    /// before it has been published for [`PUBLICATION_BEFORE_SIGNING`], nor
    /// before a switch an earlier rotation scheduled. The key it takes over
    /// from stops then and stays published for `max_token_lifetime` more
    /// seconds, until the last token it signed has expired. A new next key
    /// is generated and published at once. Negative durations count as zero.
    ///
    /// A rotation before an earlier one's switch builds on it: the key that
    /// one promoted retires in turn (it may sign for no time at all), and
    /// the key that one made is promoted.
    pub async fn rotate(
        &self,
        now: i64,
        publish_lead: i64,
        max_token_lifetime: i64,
    ) -> Result<RotationReport, KeyError> {
        let _one_at_a_time = self.rotation.lock().await;
        // Other processes sharing the store (replicas, `rotate-keys`) may
        // have rotated since this one last loaded: decide on what is
        // stored, holding the store's lock.
        let lock = self.store.lock_signing_keys().await?;
        let records = self.store.keys().await?;
        // The last switch already scheduled (or now): this rotation follows it.
        let pending = records
            .iter()
            .filter_map(|key| key.retired_at)
            .fold(now, i64::max);
        let mut current = current_record(&records, pending)
            .cloned()
            .ok_or(KeyError::NoActiveKey { now })?;
        let (mut next, stored) = match next_record(&records, pending) {
            Some(next) => (next.clone(), true),
            None => (
                generate(now, now.saturating_add(NEXT_KEY_DELAY)).await?,
                false,
            ),
        };
        let switch_at = next
            .active_from
            .min(now.saturating_add(publish_lead.max(0)))
            .max(next.created_at.saturating_add(PUBLICATION_BEFORE_SIGNING))
            .max(pending);
        let unpublish_at = switch_at.saturating_add(max_token_lifetime.max(0));
        next.active_from = switch_at;
        current.retired_at = Some(switch_at);
        current.unpublish_at = Some(unpublish_at);
        let new_next = generate(now, switch_at.saturating_add(NEXT_KEY_DELAY)).await?;
        if stored {
            self.store.update_key(&next).await?;
        } else {
            self.store.put_key(&next).await?;
        }
        self.store.update_key(&current).await?;
        self.store.put_key(&new_next).await?;
        drop(lock);
        self.reload().await?;
        if let Err(e) = self.store.announce_key_change().await {
            tracing::warn!(error = %e, "rotation not announced; other replicas reload at their next poll");
        }
        tracing::info!(retired = %current.kid, promoted = %next.kid, next = %new_next.kid, switch_at, unpublish_at, "signing keys rotated");
        Ok(RotationReport {
            retired_kid: current.kid,
            promoted_kid: next.kid,
            next_kid: new_next.kid,
            switch_at,
            unpublish_at,
        })
    }

    /// The `kid` of the key that signs at `now`, if any.
    pub fn current_kid(&self, now: i64) -> Option<String> {
        self.current(now).map(|key| key.record.kid.clone())
    }

    fn current(&self, now: i64) -> Option<Arc<LoadedKey>> {
        let loaded = self.loaded.read().unwrap_or_else(PoisonError::into_inner);
        current_index(&loaded, now)
            .and_then(|index| loaded.get(index))
            .cloned()
    }

    fn snapshot(&self) -> Vec<Arc<LoadedKey>> {
        self.loaded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Re-reads and re-parses every key from the store.
    pub async fn reload(&self) -> Result<(), KeyError> {
        let parsed = self
            .store
            .keys()
            .await?
            .into_iter()
            .map(|record| LoadedKey::parse(record).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        *self.loaded.write().unwrap_or_else(PoisonError::into_inner) = parsed;
        Ok(())
    }
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<String> = self
            .snapshot()
            .iter()
            .map(|key| key.record.kid.clone())
            .collect();
        f.debug_struct("SigningKeys")
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

/// Checks a publish lead an operator asked for: at least
/// [`VALIDATOR_REFETCH_WINDOW`].
///
/// [`SigningKeys::rotate`] keeps validators able to follow whatever the lead,
/// judging a key's publication by its `created_at`. That is exact while the
/// provider runs; a provider that was stopped when the next key was made
/// published it only on restart, and a lead of at least the window covers
/// that case too. `rolegate idp rotate-keys --force` skips this check.
pub fn check_publish_lead(publish_lead: i64) -> Result<(), KeyError> {
    if publish_lead < VALIDATOR_REFETCH_WINDOW {
        return Err(KeyError::PublishLeadTooShort {
            lead: publish_lead,
            window: VALIDATOR_REFETCH_WINDOW,
        });
    }
    Ok(())
}

/// A stored key, parsed once: the key pair, the encoded JWS headers and
/// the JWK (without per-tenant fields).
struct LoadedKey {
    record: KeyRecord,
    pair: RsaKeyPair,
    header_v1: String,
    header_v2: String,
    jwk: Value,
}

impl LoadedKey {
    fn parse(record: KeyRecord) -> Result<LoadedKey, KeyError> {
        let invalid = |reason| KeyError::InvalidKey {
            kid: record.kid.clone(),
            reason,
        };
        let pair = RsaKeyPair::from_pkcs8(&record.pkcs8).map_err(|e| invalid(e.description_()))?;
        let (n, e) = der::rsa_public_key(pair.public_key().as_ref())
            .ok_or_else(|| invalid("malformed RSA public key"))?;
        let kid = &record.kid;
        let encode = |header: Value| URL_SAFE_NO_PAD.encode(header.to_string());
        let jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "kid": kid,
            "x5t": kid,
            "n": URL_SAFE_NO_PAD.encode(n),
            "e": URL_SAFE_NO_PAD.encode(e),
            "x5c": [STANDARD.encode(&record.certificate)],
        });
        Ok(LoadedKey {
            header_v1: encode(json!({ "typ": "JWT", "alg": "RS256", "kid": kid, "x5t": kid })),
            header_v2: encode(json!({ "typ": "JWT", "alg": "RS256", "kid": kid })),
            jwk,
            pair,
            record,
        })
    }
}

/// The key that signs at `now`: active, not retired, and the most recently
/// activated of those.
fn current_record(records: &[KeyRecord], now: i64) -> Option<&KeyRecord> {
    records
        .iter()
        .filter(|key| signs_at(key, now))
        .max_by_key(|key| key.active_from)
}

fn current_index(loaded: &[Arc<LoadedKey>], now: i64) -> Option<usize> {
    loaded
        .iter()
        .enumerate()
        .filter(|(_, key)| signs_at(&key.record, now))
        .max_by_key(|(_, key)| key.record.active_from)
        .map(|(index, _)| index)
}

/// The published key due to sign next (the earliest future one).
fn next_record(records: &[KeyRecord], now: i64) -> Option<&KeyRecord> {
    records
        .iter()
        .filter(|key| key.active_from > now && key.retired_at.is_none())
        .min_by_key(|key| key.active_from)
}

fn signs_at(key: &KeyRecord, now: i64) -> bool {
    key.active_from <= now && key.retired_at.is_none_or(|retired| now < retired)
}

/// A new RSA-2048 key with its self-signed certificate, signing from
/// `active_from`. Key generation takes tens of milliseconds, so it runs on
/// the blocking pool.
async fn generate(now: i64, active_from: i64) -> Result<KeyRecord, KeyError> {
    tokio::task::spawn_blocking(move || generate_blocking(now, active_from))
        .await
        .map_err(|_| KeyError::Generate)?
}

fn generate_blocking(now: i64, active_from: i64) -> Result<KeyRecord, KeyError> {
    let pair =
        aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
    let pkcs8 = pair
        .as_der()
        .map_err(|_| KeyError::Generate)?
        .as_ref()
        .to_vec();
    let signer = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &PrivatePkcs8KeyDer::from(pkcs8.as_slice()),
        &rcgen::PKCS_RSA_SHA256,
    )?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, CERTIFICATE_NAME);
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    set_validity(
        &mut params,
        now.saturating_sub(DAY),
        now.saturating_add(CERTIFICATE_VALIDITY),
    );
    let certificate = params.self_signed(&signer)?.der().to_vec();
    let thumbprint =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &certificate);
    Ok(KeyRecord {
        kid: URL_SAFE_NO_PAD.encode(thumbprint.as_ref()),
        pkcs8,
        certificate,
        created_at: now,
        active_from,
        retired_at: None,
        unpublish_at: None,
    })
}

const CERTIFICATE_NAME: &str = "rolegate signing key";

/// Five years, as Entra's signing certificates run.
const CERTIFICATE_VALIDITY: i64 = 5 * 365 * DAY;

const CLOUD_INSTANCE_NAME: &str = "microsoftonline.com";

const DAY: i64 = 24 * 3600;

/// A new next key starts signing this long after it is due, unless a
/// rotation promotes it earlier.
const NEXT_KEY_DELAY: i64 = 365 * DAY;

/// How long a key superseded without a rotation stays published (Entra
/// tokens live at most a day).
const SUPERSEDED_KEY_GRACE: i64 = DAY;

#[cfg(test)]
mod tests;
