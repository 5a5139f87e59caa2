//! State survives a restart: keys (tokens stay valid), refresh tokens.

use rolegate_idp::keys::VALIDATOR_REFETCH_WINDOW;

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

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_and_signs_with_the_new_key() {
    let idp = Idp::start().await;
    let scope = format!("api://{API}/.default");
    let daemon = |idp: &Idp| {
        let scope = scope.clone();
        let client = idp.client.clone();
        let url = idp.token_url();
        async move {
            let body: serde_json::Value = client
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", crate::DAEMON),
                    ("client_secret", crate::DAEMON_SECRET),
                    ("scope", scope.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let kid_of = |jwt: &str| {
        use base64::Engine as _;
        let header: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(jwt.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        header["kid"].as_str().unwrap().to_owned()
    };
    let before = daemon(&idp).await;
    let now = idp.running.provider.now();
    let report = idp
        .running
        .provider
        .keys
        .rotate(now, 0, 3600)
        .await
        .unwrap();
    // The next key was made when the provider started: it signs only once
    // it has been published for the validators' refetch window (and more).
    assert!(
        report.switch_at >= now + VALIDATOR_REFETCH_WINDOW,
        "{report:?}"
    );
    assert_eq!(kid_of(&daemon(&idp).await), kid_of(&before));
    let after = idp
        .running
        .provider
        .keys
        .sign(&crate::claims(&before), false, report.switch_at)
        .unwrap();
    assert_ne!(kid_of(&before), kid_of(&after), "{report:?}");
    let jwks: serde_json::Value = idp
        .client
        .get(format!("{}/discovery/v2.0/keys", idp.authority()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&kid_of(&before).as_str()) && kids.contains(&kid_of(&after).as_str()),
        "{kids:?}"
    );
    assert!(
        kids.len() >= 3,
        "retired, current and a new next key are published: {kids:?}"
    );
    let v = idp.api_validator();
    v.validate(&before).await.unwrap();
    v.validate(&after).await.unwrap();
}

#[tokio::test]
async fn consents_and_sessions_survive_a_restart() {
    let idp = Idp::start().await;
    let store = &idp.running.provider.store;
    let alice = idp
        .running
        .provider
        .tenants()
        .default_tenant()
        .user_by_upn(crate::ALICE.0)
        .unwrap()
        .object_id
        .clone();
    store
        .grant_consent(crate::CLI, &alice, API, &["access_as_user".to_owned()])
        .await
        .unwrap();
    let addr = idp.running.addr;
    let data_dir = idp.stop().await;
    let idp = Idp::start_in(data_dir, &addr.to_string()).await;
    let granted = idp
        .running
        .provider
        .store
        .consented_scopes(crate::CLI, &alice, API)
        .await
        .unwrap();
    assert_eq!(granted, vec!["access_as_user".to_owned()]);
}
