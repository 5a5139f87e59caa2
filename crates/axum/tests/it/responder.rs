//! Custom error bodies.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use rolegate_axum::AuthLayer;
use rolegate_axum::response::AuthFailure;

use super::*;

fn plain(failure: &AuthFailure) -> Response {
    // Tries to break the rules: wrong status, its own challenge.
    (
        StatusCode::OK,
        [("www-authenticate", "Basic"), ("x-custom", "yes")],
        format!(
            "{} [{}] {}",
            failure.code(),
            failure.request_id(),
            failure.hint()
        ),
    )
        .into_response()
}

#[tokio::test]
async fn custom_body_but_the_layer_keeps_status_and_challenge() {
    let f = Fixture::new();
    let layer = AuthLayer::new(f.validator).error_responder(plain);
    let reply = send(app(layer), get_with("/me", &[])).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.header("www-authenticate"), "Bearer");
    assert_eq!(reply.header("x-custom"), "yes");
    let id = reply.header("x-request-id").to_owned();
    assert!(
        reply.body.starts_with(&format!("missing_token [{id}] ")),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn the_responder_also_renders_refusals_from_inner_layers_and_handlers() {
    let f = Fixture::new();
    let layer = AuthLayer::new(f.validator.clone()).error_responder(plain);
    for path in ["/admin", "/purge"] {
        let token = f.user_token(&[]);
        let reply = send(app(layer.clone()), get_bearer(path, &token)).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path}");
        assert!(
            reply.body.starts_with("missing_role ["),
            "{path}: {}",
            reply.body
        );
        assert!(
            reply
                .header("www-authenticate")
                .starts_with("Bearer error=\"insufficient_scope\", scope=\"Orders.Admin\""),
            "{path}"
        );
        assert_ne!(reply.header("content-type"), "application/problem+json");
        reply.assert_hides(&token);
    }
}

#[tokio::test]
async fn a_closure_is_a_responder() {
    let f = Fixture::new();
    let layer = AuthLayer::new(f.validator)
        .error_responder(|failure: &AuthFailure| failure.title().to_owned().into_response());
    let reply = send(app(layer), get_bearer("/me", "x.y.z")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body, "Invalid access token");
    assert!(reply.header("www-authenticate").contains("invalid_token"));
}
