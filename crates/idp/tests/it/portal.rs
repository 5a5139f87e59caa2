//! The admin portal's page and its built-in client over real HTTPS: the
//! page per tenant with its security headers, sign-in for users holding a
//! directory role only, the redirect URI that must be the portal's own page
//! on the provider's own origin, redemption only from that origin, and the
//! Graph token it gets.

use crate::code_flow::{CHALLENGE, VERIFIER, sign_in};
use crate::{ALICE, BOB, Idp, TID, claims};

const PORTAL: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
const SCOPE: &str = "openid profile https://graph.microsoft.com/Directory.AccessAsUser.All";
const APPLICATION_ADMINISTRATOR: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";

fn page(idp: &Idp) -> String {
    format!("{}/{TID}/portal/", idp.running.origin)
}

fn authorize(idp: &Idp, redirect_uri: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", PORTAL),
            ("response_type", "code"),
            ("response_mode", "query"),
            ("redirect_uri", redirect_uri),
            ("scope", SCOPE),
            ("state", "s1"),
            ("nonce", "n1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    format!("{}/oauth2/v2.0/authorize?{query}", idp.authority())
}

fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

async fn get(idp: &Idp, url: &str) -> reqwest::Response {
    idp.client.get(url).send().await.unwrap()
}

#[tokio::test]
async fn the_portal_page_is_served_per_tenant_with_a_strict_policy() {
    let idp = Idp::start().await;
    let response = get(&idp, &page(&idp)).await;
    assert_eq!(response.status().as_u16(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("data-tenant-id=\"{TID}\"")),
        "{html}"
    );
    assert!(html.contains(&format!("data-client-id=\"{PORTAL}\"")));
    assert!(html.contains(&format!("data-origin=\"{}\"", idp.running.origin)));
    assert!(!html.contains("{{"), "a placeholder was left: {html}");

    // By domain too; not at a multi-tenant alias nor an unknown tenant.
    let by_domain = get(
        &idp,
        &format!("{}/contoso.test/portal/", idp.running.origin),
    )
    .await;
    assert_eq!(by_domain.status().as_u16(), 200);
    for missing in [
        "organizations",
        "common",
        "0f0f0f0f-0000-4000-8000-000000000000",
    ] {
        let response = get(&idp, &format!("{}/{missing}/portal/", idp.running.origin)).await;
        assert_eq!(response.status().as_u16(), 404, "{missing}");
    }

    // The script and style sheet; nothing else.
    let script = get(&idp, &format!("{}portal.js", page(&idp))).await;
    assert_eq!(script.status().as_u16(), 200);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(script.headers()["x-content-type-options"], "nosniff");
    let style = get(&idp, &format!("{}portal.css", page(&idp))).await;
    assert_eq!(style.status().as_u16(), 200);
    let other = get(&idp, &format!("{}../tenant.toml", page(&idp))).await;
    assert_ne!(other.status().as_u16(), 200);
    let other = get(&idp, &format!("{}index.html", page(&idp))).await;
    assert_eq!(other.status().as_u16(), 404);
}

#[tokio::test]
async fn administrators_sign_in_and_the_code_is_redeemed_only_from_the_portals_origin() {
    let idp = Idp::start().await;
    let redirect = page(&idp);
    let location = sign_in(&idp, &authorize(&idp, &redirect), ALICE).await;
    assert!(location.starts_with(&format!("{redirect}?")), "{location}");
    let answer = query_of(&location);
    assert_eq!(answer.get("state").map(String::as_str), Some("s1"));
    let code = answer["code"].clone();
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", PORTAL),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", VERIFIER),
        ("scope", SCOPE),
    ];
    // Not from a browser, or from another origin: refused (and the code
    // stays unredeemed).
    let (status, body) = idp.post_token(&form).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
    let (status, body) = idp.post_token_with(&form, Some("https://evil.test")).await;
    assert_eq!(status, 400, "{body}");
    // From the portal's own origin: a Graph token acting as the user.
    let (status, body) = idp.post_token_with(&form, Some(&idp.running.origin)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.get("refresh_token").is_none(),
        "no offline_access asked"
    );
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], "https://graph.microsoft.com");
    assert_eq!(access["appid"], PORTAL);
    assert!(
        access["scp"]
            .as_str()
            .unwrap()
            .split(' ')
            .any(|s| s == "Directory.AccessAsUser.All"),
        "{access}"
    );
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["aud"], PORTAL);
    assert_eq!(id["nonce"], "n1");
    let wids = id["wids"].as_array().unwrap();
    assert!(wids.iter().any(|w| w == APPLICATION_ADMINISTRATOR), "{id}");
    // ... which Graph accepts.
    let response = idp
        .client
        .get(format!("{}/v1.0/applications", idp.running.origin))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    // Signing out returns to the portal page, and to no other.
    for (target, followed) in [
        (redirect.as_str(), true),
        ("https://evil.test/portal/", false),
    ] {
        let response = idp
            .client
            .get(format!(
                "{}/oauth2/v2.0/logout?client_id={PORTAL}&post_logout_redirect_uri={}",
                idp.authority(),
                url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>()
            ))
            .send()
            .await
            .unwrap();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        assert_eq!(
            location.as_deref() == Some(target),
            followed,
            "{target}: {location:?}"
        );
    }
}

#[tokio::test]
async fn the_portals_redirect_uri_is_its_own_page_on_the_providers_origin() {
    let idp = Idp::start().await;
    for foreign in [
        format!("https://evil.test/{TID}/portal/"),
        format!("{}/{TID}/portal/x", idp.running.origin),
        format!("{}/{TID}/other/", idp.running.origin),
        format!("{}/organizations/portal/", idp.running.origin),
        "http://localhost:5173/".to_owned(),
    ] {
        let response = get(&idp, &authorize(&idp, &foreign)).await;
        assert_eq!(response.status().as_u16(), 400, "{foreign}");
        assert!(response.headers().get("location").is_none(), "{foreign}");
        let html = response.text().await.unwrap();
        assert!(html.contains("AADSTS50011"), "{foreign}: {html}");
    }
}

#[tokio::test]
async fn users_without_a_directory_role_are_refused_at_sign_in() {
    let idp = Idp::start().await;
    let redirect = page(&idp);
    let location = sign_in(&idp, &authorize(&idp, &redirect), BOB).await;
    assert!(location.starts_with(&format!("{redirect}?")), "{location}");
    let answer = query_of(&location);
    assert_eq!(
        answer.get("error").map(String::as_str),
        Some("access_denied")
    );
    let description = &answer["error_description"];
    assert!(description.starts_with("AADSTS50105"), "{description}");
    assert!(description.contains("directory role"), "{description}");
    assert!(!answer.contains_key("code"));
}
