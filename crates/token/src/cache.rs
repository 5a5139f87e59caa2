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

use std::hash::BuildHasher as _;

use hashlink::LruCache;

use crate::keyset::KeyState;
use crate::principal::Principal;

/// The key a token is cached under: a keyed hash of its signature (the
/// entry itself holds the signature and the signed input, compared in full
/// on every hit, so the key only has to spread tokens, not prove them).
pub type TokenDigest = u64;

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
    /// SipHash with random keys: an attacker cannot aim tokens at one key.
    keys: std::hash::RandomState,
    hits: AtomicU64,
    misses: AtomicU64,
}

type Shard = LruCache<TokenDigest, Entry, BuildHasherDefault<DigestHasher>>;

struct Entry {
    principal: Principal,
    /// `header.payload`: not a credential without the signature.
    signing_input: Box<[u8]>,
    /// The signature the principal was verified with.
    signature: Box<[u8]>,
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
            keys: std::hash::RandomState::new(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The key `token` is cached under. (SipHash over the ~350-byte
    /// signature costs a few hundred instructions; SHA-256 cost ~13,000,
    /// the largest single item of a cached gateway request.)
    pub(crate) fn digest(&self, token: &str) -> TokenDigest {
        self.keys.hash_one(Self::signature(token))
    }

    /// `(header.payload, signature)`, split once at the last dot.
    fn parts(token: &str) -> (&[u8], &[u8]) {
        let (input, signature) = token.rsplit_once('.').unwrap_or((token, token));
        (input.as_bytes(), signature.as_bytes())
    }

    fn signature(token: &str) -> &[u8] {
        Self::parts(token).1
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
            // The whole token must match, not just its key.
            Some(entry) if (&*entry.signing_input, &*entry.signature) != Self::parts(token) => None,
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
            signing_input: Self::parts(token).0.into(),
            signature: Self::parts(token).1.into(),
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
        // The top byte: independent of the low bits the shard's table uses.
        let index = usize::from((digest >> 56) as u8) % self.shards.len();
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

/// The key is already a keyed hash: the table uses it as it is.
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

    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }
}

#[cfg(test)]
mod tests;
