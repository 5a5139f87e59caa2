//! Refusals, each with Entra's error and AADSTS code.

use crate::{ALICE, API, CAROL, CLI, DAEMON, DAEMON_SECRET, Idp, SPA, aadsts};

/// Form, expected status, error and AADSTS code.
type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str, u64);

#[tokio::test]
async fn client_credentials_refusals() {
    let idp = Idp::start().await;
    let scope = format!("api://{API}/.default");
    let cases: Vec<Case<'_>> = vec![
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", DAEMON),
                ("client_secret", "wrong"),
                ("scope", &scope),
            ],
            401,
            "invalid_client",
            7_000_215,
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", DAEMON),
                ("scope", &scope),
            ],
            401,
            "invalid_client",
            7_000_218,
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", DAEMON),
                ("client_secret", DAEMON_SECRET),
                (
                    "scope",
                    "api://8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c/access_as_user",
                ),
            ],
            400,
            "invalid_scope",
            1_002_012,
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", DAEMON),
                ("client_secret", DAEMON_SECRET),
                ("scope", "api://nope/.default"),
            ],
            400,
            "invalid_resource",
            500_011,
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "00000000-0000-0000-0000-000000000001"),
                ("client_secret", "x"),
                ("scope", &scope),
            ],
            400,
            "unauthorized_client",
            700_016,
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", CLI),
                ("client_secret", "x"),
                ("scope", &scope),
            ],
            401,
            "invalid_client",
            700_025,
        ),
        (
            vec![("grant_type", "magic"), ("client_id", CLI)],
            400,
            "unsupported_grant_type",
            70_003,
        ),
        (vec![("client_id", CLI)], 400, "invalid_request", 900_144),
    ];
    for (form, status, error, code) in cases {
        let (got, body) = idp.post_token(&form).await;
        assert_eq!(
            (got, body["error"].as_str(), aadsts(&body)),
            (status, Some(error), code),
            "{form:?} → {body}"
        );
        let description = body["error_description"].as_str().unwrap();
        assert!(
            description.starts_with(&format!("AADSTS{code}: "))
                && description.contains("\r\nTrace ID: "),
            "{description}"
        );
        assert!(body["correlation_id"].is_string() && body["timestamp"].is_string());
        assert!(!description.contains(DAEMON_SECRET));
    }
}

#[tokio::test]
async fn user_flow_refusals() {
    let idp = Idp::start().await;
    let api = format!("api://{API}/access_as_user");
    let (_, body) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", ALICE.0),
            ("password", "nope"),
            ("scope", &api),
        ])
        .await;
    assert_eq!(
        (body["error"].as_str(), aadsts(&body)),
        (Some("invalid_grant"), 50_126)
    );
    let (_, body) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", "zed@contoso.test"),
            ("password", "x"),
            ("scope", &api),
        ])
        .await;
    // An unknown account gets the wrong-password answer: no enumeration.
    assert_eq!(
        (body["error"].as_str(), aadsts(&body)),
        (Some("invalid_grant"), 50_126)
    );
    // Two resources in one token request.
    let two = format!("{api} https://graph.microsoft.com/User.Read");
    let (_, body) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("scope", &two),
        ])
        .await;
    assert_eq!(
        (body["error"].as_str(), aadsts(&body)),
        (Some("invalid_scope"), 28_000)
    );
    // An undefined scope.
    let (_, body) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("scope", &format!("api://{API}/Orders.Write")),
        ])
        .await;
    assert_eq!(aadsts(&body), 70_011);
    // The SPA has no public client flows: ROPC is refused.
    let (_, body) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", SPA),
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("scope", &api),
        ])
        .await;
    assert_eq!(aadsts(&body), 7_000_218);
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_account() {
    let idp = Idp::start().await;
    let api = format!("api://{API}/access_as_user");
    for _ in 0..5 {
        let (_, body) = idp
            .post_token(&[
                ("grant_type", "password"),
                ("client_id", CLI),
                ("username", CAROL.0),
                ("password", "guess"),
                ("scope", &api),
            ])
            .await;
        assert_eq!(aadsts(&body), 50_126);
    }
    let (_, body) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", CAROL.0),
            ("password", CAROL.1),
            ("scope", &api),
        ])
        .await;
    assert_eq!(
        aadsts(&body),
        50_053,
        "even the right password is refused while locked"
    );
}
