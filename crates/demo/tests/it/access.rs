//! Who may call what: views by role, refusals, `/me`, CORS.

use http::StatusCode;
use rolegate_demo::api::store::{SEED_CUSTOMERS, Store};
use rolegate_testkit::claims::{self, APP_OID, USER_OID};

use super::*;

#[tokio::test]
async fn admin_sees_every_order_with_totals() {
    let f = Fixture::new();
    let reply = f.get("/orders", &f.user(&["Orders.Admin"])).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["view"], "admin");
    assert_eq!(body["orders"].as_array().unwrap().len(), 4);
    assert_eq!(body["customers"], 3);
    assert_eq!(body["total"], 2 + 1 + 5 + 3);
}

#[tokio::test]
async fn reader_sees_only_own_orders() {
    let store = Store::seeded();
    store.add(USER_OID, "Notebook", 7);
    let f = Fixture::with_store(store);
    let reply = f.get("/orders", &f.user(&["Orders.Read"])).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["view"], "reader");
    let orders = body["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["customer"], USER_OID);
    assert_eq!(orders[0]["item"], "Notebook");
    assert!(body.get("total").is_none());
}

#[tokio::test]
async fn user_without_a_role_is_forbidden() {
    let f = Fixture::new();
    let reply = f.get("/orders", &f.user(&[])).await;
    reply.assert_problem(StatusCode::FORBIDDEN, "missing_role");
    let challenge = reply.header("www-authenticate");
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"Orders.Read Orders.Admin\""),
        "{challenge}"
    );
}

#[tokio::test]
async fn user_without_the_scope_is_forbidden() {
    let f = Fixture::new();
    let token = f.key.sign(&claims::access_v2(
        &f.tenant,
        API,
        SPA,
        "Other.Scope",
        &["Orders.Read"],
    ));
    let reply = f.get("/orders", &token).await;
    reply.assert_problem(StatusCode::FORBIDDEN, "missing_scope_or_app_permission");
}

