//! The admin listener: /healthz, /readyz, /metrics.

use std::time::Duration;

use crate::support::{Env, plain_get};

const ROUTES: &str = r#"
[[routes]]
path = "/orders/*"
roles_any = ["Orders.Read"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics() {
    let env = Env::start(ROUTES).await;
    assert_eq!(plain_get(&env.admin_url("/healthz")).await.status, 200);
    env.ready().await;
    assert_eq!(plain_get(&env.admin_url("/readyz")).await.status, 200);

    let reader = env.user_token("access_as_user", &["Orders.Read"]);
    for _ in 0..3 {
        assert_eq!(env.get("/orders/1", Some(&reader)).await.status, 200);
    }
    env.get("/orders/1", None).await;
    env.get("/nowhere", Some(&reader)).await;

    let reply = plain_get(&env.admin_url("/metrics")).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .starts_with("text/plain; version=0.0.4")
    );
    let text = String::from_utf8(reply.body.to_vec()).unwrap();
    for line in [
        "rolegate_gateway_requests_total{route=\"/orders/*\",outcome=\"allowed\"} 3",
        "rolegate_gateway_requests_total{route=\"/orders/*\",outcome=\"missing_token\"} 1",
        "rolegate_gateway_requests_total{route=\"\",outcome=\"no_route\"} 1",
        "rolegate_gateway_upstream_responses_total{route=\"/orders/*\",class=\"2xx\"} 3",
        "rolegate_gateway_overhead_seconds_count 5",
        "rolegate_gateway_upstream_seconds_count 3",
        "rolegate_token_cache_hits_total 2",
        "rolegate_token_cache_misses_total 1",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
    assert!(text.contains("rolegate_jwks_fetches_total "));
    let keys: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("rolegate_jwks_keys "))
        .unwrap_or_else(|| panic!("no rolegate_jwks_keys in\n{text}"))
        .trim()
        .parse()
        .unwrap();
    assert!(keys >= 1, "the issuer's keys are loaded: {keys}");
    assert!(text.contains("rolegate_gateway_overhead_seconds_bucket{le=\"+Inf\"} 5"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_until_keys_load() {
    // Issuer down before the first load: the background warm-up fails.
    let fresh = Env::start_inner(ROUTES, "", true).await;
    assert_eq!(plain_get(&fresh.admin_url("/readyz")).await.status, 503);
    fresh.issuer.set_down(false);
    // The validator waits 10 s between failed first loads; the gateway
    // retries every 2 s.
    for _ in 0..200 {
        if plain_get(&fresh.admin_url("/readyz")).await.status == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/readyz never turned 200");
}
