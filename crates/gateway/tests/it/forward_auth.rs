//! Forward-auth: nginx, Traefik/Caddy and Envoy styles.

use rolegate_testkit::claims::USER_OID;

use crate::support::Env;

const ROUTES: &str = r#"
[[routes]]
path = "/orders/{id}"
methods = ["DELETE"]
roles_any = ["Orders.Admin"]

[[routes]]
path = "/orders/*"
scopes_any = ["access_as_user"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_style() {
    let env = Env::start(ROUTES).await;
    let admin = env.user_token("access_as_user", &["Orders.Admin"]);
    let reader = env.user_token("access_as_user", &["Orders.Read"]);
    let nginx = |method: &'static str, uri: &'static str| {
        [("x-original-method", method), ("x-original-uri", uri)]
    };
    let reply = env
        .call(
            "GET",
            "/.rolegate/auth",
            Some(&admin),
            &nginx("DELETE", "/orders/1?x=1"),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-rolegate-oid"), USER_OID);
    assert_eq!(reply.header("x-rolegate-roles"), "Orders.Admin");
    assert!(reply.body.is_empty());
    env.call(
        "GET",
        "/.rolegate/auth",
        Some(&reader),
        &nginx("DELETE", "/orders/1"),
    )
    .await
    .assert_refused(403, "missing_role");
    // The same reader may GET (second route).
    let reply = env
        .call(
            "GET",
            "/.rolegate/auth",
            Some(&reader),
            &nginx("GET", "/orders/1"),
        )
        .await;
    assert_eq!(reply.status, 200);
    let reply = env
        .call("GET", "/.rolegate/auth", None, &nginx("GET", "/orders/1"))
        .await;
    reply.assert_refused(401, "missing_token");
    assert_eq!(reply.header("www-authenticate"), "Bearer");
    // No route: 403 (nginx turns a 404 from auth_request into a 500).
    env.call(
        "GET",
        "/.rolegate/auth",
        Some(&admin),
        &nginx("GET", "/elsewhere"),
    )
    .await
    .assert_refused(403, "no_route");
    // Nothing to judge.
    env.call("GET", "/.rolegate/auth", Some(&admin), &[])
        .await
        .assert_refused(400, "invalid_request");
    assert_eq!(
        env.upstream
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traefik_style() {
    let env = Env::start(ROUTES).await;
    let admin = env.user_token("access_as_user", &["Orders.Admin"]);
    let reader = env.user_token("access_as_user", &["Orders.Read"]);
    let traefik = |method: &'static str, uri: &'static str| {
        [
            ("x-forwarded-method", method),
            ("x-forwarded-uri", uri),
            ("x-forwarded-host", "api.example"),
            ("x-forwarded-proto", "https"),
        ]
    };
    let reply = env
        .call(
            "GET",
            "/.rolegate/auth",
            Some(&admin),
            &traefik("DELETE", "/orders/9"),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-rolegate-caller"), "user");
    let reply = env
        .call(
            "GET",
            "/.rolegate/auth",
            Some(&reader),
            &traefik("DELETE", "/orders/9"),
        )
        .await;
    reply.assert_refused(403, "missing_role");
    assert!(
        reply
            .header("www-authenticate")
            .contains("scope=\"Orders.Admin\"")
    );
    let expired = env.user_token_with(serde_json::json!({"exp": 1_000_000_000}));
    env.call(
        "GET",
        "/.rolegate/auth",
        Some(&expired),
        &traefik("GET", "/orders/9"),
    )
    .await
    .assert_refused(401, "token_expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_style() {
    let env = Env::start(ROUTES).await;
    let admin = env.user_token("access_as_user", &["Orders.Admin"]);
    let reader = env.user_token("access_as_user", &["Orders.Read"]);
    let reply = env
        .call(
            "DELETE",
            "/.rolegate/auth/orders/3?force=1",
            Some(&admin),
            &[],
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-rolegate-roles"), "Orders.Admin");
    env.call("DELETE", "/.rolegate/auth/orders/3", Some(&reader), &[])
        .await
        .assert_refused(403, "missing_role");
    assert_eq!(
        env.call("GET", "/.rolegate/auth/orders/3", Some(&reader), &[])
            .await
            .status,
        200
    );
}
