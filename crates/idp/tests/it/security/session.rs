//! The SSO session: its cookie is a secret of its own, `sid` and
//! `session_state` grant nothing, and posts to the provider's pages must
//! come from its own pages (Origin, HMAC-bound CSRF token).

use super::*;
use crate::claims;

/// Signs alice in with a cookie-less client; returns the Set-Cookie lines
/// of the sign-in response and its redirect location.
async fn signed_in(idp: &Idp) -> (Vec<String>, String) {
    let client = bare_client(idp);
    let url = authorize_url(
        idp,
        SINGLE,
        SINGLE_REDIRECT,
        &format!("api://{SINGLE}/{SINGLE_SCOPE} openid"),
        &[],
    );
    let page = client.get(&url).send().await.unwrap();
    let csrf_cookie: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let cookie_header = csrf_cookie
        .iter()
        .map(|c| c.split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ");
    let html = page.text().await.unwrap();
    let resp = client
        .post(format!("{}/rolegate/login", idp.authority()))
        .header("cookie", cookie_header)
        .form(&[
            ("csrf", hidden(&html, "csrf")),
            ("request", hidden(&html, "request")),
            ("username", ALICE.0.to_owned()),
            ("password", ALICE.1.to_owned()),
        ])
        .send()
        .await
        .unwrap();
    let cookies = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    (cookies, location)
}

#[tokio::test]
async fn the_session_cookie_is_a_secret_distinct_from_sid_and_session_state() {
    let idp = start().await;
    let (cookies, location) = signed_in(&idp).await;
    let session = cookies
        .iter()
        .find(|c| c.starts_with("__Host-rolegate_session="))
        .unwrap_or_else(|| panic!("no __Host- session cookie in {cookies:?}"));
    for attribute in ["Secure", "HttpOnly", "Path=/", "SameSite=Lax"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(!session.contains("Domain"), "{session}");
    let secret = session
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    assert!(secret.len() >= 43, "256 bits: {secret}");
    let params = query(&location);
    let session_state = params["session_state"].clone();
    assert_ne!(session_state, secret);
    let (_, body) = redeem_spa(
        &idp,
        SINGLE,
        SINGLE_REDIRECT,
        SINGLE_ORIGIN,
        &params["code"],
        &format!("api://{SINGLE}/{SINGLE_SCOPE} openid"),
    )
    .await;
    let sid = claims(body["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(sid, session_state, "sid and session_state name the session");
    assert_ne!(sid, secret);

    // Whoever saw sid (any client app, a log, a redirect URL) tries it as
    // the cookie, under the old and the new name: no session.
    let url = authorize_url(
        &idp,
        SINGLE,
        SINGLE_REDIRECT,
        "openid",
        &[("prompt", "none")],
    );
    let hijack = bare_client(&idp)
        .get(&url)
        .header(
            "cookie",
            format!("rolegate_session={sid}; __Host-rolegate_session={sid}"),
        )
        .send()
        .await
        .unwrap();
    let location = hijack.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(query(&location)["error"], "login_required", "{location}");
    // The real secret does carry the session.
    let sso = bare_client(&idp)
        .get(&url)
        .header("cookie", format!("__Host-rolegate_session={secret}"))
        .send()
        .await
        .unwrap();
    let location = sso.headers()["location"].to_str().unwrap().to_owned();
    assert!(query(&location).contains_key("code"), "{location}");
}

#[tokio::test]
async fn a_sign_in_posted_from_another_origin_is_refused() {
    let idp = start().await;
    let url = authorize_url(&idp, SINGLE, SINGLE_REDIRECT, "openid", &[]);
    let html = idp
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("request", hidden(&html, "request")),
        ("username", ALICE.0.to_owned()),
        ("password", ALICE.1.to_owned()),
    ];
    for (header, value) in [
        ("origin", "https://evil.test"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let resp = idp
            .client
            .post(format!("{}/rolegate/login", idp.authority()))
            .header(header, value)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 403, "{header}: {value}");
    }
    // From our own page (same origin) it goes through.
    let resp = idp
        .client
        .post(format!("{}/rolegate/login", idp.authority()))
        .header("origin", idp.running.origin.as_str())
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_ne!(resp.status().as_u16(), 403);
}

#[tokio::test]
async fn a_planted_csrf_cookie_does_not_make_a_valid_token() {
    let idp = start().await;
    let url = authorize_url(&idp, SINGLE, SINGLE_REDIRECT, "openid", &[]);
    let html = bare_client(&idp)
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // An attacker who can plant a cookie (another localhost port, a
    // subdomain) sets both the cookie and the field to a value it chose.
    let planted = "attacker-chosen-value-attacker-chosen-value-0123";
    for name in ["rolegate_csrf", "__Host-rolegate_csrf"] {
        let resp = bare_client(&idp)
            .post(format!("{}/rolegate/login", idp.authority()))
            .header("cookie", format!("{name}={planted}"))
            .form(&[
                ("csrf", planted.to_owned()),
                ("request", hidden(&html, "request")),
                ("username", ALICE.0.to_owned()),
                ("password", ALICE.1.to_owned()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 403, "{name}");
    }
}
