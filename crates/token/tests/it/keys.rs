//! Key discovery, caching, rotation and failure behaviour against a real
//! loopback JWKS server.

use std::sync::Arc;
use std::time::Duration;

use rolegate_testkit::SigningKey;
use rolegate_testkit::claims;
use rolegate_token::fetch::FetchError;
use rolegate_token::keyset::{KeySetError, RefreshSettings};
use rolegate_token::{ErrorCode, ValidationError, Validator};

use crate::common::{API, Env, SPA, fast_refresh};

fn user(env: &Env) -> serde_json::Value {
    claims::access_v2(&env.tenant, API, SPA, "access_as_user", &["Orders.Read"])
}

#[tokio::test]
async fn discovery_then_keys_once_and_reuse() {
    let env = Env::start().await;
    let v = env.validator();
    for _ in 0..5 {
        v.validate(&env.sign(&user(&env))).await.unwrap();
    }
    assert_eq!(env.server.jwks_fetches(), 1);
    assert_eq!(env.server.discovery_fetches(), 2, "v2 and v1 documents");
    assert_eq!(v.key_stats().jwks_fetches, 1);
}

#[tokio::test]
async fn rotation_picks_up_a_new_kid() {
    let env = Env::start().await;
    let v = env.validator();
    v.validate(&env.sign(&user(&env))).await.unwrap();
    let next = SigningKey::rsa_2048();
    env.server.set_keys(&[&env.key, &next]);
    let p = v.validate(&next.sign(&user(&env))).await.unwrap();
    assert_eq!(p.key_id().unwrap().as_str(), next.kid());
    assert_eq!(env.server.jwks_fetches(), 2);
    // Retiring the old key: tokens it signed fail once the set is refetched.
    env.server.set_keys(&[&next]);
    v.refresh_keys().await.unwrap();
    let err = v.validate(&env.sign(&user(&env))).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::KeyNotFound);
}

