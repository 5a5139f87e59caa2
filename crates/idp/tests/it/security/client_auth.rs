//! Every grant authenticates confidential clients (spec §8): code
//! redemption, refresh, device-code polling, ROPC; failed secrets are
//! throttled per client and source.

use super::*;
use crate::{aadsts, claims};

/// A web-app sign-in redeemed with the secret (no PKCE): the token body.
async fn web_sign_in(idp: &Idp) -> serde_json::Value {
    let scope = "api://hr/read openid offline_access";
    let url = authorize_url(
        idp,
        WEB,
        WEB_REDIRECT,
        scope,
        &[("code_challenge", ""), ("code_challenge_method", "")],
    );
    let resp = sign_in_response(idp, &idp.client, &url, BOB).await;
    let html = resp.text().await.unwrap();
    // Bob consents to `read` (a user scope) once.
    let accepted = idp
        .client
        .post(format!("{}/rolegate/consent", idp.authority()))
        .form(&[
            ("csrf", hidden(&html, "csrf")),
            ("consent", hidden(&html, "consent")),
            ("decision", "accept".to_owned()),
        ])
        .send()
        .await
        .unwrap();
    let location = accepted.headers()["location"].to_str().unwrap().to_owned();
    let code = query(&location)["code"].clone();
    let (status, body) = idp
        .post_token(&[
            ("grant_type", "authorization_code"),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
            ("code", &code),
            ("redirect_uri", WEB_REDIRECT),
            ("scope", scope),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["azpacr"],
        "1"
    );
    body
}

#[tokio::test]
async fn a_confidential_family_refreshes_only_with_its_secret() {
    let idp = start().await;
    let body = web_sign_in(&idp).await;
    let rt = body["refresh_token"].as_str().unwrap();
    // A stolen refresh token redeemed with the public client id alone.
    let (status, refused) = idp
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", WEB),
            ("refresh_token", rt),
            ("scope", "api://hr/read"),
        ])
        .await;
    assert_eq!(
        (status, refused["error"].as_str(), aadsts(&refused)),
        (401, Some("invalid_client"), 7_000_218),
        "{refused}"
    );
    // A wrong secret is no better.
    let (status, refused) = idp
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", WEB),
            ("client_secret", "web-app-secret-wrong"),
            ("refresh_token", rt),
        ])
        .await;
    assert_eq!((status, aadsts(&refused)), (401, 7_000_215));
    // The refusals did not consume the token: with the secret it refreshes.
    let (status, renewed) = idp
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
            ("refresh_token", rt),
        ])
        .await;
    assert_eq!(status, 200, "{renewed}");
    assert_eq!(claims(renewed["access_token"].as_str().unwrap())["aud"], HR);
}

#[tokio::test]
async fn device_code_polling_runs_as_a_confidential_app_only_with_its_secret() {
    let idp = start().await;
    let started: serde_json::Value = idp
        .client
        .post(format!("{}/oauth2/v2.0/devicecode", idp.authority()))
        .form(&[("client_id", WEB), ("scope", "openid")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let device_code = started["device_code"].as_str().unwrap();
    let (status, refused) = idp
        .post_token(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", WEB),
            ("device_code", device_code),
        ])
        .await;
    assert_eq!(
        (status, refused["error"].as_str(), aadsts(&refused)),
        (401, Some("invalid_client"), 7_000_218),
        "{refused}"
    );
    let (_, pending) = idp
        .post_token(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
            ("device_code", device_code),
        ])
        .await;
    assert_eq!(pending["error"], "authorization_pending", "{pending}");
}

#[tokio::test]
async fn ropc_needs_the_secret_of_a_confidential_app() {
    let idp = start().await;
    let (status, refused) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", WEB),
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("scope", "openid"),
        ])
        .await;
    assert_eq!((status, aadsts(&refused)), (401, 7_000_218), "{refused}");
}

#[tokio::test]
async fn a_code_from_a_web_redirect_needs_the_secret() {
    let idp = start().await;
    let url = authorize_url(
        &idp,
        WEB,
        WEB_REDIRECT,
        "openid",
        &[("code_challenge", ""), ("code_challenge_method", "")],
    );
    let code = code_for(&idp, &url, ALICE).await;
    let (status, refused) = idp
        .post_token(&[
            ("grant_type", "authorization_code"),
            ("client_id", WEB),
            ("code", &code),
            ("redirect_uri", WEB_REDIRECT),
        ])
        .await;
    assert_eq!((status, aadsts(&refused)), (401, 7_000_218), "{refused}");
}

#[tokio::test]
async fn client_credentials_for_two_resources_is_70011() {
    let idp = start().await;
    let (status, refused) = idp
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
            (
                "scope",
                "api://hr/.default https://graph.microsoft.com/.default",
            ),
        ])
        .await;
    assert_eq!(
        (status, refused["error"].as_str(), aadsts(&refused)),
        (400, Some("invalid_scope"), 70_011),
        "{refused}"
    );
}

#[tokio::test]
async fn failed_secrets_are_throttled_per_client_and_source() {
    let idp = start().await;
    let wrong = [
        ("grant_type", "client_credentials"),
        ("client_id", WEB),
        ("client_secret", "not-the-secret"),
        ("scope", "api://hr/.default"),
    ];
    for _ in 0..10 {
        let (status, body) = idp.post_token(&wrong).await;
        assert_eq!((status, aadsts(&body)), (401, 7_000_215));
    }
    let (status, body) = idp.post_token(&wrong).await;
    assert_eq!(
        (status, body["error"].as_str(), aadsts(&body)),
        (429, Some("temporarily_unavailable"), 90_055),
        "{body}"
    );
    // Another source is not affected.
    let other = client_from(&idp, "127.0.0.2");
    let resp = other
        .post(idp.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
            ("scope", "api://hr/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}
