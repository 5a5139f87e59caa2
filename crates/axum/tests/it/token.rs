//! Refused tokens: 401 with an `invalid_token` challenge.

use http::StatusCode;
use rolegate_axum::AuthLayer;
use rolegate_testkit::{claims, unix_now};
use serde_json::json;

use super::*;

#[tokio::test]
async fn expired_token() {
    let f = Fixture::new();
    let mut c = claims::access_v2(&f.tenant, API, CLIENT, "access_as_user", &[]);
    claims::set(&mut c, "iat", json!(unix_now() - 7200));
    claims::set(&mut c, "nbf", json!(unix_now() - 7200));
    claims::set(&mut c, "exp", json!(unix_now() - 3600));
    let token = f.key.sign(&c);
    let reply = send(app(AuthLayer::new(f.validator)), get_bearer("/me", &token)).await;
    assert_problem(&reply, StatusCode::UNAUTHORIZED, "token_expired");
    let challenge = reply.header("www-authenticate");
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\", error_description=\"token expired "),
        "{challenge}"
    );
    assert!(
        reply.json()["detail"]
            .as_str()
            .unwrap()
            .starts_with("token expired")
    );
    reply.assert_hides(&token);
}

#[tokio::test]
async fn id_token_is_refused_with_a_hint() {
    let f = Fixture::new();
    // An ID token whose audience is the API itself (the app is its own API)
    // and which carries the user's roles: still not an access token.
    let token = f.key.sign(&claims::id_token_v2(
        &f.tenant,
        API,
        None,
        &["Orders.Admin"],
    ));
    let reply = send(app(AuthLayer::new(f.validator)), get_bearer("/me", &token)).await;
    assert_problem(&reply, StatusCode::UNAUTHORIZED, "id_token_not_accepted");
    assert!(
        reply
            .header("www-authenticate")
            .contains("error=\"invalid_token\"")
    );
    let hint = reply.json()["hint"].as_str().unwrap().to_owned();
    assert!(hint.contains(".default"), "{hint}");
    reply.assert_hides(&token);
}

#[tokio::test]
async fn other_failures_use_their_codes_and_never_echo_the_token() {
    let f = Fixture::new();
    let stranger = SigningKey::rsa_2048().with_kid(f.key.kid());
    let wrong_audience = f.key.sign(&claims::access_v2(
        &f.tenant,
        "https://graph.microsoft.com",
        CLIENT,
        "User.Read",
        &[],
    ));
    let cases = [
        ("not-a-jwt", "malformed_token"),
        (wrong_audience.as_str(), "invalid_audience"),
        (
            &stranger.sign(&claims::access_v2(
                &f.tenant,
                API,
                CLIENT,
                "access_as_user",
                &[],
            )),
            "invalid_signature",
        ),
    ];
    for (token, code) in cases {
        let reply = send(
            app(AuthLayer::new(f.validator.clone())),
            get_bearer("/me", token),
        )
        .await;
        assert_problem(&reply, StatusCode::UNAUTHORIZED, code);
        assert!(
            reply
                .header("www-authenticate")
                .starts_with("Bearer error=\"invalid_token\"")
        );
        reply.assert_hides(token);
    }
}

#[tokio::test]
async fn challenge_descriptions_stay_in_the_rfc_6750_charset() {
    let f = Fixture::new();
    // The audience is quoted in the message and contains characters that
    // error_description may not carry.
    let token = f.key.sign(&claims::access_v2(
        &f.tenant,
        "api://caf\u{e9}\"\\x",
        CLIENT,
        "access_as_user",
        &[],
    ));
    let reply = send(app(AuthLayer::new(f.validator)), get_bearer("/me", &token)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let challenge = reply.header("www-authenticate");
    let description = challenge
        .split_once("error_description=\"")
        .unwrap()
        .1
        .strip_suffix('"')
        .unwrap();
    assert!(
        description
            .bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e)),
        "{description}"
    );
    assert!(description.len() <= 300);
}
