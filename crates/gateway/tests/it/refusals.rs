//! Every refusal, as RFC 6750 answers with `{"code","detail","hint"}`.

use crate::support::Env;

const ROUTES: &str = r#"
[[routes]]
path = "/orders/{id}"
roles_any = ["Orders.Admin"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_the_librarys() {
    let env = Env::start(ROUTES).await;

    // No token: 401 with a bare challenge.
    let reply = env.get("/orders/1", None).await;
    reply.assert_refused(401, "missing_token");
    assert_eq!(reply.header("www-authenticate"), "Bearer");
    assert!(!reply.header("x-request-id").is_empty());

    // A malformed Authorization header: 400 invalid_request.
    let reply = env
        .call(
            "GET",
            "/orders/1",
            None,
            &[("authorization", "Basic dXNlcjpwYXNz")],
        )
        .await;
    reply.assert_refused(400, "invalid_request");
    assert!(
        reply
            .header("www-authenticate")
            .starts_with("Bearer error=\"invalid_request\"")
    );

    // An invalid token: 401 invalid_token with a description.
    let expired = env.user_token_with(serde_json::json!({"exp": 1_000_000_000}));
    let reply = env.get("/orders/1", Some(&expired)).await;
    reply.assert_refused(401, "token_expired");
    let challenge = reply.header("www-authenticate");
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
    assert!(challenge.contains("error_description=\""), "{challenge}");

    // Another API's token.
    let foreign = env.user_token_with(serde_json::json!({"aud": "api://someone-else"}));
    let reply = env.get("/orders/1", Some(&foreign)).await;
    assert_eq!(reply.status, 401);

    // An ID token (for a client that is also the API, so that the
    // audience matches and only the kind is wrong).
    let reply = env.get("/orders/1", Some(&env.id_token())).await;
    reply.assert_refused(401, "id_token_not_accepted");
    assert!(
        reply
            .header("www-authenticate")
            .contains("error=\"invalid_token\"")
    );

    // Not authorized: 403 naming what the route needs.
    let reader = env.user_token("access_as_user", &["Orders.Read"]);
    let reply = env.get("/orders/1", Some(&reader)).await;
    reply.assert_refused(403, "missing_role");
    let challenge = reply.header("www-authenticate");
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"Orders.Admin\""), "{challenge}");

    // No route: 404, never forwarded.
    let before = env
        .upstream
        .requests
        .load(std::sync::atomic::Ordering::Relaxed);
    env.get("/nothing", None)
        .await
        .assert_refused(404, "no_route");
    // A path the upstream could resolve elsewhere: 400.
    env.get("/orders/%2e%2e/admin", None)
        .await
        .assert_refused(400, "invalid_path");
    env.get("/x/../orders/1", None)
        .await
        .assert_refused(400, "invalid_path");
    let after = env
        .upstream
        .requests
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(before, after, "refused requests reached the upstream");

    // The caller's request id is echoed.
    let reply = env
        .call("GET", "/orders/1", None, &[("x-request-id", "trace-42")])
        .await;
    assert_eq!(reply.header("x-request-id"), "trace-42");
    assert_eq!(reply.json()["request_id"], "trace-42");
}
