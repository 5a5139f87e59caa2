//! Authorization code + PKCE, driven over HTTP like a browser: the login
//! page, the SSO cookie, prompt values, consent and SPA redemption rules.

use base64::Engine as _;

use crate::{ALICE, API, Idp, SPA, SPA_ORIGIN, SPA_REDIRECT, TID, aadsts, claims};

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn scope() -> String {
    format!("api://{API}/access_as_user openid profile offline_access")
}

pub fn authorize_url(idp: &Idp, extra: &[(&str, &str)]) -> String {
    let scope = scope();
    let mut params = vec![
        ("client_id", SPA),
        ("response_type", "code"),
        ("redirect_uri", SPA_REDIRECT),
        ("scope", scope.as_str()),
        ("state", "st<>&1"),
        ("nonce", "n-1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("response_mode", "fragment"),
        ("client_info", "1"),
    ];
    for (k, v) in extra {
        params.retain(|(pk, _)| pk != k);
        params.push((k, v));
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("{}/oauth2/v2.0/authorize?{query}", idp.authority())
}

pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in page"))
        + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Follows the sign-in page as a user would; returns the final redirect.
pub async fn sign_in(idp: &Idp, url: &str, user: (&str, &str)) -> String {
    let page = idp.client.get(url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(
        page.headers()["content-security-policy"],
        "frame-ancestors 'none'"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign in"), "{html}");
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("request", hidden(&html, "request")),
        ("username", user.0.to_owned()),
        ("password", user.1.to_owned()),
    ];
    let resp = idp
        .client
        .post(format!("{}/rolegate/login", idp.authority()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        303.min(resp.status().as_u16()).max(302),
        "{:?}",
        resp.status()
    );
    resp.headers()["location"].to_str().unwrap().to_owned()
}

pub fn fragment(location: &str) -> std::collections::HashMap<String, String> {
    let frag = location.split_once('#').map(|(_, f)| f).unwrap_or_default();
    url::form_urlencoded::parse(frag.as_bytes())
        .into_owned()
        .collect()
}

async fn redeem(idp: &Idp, code: &str, origin: Option<&str>) -> (u16, serde_json::Value) {
    let scope = scope();
    idp.post_token_with(
        &[
            ("grant_type", "authorization_code"),
            ("client_id", SPA),
            ("code", code),
            ("redirect_uri", SPA_REDIRECT),
            ("code_verifier", VERIFIER),
            ("scope", &scope),
            ("client_info", "1"),
        ],
        origin,
    )
    .await
}

#[tokio::test]
async fn spa_code_flow_with_pkce_and_sso() {
    let idp = Idp::start().await;
    let location = sign_in(&idp, &authorize_url(&idp, &[]), ALICE).await;
    assert!(
        location.starts_with(&format!("{SPA_REDIRECT}#")),
        "{location}"
    );
    let params = fragment(&location);
    assert_eq!(params["state"], "st<>&1");
    let info: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&params["client_info"])
            .unwrap(),
    )
    .unwrap();
    assert_eq!(info["utid"], TID);
    let code = params["code"].clone();

    // SPA redemption: cross-origin only.
    let (status, body) = redeem(&idp, &code, None).await;
    assert_eq!((status, aadsts(&body)), (400, 9_002_327));
    // That attempt did not consume the code; this one does.
    let resp = idp
        .client
        .post(idp.token_url())
        .header("origin", SPA_ORIGIN)
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", SPA),
            ("code", &code),
            ("redirect_uri", SPA_REDIRECT),
            ("code_verifier", VERIFIER),
            ("scope", &scope()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], SPA_ORIGIN);
    let body: serde_json::Value = resp.json().await.unwrap();
    let at = body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    let p = idp.api_validator().validate(at).await.unwrap();
    assert!(p.has_role("Orders.Admin") && p.has_scope("access_as_user"));
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(
        (id["aud"].as_str(), id["nonce"].as_str()),
        (Some(SPA), Some("n-1"))
    );
    assert!(id["sid"].is_string());
    assert!(body["refresh_token_expires_in"].as_i64().unwrap() <= 24 * 3600);

    // Single use.
    let (status, body) = redeem(&idp, &code, Some(SPA_ORIGIN)).await;
    assert_eq!((status, aadsts(&body)), (400, 54_005));

    // SSO: the session cookie skips the login page, also with prompt=none.
    for extra in [vec![], vec![("prompt", "none")]] {
        let resp = idp
            .client
            .get(authorize_url(&idp, &extra))
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status().as_u16(),
            303.min(resp.status().as_u16()).max(302)
        );
        let loc = resp.headers()["location"].to_str().unwrap();
        assert!(fragment(loc).contains_key("code"), "{loc}");
    }
}

