//! Consent: the posted form only answers the consent the server stored and
//! showed; admin-only scopes are never user-consentable.

use super::*;
use crate::aadsts;

/// The web app (native redirect, PKCE) asks for `scope` as `user`; returns
/// the page shown after sign-in.
async fn consent_page(
    idp: &Idp,
    client: &reqwest::Client,
    scope: &str,
    user: (&str, &str),
) -> String {
    let url = authorize_url(idp, WEB, NATIVE_REDIRECT, scope, &[]);
    sign_in_response(idp, client, &url, user)
        .await
        .text()
        .await
        .unwrap()
}

async fn answer(
    idp: &Idp,
    client: &reqwest::Client,
    page: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![
        ("csrf".to_owned(), hidden(page, "csrf")),
        ("consent".to_owned(), hidden(page, "consent")),
        ("decision".to_owned(), "accept".to_owned()),
    ];
    form.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    client
        .post(format!("{}/rolegate/consent", idp.authority()))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn ropc_like_token(idp: &Idp, scope: &str) -> (u16, serde_json::Value) {
    // The native redirect lets the app redeem without its secret; the code
    // of a fresh sign-in says what was granted.
    let url = authorize_url(idp, WEB, NATIVE_REDIRECT, scope, &[]);
    let resp = idp.client.get(&url).send().await.unwrap();
    let Some(location) = resp.headers().get("location") else {
        let status = resp.status().as_u16();
        return (
            status,
            serde_json::json!({"page": resp.text().await.unwrap()}),
        );
    };
    let location = location.to_str().unwrap().to_owned();
    let params = query(&location);
    let Some(code) = params.get("code") else {
        return (400, serde_json::json!({"redirect": location}));
    };
    idp.post_token(&[
        ("grant_type", "authorization_code"),
        ("client_id", WEB),
        ("code", code),
        ("redirect_uri", NATIVE_REDIRECT),
        ("code_verifier", VERIFIER),
        ("scope", scope),
    ])
    .await
}

#[tokio::test]
async fn the_consent_form_grants_only_what_the_page_showed() {
    let idp = start().await;
    let page = consent_page(&idp, &idp.client, "api://hr/read openid", BOB).await;
    assert!(page.contains("Read your HR record"), "{page}");
    assert!(
        !page.contains("name=\"scopes\""),
        "the form carries no scopes"
    );
    // The browser adds what it would like to have granted.
    let resp = answer(
        &idp,
        &idp.client,
        &page,
        &[
            ("resource", HR),
            ("scopes", "read admin"),
            ("request", "client_id=x"),
        ],
    )
    .await;
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(query(&location).contains_key("code"), "{location}");
    // `read` was granted; `admin` was not.
    let (status, body) = ropc_like_token(&idp, "api://hr/read").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = ropc_like_token(&idp, "api://hr/admin").await;
    assert_ne!(status, 200);
    assert!(
        body["page"]
            .as_str()
            .unwrap_or_default()
            .contains("AADSTS90094"),
        "admin was not granted: {body}"
    );
}

#[tokio::test]
async fn a_pending_consent_answers_once_and_only_in_its_session() {
    let idp = start().await;
    let page = consent_page(&idp, &idp.client, "api://hr/read", BOB).await;
    // Another browser (signed in as alice) posts bob's consent handle.
    let other = client_from(&idp, "127.0.0.1");
    let alice_page = consent_page(&idp, &other, "api://hr/read", ALICE).await;
    let mut form = vec![
        ("csrf", hidden(&alice_page, "csrf")),
        ("consent", hidden(&page, "consent")),
        ("decision", "accept".to_owned()),
    ];
    let resp = other
        .post(format!("{}/rolegate/consent", idp.authority()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.text().await.unwrap().contains("AADSTS90015"));
    // Bob's own answer now finds it used (each pending consent is taken once).
    form[0].1 = hidden(&page, "csrf");
    let resp = idp
        .client
        .post(format!("{}/rolegate/consent", idp.authority()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}

#[tokio::test]
async fn admin_only_scopes_need_an_admin() {
    let idp = start().await;
    let url = authorize_url(&idp, WEB, NATIVE_REDIRECT, "api://hr/admin", &[]);
    let resp = sign_in_response(&idp, &idp.client, &url, BOB).await;
    let html = resp.text().await.unwrap();
    assert!(html.contains("AADSTS90094"), "{html}");
    assert!(html.contains("Need admin approval"), "{html}");
    assert!(
        !html.contains("name=\"consent\""),
        "no consent form: {html}"
    );
    // Silently: consent_required.
    let url = authorize_url(
        &idp,
        WEB,
        NATIVE_REDIRECT,
        "api://hr/admin",
        &[("prompt", "none")],
    );
    let resp = idp.client.get(&url).send().await.unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(query(&location)["error"], "consent_required", "{location}");
    // At the token endpoint (a family started with `read`): 65001. Bob is
    // signed in now: the consent page comes straight away.
    let url = authorize_url(
        &idp,
        WEB,
        NATIVE_REDIRECT,
        "api://hr/read offline_access",
        &[],
    );
    let page = idp
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let resp = answer(&idp, &idp.client, &page, &[]).await;
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let (_, body) = idp
        .post_token(&[
            ("grant_type", "authorization_code"),
            ("client_id", WEB),
            ("code", &query(&location)["code"]),
            ("redirect_uri", NATIVE_REDIRECT),
            ("code_verifier", VERIFIER),
            ("scope", "api://hr/read offline_access"),
        ])
        .await;
    let rt = body["refresh_token"].as_str().unwrap();
    let (status, refused) = idp
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", WEB),
            ("refresh_token", rt),
            ("scope", "api://hr/admin"),
        ])
        .await;
    assert_eq!(
        (status, refused["suberror"].as_str(), aadsts(&refused)),
        (400, Some("consent_required"), 65_001),
        "{refused}"
    );
}
