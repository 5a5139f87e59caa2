//! The v1.0 endpoints (`/{tenant}/oauth2/authorize` and `/oauth2/token`
//! with `resource=`): ADAL-era clients and scripts. The access token's
//! version still follows the resource's `requested_access_token_version`;
//! the answer's shape and the ID token's version follow the endpoint.

use crate::code_flow::{CHALLENGE, VERIFIER, fragment, sign_in};
use crate::{
    ALICE, API, CLI, DAEMON, DAEMON_SECRET, Idp, SPA, SPA_ORIGIN, SPA_REDIRECT, TID, aadsts, claims,
};

fn v1_token_url(idp: &Idp) -> String {
    format!("{}/oauth2/token", idp.authority())
}

async fn post_v1(
    idp: &Idp,
    form: &[(&str, &str)],
    origin: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut req = idp.client.post(v1_token_url(idp)).form(form);
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    assert_eq!(
        resp.headers()["cache-control"].to_str().unwrap(),
        "no-store, no-cache",
        "token answers are never cached"
    );
    (status, resp.json().await.unwrap())
}

fn as_secs(v: &serde_json::Value) -> i64 {
    v.as_str()
        .unwrap_or_else(|| panic!("v1 answers carry numbers as strings: {v}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn v1_client_credentials_takes_resource_and_answers_in_the_v1_shape() {
    let idp = Idp::start().await;
    let resource = format!("api://{API}");
    let (status, body) = post_v1(
        &idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", DAEMON),
            ("client_secret", DAEMON_SECRET),
            ("resource", &resource),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["resource"], resource);
    assert!(body.get("scope").is_none() && body.get("refresh_token").is_none());
    let expires_in = as_secs(&body["expires_in"]);
    assert_eq!(as_secs(&body["ext_expires_in"]), expires_in);
    let not_before = as_secs(&body["not_before"]);
    assert_eq!(as_secs(&body["expires_on"]), not_before + expires_in);
    let at = body["access_token"].as_str().unwrap();
    let c = claims(at);
    // The Orders API asks for v2 tokens: the endpoint does not change that.
    assert_eq!(
        (c["ver"].as_str(), c["aud"].as_str()),
        (Some("2.0"), Some(API))
    );
    assert_eq!(c["roles"], serde_json::json!(["Orders.Read"]));
    assert_eq!(c["nbf"].as_i64(), Some(not_before));
    let principal = idp.api_validator().validate(at).await.unwrap();
    assert!(principal.is_app_only());

    // Without `resource`: the parameter is named.
    let (status, body) = post_v1(
        &idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", DAEMON),
            ("client_secret", DAEMON_SECRET),
        ],
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(aadsts(&body), 900_144);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("'resource'")
    );

    // An unknown resource is refused as on v2.
    let (status, body) = post_v1(
        &idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", DAEMON),
            ("client_secret", DAEMON_SECRET),
            ("resource", "api://not-registered"),
        ],
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(aadsts(&body), 500_011, "{body}");
}

#[tokio::test]
async fn v1_password_and_refresh_issue_v1_id_tokens_and_always_a_refresh_token() {
    let idp = Idp::start().await;
    let resource = format!("api://{API}");
    let (status, body) = post_v1(
        &idp,
        &[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("resource", &resource),
            ("scope", "openid"),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["resource"], resource);
    assert_eq!(
        body["scope"], "access_as_user",
        "v1 echoes unqualified scopes"
    );
    let at = claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        (at["aud"].as_str(), at["scp"].as_str(), at["ver"].as_str()),
        (Some(API), Some("access_as_user"), Some("2.0"))
    );
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["ver"], "1.0");
    assert_eq!(id["iss"], format!("https://sts.windows.net/{TID}/"));
    assert_eq!(id["aud"], CLI);
    assert_eq!(id["unique_name"], ALICE.0);
    assert_eq!(id["upn"], ALICE.0);
    assert!(id.get("preferred_username").is_none() && id.get("scp").is_none());
    let refresh = body["refresh_token"]
        .as_str()
        .expect("v1 always issues one")
        .to_owned();

    // Refresh at v1 naming the resource again.
    let (status, body) = post_v1(
        &idp,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("refresh_token", &refresh),
            ("resource", &resource),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["resource"], resource);
    assert!(body["expires_in"].is_string());
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();

    // A refresh token from v1 also works at v2 (one family, either endpoint).
    let (status, body) = idp
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("refresh_token", &refresh),
            ("scope", &format!("api://{API}/access_as_user")),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["expires_in"].is_i64() && body.get("resource").is_none());
}

#[tokio::test]
async fn v1_authorize_with_resource_leads_to_a_code_that_redeems_at_the_v1_token_endpoint() {
    let idp = Idp::start().await;
    let resource = format!("api://{API}");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", SPA),
            ("response_type", "code"),
            ("redirect_uri", SPA_REDIRECT),
            ("resource", resource.as_str()),
            ("scope", "openid"),
            ("state", "s1"),
            ("nonce", "n1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("response_mode", "fragment"),
        ])
        .finish();
    let url = format!("{}/oauth2/authorize?{query}", idp.authority());
    let location = sign_in(&idp, &url, ALICE).await;
    assert!(location.starts_with(SPA_REDIRECT), "{location}");
    let params = fragment(&location);
    assert_eq!(params["state"], "s1");
    let code = &params["code"];
    let (status, body) = post_v1(
        &idp,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", SPA),
            ("code", code),
            ("redirect_uri", SPA_REDIRECT),
            ("code_verifier", VERIFIER),
        ],
        Some(SPA_ORIGIN),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["resource"], resource);
    assert_eq!(body["scope"], "access_as_user");
    let at = body["access_token"].as_str().unwrap();
    assert!(idp.api_validator().validate(at).await.is_ok());
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(
        (id["ver"].as_str(), id["nonce"].as_str()),
        (Some("1.0"), Some("n1"))
    );
    assert!(body["refresh_token"].is_string());
}

#[tokio::test]
async fn the_v2_authorize_endpoint_still_refuses_resource() {
    let idp = Idp::start().await;
    let resource = format!("api://{API}");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", SPA),
            ("response_type", "code"),
            ("redirect_uri", SPA_REDIRECT),
            ("resource", resource.as_str()),
            ("scope", "openid"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    let resp = idp
        .client
        .get(format!("{}/oauth2/v2.0/authorize?{query}", idp.authority()))
        .send()
        .await
        .unwrap();
    let location = resp.headers()["location"].to_str().unwrap();
    assert!(location.contains("AADSTS901002"), "{location}");
}
