//! Bounded, unambiguous requests: repeated parameters, per-source rates,
//! lockouts an attacker cannot aim at a user, refreshes that fail without
//! burning the token, responses that are never cached, logout redirects
//! only to the named app.

use super::*;
use crate::aadsts;

#[tokio::test]
async fn a_repeated_parameter_is_refused() {
    let idp = start().await;
    let body = format!(
        "grant_type=client_credentials&client_id={WEB}&client_secret={WEB_SECRET}&scope=api%3A%2F%2Fhr%2F.default&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
    );
    let resp = idp
        .client
        .post(idp.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        (body["error"].as_str(), aadsts(&body)),
        (Some("invalid_request"), 90_015),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("'scope'")
    );
    // At /authorize too (an error page: which client_id would we trust?).
    let url = format!(
        "{}&client_id={SINGLE}",
        authorize_url(&idp, SINGLE, SINGLE_REDIRECT, "openid", &[])
    );
    let resp = idp.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.text().await.unwrap().contains("AADSTS90015"));
}

#[tokio::test]
async fn device_code_requests_are_rate_limited_per_source() {
    let idp = start().await;
    let request = |client: reqwest::Client| {
        let url = format!("{}/oauth2/v2.0/devicecode", idp.authority());
        async move {
            client
                .post(url)
                .form(&[("client_id", WEB), ("scope", "openid")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for _ in 0..30 {
        assert_eq!(request(idp.client.clone()).await, 200);
    }
    assert_eq!(request(idp.client.clone()).await, 429);
    assert_eq!(request(client_from(&idp, "127.0.0.3")).await, 200);
}

#[tokio::test]
async fn a_lockout_holds_one_source_not_the_user() {
    let idp = start().await;
    let attacker = client_from(&idp, "127.0.0.4");
    let ropc = |client: reqwest::Client, password: &'static str| {
        let url = idp.token_url();
        async move {
            let resp = client
                .post(url)
                .form(&[
                    ("grant_type", "password"),
                    ("client_id", WEB),
                    ("client_secret", WEB_SECRET),
                    ("username", BOB.0),
                    ("password", password),
                    ("scope", "openid"),
                ])
                .send()
                .await
                .unwrap();
            let body: serde_json::Value = resp.json().await.unwrap();
            aadsts(&body)
        }
    };
    for _ in 0..5 {
        assert_eq!(ropc(attacker.clone(), "wrong").await, 50_126);
    }
    assert_eq!(
        ropc(attacker.clone(), BOB.1).await,
        50_053,
        "the attacking source is locked out of bob"
    );
    let (status, _) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
            ("username", BOB.0),
            ("password", BOB.1),
            ("scope", "openid"),
        ])
        .await;
    assert_eq!(status, 200, "bob signs in from his own machine");
}

#[tokio::test]
async fn a_refused_refresh_leaves_the_refresh_token_valid() {
    let idp = start().await;
    let scope = format!("api://{SINGLE}/{SINGLE_SCOPE} openid offline_access");
    let url = authorize_url(&idp, SINGLE, SINGLE_REDIRECT, &scope, &[]);
    let code = code_for(&idp, &url, ALICE).await;
    let (_, body) = redeem_spa(&idp, SINGLE, SINGLE_REDIRECT, SINGLE_ORIGIN, &code, &scope).await;
    let rt = body["refresh_token"].as_str().unwrap();
    let refresh = |scope: String| {
        let idp = &idp;
        async move {
            idp.post_token_with(
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", SINGLE),
                    ("refresh_token", rt),
                    ("scope", &scope),
                ],
                Some(SINGLE_ORIGIN),
            )
            .await
        }
    };
    // Two resources (28000), an unconsented scope (65001): refused...
    let (_, two) = refresh(format!("api://{SINGLE}/{SINGLE_SCOPE} api://hr/read")).await;
    assert_eq!(aadsts(&two), 28_000, "{two}");
    let (_, unconsented) = refresh("api://hr/read".to_owned()).await;
    assert_eq!(aadsts(&unconsented), 65_001, "{unconsented}");
    // ...and the token still works, once.
    let (status, renewed) = refresh(format!("api://{SINGLE}/{SINGLE_SCOPE}")).await;
    assert_eq!(status, 200, "{renewed}");
    assert!(renewed["refresh_token"].is_string());
    let (_, reused) = refresh(format!("api://{SINGLE}/{SINGLE_SCOPE}")).await;
    assert_eq!(aadsts(&reused), 70_008, "a used token is refused: {reused}");
}

