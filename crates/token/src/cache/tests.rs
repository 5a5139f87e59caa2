//! The cache's bound, its eviction order, and when an entry stops counting.

use super::*;
use crate::algorithm::AlgorithmPolicy;
use crate::claims::ClaimSet;
use crate::jwk::JwkSet;
use crate::principal::Fields;

/// A key set with one Ed25519 key, `kid`.
fn keys(kid: &str) -> KeyState {
    let x = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";
    let doc = format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"{kid}","x":"{x}"}}]}}"#);
    KeyState::of(&JwkSet::parse(doc.as_bytes(), &AlgorithmPolicy::oidc()).unwrap())
}

fn principal() -> Principal {
    let payload = "{}";
    let claims = ClaimSet::parse_str(payload, 4).unwrap();
    Principal::new(
        Fields::read(&claims, payload.as_bytes()),
        payload.to_owned(),
        None,
    )
}

/// A token-shaped string (never a real token) with signature `n`.
fn token(n: usize) -> String {
    format!("header.payload.signature-{n}")
}

/// Remembers `token` until `valid_until`, signed by key `k`.
fn insert(cache: &TokenCache, token: &str, valid_until: i64) {
    cache.insert(cache.digest(token), token, principal(), valid_until, "k");
}

fn hit(cache: &TokenCache, token: &str, now: i64, keys: &KeyState) -> bool {
    cache.get(&cache.digest(token), token, now, keys).is_some()
}

/// `count` tokens that land in the same shard as `token(0)`.
fn same_shard(cache: &TokenCache, count: usize) -> Vec<String> {
    let first = cache.shard(&cache.digest(&token(0)));
    (0..)
        .map(token)
        .filter(|t| std::ptr::eq(cache.shard(&cache.digest(t)), first))
        .take(count)
        .collect()
}

fn shard_len(cache: &TokenCache, token: &str) -> usize {
    cache.shard(&cache.digest(token)).lock().unwrap().len()
}

#[test]
fn the_bound_holds() {
    for max in [1, 2, 5, 15, 16, 17, 40, 1000] {
        let cache = TokenCache::new(max);
        let capacity: usize = cache
            .shards
            .iter()
            .map(|s| s.lock().unwrap().capacity())
            .sum();
        assert_eq!(capacity, max, "shard capacities add up to the maximum");
        for n in 0..3 * max + 50 {
            insert(&cache, &token(n), i64::MAX);
            assert!(cache.stats().entries <= max, "max {max}, after {n}");
        }
        for shard in &cache.shards {
            let shard = shard.lock().unwrap();
            assert!(shard.len() <= shard.capacity());
        }
    }
}

#[test]
fn a_full_shard_evicts_the_oldest_entry() {
    let cache = TokenCache::new(2 * SHARDS);
    let keys = keys("k");
    let [a, b, c] = <[String; 3]>::try_from(same_shard(&cache, 3)).unwrap();
    insert(&cache, &a, i64::MAX);
    insert(&cache, &b, i64::MAX);
    insert(&cache, &c, i64::MAX);
    assert_eq!(shard_len(&cache, &a), 2);
    assert!(!hit(&cache, &a, 0, &keys), "the oldest entry went");
    assert!(hit(&cache, &b, 0, &keys));
    assert!(hit(&cache, &c, 0, &keys));
}

#[test]
fn a_hit_makes_an_entry_the_most_recently_used() {
    let cache = TokenCache::new(2 * SHARDS);
    let keys = keys("k");
    let [a, b, c] = <[String; 3]>::try_from(same_shard(&cache, 3)).unwrap();
    insert(&cache, &a, i64::MAX);
    insert(&cache, &b, i64::MAX);
    assert!(hit(&cache, &a, 0, &keys));
    insert(&cache, &c, i64::MAX);
    assert!(hit(&cache, &a, 0, &keys), "used since b was inserted");
    assert!(!hit(&cache, &b, 0, &keys), "the least recently used went");
    assert!(hit(&cache, &c, 0, &keys));
}

#[test]
fn inserting_a_cached_token_again_evicts_nothing() {
    let cache = TokenCache::new(2 * SHARDS);
    let keys = keys("k");
    let [a, b] = <[String; 2]>::try_from(same_shard(&cache, 2)).unwrap();
    insert(&cache, &a, i64::MAX);
    insert(&cache, &b, i64::MAX);
    insert(&cache, &b, i64::MAX);
    assert!(hit(&cache, &a, 0, &keys));
    assert!(hit(&cache, &b, 0, &keys));
}

#[test]
fn expired_entries_and_retired_keys_are_misses_and_removed() {
    let cache = TokenCache::new(100);
    let published = keys("k");
    let (a, b) = (token(1), token(2));
    insert(&cache, &a, 1000);
    insert(&cache, &b, 1000);
    assert!(
        hit(&cache, &a, 1000, &published),
        "valid until its last second"
    );
    assert!(!hit(&cache, &a, 1001, &published));
    assert!(
        !hit(&cache, &a, 0, &published),
        "removed when found expired"
    );
    assert!(!hit(&cache, &b, 0, &keys("other")), "its key left the set");
    assert!(
        !hit(&cache, &b, 0, &published),
        "removed when found retired"
    );
    assert_eq!(cache.stats().entries, 0);
    assert_eq!(
        cache.stats(),
        CacheStats {
            hits: 1,
            misses: 4,
            entries: 0
        }
    );
}

#[test]
fn a_hit_needs_the_same_signed_content() {
    let cache = TokenCache::new(100);
    let keys = keys("k");
    insert(&cache, "header.payload.signature", i64::MAX);
    // The same signature over other content: a miss, and the entry stays.
    assert!(!hit(&cache, "header.forged.signature", 0, &keys));
    assert!(hit(&cache, "header.payload.signature", 0, &keys));
}

#[test]
fn debug_shows_counts_only() {
    let cache = TokenCache::new(40);
    insert(&cache, &token(1), i64::MAX);
    let text = format!("{cache:?}");
    assert!(text.contains("capacity: 40"), "{text}");
    assert!(!text.contains("payload"), "{text}");
}

#[test]
fn a_hit_needs_the_same_signature_not_just_the_same_key() {
    let cache = TokenCache::new(8);
    let keys = keys("k");
    insert(&cache, "header.payload.good-signature", 100);
    // Same signing input, another signature, forced onto the cached key:
    // the entry's signature decides, so it is a miss.
    let forged = "header.payload.other-signature";
    let key = cache.digest("header.payload.good-signature");
    assert!(cache.get(&key, forged, 10, &keys).is_none());
    assert!(
        cache
            .get(&key, "header.payload.good-signature", 10, &keys)
            .is_some()
    );
}
