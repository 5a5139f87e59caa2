//! PKCE and authorization codes: no downgrade, single use, and a replay
//! revokes what the code issued (RFC 6749 §4.1.2, RFC 9700 §2.1.1).

use super::*;
use crate::aadsts;

async fn web_code(idp: &Idp, scope: &str) -> String {
    let url = authorize_url(
        idp,
        WEB,
        WEB_REDIRECT,
        scope,
        &[("code_challenge", ""), ("code_challenge_method", "")],
    );
    code_for(idp, &url, ALICE).await
}

async fn redeem_web(idp: &Idp, code: &str, verifier: Option<&str>) -> (u16, serde_json::Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", WEB),
        ("client_secret", WEB_SECRET),
        ("code", code),
        ("redirect_uri", WEB_REDIRECT),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    idp.post_token(&form).await
}

#[tokio::test]
async fn a_verifier_for_a_code_issued_without_a_challenge_is_refused() {
    let idp = start().await;
    let code = web_code(&idp, "openid offline_access").await;
    let (status, refused) = redeem_web(&idp, &code, Some(VERIFIER)).await;
    assert_eq!(
        (status, refused["error"].as_str(), aadsts(&refused)),
        (400, Some("invalid_grant"), 501_481),
        "{refused}"
    );
}

#[tokio::test]
async fn a_replayed_code_revokes_the_refresh_tokens_it_issued() {
    let idp = start().await;
    let code = web_code(&idp, "openid offline_access").await;
    let (status, first) = redeem_web(&idp, &code, None).await;
    assert_eq!(status, 200, "{first}");
    let rt = first["refresh_token"].as_str().unwrap();
    let (status, replay) = redeem_web(&idp, &code, None).await;
    assert_eq!((status, aadsts(&replay)), (400, 54_005), "{replay}");
    let (status, refused) = idp
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
            ("refresh_token", rt),
        ])
        .await;
    assert_eq!(
        (status, refused["error"].as_str(), aadsts(&refused)),
        (400, Some("invalid_grant"), 70_008),
        "the refresh token issued from the replayed code is revoked: {refused}"
    );
}

#[tokio::test]
async fn plain_pkce_stays_accepted_for_web_apps_and_refused_for_spas() {
    let idp = start().await;
    let plain = "plain-verifier-0123456789-0123456789-0123456789";
    let url = authorize_url(
        &idp,
        WEB,
        WEB_REDIRECT,
        "openid",
        &[
            ("code_challenge", plain),
            ("code_challenge_method", "plain"),
        ],
    );
    let code = code_for(&idp, &url, ALICE).await;
    let (status, body) = redeem_web(&idp, &code, Some(plain)).await;
    assert_eq!(status, 200, "{body}");
    // A SPA must use S256: refused at /authorize, redirected with the error.
    let url = authorize_url(
        &idp,
        SINGLE,
        SINGLE_REDIRECT,
        "openid",
        &[
            ("code_challenge", plain),
            ("code_challenge_method", "plain"),
        ],
    );
    let resp = idp.client.get(&url).send().await.unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        query(&location)["error_description"].starts_with("AADSTS9002325"),
        "{location}"
    );
}
