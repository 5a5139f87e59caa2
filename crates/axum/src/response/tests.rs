//! Unit tests for the wire mapping.

use super::*;
use rolegate_token::fetch::FetchError;

#[test]
fn descriptions_keep_to_the_rfc_6750_charset() {
    let text = description_text("claim \"exp\" \\ caf\u{e9}\u{7}\nend");
    assert_eq!(text, "claim 'exp' / caf?end");
    let long = description_text(&"x".repeat(1000));
    assert_eq!(long.len(), MAX_DESCRIPTION);
    assert!(long.ends_with("..."));
    assert_eq!(
        description_text(&"y".repeat(MAX_DESCRIPTION)).len(),
        MAX_DESCRIPTION
    );
}

#[test]
fn challenges_quote_and_filter() {
    let scopes = vec![
        "Orders.Admin".to_owned(),
        "bad\"scope".to_owned(),
        " ".to_owned(),
        "Orders.Admin".to_owned(),
    ];
    assert_eq!(
        challenge("insufficient_scope", Some(&scopes), "no \"role\""),
        "Bearer error=\"insufficient_scope\", scope=\"Orders.Admin badscope\", \
         error_description=\"no 'role'\""
    );
    assert_eq!(
        challenge("invalid_token", None, "expired"),
        "Bearer error=\"invalid_token\", error_description=\"expired\""
    );
}

#[test]
fn keys_unavailable_is_generic_for_the_client() {
    let err = AuthError::from(ValidationError::KeysUnavailable {
        reason: FetchError::Network {
            url: "http://10.0.0.7/keys".to_owned(),
            detail: "connection refused".to_owned(),
        }
        .into(),
    });
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(err.code(), "keys_unavailable");
    assert!(!err.body_text().contains("10.0.0.7"));
    assert!(err.to_string().contains("10.0.0.7"));
    let response = err.into_response();
    assert_eq!(response.headers()[RETRY_AFTER], "10");
    assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
}

#[test]
fn responders_cannot_drop_the_challenge() {
    let responder = |_: &AuthFailure| "custom".into_response();
    let response = render(AuthError::missing_token(), &responder, Stage::Final);
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer");
    assert_eq!(response.headers()[X_REQUEST_ID].len(), 16);
}
