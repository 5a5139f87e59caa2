//! Refusals that need a stricter tenant (tests/it/strict.toml): role
//! assignment required, no consent, a confidential web app.

use crate::code_flow::hidden;
use crate::{Idp, aadsts};

const LOCKED: &str = "api://locked";
const NATIVE: &str = "22222222-bbbb-4bbb-8bbb-222222222222";
const WEB: &str = "33333333-cccc-4ccc-8ccc-333333333333";
const WEB_SECRET: &str = "web-app-secret-123456";

async fn strict() -> Idp {
    let dir = std::env::temp_dir().join(format!(
        "rolegate-idp-strict-{}",
        rolegate_idp::secret::random_token(9)
    ));
    Idp::start_with(
        dir,
        "127.0.0.1:0",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/strict.toml"),
    )
    .await
}

#[tokio::test]
async fn assignment_and_consent_are_enforced() {
    let idp = strict().await;
    let scope = format!("{LOCKED}/use");
    let ropc = |user: &'static str, password: &'static str| {
        let scope = scope.clone();
        let idp = &idp;
        async move {
            idp.post_token(&[
                ("grant_type", "password"),
                ("client_id", NATIVE),
                ("username", user),
                ("password", password),
                ("scope", &scope),
            ])
            .await
        }
    };
    let (_, body) = ropc("dave@contoso.test", "dave-Passw0rd").await;
    assert_eq!(
        (body["error"].as_str(), aadsts(&body)),
        (Some("access_denied"), 50_105),
        "{body}"
    );
    let (_, body) = ropc("erin@contoso.test", "erin-Passw0rd").await;
    assert_eq!(
        (
            body["error"].as_str(),
            aadsts(&body),
            body["suberror"].as_str()
        ),
        (Some("invalid_grant"), 65_001, Some("consent_required")),
        "{body}"
    );
    // An app with no role on an assignment-required resource.
    let (_, body) = idp
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
            ("scope", "api://locked/.default"),
        ])
        .await;
    assert_eq!(aadsts(&body), 501_051, "{body}");
}

