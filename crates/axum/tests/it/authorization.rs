//! Authorization: 403 with an `insufficient_scope` challenge.

use http::StatusCode;
use rolegate_axum::AuthLayer;
use rolegate_token::requirement::Requirement;

use super::*;

#[tokio::test]
async fn require_layer_refuses_a_caller_without_the_role() {
    let f = Fixture::new();
    let token = f.user_token(&["Orders.Read"]);
    let reply = send(
        app(AuthLayer::new(f.validator)),
        get_bearer("/admin", &token),
    )
    .await;
    assert_problem(&reply, StatusCode::FORBIDDEN, "missing_role");
    let challenge = reply.header("www-authenticate");
    assert!(
        challenge.starts_with(
            "Bearer error=\"insufficient_scope\", scope=\"Orders.Admin\", error_description=\""
        ),
        "{challenge}"
    );
    assert!(
        reply.json()["hint"]
            .as_str()
            .unwrap()
            .contains("Orders.Admin")
    );
    reply.assert_hides(&token);
}

#[tokio::test]
async fn require_layer_lets_an_admin_through() {
    let f = Fixture::new();
    let token = f.user_token(&["Orders.Admin"]);
    let reply = send(
        app(AuthLayer::new(f.validator)),
        get_bearer("/admin", &token),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "admin area");
}

#[tokio::test]
async fn auth_layer_can_require_too() {
    let f = Fixture::new();
    let layer =
        AuthLayer::new(f.validator.clone()).require(Requirement::any_role(["Orders.Admin"]));
    let reply = send(app(layer.clone()), get_bearer("/me", &f.user_token(&[]))).await;
    assert_problem(&reply, StatusCode::FORBIDDEN, "missing_role");
    assert!(
        reply
            .header("www-authenticate")
            .contains("scope=\"Orders.Admin\"")
    );

    let reply = send(
        app(layer),
        get_bearer("/me", &f.user_token(&["Orders.Admin"])),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn handler_checks_render_like_layer_refusals() {
    let f = Fixture::new();
    let request = Request::get("/purge")
        .header("authorization", format!("Bearer {}", f.user_token(&[])))
        .header("x-request-id", "purge-1")
        .body(Body::empty())
        .unwrap();
    let reply = send(app(AuthLayer::new(f.validator.clone())), request).await;
    assert_problem(&reply, StatusCode::FORBIDDEN, "missing_role");
    // Auth::require has no request at hand; the layer supplies the id.
    assert_eq!(reply.header("x-request-id"), "purge-1");

    let token = f.user_token(&["Orders.Admin"]);
    let reply = send(
        app(AuthLayer::new(f.validator)),
        get_bearer("/purge", &token),
    )
    .await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "purged")
    );
}

#[tokio::test]
async fn app_only_requirement_has_no_scope_attribute() {
    let f = Fixture::new();
    let token = f.user_token(&[]);
    let layer = AuthLayer::new(f.validator).require(Requirement::app_only());
    let reply = send(app(layer), get_bearer("/me", &token)).await;
    assert_problem(&reply, StatusCode::FORBIDDEN, "app_only_required");
    let challenge = reply.header("www-authenticate");
    assert!(challenge.starts_with("Bearer error=\"insufficient_scope\", error_description="));
}

#[tokio::test]
async fn user_token_without_scp_is_refused_not_taken_for_an_app() {
    let f = Fixture::new();
    let token = f.key.sign(&claims::access_v2(
        &f.tenant,
        API,
        CLIENT,
        "",
        &["Orders.Read"],
    ));
    for requirement in [Requirement::app_only(), Requirement::delegated()] {
        let layer = AuthLayer::new(f.validator.clone()).require(requirement);
        let reply = send(app(layer), get_bearer("/me", &token)).await;
        assert_problem(&reply, StatusCode::UNAUTHORIZED, "delegated_without_scope");
    }
}

#[tokio::test]
async fn without_an_auth_layer_extractors_and_require_layer_answer_401() {
    for path in ["/me", "/admin"] {
        let reply = send(routes(), get_with(path, &[])).await;
        assert_problem(&reply, StatusCode::UNAUTHORIZED, "missing_token");
        assert_eq!(reply.header("www-authenticate"), "Bearer");
    }
    let reply = send(routes(), get_with("/maybe", &[])).await;
    assert_eq!(reply.body, "anonymous");
}

#[tokio::test]
async fn a_groups_overage_is_a_403_with_its_own_code_and_fix() {
    const AUDITORS: &str = "0ba2c7b6-1c0d-4e1f-8a6b-3f1d2c4e5a60";
    let f = Fixture::new();
    let layer = AuthLayer::new(f.validator.clone()).require(Requirement::any_group([AUDITORS]));
    let mut overage = claims::access_v2(&f.tenant, API, CLIENT, "access_as_user", &[]);
    claims::set(
        &mut overage,
        "_claim_names",
        serde_json::json!({"groups": "src1"}),
    );
    claims::set(
        &mut overage,
        "_claim_sources",
        serde_json::json!({"src1": {"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}}),
    );
    let token = f.key.sign(&overage);
    let reply = send(app(layer.clone()), get_bearer("/me", &token)).await;
    assert_problem(&reply, StatusCode::FORBIDDEN, "groups_overage");
    let challenge = reply.header("www-authenticate");
    // Groups are no scopes a client could request.
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\", error_description="),
        "{challenge}"
    );
    assert!(
        reply.json()["hint"]
            .as_str()
            .unwrap()
            .contains("getMemberObjects")
    );
    reply.assert_hides(&token);

    let reply = send(app(layer.clone()), get_bearer("/me", &f.user_token(&[]))).await;
    assert_problem(&reply, StatusCode::FORBIDDEN, "no_groups_claim");

    let mut member = claims::access_v2(&f.tenant, API, CLIENT, "access_as_user", &[]);
    claims::set(&mut member, "groups", serde_json::json!([AUDITORS]));
    let reply = send(app(layer), get_bearer("/me", &f.key.sign(&member))).await;
    assert_eq!(reply.status, StatusCode::OK);
}