#[tokio::test]
async fn authorize_responses_are_never_cached() {
    let idp = start().await;
    let url = authorize_url(&idp, SINGLE, SINGLE_REDIRECT, "openid", &[]);
    let _ = code_for(&idp, &url, ALICE).await;
    // SSO: the code comes straight back in a redirect.
    let resp = idp.client.get(&url).send().await.unwrap();
    assert_eq!(
        resp.status().as_u16(),
        303.min(resp.status().as_u16()).max(302)
    );
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    // And as a form_post page.
    let resp = idp
        .client
        .get(authorize_url(
            &idp,
            SINGLE,
            SINGLE_REDIRECT,
            "openid",
            &[("response_mode", "form_post")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
}

#[tokio::test]
async fn logout_returns_only_to_the_named_apps_uris() {
    let idp = start().await;
    let logout = |query: String| {
        let url = format!("{}/oauth2/v2.0/logout?{query}", idp.authority());
        let client = idp.client.clone();
        async move { client.get(url).send().await.unwrap() }
    };
    let target = url::form_urlencoded::byte_serialize(WEB_REDIRECT.as_bytes()).collect::<String>();
    // Registered, but on another app than the one named.
    let resp = logout(format!(
        "client_id={SINGLE}&post_logout_redirect_uri={target}"
    ))
    .await;
    assert_eq!(
        resp.status().as_u16(),
        200,
        "no redirect: the signed-out page"
    );
    // No app named at all.
    let resp = logout(format!("post_logout_redirect_uri={target}")).await;
    assert_eq!(resp.status().as_u16(), 200);
    // The app that registered it, named by client_id or by an ID token.
    let resp = logout(format!(
        "client_id={WEB}&post_logout_redirect_uri={target}&state=x"
    ))
    .await;
    assert_eq!(
        resp.headers()["location"].to_str().unwrap(),
        format!("{WEB_REDIRECT}?state=x")
    );
    use base64::Engine as _;
    let hint = format!(
        "e30.{}.sig",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{{\"aud\":\"{WEB}\"}}"))
    );
    let resp = logout(format!(
        "id_token_hint={hint}&post_logout_redirect_uri={target}"
    ))
    .await;
    assert_eq!(resp.headers()["location"].to_str().unwrap(), WEB_REDIRECT);
    // As MSAL.js sends it (no app named): only the apps this session
    // signed in to count.
    let single_target =
        url::form_urlencoded::byte_serialize(SINGLE_REDIRECT.as_bytes()).collect::<String>();
    let url = authorize_url(&idp, SINGLE, SINGLE_REDIRECT, "openid", &[]);
    let _ = code_for(&idp, &url, ALICE).await;
    let resp = logout(format!("post_logout_redirect_uri={target}")).await;
    assert_eq!(
        resp.status().as_u16(),
        200,
        "the web app was not signed in to"
    );
    let _ = code_for(&idp, &url, ALICE).await;
    let resp = logout(format!("post_logout_redirect_uri={single_target}")).await;
    assert_eq!(
        resp.headers()["location"].to_str().unwrap(),
        SINGLE_REDIRECT
    );
    // The session is gone: a silent sign-in now needs a login.
    let resp = idp
        .client
        .get(authorize_url(
            &idp,
            SINGLE,
            SINGLE_REDIRECT,
            "openid",
            &[("prompt", "none")],
        ))
        .send()
        .await
        .unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(query(&location)["error"], "login_required");
}

#[tokio::test]
async fn user_realm_answers_per_domain_not_per_account() {
    let idp = start().await;
    let realm = |user: &'static str| {
        let url = format!("{}/common/userrealm/{user}", idp.running.origin);
        let client = idp.client.clone();
        async move {
            let v: serde_json::Value = client.get(url).send().await.unwrap().json().await.unwrap();
            v["account_type"].as_str().unwrap().to_owned()
        }
    };
    assert_eq!(realm("alice@contoso.test").await, "Managed");
    assert_eq!(realm("nobody@contoso.test").await, "Managed");
    assert_eq!(realm("someone@fabrikam.test").await, "Unknown");
}
