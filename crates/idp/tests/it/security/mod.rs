//! The security regression suite: each module is named for what it guards
//! (sessions, client authentication, consent, PKCE and codes, limits,
//! self-requests). Every test here failed on the code before the fix it
//! guards (see the commit that added it).

mod client_auth;
mod consent;
mod limits;
mod pkce;
mod self_request;
mod session;

use std::collections::HashMap;

use crate::Idp;
use crate::code_flow::{CHALLENGE, VERIFIER, hidden};

/// The single registration (SPA + API, v2), named `api://{SINGLE}`.
pub const SINGLE: &str = "5e7a9c1b-2d4f-4a6b-8c0d-1e2f3a4b5c6d";
pub const SINGLE_REDIRECT: &str = "http://localhost:5173/";
pub const SINGLE_ORIGIN: &str = "http://localhost:5173";
pub const SINGLE_SCOPE: &str = "access_via_approle_assignments";
/// The same shape with v1 tokens.
pub const LEGACY: &str = "6f8b0d2c-3e5a-4b7c-9d1e-2f3a4b5c6d7e";
pub const LEGACY_REDIRECT: &str = "http://localhost:5174/";
pub const LEGACY_ORIGIN: &str = "http://localhost:5174";
/// A confidential web app.
pub const WEB: &str = "33333333-cccc-4ccc-8ccc-333333333333";
pub const WEB_SECRET: &str = "web-app-secret-123456";
pub const WEB_REDIRECT: &str = "https://app.test/cb";
pub const NATIVE_REDIRECT: &str = "http://localhost";
/// An API with a user scope `read` and an admin-only scope `admin`.
pub const HR: &str = "77777777-eeee-4eee-8eee-777777777777";
pub const ALICE: (&str, &str) = ("alice@contoso.test", "alice-Passw0rd");
pub const BOB: (&str, &str) = ("bob@contoso.test", "bob-Passw0rd");

pub async fn start() -> Idp {
    let dir = std::env::temp_dir().join(format!(
        "rolegate-idp-security-{}",
        rolegate_idp::secret::random_token(9)
    ));
    Idp::start_with(
        dir,
        "127.0.0.1:0",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/security/tenant.toml"),
    )
    .await
}

/// An authorize URL (PKCE S256 unless `extra` removes it with an empty value).
pub fn authorize_url(
    idp: &Idp,
    client: &str,
    redirect: &str,
    scope: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut params = vec![
        ("client_id", client),
        ("response_type", "code"),
        ("redirect_uri", redirect),
        ("scope", scope),
        ("state", "s1"),
        ("nonce", "n1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("response_mode", "query"),
    ];
    for (k, v) in extra {
        params.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            params.push((k, v));
        }
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("{}/oauth2/v2.0/authorize?{query}", idp.authority())
}

/// The query parameters of a redirect location.
pub fn query(location: &str) -> HashMap<String, String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Signs `user` in from the page at `url` (the provider's sign-in page);
/// returns the response that follows the sign-in (a redirect, or a page).
pub async fn sign_in_response(
    idp: &Idp,
    client: &reqwest::Client,
    url: &str,
    user: (&str, &str),
) -> reqwest::Response {
    let html = client.get(url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Sign in"), "{html}");
    client
        .post(format!("{}/rolegate/login", idp.authority()))
        .form(&[
            ("csrf", hidden(&html, "csrf")),
            ("request", hidden(&html, "request")),
            ("username", user.0.to_owned()),
            ("password", user.1.to_owned()),
        ])
        .send()
        .await
        .unwrap()
}

/// Signs in and returns the code of the redirect.
pub async fn code_for(idp: &Idp, url: &str, user: (&str, &str)) -> String {
    let resp = sign_in_response(idp, &idp.client, url, user).await;
    let location = resp
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no redirect: {}", resp.status()))
        .to_str()
        .unwrap()
        .to_owned();
    let params = query(&location);
    params
        .get("code")
        .unwrap_or_else(|| panic!("no code in {location}"))
        .clone()
}

/// Redeems a SPA code cross-origin with the PKCE verifier.
pub async fn redeem_spa(
    idp: &Idp,
    client: &str,
    redirect: &str,
    origin: &str,
    code: &str,
    scope: &str,
) -> (u16, serde_json::Value) {
    idp.post_token_with(
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", VERIFIER),
            ("scope", scope),
        ],
        Some(origin),
    )
    .await
}

/// A client without a cookie store (the test reads and sets cookies).
pub fn bare_client(idp: &Idp) -> reqwest::Client {
    let ca = std::fs::read(&idp.running.ca_path).unwrap();
    reqwest::Client::builder()
        .tls_certs_only(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A cookie-keeping client whose connections come from `source` (another
/// loopback address), as a second machine would.
pub fn client_from(idp: &Idp, source: &str) -> reqwest::Client {
    let ca = std::fs::read(&idp.running.ca_path).unwrap();
    reqwest::Client::builder()
        .tls_certs_only(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .local_address(source.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// A validator for an API with client id `audience`, as that API builds it.
pub fn validator_for(idp: &Idp, audience: &str) -> rolegate_token::Validator {
    let ca = std::fs::read(&idp.running.ca_path).unwrap();
    let fetcher = rolegate_token::fetch::HttpFetcher::with_options(
        std::time::Duration::from_secs(5),
        1 << 20,
        &[&ca],
    )
    .unwrap();
    rolegate_token::Validator::new(
        rolegate_token::ValidatorConfig::entra_authority(idp.authority(), audience)
            .fetcher(std::sync::Arc::new(fetcher)),
    )
    .unwrap()
}
