//! State survives a restart: keys (tokens stay valid), refresh tokens.

use crate::{ALICE, API, CLI, Idp};

#[tokio::test]
async fn keys_and_refresh_tokens_survive_a_restart() {
    let idp = Idp::start().await;
    let scope = format!("api://{API}/access_as_user offline_access");
    let (_, body) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("scope", &scope),
        ])
        .await;
    let at = body["access_token"].as_str().unwrap().to_owned();
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    let addr = idp.running.addr;
    let data_dir = idp.stop().await;

    // Same data folder, same address: same issuer, same keys.
    let idp = Idp::start_in(data_dir, &addr.to_string()).await;
    let p = idp.api_validator().validate(&at).await.unwrap();
    assert!(p.has_scope("access_as_user"));
    let (status, refreshed) = idp
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("refresh_token", &rt),
            ("scope", &scope),
        ])
        .await;
    assert_eq!(status, 200, "{refreshed}");
    idp.api_validator()
        .validate(refreshed["access_token"].as_str().unwrap())
        .await
        .unwrap();
}
