//! `AuthLayer::optional`: anonymous requests pass, bad credentials do not.

use http::StatusCode;
use rolegate_axum::AuthLayer;
use rolegate_testkit::claims::USER_OID;
use rolegate_token::requirement::Requirement;

use super::*;

#[tokio::test]
async fn no_header_passes_without_a_principal() {
    let f = Fixture::new();
    let reply = send(
        app(AuthLayer::optional(f.validator)),
        get_with("/maybe", &[]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "anonymous");
}

#[tokio::test]
async fn a_valid_token_still_yields_the_principal() {
    let f = Fixture::new();
    let token = f.user_token(&[]);
    let reply = send(
        app(AuthLayer::optional(f.validator)),
        get_bearer("/maybe", &token),
    )
    .await;
    assert_eq!(reply.body, format!("oid={USER_OID}"));
}

#[tokio::test]
async fn bad_credentials_are_never_downgraded_to_anonymous() {
    let f = Fixture::new();
    let reply = send(
        app(AuthLayer::optional(f.validator.clone())),
        get_bearer("/maybe", "garbage"),
    )
    .await;
    assert_problem(&reply, StatusCode::UNAUTHORIZED, "malformed_token");
    assert!(
        reply
            .header("www-authenticate")
            .starts_with("Bearer error=\"invalid_token\"")
    );

    let reply = send(
        app(AuthLayer::optional(f.validator)),
        get_with("/maybe", &["Basic dXNlcjpwYXNzd29yZA=="]),
    )
    .await;
    assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn handlers_needing_a_caller_still_answer_401() {
    let f = Fixture::new();
    let reply = send(
        app(AuthLayer::optional(f.validator.clone())),
        get_with("/me", &[]),
    )
    .await;
    assert_problem(&reply, StatusCode::UNAUTHORIZED, "missing_token");
    assert_eq!(reply.header("www-authenticate"), "Bearer");

    let reply = send(
        app(AuthLayer::optional(f.validator)),
        get_with("/admin", &[]),
    )
    .await;
    assert_problem(&reply, StatusCode::UNAUTHORIZED, "missing_token");
}

#[tokio::test]
async fn a_requirement_makes_the_token_mandatory() {
    let f = Fixture::new();
    let layer = AuthLayer::optional(f.validator).require(Requirement::any_role(["Orders.Admin"]));
    let reply = send(app(layer), get_with("/maybe", &[])).await;
    assert_problem(&reply, StatusCode::UNAUTHORIZED, "missing_token");
}
