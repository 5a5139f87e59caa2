//! The verified-token cache.
//!
//! A token that validated once is remembered until it expires, until its
//! signing key leaves the key set, or until it is evicted to keep the cache
//! within its bound (least recently used first, in constant time under the
//! shard's lock). A hit skips parsing and signature verification.
//!
//! Entries are keyed by the SHA-256 of the token's signature segment, and a
//! hit also requires the rest of the token (`header.payload`, kept in the
//! entry) to be byte-for-byte identical, so a hit is exactly the same token.
//! Hashing only the signature keeps a hit fast whatever the token's size; the
//! stored `header.payload` is not a credential without its signature.

use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::digest;
use hashlink::LruCache;

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
///
/// Each shard is an LRU list: a hit moves its entry to the back, and an
/// insert into a full shard evicts the entry at the front, the least
/// recently used, in constant time. The shards' capacities add up to the
/// configured maximum exactly.
pub(crate) struct TokenCache {
    shards: Box<[Mutex<Shard>]>,
    hits: AtomicU64,
    misses: AtomicU64,
}

type Shard = LruCache<TokenDigest, Entry, BuildHasherDefault<DigestHasher>>;

struct Entry {
    principal: Principal,
    /// `header.payload`: not a credential without the signature.
    signing_input: Box<[u8]>,
    valid_until: i64,
    kid: String,
}

impl TokenCache {
    /// A cache holding at most `max_entries` principals (at least one).
    pub(crate) fn new(max_entries: usize) -> TokenCache {
        let count = max_entries.clamp(1, SHARDS);
        let shards = (0..count)
            .map(|i| {
                let capacity = max_entries / count + usize::from(i < max_entries % count);
                Mutex::new(Shard::with_hasher(capacity.max(1), Default::default()))
            })
            .collect();
        TokenCache {
            shards,
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

    /// A cached principal still valid at `now` whose key is still published
    /// (which makes it the most recently used entry of its shard).
    pub(crate) fn get(
        &self,
        digest: &TokenDigest,
        token: &str,
        now: i64,
        keys: &KeyState,
    ) -> Option<Principal> {
        let mut shard = self.shard(digest).lock().ok()?;
        let mut stale = None;
        let found = match shard.get(digest) {
            Some(entry) if *entry.signing_input != *Self::signing_input(token) => None,
            Some(entry) if entry.valid_until >= now && keys.key(&entry.kid).is_some() => {
                Some(entry.principal.clone())
            }
            Some(_) => {
                stale = shard.remove(digest);
                None
            }
            None => None,
        };
        drop(shard);
        drop(stale);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Remembers a validated token; when its shard is full, the least
    /// recently used entry makes room.
    pub(crate) fn insert(
        &self,
        digest: TokenDigest,
        token: &str,
        principal: Principal,
        valid_until: i64,
        kid: &str,
    ) {
        let entry = Entry {
            principal,
            signing_input: Self::signing_input(token).into(),
            valid_until,
            kid: kid.to_owned(),
        };
        let Ok(mut shard) = self.shard(&digest).lock() else {
            return;
        };
        let evicted = if shard.len() >= shard.capacity() && !shard.contains_key(&digest) {
            shard.remove_lru()
        } else {
            None
        };
        let replaced = shard.insert(digest, entry);
        // Entries are dropped (their principals perhaps freed) unlocked.
        drop(shard);
        drop((evicted, replaced));
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
        // The last byte: independent of the bytes `DigestHasher` uses
        // within a shard.
        let index = usize::from(digest[31]) % self.shards.len();
        // `index` is reduced modulo the length, which is at least 1.
        #[allow(clippy::indexing_slicing)]
        &self.shards[index]
    }
}

impl fmt::Debug for TokenCache {
    /// Counts only: entries hold principals and signed payloads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let capacity: usize = self
            .shards
            .iter()
            .map(|s| s.lock().map_or(0, |s| s.capacity()))
            .sum();
        f.debug_struct("TokenCache")
            .field("shards", &self.shards.len())
            .field("capacity", &capacity)
            .field("stats", &self.stats())
            .finish()
    }
}

/// The most shards a cache has (fewer when it holds fewer entries).
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

#[cfg(test)]
mod tests;
