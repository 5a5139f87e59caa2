//! client_credentials, password (ROPC) and refresh_token, with the tokens
//! validated by rolegate-token as the Orders API would.

use rolegate_token::ErrorCode;

use crate::{ALICE, API, BOB, CAROL, CLI, DAEMON, DAEMON_SECRET, Idp, TID, aadsts, claims};

#[tokio::test]
async fn client_credentials_issues_an_app_only_token_with_granted_roles() {
    let idp = Idp::start().await;
    let scope = format!("api://{API}/.default");
    let (status, body) = idp
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", DAEMON),
            ("client_secret", DAEMON_SECRET),
            ("scope", &scope),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(
        body.get("scope").is_none(),
        "client-credentials responses carry no scope"
    );
    assert!(body["expires_in"].as_i64().unwrap() > 0 && body["ext_expires_in"].is_i64());
    let at = body["access_token"].as_str().unwrap();
    let c = claims(at);
    assert_eq!(c["aud"], API);
    assert_eq!(c["iss"], format!("{}/{TID}/v2.0", idp.running.origin));
    assert_eq!(c["ver"], "2.0");
    assert_eq!(c["azp"], DAEMON);
    assert_eq!(c["azpacr"], "1");
    assert_eq!(c["roles"], serde_json::json!(["Orders.Read"]));
    assert_eq!(c["idtyp"], "app");
    assert!(c.get("scp").is_none());
    assert_eq!(c["oid"], c["sub"]);
    let principal = idp.api_validator().validate(at).await.unwrap();
    assert!(principal.is_app_only() && principal.has_role("Orders.Read"));
    // HTTP Basic works too.
    let resp = idp
        .client
        .post(idp.token_url())
        .basic_auth(DAEMON, Some(DAEMON_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", scope.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn ropc_issues_access_id_and_refresh_tokens() {
    let idp = Idp::start().await;
    let scope = format!("api://{API}/access_as_user openid profile offline_access");
    let (status, body) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("scope", &scope),
            ("client_info", "1"),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["scope"],
        format!("api://{API}/access_as_user openid profile offline_access")
    );
    let at = body["access_token"].as_str().unwrap();
    let c = claims(at);
    assert_eq!(
        (c["aud"].as_str(), c["scp"].as_str(), c["azp"].as_str()),
        (Some(API), Some("access_as_user"), Some(CLI))
    );
    assert_eq!(c["roles"], serde_json::json!(["Orders.Admin"]));
    assert_eq!(c["preferred_username"], ALICE.0);
    assert!(body["refresh_token"].as_str().unwrap().len() > 40);
    assert!(body["client_info"].is_string());
    let v = idp.api_validator();
    let p = v.validate(at).await.unwrap();
    assert!(p.has_scope("access_as_user") && p.has_role("Orders.Admin") && !p.is_app_only());
    // The ID token is for the CLI, and any API refuses it.
    let id = body["id_token"].as_str().unwrap();
    let ic = claims(id);
    assert_eq!(ic["aud"], CLI);
    assert!(ic.get("azp").is_none() && ic.get("scp").is_none());
    let err = v.validate(id).await.unwrap_err();
    assert!(
        matches!(
            err.code(),
            ErrorCode::InvalidAudience | ErrorCode::IdTokenNotAccepted
        ),
        "{err}"
    );
}

#[tokio::test]
async fn roles_come_from_groups_and_are_absent_without_assignment() {
    let idp = Idp::start().await;
    let scope = format!("api://{API}/access_as_user");
    let (_, bob) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", BOB.0),
            ("password", BOB.1),
            ("scope", &scope),
        ])
        .await;
    assert_eq!(
        claims(bob["access_token"].as_str().unwrap())["roles"],
        serde_json::json!(["Orders.Read"])
    );
    let (_, carol) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", CAROL.0),
            ("password", CAROL.1),
            ("scope", &scope),
        ])
        .await;
    assert!(
        claims(carol["access_token"].as_str().unwrap())
            .get("roles")
            .is_none()
    );
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let idp = Idp::start().await;
    let scope = format!("api://{API}/access_as_user openid offline_access");
    let (_, first) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("scope", &scope),
        ])
        .await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, second) = idp
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("refresh_token", &rt1),
            ("scope", &scope),
        ])
        .await;
    assert_eq!(status, 200, "{second}");
    let rt2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2);
    idp.api_validator()
        .validate(second["access_token"].as_str().unwrap())
        .await
        .unwrap();
    // Replaying rt1: refused, and rt2 (same family) dies with it.
    let (status, replay) = idp
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("refresh_token", &rt1),
        ])
        .await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, after) = idp
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("refresh_token", &rt2),
        ])
        .await;
    assert_eq!(status, 400, "{after}");
    assert_eq!(aadsts(&after), 70_008);
}

#[tokio::test]
async fn userinfo_with_a_graph_token() {
    let idp = Idp::start().await;
    let (_, body) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("scope", "openid profile User.Read"),
        ])
        .await;
    let graph = body["access_token"].as_str().unwrap();
    assert_eq!(claims(graph)["aud"], "https://graph.microsoft.com");
    let info: serde_json::Value = idp
        .client
        .get(format!("{}/oidc/userinfo", idp.running.origin))
        .bearer_auth(graph)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["name"], "Alice Smith");
    assert_eq!(
        info["sub"],
        claims(body["id_token"].as_str().unwrap())["sub"]
    );
    // An API token is not a Graph token.
    let (_, api) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("scope", &format!("api://{API}/access_as_user")),
        ])
        .await;
    let resp = idp
        .client
        .get(format!("{}/oidc/userinfo", idp.running.origin))
        .bearer_auth(api["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}
