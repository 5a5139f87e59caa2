//! Every route rule shape, decided by the library.

use crate::support::{Echo, Env};

const ROUTES: &str = r#"
[[routes]]
path = "/orders/{id}"
methods = ["DELETE"]
roles_any = ["Orders.Admin"]

[[routes]]
path = "/orders/{id}"
methods = ["GET"]
roles_any = ["Orders.Read"]
scopes_any = ["access_as_user"]

[[routes]]
path = "/orders"
methods = ["POST"]
scopes_any = ["Orders.Write"]

[[routes]]
path = "/audit/*"
roles_all = ["Auditor", "Orders.Read"]

[[routes]]
path = "/me"
caller = "user"

[[routes]]
path = "/jobs/*"
caller = "app"
roles_any = ["Jobs.Run"]

[[routes]]
path = "/public/*"
anonymous = true

[[routes]]
path = "/any-token"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_rules_follow_the_library() {
    let env = Env::start(ROUTES).await;
    let admin = env.user_token("access_as_user", &["Orders.Admin"]);
    let reader = env.user_token("access_as_user", &["Orders.Read"]);
    let no_scope_reader = env.user_token("other", &["Orders.Read"]);
    let app_reader = env.app_token(&["Orders.Read"]);
    let runner = env.app_token(&["Jobs.Run"]);

    // roles_any with a method: DELETE needs the admin role...
    env.call("DELETE", "/orders/1", Some(&admin), &[])
        .await
        .assert_ok();
    env.call("DELETE", "/orders/1", Some(&reader), &[])
        .await
        .assert_refused(403, "missing_role");
    // ... while GET on the same path is the next route (first match by
    // path and method): scope-or-app-permission.
    env.get("/orders/1", Some(&reader)).await.assert_ok();
    env.get("/orders/1", Some(&app_reader)).await.assert_ok();
    env.get("/orders/1", Some(&no_scope_reader))
        .await
        .assert_refused(403, "missing_scope_or_app_permission");
    // scopes_any alone.
    env.call("POST", "/orders", Some(&reader), &[])
        .await
        .assert_refused(403, "missing_scope");
    let writer = env.user_token("Orders.Write", &[]);
    env.call("POST", "/orders", Some(&writer), &[])
        .await
        .assert_ok();
    // No method listed for PUT: no route.
    env.call("PUT", "/orders/1", Some(&admin), &[])
        .await
        .assert_refused(404, "no_route");
    // roles_all on a prefix, which also covers the prefix itself.
    let auditor = env.user_token("access_as_user", &["Auditor", "Orders.Read"]);
    env.get("/audit", Some(&auditor)).await.assert_ok();
    env.get("/audit/2024/01", Some(&auditor)).await.assert_ok();
    env.get("/audit/x", Some(&reader))
        .await
        .assert_refused(403, "missing_role");
    // caller = user / app.
    env.get("/me", Some(&reader)).await.assert_ok();
    env.get("/me", Some(&runner))
        .await
        .assert_refused(403, "delegated_required");
    env.get("/jobs/7", Some(&runner)).await.assert_ok();
    let user_runner = env.user_token("access_as_user", &["Jobs.Run"]);
    env.get("/jobs/7", Some(&user_runner))
        .await
        .assert_refused(403, "app_only_required");
    // Any valid token.
    env.get("/any-token", Some(&runner)).await.assert_ok();
    // {id} is one non-empty segment; exact paths do not cover sub-paths.
    env.get("/orders/1/lines", Some(&admin))
        .await
        .assert_refused(404, "no_route");
    env.get("/me/x", Some(&reader))
        .await
        .assert_refused(404, "no_route");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_routes_validate_a_token_if_one_is_sent() {
    let env = Env::start(ROUTES).await;
    let anonymous = env.get("/public/index.html", None).await;
    anonymous.assert_ok();
    assert!(anonymous.seen().get("x-rolegate-caller").is_none());
    // A valid token: its identity is forwarded.
    let token = env.user_token("access_as_user", &["Orders.Read"]);
    let known = env.get("/public/index.html", Some(&token)).await;
    assert_eq!(known.seen()["x-rolegate-caller"], "user");
    // An invalid one: refused, not downgraded to anonymous.
    let expired = env.user_token_with(serde_json::json!({"exp": 1_000_000_000}));
    env.get("/public/x", Some(&expired))
        .await
        .assert_refused(401, "token_expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_route_upstream_and_query_are_kept() {
    let other = Echo::start("other").await;
    let routes = format!(
        r#"
[[routes]]
path = "/other/*"
anonymous = true
upstream = "http://{}/prefix"

[[routes]]
path = "/*"
anonymous = true
"#,
        other.address
    );
    let env = Env::start(&routes).await;
    let reply = env.get("/other/a?b=c&d", None).await;
    assert_eq!(reply.json()["name"], "other");
    assert_eq!(reply.json()["uri"], "/prefix/other/a?b=c&d");
    let reply = env.get("/elsewhere?x=1", None).await;
    assert_eq!(reply.json()["name"], "main");
    assert_eq!(reply.json()["uri"], "/elsewhere?x=1");
}

impl crate::support::Reply {
    pub fn assert_ok(&self) {
        assert_eq!(
            self.status.as_u16(),
            200,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
    }
}