#[tokio::test]
async fn code_redemption_is_single_use_under_concurrency() {
    let idp = Idp::start().await;
    let code = fragment(&sign_in(&idp, &authorize_url(&idp, &[]), ALICE).await)["code"].clone();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = idp.client.clone();
        let url = idp.token_url();
        let code = code.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .header("origin", SPA_ORIGIN)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("client_id", SPA),
                    ("code", &code),
                    ("redirect_uri", SPA_REDIRECT),
                    ("code_verifier", VERIFIER),
                    ("scope", &scope()),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == 200 {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn pkce_and_redirect_rules() {
    let idp = Idp::start().await;
    // A wrong verifier.
    let code = fragment(&sign_in(&idp, &authorize_url(&idp, &[]), ALICE).await)["code"].clone();
    let (_, body) = idp
        .post_token_with(
            &[
                ("grant_type", "authorization_code"),
                ("client_id", SPA),
                ("code", &code),
                ("redirect_uri", SPA_REDIRECT),
                ("code_verifier", &"x".repeat(43)),
                ("scope", &scope()),
            ],
            Some(SPA_ORIGIN),
        )
        .await;
    assert_eq!(aadsts(&body), 501_481);
    // SPA without PKCE: refused at authorize, redirected with the error.
    let resp = idp
        .client
        .get(authorize_url(&idp, &[("code_challenge", "")]))
        .send()
        .await
        .unwrap();
    let loc = resp.headers()["location"].to_str().unwrap();
    assert_eq!(fragment(loc)["error"], "invalid_request");
    assert!(fragment(loc)["error_description"].starts_with("AADSTS9002325"));
    // Unregistered redirect URI: an error page, never a redirect.
    let resp = idp
        .client
        .get(authorize_url(
            &idp,
            &[("redirect_uri", "https://evil.example/cb")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.headers().get("location").is_none());
    assert!(resp.text().await.unwrap().contains("AADSTS50011"));
    // Unknown client: a page too.
    let resp = idp
        .client
        .get(authorize_url(
            &idp,
            &[("client_id", "11111111-1111-1111-1111-111111111111")],
        ))
        .send()
        .await
        .unwrap();
    assert!(resp.text().await.unwrap().contains("AADSTS700016"));
}

#[tokio::test]
async fn prompt_none_without_session_and_consent_page() {
    let idp = Idp::start().await;
    let resp = idp
        .client
        .get(authorize_url(&idp, &[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    let loc = resp.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(fragment(&loc)["error"], "login_required");
    // prompt=consent shows the consent page after sign-in; Cancel → access_denied.
    let page = idp
        .client
        .get(authorize_url(&idp, &[("prompt", "consent")]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("csrf", hidden(&page, "csrf")),
        ("request", hidden(&page, "request")),
        ("username", ALICE.0.to_owned()),
        ("password", ALICE.1.to_owned()),
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
        consent.contains("Access orders as the signed-in user"),
        "{consent}"
    );
    let decide = |consent: String, decision: &'static str| {
        let client = idp.client.clone();
        let url = format!("{}/rolegate/consent", idp.authority());
        async move {
            // The form names the consent the server stored, and the answer.
            let form = [
                ("csrf", hidden(&consent, "csrf")),
                ("consent", hidden(&consent, "consent")),
                ("decision", decision.to_owned()),
            ];
            client.post(url).form(&form).send().await.unwrap().headers()["location"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    let cancelled = decide(consent.clone(), "cancel").await;
    assert_eq!(fragment(&cancelled)["error"], "access_denied");
    assert!(fragment(&cancelled)["error_description"].starts_with("AADSTS65004"));
    // The signed-in user asks again (SSO): a new consent page, accepted.
    let again = idp
        .client
        .get(authorize_url(&idp, &[("prompt", "consent")]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let accepted = decide(again, "accept").await;
    assert!(fragment(&accepted).contains_key("code"), "{accepted}");
}

#[tokio::test]
async fn login_form_needs_the_csrf_cookie() {
    let idp = Idp::start().await;
    let html = idp
        .client
        .get(authorize_url(&idp, &[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Another client (no cookie) replays the form.
    let other = reqwest::Client::builder()
        .tls_certs_only(
            reqwest::Certificate::from_pem_bundle(&std::fs::read(&idp.running.ca_path).unwrap())
                .unwrap(),
        )
        .build()
        .unwrap();
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("request", hidden(&html, "request")),
        ("username", ALICE.0.to_owned()),
        ("password", ALICE.1.to_owned()),
    ];
    let resp = other
        .post(format!("{}/rolegate/login", idp.authority()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
}

#[tokio::test]
async fn public_clients_need_s256() {
    let idp = Idp::start().await;
    for extra in [
        vec![("code_challenge_method", "plain")],
        vec![("code_challenge_method", "")],
    ] {
        let resp = idp
            .client
            .get(authorize_url(&idp, &extra))
            .send()
            .await
            .unwrap();
        let loc = resp.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            fragment(&loc)["error_description"].starts_with("AADSTS9002325"),
            "{loc}"
        );
    }
}
