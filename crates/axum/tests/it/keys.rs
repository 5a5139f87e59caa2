//! When the signing keys cannot be fetched, the server is at fault: 503.

use http::StatusCode;
use rolegate_axum::AuthLayer;

use super::*;

#[tokio::test]
async fn unreachable_authority_is_503_with_retry_after() {
    let f = Fixture::new();
    // Nothing listens on port 1.
    let config =
        ValidatorConfig::entra(TENANT, API).authority(format!("http://127.0.0.1:1/{TENANT}"));
    let validator = Validator::new(config).unwrap();
    let token = f.user_token(&[]);
    for _ in 0..2 {
        // The second request falls in the failure back-off: same answer.
        let reply = send(
            app(AuthLayer::new(validator.clone())),
            get_bearer("/me", &token),
        )
        .await;
        assert_problem(&reply, StatusCode::SERVICE_UNAVAILABLE, "keys_unavailable");
        assert_eq!(reply.header("retry-after"), "10");
        assert!(reply.headers.get("www-authenticate").is_none());
        // The cause (an internal URL) stays in the server's log.
        assert!(!reply.body.contains("127.0.0.1"), "{}", reply.body);
        reply.assert_hides(&token);
    }
}
