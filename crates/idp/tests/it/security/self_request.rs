//! One registration that is both the SPA and the API asks for a token for
//! itself (spec §7 "Self-requests"): Entra grants it by GUID and by App ID
//! URI, and answers AADSTS90009 only on a refresh that names no resource
//! scope for a family named by App ID URI.

use super::*;
use crate::{aadsts, claims};

fn uri_scope() -> String {
    format!("api://{SINGLE}/{SINGLE_SCOPE} openid profile offline_access")
}

async fn sign_in_single(idp: &Idp, scope: &str) -> serde_json::Value {
    let url = authorize_url(idp, SINGLE, SINGLE_REDIRECT, scope, &[]);
    let code = code_for(idp, &url, ALICE).await;
    let (status, body) =
        redeem_spa(idp, SINGLE, SINGLE_REDIRECT, SINGLE_ORIGIN, &code, scope).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn refresh(idp: &Idp, token: &str, scope: Option<&str>) -> (u16, serde_json::Value) {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("client_id", SINGLE),
        ("refresh_token", token),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    idp.post_token_with(&form, Some(SINGLE_ORIGIN)).await
}

#[tokio::test]
async fn a_self_request_by_app_id_uri_signs_in_and_the_api_accepts_the_token() {
    let idp = start().await;
    let body = sign_in_single(&idp, &uri_scope()).await;
    let access = body["access_token"].as_str().unwrap();
    let c = claims(access);
    assert_eq!(c["aud"], SINGLE, "v2: aud is the client id GUID");
    assert_eq!(c["azp"], SINGLE);
    assert_eq!(c["scp"], SINGLE_SCOPE);
    assert_eq!(c["roles"], serde_json::json!(["Orders.Admin"]));
    assert_eq!(
        body["scope"].as_str().unwrap().split(' ').next().unwrap(),
        format!("api://{SINGLE}/{SINGLE_SCOPE}"),
        "scopes are echoed in the requested form"
    );
    let principal = validator_for(&idp, SINGLE).validate(access).await.unwrap();
    assert!(principal.has_role("Orders.Admin"));
    assert!(!principal.is_app_only());
    // The ID token of the same registration has the same aud and roles,
    // and is still refused by the API.
    let id_token = body["id_token"].as_str().unwrap();
    assert_eq!(claims(id_token)["aud"], SINGLE);
    let refused = validator_for(&idp, SINGLE)
        .validate(id_token)
        .await
        .unwrap_err();
    assert_eq!(refused.code().as_str(), "id_token_not_accepted");
}

#[tokio::test]
async fn a_v1_self_request_keeps_the_identifier_as_requested() {
    let idp = start().await;
    let scope = "api://legacy-single/access_as_user openid offline_access";
    let url = authorize_url(&idp, LEGACY, LEGACY_REDIRECT, scope, &[]);
    let code = code_for(&idp, &url, ALICE).await;
    let (status, body) =
        redeem_spa(&idp, LEGACY, LEGACY_REDIRECT, LEGACY_ORIGIN, &code, scope).await;
    assert_eq!(status, 200, "{body}");
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["aud"], "api://legacy-single");
    assert_eq!(c["appid"], LEGACY);
    assert_eq!(c["ver"], "1.0");
    assert_eq!(c["scp"], "access_as_user");
}

#[tokio::test]
async fn a_refresh_without_the_resource_scope_is_the_90009_trap_for_app_id_uri_families() {
    let idp = start().await;
    let body = sign_in_single(&idp, &uri_scope()).await;
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    // As MSAL.js 2.x sent it: only the OIDC scopes.
    let (status, refused) = refresh(&idp, &rt, Some("openid profile offline_access")).await;
    assert_eq!(
        (status, refused["error"].as_str(), aadsts(&refused)),
        (400, Some("invalid_request"), 90_009),
        "{refused}"
    );
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("GUID based App Identifier")
    );
    // No scope at all: the same.
    let (_, refused) = refresh(&idp, &rt, None).await;
    assert_eq!(aadsts(&refused), 90_009);
    // The refused refreshes did not burn the token: the fix (send the
    // resource scope) works with the same refresh token.
    let (status, renewed) = refresh(&idp, &rt, Some(&uri_scope())).await;
    assert_eq!(status, 200, "{renewed}");
    assert_eq!(
        claims(renewed["access_token"].as_str().unwrap())["aud"],
        SINGLE
    );
}

#[tokio::test]
async fn a_guid_named_family_refreshes_without_the_resource_scope() {
    let idp = start().await;
    let scope = format!("{SINGLE}/{SINGLE_SCOPE} openid profile offline_access");
    let body = sign_in_single(&idp, &scope).await;
    let rt = body["refresh_token"].as_str().unwrap();
    let (status, renewed) = refresh(&idp, rt, Some("openid profile offline_access")).await;
    assert_eq!(status, 200, "{renewed}");
    let c = claims(renewed["access_token"].as_str().unwrap());
    assert_eq!(c["aud"], SINGLE, "the family's resource continues");
    assert_eq!(c["scp"], SINGLE_SCOPE);
    assert!(renewed["refresh_token"].is_string());
}

#[tokio::test]
async fn ropc_for_a_self_request_by_app_id_uri_is_90009_and_by_guid_succeeds() {
    let idp = start().await;
    let ropc = |scope: &'static str| {
        let idp = &idp;
        async move {
            idp.post_token(&[
                ("grant_type", "password"),
                ("client_id", LEGACY),
                ("username", ALICE.0),
                ("password", ALICE.1),
                ("scope", scope),
            ])
            .await
        }
    };
    let (status, refused) = ropc("api://legacy-single/access_as_user openid").await;
    assert_eq!(
        (status, refused["error"].as_str(), aadsts(&refused)),
        (400, Some("invalid_request"), 90_009),
        "{refused}"
    );
    let (status, body) = ropc("6f8b0d2c-3e5a-4b7c-9d1e-2f3a4b5c6d7e/access_as_user openid").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["aud"],
        "6f8b0d2c-3e5a-4b7c-9d1e-2f3a4b5c6d7e",
        "v1: aud is the identifier as requested"
    );
}