#[tokio::test]
async fn unknown_kid_flood_fetches_at_most_once_per_window() {
    let env = Env::start().await;
    let v = Validator::new(env.config().refresh(fast_refresh())).unwrap();
    v.warm_up().await.unwrap();
    assert_eq!(env.server.jwks_fetches(), 1);
    for _ in 0..200 {
        let stranger = SigningKey::rsa_2048_cached_for_tests();
        let header = serde_json::json!({"alg":"RS256","kid": format!("random-{}", rolegate_testkit::b64url(&rand_bytes()))});
        let err = v
            .validate(&stranger.sign_with_header(&header, &user(&env)))
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::KeyNotFound);
    }
    assert_eq!(
        env.server.jwks_fetches(),
        2,
        "one refetch in the throttle window"
    );
    // After the window, one more refetch is allowed.
    env.clock.advance(301);
    let header = serde_json::json!({"alg":"RS256","kid":"after-window"});
    let _ = v
        .validate(&env.key.sign_with_header(&header, &user(&env)))
        .await;
    assert_eq!(env.server.jwks_fetches(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_share_one_fetch() {
    let env = Env::start().await;
    let v = env.validator();
    v.warm_up().await.unwrap();
    let next = SigningKey::rsa_2048();
    env.server.set_keys(&[&env.key, &next]);
    env.server.set_delay(Duration::from_millis(300));
    let token = Arc::new(next.sign(&user(&env)));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let v = v.clone();
        let token = Arc::clone(&token);
        tasks.push(tokio::spawn(async move { v.validate(&token).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        env.server.jwks_fetches(),
        2,
        "warm-up + exactly one refetch for 32 misses"
    );
}

#[tokio::test]
async fn jwks_down_after_warm_up_keeps_validating() {
    let env = Env::start().await;
    let v = env.validator();
    v.warm_up().await.unwrap();
    env.server.set_down(true);
    // A failed refresh keeps the cached keys (stale-if-error).
    assert!(v.refresh_keys().await.is_ok());
    v.validate(&env.sign(&user(&env))).await.unwrap();
    // An unknown kid while down: refused, and the old keys still work.
    let header = serde_json::json!({"alg":"RS256","kid":"unknown"});
    let err = v
        .validate(&env.key.sign_with_header(&header, &user(&env)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::KeyNotFound);
    v.validate(&env.sign(&user(&env))).await.unwrap();
}

#[tokio::test]
async fn unreachable_authority_before_first_load_backs_off() {
    let env = Env::start().await;
    env.server.set_down(true);
    let v = Validator::new(env.config().refresh(fast_refresh())).unwrap();
    let err = v.validate(&env.sign(&user(&env))).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::KeysUnavailable);
    assert!(err.to_string().contains("503"), "{err}");
    // Both discovery documents (v2.0 and v1.0) answered 503, each named.
    let ValidationError::KeysUnavailable {
        reason: KeySetError::NoDiscoveryDocument { problems },
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(problems.len(), 2, "{err}");
    for problem in problems {
        assert!(
            matches!(
                problem,
                KeySetError::Fetch(FetchError::Status { status: 503, url })
                    if url.ends_with("/.well-known/openid-configuration")
            ),
            "{problem:?}"
        );
    }
    let fetched = env.server.discovery_fetches();
    for _ in 0..20 {
        let err = v.validate(&env.sign(&user(&env))).await.unwrap_err();
        assert!(
            matches!(
                &err,
                ValidationError::KeysUnavailable {
                    reason: KeySetError::BackingOff { last, .. },
                } if matches!(**last, KeySetError::NoDiscoveryDocument { .. })
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("next attempt in"), "{err}");
    }
    assert_eq!(
        env.server.discovery_fetches(),
        fetched,
        "no fetch inside the backoff"
    );
    env.server.set_down(false);
    env.clock.advance(11);
    v.validate(&env.sign(&user(&env))).await.unwrap();
}

#[tokio::test]
async fn nothing_listening() {
    let env = Env::start().await;
    let v = Validator::new(
        rolegate_token::ValidatorConfig::entra(crate::common::TID, API)
            .authority("http://127.0.0.1:1/tenant")
            .refresh(crate::common::no_background()),
    )
    .unwrap();
    let err = v.validate(&env.sign(&user(&env))).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::KeysUnavailable);
    assert!(
        err.to_string()
            .contains("http://127.0.0.1:1/tenant/v2.0/.well-known/openid-configuration"),
        "{err}"
    );
}

#[tokio::test]
async fn app_specific_signing_keys() {
    let env = Env::start().await;
    let v = Validator::new(env.config().refresh(RefreshSettings {
        app_id: Some(API.into()),
        ..crate::common::no_background()
    }))
    .unwrap();
    v.validate(&env.sign(&user(&env))).await.unwrap();
    assert_eq!(env.server.last_appid().as_deref(), Some(API));
}

#[tokio::test]
async fn insecure_authority_is_a_config_error() {
    let err = Validator::new(
        rolegate_token::ValidatorConfig::entra("t", API).authority("http://login.example.com/t"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("https"), "{err}");
    let err =
        Validator::new(rolegate_token::ValidatorConfig::entra("t", "").authority("not a url"))
            .unwrap_err();
    assert_eq!(err.problems.len(), 2, "{err}");
}

#[tokio::test]
async fn verified_token_cache() {
    let env = Env::start().await;
    let v = env.validator();
    let token = env.sign(&user(&env));
    v.validate(&token).await.unwrap();
    v.validate(&token).await.unwrap();
    let stats = v.cache_stats();
    assert_eq!((stats.hits, stats.misses, stats.entries), (1, 1, 1));
    // Expiry applies to cached entries too.
    env.clock.advance(4000);
    assert_eq!(
        v.validate(&token).await.unwrap_err().code(),
        ErrorCode::TokenExpired
    );
}

#[tokio::test]
async fn cached_entries_drop_when_their_key_leaves_the_set() {
    let env = Env::start().await;
    let v = env.validator();
    let token = env.sign(&user(&env));
    v.validate(&token).await.unwrap();
    let next = SigningKey::rsa_2048();
    env.server.set_keys(&[&next]);
    v.refresh_keys().await.unwrap();
    assert_eq!(
        v.validate(&token).await.unwrap_err().code(),
        ErrorCode::KeyNotFound
    );
}

fn rand_bytes() -> [u8; 12] {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed).to_le_bytes();
    let mut out = [0u8; 12];
    out[..8].copy_from_slice(&n);
    out
}

/// One stranger key for the whole flood (key generation is slow).
trait CachedKey {
    fn rsa_2048_cached_for_tests() -> SigningKey;
}

impl CachedKey for SigningKey {
    fn rsa_2048_cached_for_tests() -> SigningKey {
        static KEY: std::sync::LazyLock<SigningKey> =
            std::sync::LazyLock::new(SigningKey::rsa_2048);
        KEY.clone()
    }
}
