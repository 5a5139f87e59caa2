//! The device code flow: start, pending, approval page, tokens.

use crate::code_flow::hidden;
use crate::{API, BOB, CLI, Idp, aadsts, claims};

async fn start(idp: &Idp) -> serde_json::Value {
    let scope = format!("api://{API}/access_as_user openid offline_access");
    idp.client
        .post(format!("{}/oauth2/v2.0/devicecode", idp.authority()))
        .form(&[("client_id", CLI), ("scope", scope.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn poll(idp: &Idp, device_code: &str) -> (u16, serde_json::Value) {
    idp.post_token(&[
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("client_id", CLI),
        ("device_code", device_code),
    ])
    .await
}

async fn decide(idp: &Idp, user_code: &str, decision: &str) -> String {
    let page = idp
        .client
        .get(format!("{}/devicelogin", idp.running.origin))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf");
    let url = format!("{}/devicelogin", idp.running.origin);
    if decision == "decline" {
        return post_text(
            idp,
            &url,
            &[
                ("csrf", &csrf),
                ("user_code", user_code),
                ("decision", "decline"),
            ],
        )
        .await;
    }
    // Step 1: the code and the account; the page then shows what is asked.
    let confirm = post_text(
        idp,
        &url,
        &[
            ("csrf", &csrf),
            ("user_code", user_code),
            ("username", BOB.0),
            ("password", BOB.1),
            ("decision", "approve"),
        ],
    )
    .await;
    if !confirm.contains("value=\"confirm\"") {
        return confirm; // refused at step 1 (shown on the page)
    }
    assert!(
        confirm.contains("Orders CLI")
            && confirm.contains(BOB.0)
            && confirm.contains("access_as_user"),
        "the confirmation names the app, the user and the scopes: {confirm}"
    );
    // Step 2: confirm what was shown.
    post_text(
        idp,
        &url,
        &[
            ("csrf", &hidden(&confirm, "csrf")),
            ("user_code", &hidden(&confirm, "user_code")),
            ("decision", "confirm"),
        ],
    )
    .await
}

async fn post_text(idp: &Idp, url: &str, form: &[(&str, &str)]) -> String {
    idp.client
        .post(url)
        .form(form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn device_code_flow() {
    let idp = Idp::start().await;
    let grant = start(&idp).await;
    assert_eq!(
        grant["verification_uri"],
        format!("{}/devicelogin", idp.running.origin)
    );
    assert_eq!(
        (grant["expires_in"].as_i64(), grant["interval"].as_i64()),
        (Some(900), Some(5))
    );
    let device_code = grant["device_code"].as_str().unwrap();
    let user_code = grant["user_code"].as_str().unwrap();
    assert!(grant["message"].as_str().unwrap().contains(user_code));
    let (status, body) = poll(&idp, device_code).await;
    assert_eq!(
        (status, body["error"].as_str(), aadsts(&body)),
        (400, Some("authorization_pending"), 70_016)
    );
    // The user types the code in lower case, without the dash.
    let page = decide(&idp, &user_code.replace('-', "").to_lowercase(), "approve").await;
    assert!(
        page.contains("You&#39;re signed in") || page.contains("signed in"),
        "{page}"
    );
    // The msal-node spelling of the grant type works too.
    let (status, body) = idp
        .post_token(&[
            ("grant_type", "device_code"),
            ("client_id", CLI),
            ("device_code", device_code),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["roles"],
        serde_json::json!(["Orders.Read"])
    );
    assert!(body["refresh_token"].is_string() && body["id_token"].is_string());
    // Used once.
    let (_, again) = poll(&idp, device_code).await;
    assert_eq!(again["error"], "bad_verification_code");
}

#[tokio::test]
async fn declined_device_code() {
    let idp = Idp::start().await;
    let grant = start(&idp).await;
    decide(&idp, grant["user_code"].as_str().unwrap(), "decline").await;
    let (_, body) = poll(&idp, grant["device_code"].as_str().unwrap()).await;
    assert_eq!(body["error"], "authorization_declined");
    // A wrong code is answered on the page, not with a crash.
    let page = decide(&idp, "ZZZZ-ZZZZ", "approve").await;
    assert!(page.contains("not valid"), "{page}");
}
