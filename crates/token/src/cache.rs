//! The verified-token cache.
//!
//! A token that validated once is remembered until it expires, until its
//! signing key leaves the key set, or until it is evicted to keep the cache
//! within its bound. A hit skips parsing and signature verification.
//!
//! Entries are keyed by the SHA-256 of the token's signature segment, and a
//! hit also requires the rest of the token (`header.payload`, kept in the
//! entry) to be byte-for-byte identical, so a hit is exactly the same token.
//! Hashing only the signature keeps a hit fast whatever the token's size; the
//! stored `header.payload` is not a credential without its signature.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::digest;

use crate::keyset::KeyState;
use crate::principal::Principal;

/// The digest a token is cached under.
pub type TokenDigest = [u8; 32];

/// Hit and miss counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to validate.
    pub misses: u64,
    /// Entries currently held.
    pub entries: usize,
}

/// A bounded, sharded map from token digest to validated principal.
#[derive(Debug)]
pub(crate) struct TokenCache {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

type Shard = HashMap<TokenDigest, Entry, BuildHasherDefault<DigestHasher>>;

#[derive(Debug)]
struct Entry {
    principal: Principal,
    /// `header.payload`: not a credential without the signature.
    signing_input: Box<[u8]>,
    valid_until: i64,
    kid: String,
}

impl TokenCache {
    pub(crate) fn new(max_entries: usize) -> TokenCache {
        let per_shard = max_entries.div_ceil(SHARDS).max(1);
        TokenCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub(crate) fn digest(token: &str) -> TokenDigest {
        let signature = token.rsplit_once('.').map_or(token, |(_, s)| s);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest::digest(&digest::SHA256, signature.as_bytes()).as_ref());
        out
    }

    fn signing_input(token: &str) -> &[u8] {
        token.rsplit_once('.').map_or(token, |(h, _)| h).as_bytes()
    }

    /// A cached principal still valid at `now` whose key is still published.
    pub(crate) fn get(
        &self,
        digest: &TokenDigest,
        token: &str,
        now: i64,
        keys: &KeyState,
    ) -> Option<Principal> {
        let mut shard = self.shard(digest).lock().ok()?;
        let found = match shard.get(digest) {
            Some(entry) if *entry.signing_input != *Self::signing_input(token) => None,
            Some(entry) if entry.valid_until >= now && keys.key(&entry.kid).is_some() => {
                Some(entry.principal.clone())
            }
            Some(_) => {
                shard.remove(digest);
                None
            }
            None => None,
        };
        drop(shard);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    pub(crate) fn insert(
        &self,
        digest: TokenDigest,
        token: &str,
        principal: Principal,
        valid_until: i64,
        kid: &str,
        now: i64,
    ) {
        let Ok(mut shard) = self.shard(&digest).lock() else {
            return;
        };
        if shard.len() >= self.per_shard {
            shard.retain(|_, e| e.valid_until >= now);
        }
        if shard.len() >= self.per_shard {
            // Evict the entry closest to expiry.
            if let Some(victim) = shard
                .iter()
                .min_by_key(|(_, e)| e.valid_until)
                .map(|(k, _)| *k)
            {
                shard.remove(&victim);
            }
        }
        shard.insert(
            digest,
            Entry {
                principal,
                signing_input: Self::signing_input(token).into(),
                valid_until,
                kid: kid.to_owned(),
            },
        );
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self
                .shards
                .iter()
                .map(|s| s.lock().map_or(0, |s| s.len()))
                .sum(),
        }
    }

    fn shard(&self, digest: &TokenDigest) -> &Mutex<Shard> {
        let index = usize::from(digest[0]) % self.shards.len();
        // `index` is reduced modulo the length, which is SHARDS > 0.
        #[allow(clippy::indexing_slicing)]
        &self.shards[index]
    }
}

const SHARDS: usize = 16;

/// The digest is already uniformly distributed: hash its first 8 bytes.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for (i, b) in bytes.iter().take(8).enumerate() {
            self.0 ^= u64::from(*b) << (8 * i);
        }
    }
}
