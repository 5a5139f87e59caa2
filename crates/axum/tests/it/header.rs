//! Reading the `Authorization` header.

use http::StatusCode;
use rolegate_axum::AuthLayer;
use rolegate_testkit::claims::USER_OID;

use super::*;

#[tokio::test]
async fn valid_token_reaches_the_handler_with_the_principal() {
    let f = Fixture::new();
    let token = f.user_token(&[]);
    let reply = send(app(AuthLayer::new(f.validator)), get_bearer("/me", &token)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, format!("oid={USER_OID}"));
    assert!(reply.headers.get("www-authenticate").is_none());
}

#[tokio::test]
async fn scheme_is_case_insensitive() {
    let f = Fixture::new();
    let token = f.user_token(&[]);
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let request = get_with("/me", &[&format!("{scheme} {token}")]);
        let reply = send(app(AuthLayer::new(f.validator.clone())), request).await;
        assert_eq!(reply.status, StatusCode::OK, "{scheme}: {}", reply.body);
    }
}

#[tokio::test]
async fn malformed_headers_are_invalid_requests() {
    let f = Fixture::new();
    let token = f.user_token(&[]);
    let two = format!("Bearer {token}");
    let cases: [&[&str]; 5] = [
        &["Basic dXNlcjpwYXNzd29yZA=="],
        &["Bearer"],
        &["Bearer a b"],
        &[token.as_str()],
        &[two.as_str(), two.as_str()],
    ];
    for values in cases {
        let reply = send(
            app(AuthLayer::new(f.validator.clone())),
            get_with("/me", values),
        )
        .await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid_request");
        let challenge = reply.header("www-authenticate");
        assert!(
            challenge.starts_with("Bearer error=\"invalid_request\", error_description=\""),
            "{challenge}"
        );
        reply.assert_hides(&token);
    }
}

#[tokio::test]
async fn non_ascii_header_is_an_invalid_request() {
    let f = Fixture::new();
    let request = Request::get("/me")
        .header(
            "authorization",
            http::HeaderValue::from_bytes(b"Bearer caf\xc3\xa9").unwrap(),
        )
        .body(Body::empty())
        .unwrap();
    let reply = send(app(AuthLayer::new(f.validator)), request).await;
    assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn missing_header_gets_a_bare_bearer_challenge() {
    let f = Fixture::new();
    let reply = send(app(AuthLayer::new(f.validator)), get_with("/me", &[])).await;
    assert_problem(&reply, StatusCode::UNAUTHORIZED, "missing_token");
    // RFC 6750 §3.1: no error code when the request had no credentials.
    assert_eq!(reply.header("www-authenticate"), "Bearer");
    let id = reply.header("x-request-id");
    assert_eq!(id.len(), 16);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[tokio::test]
async fn caller_request_id_is_echoed_when_acceptable() {
    let f = Fixture::new();
    let request = Request::get("/me")
        .header("x-request-id", "trace-42")
        .body(Body::empty())
        .unwrap();
    let reply = send(app(AuthLayer::new(f.validator.clone())), request).await;
    assert_eq!(reply.header("x-request-id"), "trace-42");
    assert_eq!(reply.json()["request_id"], "trace-42");

    let request = Request::get("/me")
        .header("x-request-id", "x".repeat(200))
        .body(Body::empty())
        .unwrap();
    let reply = send(app(AuthLayer::new(f.validator)), request).await;
    assert_eq!(reply.header("x-request-id").len(), 16);
}