#[tokio::test]
async fn daemon_reads_everything_but_cannot_write() {
    let f = Fixture::new();
    let token = f.daemon(&["Orders.Read"]);
    let reply = f.get("/orders", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["view"], "application");
    assert_eq!(body["orders"].as_array().unwrap().len(), 4);

    let reply = f
        .call(
            "POST",
            "/orders",
            &token,
            Some(r#"{"item":"Pen","quantity":1}"#),
        )
        .await;
    reply.assert_problem(StatusCode::FORBIDDEN, "missing_role");
    assert!(
        reply
            .header("www-authenticate")
            .contains("scope=\"Orders.Admin\"")
    );
    assert_eq!(f.store.all().len(), 4);
}

#[tokio::test]
async fn daemon_without_idtyp_still_reads_everything() {
    let f = Fixture::new();
    let mut claims = claims::app_only_v2(&f.tenant, API, DAEMON, &["Orders.Read"]);
    claims::remove(&mut claims, "idtyp");
    let reply = f.get("/orders", &f.key.sign(&claims)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["view"], "application");
}

/// A user token with the `Orders.Read` role but no `scp` (Entra issues one
/// for `.default` when the client has no delegated permission) is a user
/// without the API's scope, not a daemon: refused, like a wrong scope.
#[tokio::test]
async fn user_with_the_role_but_no_scp_does_not_get_the_daemon_view() {
    let f = Fixture::new();
    let with_names = claims::access_v2(&f.tenant, API, SPA, "", &["Orders.Read"]);
    let mut without_names = with_names.clone();
    claims::remove(&mut without_names, "name");
    claims::remove(&mut without_names, "preferred_username");
    let mut marked_user = with_names.clone();
    claims::set(&mut marked_user, "idtyp", serde_json::json!("user"));
    // A user token carrying roles but no scp is refused outright
    // (`delegated_without_scope`): no route takes it for a daemon's.
    for claims in [with_names, without_names, marked_user] {
        let token = f.key.sign(&claims);
        for path in ["/orders", "/me"] {
            let reply = f.get(path, &token).await;
            reply.assert_problem(StatusCode::UNAUTHORIZED, "delegated_without_scope");
            assert!(
                reply
                    .header("www-authenticate")
                    .starts_with("Bearer error=\"invalid_token\""),
                "{claims}"
            );
        }
    }
}

#[tokio::test]
async fn id_token_is_refused() {
    let f = Fixture::new();
    let token = f.key.sign(&claims::id_token_v2(
        &f.tenant,
        API,
        None,
        &["Orders.Admin"],
    ));
    let reply = f.get("/orders", &token).await;
    reply.assert_problem(StatusCode::UNAUTHORIZED, "id_token_not_accepted");
    assert!(
        reply
            .header("www-authenticate")
            .starts_with("Bearer error=\"invalid_token\"")
    );
    assert!(reply.json()["hint"].as_str().unwrap().contains(".default"));
}

#[tokio::test]
async fn no_token_is_401_everywhere() {
    let f = Fixture::new();
    for (method, path) in [("GET", "/me"), ("GET", "/orders"), ("DELETE", "/orders/1")] {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let reply = send(f.app.clone(), request).await;
        reply.assert_problem(StatusCode::UNAUTHORIZED, "missing_token");
        assert_eq!(reply.header("www-authenticate"), "Bearer");
    }
}

#[tokio::test]
async fn me_describes_a_user() {
    let f = Fixture::new();
    let reply = f.get("/me", &f.user(&["Orders.Read"])).await;
    assert_eq!(reply.status, StatusCode::OK);
    let me = reply.json();
    assert_eq!(me["oid"], USER_OID);
    assert_eq!(me["tid"], TENANT);
    assert_eq!(me["name"], "Alice");
    assert_eq!(me["preferred_username"], "alice@contoso.test");
    assert_eq!(me["client_id"], SPA);
    assert_eq!(me["roles"], serde_json::json!(["Orders.Read"]));
    assert_eq!(me["scopes"], serde_json::json!(["access_as_user"]));
    assert_eq!(me["app_only"], false);
    assert_eq!(me["token_version"], "2.0");
    assert_eq!(me["caller"], "user");
    assert!(me["sub"].is_string());
}

#[tokio::test]
async fn me_describes_a_daemon() {
    let f = Fixture::new();
    let me = f.get("/me", &f.daemon(&["Orders.Read"])).await.json();
    assert_eq!(me["oid"], APP_OID);
    assert_eq!(me["client_id"], DAEMON);
    assert_eq!(me["app_only"], true);
    assert_eq!(me["caller"], "application");
    assert_eq!(me["scopes"], serde_json::json!([]));
    assert!(me["name"].is_null());
}

#[tokio::test]
async fn cors_preflight_and_exposed_challenge() {
    let f = Fixture::new();
    let preflight = Request::builder()
        .method("OPTIONS")
        .uri("/orders")
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .body(Body::empty())
        .unwrap();
    let reply = send(f.app.clone(), preflight).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("access-control-allow-origin"), "*");
    let methods = reply.header("access-control-allow-methods");
    assert!(
        methods.contains("POST") && methods.contains("DELETE"),
        "{methods}"
    );
    let headers = reply.header("access-control-allow-headers");
    assert!(headers.contains("authorization") && headers.contains("content-type"));

    let refused = Request::get("/orders")
        .header("origin", "http://localhost:3000")
        .body(Body::empty())
        .unwrap();
    let reply = send(f.app.clone(), refused).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.header("access-control-allow-origin"), "*");
    assert!(
        reply
            .header("access-control-expose-headers")
            .contains("www-authenticate")
    );
}

#[test]
fn seed_has_three_customers() {
    let store = Store::seeded();
    for customer in SEED_CUSTOMERS {
        assert!(!store.of_customer(customer).is_empty());
    }
}