#[tokio::test]
async fn web_app_code_flow_with_form_post_and_no_cross_origin_redemption() {
    let idp = strict().await;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", WEB),
            ("response_type", "code"),
            ("redirect_uri", "https://app.test/cb"),
            ("scope", "openid profile"),
            ("response_mode", "form_post"),
            ("state", "s1"),
        ])
        .finish();
    let html = idp
        .client
        .get(format!("{}/oauth2/v2.0/authorize?{query}", idp.authority()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("request", hidden(&html, "request")),
        ("username", "erin@contoso.test".to_owned()),
        ("password", "erin-Passw0rd".to_owned()),
    ];
    let posted = idp
        .client
        .post(format!("{}/rolegate/login", idp.authority()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status().as_u16(), 200);
    let page = posted.text().await.unwrap();
    assert!(page.contains("action=\"https://app.test/cb\""), "{page}");
    let code = hidden(&page, "code");
    assert_eq!(hidden(&page, "state"), "s1");
    // A confidential web app never redeems from a browser (Origin present).
    let (_, body) = idp
        .post_token_with(
            &[
                ("grant_type", "authorization_code"),
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
                ("code", &code),
                ("redirect_uri", "https://app.test/cb"),
            ],
            Some("https://app.test"),
        )
        .await;
    assert_eq!(aadsts(&body), 9_002_326, "{body}");
    // Without a secret the web app is refused.
    let (_, body) = idp
        .post_token(&[
            ("grant_type", "authorization_code"),
            ("client_id", WEB),
            ("code", &code),
            ("redirect_uri", "https://app.test/cb"),
        ])
        .await;
    assert_eq!(aadsts(&body), 7_000_218, "{body}");
    // With it (server side), the code works; it was not consumed by the refusals above.
    let (status, body) = idp
        .post_token(&[
            ("grant_type", "authorization_code"),
            ("client_id", WEB),
            ("client_secret", WEB_SECRET),
            ("code", &code),
            ("redirect_uri", "https://app.test/cb"),
            ("scope", "openid profile"),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["id_token"].is_string());
}

#[tokio::test]
async fn v1_resources_get_v1_tokens() {
    let idp = strict().await;
    let (status, body) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", NATIVE),
            ("username", "erin@contoso.test"),
            ("password", "erin-Passw0rd"),
            ("scope", "api://legacy/read"),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    let at = body["access_token"].as_str().unwrap();
    let c = crate::claims(at);
    assert_eq!(c["ver"], "1.0");
    assert_eq!(c["iss"], format!("https://sts.windows.net/{}/", crate::TID));
    assert_eq!(
        c["aud"], "api://legacy",
        "v1 aud is the identifier as requested"
    );
    assert_eq!(
        (c["appid"].as_str(), c["appidacr"].as_str()),
        (Some(NATIVE), Some("0"))
    );
    assert!(c.get("azp").is_none() && c.get("preferred_username").is_none());
    assert_eq!(c["upn"], "erin@contoso.test");
    use base64::Engine as _;
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(at.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["x5t"], header["kid"], "v1 tokens carry x5t");
}

#[tokio::test]
async fn cors_only_for_registered_spa_origins() {
    let idp = Idp::start().await;
    for (origin, allowed) in [
        (crate::SPA_ORIGIN, true),
        ("https://evil.example", false),
        ("http://localhost:5174", false),
    ] {
        let resp = idp
            .client
            .request(reqwest::Method::OPTIONS, idp.token_url())
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .unwrap();
        let acao = resp
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(acao.is_some(), allowed, "{origin}: {acao:?}");
        if allowed {
            assert_eq!(acao.as_deref(), Some(origin));
        }
    }
}

#[tokio::test]
async fn sighup_reloads_the_tenant_file_and_keeps_sessions() {
    let dir = std::env::temp_dir().join(format!(
        "rolegate-idp-reload-{}",
        rolegate_idp::secret::random_token(9)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tenant.toml");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/strict.toml"),
        &file,
    )
    .unwrap();
    let idp = Idp::start_with(dir.join("data"), "127.0.0.1:0", file.to_str().unwrap()).await;
    let ropc = |user: &'static str, password: &'static str| {
        let idp = &idp;
        async move {
            idp.post_token(&[
                ("grant_type", "password"),
                ("client_id", NATIVE),
                ("username", user),
                ("password", password),
                ("scope", "api://legacy/read"),
            ])
            .await
        }
    };
    let (_, body) = ropc("frank@contoso.test", "frank-Passw0rd").await;
    assert_eq!(
        aadsts(&body),
        50_126,
        "frank does not exist yet (answered like a wrong password)"
    );
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("\n[[users]]\nuser_principal_name = \"frank@contoso.test\"\ndisplay_name = \"Frank\"\npassword = \"frank-Passw0rd\"\n");
    std::fs::write(&file, text).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut reloaded = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let (status, _) = ropc("frank@contoso.test", "frank-Passw0rd").await;
        if status == 200 {
            reloaded = true;
            break;
        }
    }
    assert!(reloaded, "the new user can sign in after SIGHUP");
    // A broken file is refused and the previous directory stays.
    std::fs::write(&file, "[tenant]\nid = \"not-a-guid\"\n").unwrap();
    std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (status, _) = ropc("frank@contoso.test", "frank-Passw0rd").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn consent_page_for_a_permission_nobody_granted_yet() {
    let idp = strict().await;
    let verifier = crate::code_flow::VERIFIER;
    let authorize = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", NATIVE),
            ("response_type", "code"),
            ("redirect_uri", "http://localhost:51234/"),
            ("scope", "api://locked/use offline_access"),
            ("code_challenge", crate::code_flow::CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    let url = format!("{}/oauth2/v2.0/authorize?{authorize}", idp.authority());
    let login = idp
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("csrf", hidden(&login, "csrf")),
        ("request", hidden(&login, "request")),
        ("username", "erin@contoso.test".to_owned()),
        ("password", "erin-Passw0rd".to_owned()),
    ];
    let consent = idp
        .client
        .post(format!("{}/rolegate/login", idp.authority()))
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        consent.contains("Use the locked API") && consent.contains("Native app"),
        "{consent}"
    );
    let form = [
        ("csrf", hidden(&consent, "csrf")),
        ("consent", hidden(&consent, "consent")),
        ("decision", "accept".to_owned()),
    ];
    let resp = idp
        .client
        .post(format!("{}/rolegate/consent", idp.authority()))
        .form(&form)
        .send()
        .await
        .unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("http://localhost:51234/?code="),
        "{location}"
    );
    let code: String = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let (status, body) = idp
        .post_token(&[
            ("grant_type", "authorization_code"),
            ("client_id", NATIVE),
            ("code", &code),
            ("redirect_uri", "http://localhost:51234/"),
            ("code_verifier", verifier),
            ("scope", "api://locked/use offline_access"),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    let c = crate::claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        (c["scp"].as_str(), c["roles"][0].as_str()),
        (Some("use"), Some("Locked.Use"))
    );
    // The consent is remembered: the next sign-in goes straight to the code.
    let resp = idp.client.get(&url).send().await.unwrap();
    assert!(
        resp.headers()["location"]
            .to_str()
            .unwrap()
            .contains("code=")
    );
}
