//! Certificate credentials (`private_key_jwt`, RFC 7523; spec §1.5): client
//! assertions on every grant that authenticates a client, over HTTPS, with
//! a tenant whose certificates are generated for each run.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaEncoding, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rolegate_idp::directory::certificate::KeyCredential;
use serde_json::{Value, json};

use crate::security::{authorize_url, code_for};
use crate::{ALICE, Idp, TID, aadsts, claims};

const REPORTS: &str = "a1a1a1a1-1111-4111-8111-111111111111";
const STOCK: &str = "b2b2b2b2-2222-4222-8222-222222222222";
const DAEMON: &str = "c3c3c3c3-3333-4333-8333-333333333333";
const WEB: &str = "d4d4d4d4-4444-4444-8444-444444444444";
const WEB_SECRET: &str = "web-with-certificate-secret-1";
const WEB_REDIRECT: &str = "https://app.test/cb";
const OTHER: &str = "e5e5e5e5-5555-4555-8555-555555555555";
const MIDDLE: &str = "f6f6f6f6-6666-4666-8666-666666666666";
const CLI: &str = "a7a7a7a7-7777-4777-8777-777777777777";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A certificate (registered or not) and its private key.
struct Cert {
    key: RsaKeyPair,
    credential: KeyCredential,
    pem: String,
}

impl Cert {
    fn new() -> Cert {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["client".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        Cert {
            key: RsaKeyPair::from_pkcs8(&key.serialize_der()).unwrap(),
            credential: KeyCredential::from_der(cert.der()).unwrap(),
            pem: cert.pem(),
        }
    }

    /// A compact JWS of `claims` under `header`, signed with this key.
    fn sign(&self, header: &Value, claims: &Value) -> String {
        let encoding: &'static dyn RsaEncoding = match header["alg"].as_str() {
            Some("PS256") => &RSA_PSS_SHA256,
            _ => &RSA_PKCS1_SHA256,
        };
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                encoding,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// An assertion as msal-node signs it: RS256 with `x5t`, a fresh `jti`,
    /// ten minutes, for `client` at `idp`'s v2 token endpoint.
    fn assertion(&self, idp: &Idp, client: &str) -> String {
        self.sign(&self.rs256(), &assertion_claims(idp, client))
    }

    fn rs256(&self) -> Value {
        json!({"alg": "RS256", "typ": "JWT", "x5t": self.credential.x5t()})
    }
}

/// The claims MSAL puts in an assertion, with a fresh `jti`.
fn assertion_claims(idp: &Idp, client: &str) -> Value {
    let now = rolegate_testkit::unix_now();
    json!({
        "aud": idp.token_url(),
        "iss": client,
        "sub": client,
        "jti": rolegate_idp::secret::random_token(16),
        "nbf": now,
        "iat": now,
        "exp": now + 600,
    })
}

/// The provider and the certificates registered in its tenant.
struct Tenant {
    idp: Idp,
    daemon: Cert,
    web: Cert,
    other: Cert,
    middle: Cert,
}

async fn start() -> Tenant {
    let (daemon, web, other, middle) = (Cert::new(), Cert::new(), Cert::new(), Cert::new());
    let dir = std::env::temp_dir().join(format!(
        "rolegate-idp-assertion-{}",
        rolegate_idp::secret::random_token(9)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    // One certificate from a file next to the tenant file, the others inline.
    std::fs::write(dir.join("daemon.pem"), &daemon.pem).unwrap();
    let tenant = format!(
        r#"
[tenant]
id = "{TID}"
domain = "contoso.test"

[[users]]
user_principal_name = "{alice}"
display_name = "Alice Smith"
password = "{alice_password}"

[[applications]]
display_name = "Reports API (v1 tokens)"
app_id = "{REPORTS}"
identifier_uris = ["api://reports"]
  [[applications.app_roles]]
  value = "Reports.Read"
  display_name = "Read reports"
  allowed_member_types = ["Application"]

[[applications]]
display_name = "Stock API"
app_id = "{STOCK}"
identifier_uris = ["api://stock"]
requested_access_token_version = 2
  [[applications.app_roles]]
  value = "Stock.Read"
  display_name = "Read stock"
  allowed_member_types = ["Application"]
  [[applications.oauth2_permission_scopes]]
  value = "read"
  admin_consent_display_name = "Read stock"

[[applications]]
display_name = "Certificate daemon"
app_id = "{DAEMON}"
key_credentials = [{{ certificate = "daemon.pem", display_name = "daemon" }}]

[[applications]]
display_name = "Web app with a certificate and a secret"
app_id = "{WEB}"
web_redirect_uris = ["{WEB_REDIRECT}"]
  [[applications.key_credentials]]
  pem = """{web_pem}"""
  [[applications.password_credentials]]
  secret = "{WEB_SECRET}"

[[applications]]
display_name = "Another daemon"
app_id = "{OTHER}"
  [[applications.key_credentials]]
  pem = """{other_pem}"""

[[applications]]
display_name = "Middle tier"
app_id = "{MIDDLE}"
identifier_uris = ["api://middle"]
requested_access_token_version = 2
  [[applications.key_credentials]]
  pem = """{middle_pem}"""
  [[applications.oauth2_permission_scopes]]
  value = "access_as_user"
  admin_consent_display_name = "Access the middle tier"

[[applications]]
display_name = "CLI"
app_id = "{CLI}"
is_fallback_public_client = true

[[app_role_assignments]]
principal = "{DAEMON}"
resource = "api://reports"
role = "Reports.Read"

[[app_role_assignments]]
principal = "{DAEMON}"
resource = "api://stock"
role = "Stock.Read"

[[admin_consents]]
client = "{WEB}"
resource = "api://stock"
scopes = ["read"]

[[admin_consents]]
client = "{CLI}"
resource = "api://middle"
scopes = ["access_as_user"]

[[admin_consents]]
client = "{MIDDLE}"
resource = "api://stock"
scopes = ["read"]
"#,
        alice = ALICE.0,
        alice_password = ALICE.1,
        web_pem = web.pem,
        other_pem = other.pem,
        middle_pem = middle.pem,
    );
    let config = dir.join("tenant.toml");
    std::fs::write(&config, tenant).unwrap();
    let idp = Idp::start_with(dir.join("data"), "127.0.0.1:0", config.to_str().unwrap()).await;
    Tenant {
        idp,
        daemon,
        web,
        other,
        middle,
    }
}

/// A client-credentials request authenticated with `assertion`.
fn client_credentials<'a>(
    client: &'a str,
    assertion: &'a str,
    scope: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", client),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
        ("scope", scope),
    ]
}

/// Status, AADSTS code and description of a refusal.
fn refusal(status: u16, body: &Value) -> (u16, u64, String) {
    (
        status,
        aadsts(body),
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn client_credentials_accept_rs256_x5t_ps256_x5t_s256_and_a_kid() {
    let t = start().await;
    let (idp, cert) = (&t.idp, &t.daemon);
    let headers = [
        cert.rs256(),
        json!({"alg": "PS256", "typ": "JWT", "x5t#S256": cert.credential.x5t_s256()}),
        json!({"alg": "RS256", "typ": "JWT", "kid": cert.credential.thumbprint_hex()}),
    ];
    for header in headers {
        let assertion = cert.sign(&header, &assertion_claims(idp, DAEMON));
        let (status, body) = idp
            .post_token(&client_credentials(
                DAEMON,
                &assertion,
                "api://stock/.default",
            ))
            .await;
        assert_eq!(status, 200, "{header}: {body}");
        let c = claims(body["access_token"].as_str().unwrap());
        assert_eq!(
            (c["azp"].as_str(), c["azpacr"].as_str()),
            (Some(DAEMON), Some("2")),
            "{c}"
        );
        assert_eq!(c["roles"], json!(["Stock.Read"]));
    }
    // v1 tokens say it with appidacr.
    let assertion = cert.assertion(idp, DAEMON);
    let (status, body) = idp
        .post_token(&client_credentials(
            DAEMON,
            &assertion,
            "api://reports/.default",
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        (c["appid"].as_str(), c["appidacr"].as_str()),
        (Some(DAEMON), Some("2")),
        "{c}"
    );
}

#[tokio::test]
async fn an_identical_assertion_may_come_again_but_its_jti_binds_no_other() {
    let t = start().await;
    let (idp, cert) = (&t.idp, &t.daemon);
    let claims = assertion_claims(idp, DAEMON);
    let assertion = cert.sign(&cert.rs256(), &claims);
    // MSAL re-sends its cached assertion for every token request.
    for scope in [
        "api://stock/.default",
        "api://reports/.default",
        "api://stock/.default",
    ] {
        let (status, body) = idp
            .post_token(&client_credentials(DAEMON, &assertion, scope))
            .await;
        assert_eq!(status, 200, "{scope}: {body}");
    }
    // Another assertion (PS256 this time) with the same jti is a replay.
    let ps256 = json!({"alg": "PS256", "x5t#S256": cert.credential.x5t_s256()});
    let replay = cert.sign(&ps256, &claims);
    let (status, body) = idp
        .post_token(&client_credentials(DAEMON, &replay, "api://stock/.default"))
        .await;
    let (status, code, description) = refusal(status, &body);
    assert_eq!((status, code), (401, 7_000_274), "{body}");
    assert!(
        description.contains(claims["jti"].as_str().unwrap()),
        "{description}"
    );
    // The first one still works; a fresh jti works.
    let (status, _) = idp
        .post_token(&client_credentials(
            DAEMON,
            &assertion,
            "api://stock/.default",
        ))
        .await;
    assert_eq!(status, 200);
    let fresh = cert.sign(&ps256, &assertion_claims(idp, DAEMON));
    let (status, _) = idp
        .post_token(&client_credentials(DAEMON, &fresh, "api://stock/.default"))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn only_a_certificate_of_this_app_that_signed_the_assertion_authenticates() {
    let t = start().await;
    let idp = &t.idp;
    let stock = "api://stock/.default";
    // Never registered.
    let stranger = Cert::new();
    let (status, body) = idp
        .post_token(&client_credentials(
            DAEMON,
            &stranger.assertion(idp, DAEMON),
            stock,
        ))
        .await;
    let (status, code, description) = refusal(status, &body);
    assert_eq!((status, code), (401, 700_027), "{body}");
    assert!(
        description.contains("is not registered on application")
            && description.contains(&stranger.credential.thumbprint_hex())
            && description.contains(DAEMON),
        "{description}"
    );
    // Registered, but on another application.
    let (status, body) = idp
        .post_token(&client_credentials(
            DAEMON,
            &t.other.assertion(idp, DAEMON),
            stock,
        ))
        .await;
    let (status, code, description) = refusal(status, &body);
    assert_eq!((status, code), (401, 700_027), "{body}");
    assert!(
        description.contains(&t.other.credential.thumbprint_hex()),
        "{description}"
    );
    // Naming the daemon's certificate, signed with another key.
    let forged = t
        .other
        .sign(&t.daemon.rs256(), &assertion_claims(idp, DAEMON));
    let (status, body) = idp
        .post_token(&client_credentials(DAEMON, &forged, stock))
        .await;
    let (status, code, description) = refusal(status, &body);
    assert_eq!((status, code), (401, 700_027), "{body}");
    assert!(description.contains("signature"), "{description}");
}

#[tokio::test]
async fn claims_are_checked_with_entras_codes() {
    let t = start().await;
    let (idp, cert) = (&t.idp, &t.daemon);
    let now = rolegate_testkit::unix_now();
    let stock = "api://stock/.default";
    let refused = |changes: Value| {
        let mut claims = assertion_claims(idp, DAEMON);
        for (name, value) in changes.as_object().unwrap() {
            match value {
                Value::Null => {
                    claims.as_object_mut().unwrap().remove(name);
                }
                value => claims[name] = value.clone(),
            }
        }
        let assertion = cert.sign(&cert.rs256(), &claims);
        async move {
            let (status, body) = idp
                .post_token(&client_credentials(DAEMON, &assertion, stock))
                .await;
            refusal(status, &body)
        }
    };
    let (status, code, description) =
        refused(json!({"aud": format!("{}/common/oauth2/v2.0/token", idp.running.origin)})).await;
    assert_eq!((status, code), (401, 700_023), "{description}");
    assert!(
        description.contains(&idp.token_url()),
        "names the expected audience: {description}"
    );
    let (status, code, description) =
        refused(json!({"exp": now - 400, "nbf": now - 1000, "iat": now - 1000})).await;
    assert_eq!((status, code), (401, 700_024), "{description}");
    assert!(
        description.contains("Current time:") && description.contains("expiry time of assertion"),
        "{description}"
    );
    let (status, code, _) = refused(json!({"nbf": now + 1000, "exp": now + 1600})).await;
    assert_eq!((status, code), (401, 700_024));
    let (status, code, description) = refused(json!({"exp": now + 2 * 3600})).await;
    assert_eq!(
        (status, code),
        (401, 700_024),
        "lifetime cap: {description}"
    );
    let (status, code, description) = refused(json!({"jti": null})).await;
    assert_eq!((status, code), (401, 90_014));
    assert!(description.contains("'jti'"), "{description}");
    let (status, code, _) = refused(json!({"iss": OTHER})).await;
    assert_eq!((status, code), (401, 700_021));
    let (status, code, _) = refused(json!({"sub": OTHER})).await;
    assert_eq!((status, code), (401, 700_021));
    // The v1 token endpoint and the domain form name this endpoint too.
    for aud in [
        format!("{}/{TID}/oauth2/token", idp.running.origin),
        format!("{}/contoso.test/oauth2/v2.0/token", idp.running.origin),
    ] {
        let mut claims = assertion_claims(idp, DAEMON);
        claims["aud"] = json!(aud);
        let assertion = cert.sign(&cert.rs256(), &claims);
        let (status, body) = idp
            .post_token(&client_credentials(DAEMON, &assertion, stock))
            .await;
        assert_eq!(status, 200, "{aud}: {body}");
    }
}

#[tokio::test]
async fn an_assertion_comes_alone_with_its_type_and_never_from_a_browser() {
    let t = start().await;
    let idp = &t.idp;
    let assertion = t.web.assertion(idp, WEB);
    let stock = "api://stock/.default";
    let mut with_secret = client_credentials(WEB, &assertion, stock);
    with_secret.push(("client_secret", WEB_SECRET));
    let (status, body) = idp.post_token(&with_secret).await;
    assert_eq!((status, aadsts(&body)), (400, 900_144), "{body}");
    let resp = idp
        .client
        .post(idp.token_url())
        .basic_auth(WEB, Some(WEB_SECRET))
        .form(&client_credentials(WEB, &assertion, stock))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let mut wrong_type = client_credentials(WEB, &assertion, stock);
    wrong_type[2].1 = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer";
    let (status, body) = idp.post_token(&wrong_type).await;
    assert_eq!((status, aadsts(&body)), (400, 90_011), "{body}");
    let no_type: Vec<_> = client_credentials(WEB, &assertion, stock)
        .into_iter()
        .filter(|(name, _)| *name != "client_assertion_type")
        .collect();
    let (status, body) = idp.post_token(&no_type).await;
    assert_eq!((status, aadsts(&body)), (400, 900_144), "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("client_assertion_type")
    );
    // A browser never sends a credential, an assertion included.
    let (status, body) = idp
        .post_token_with(
            &client_credentials(WEB, &assertion, stock),
            Some("https://app.test"),
        )
        .await;
    assert_eq!((status, aadsts(&body)), (400, 9_002_326), "{body}");
    // A public client has no credential to present.
    let cli = Cert::new().assertion(idp, CLI);
    let (status, body) = idp.post_token(&client_credentials(CLI, &cli, stock)).await;
    assert_eq!((status, aadsts(&body)), (401, 700_025), "{body}");
    // The assertion itself is fine: the refusals spent nothing.
    let (status, body) = idp
        .post_token(&client_credentials(WEB, &assertion, stock))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// ROPC as alice for `api://stock/read` with a refresh token, authenticated
/// by `credential` (name, value pairs).
async fn ropc_family(idp: &Idp, credential: &[(&str, &str)]) -> String {
    let mut form = vec![
        ("grant_type", "password"),
        ("client_id", WEB),
        ("username", ALICE.0),
        ("password", ALICE.1),
        ("scope", "api://stock/read offline_access"),
    ];
    form.extend_from_slice(credential);
    let (status, body) = idp.post_token(&form).await;
    assert_eq!(status, 200, "{body}");
    body["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_certificate_family_refreshes_only_with_a_certificate_and_a_secret_family_only_with_its_secret()
 {
    let t = start().await;
    let idp = &t.idp;
    let assertion = t.web.assertion(idp, WEB);
    let by_certificate = [
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion.as_str()),
    ];
    let rt = ropc_family(idp, &by_certificate).await;
    let refresh = |credential: Vec<(&'static str, String)>, rt: String| async move {
        let mut form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("client_id", WEB.to_owned()),
            ("refresh_token", rt),
        ];
        form.extend(credential);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        idp.post_token(&form).await
    };
    let (status, body) = refresh(vec![("client_secret", WEB_SECRET.to_owned())], rt.clone()).await;
    let (status, code, description) = refusal(status, &body);
    assert_eq!((status, code), (401, 7_000_218), "{body}");
    assert!(description.contains("certificate"), "{description}");
    let (status, body) = refresh(vec![], rt.clone()).await;
    assert_eq!((status, aadsts(&body)), (401, 7_000_218), "{body}");
    // The refusals spent nothing; the certificate (MSAL's cached assertion) refreshes.
    let (status, body) = refresh(
        vec![
            ("client_assertion_type", ASSERTION_TYPE.to_owned()),
            ("client_assertion", assertion.clone()),
        ],
        rt,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["azpacr"],
        "2"
    );

    let rt = ropc_family(idp, &[("client_secret", WEB_SECRET)]).await;
    let (status, body) = refresh(
        vec![
            ("client_assertion_type", ASSERTION_TYPE.to_owned()),
            ("client_assertion", assertion),
        ],
        rt.clone(),
    )
    .await;
    let (status, code, description) = refusal(status, &body);
    assert_eq!((status, code), (401, 7_000_218), "{body}");
    assert!(description.contains("client secret"), "{description}");
    let (status, body) = refresh(vec![("client_secret", WEB_SECRET.to_owned())], rt).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["azpacr"],
        "1"
    );
}

#[tokio::test]
async fn on_behalf_of_authenticates_the_middle_tier_with_its_certificate() {
    let t = start().await;
    let idp = &t.idp;
    let (status, user) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("scope", "api://middle/access_as_user"),
        ])
        .await;
    assert_eq!(status, 200, "{user}");
    let incoming = user["access_token"].as_str().unwrap();
    let assertion = t.middle.assertion(idp, MIDDLE);
    let (status, body) = idp
        .post_token(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("client_id", MIDDLE),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion),
            ("assertion", incoming),
            ("requested_token_use", "on_behalf_of"),
            ("scope", "api://stock/read"),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        (
            c["aud"].as_str(),
            c["azp"].as_str(),
            c["azpacr"].as_str(),
            c["scp"].as_str()
        ),
        (Some(STOCK), Some(MIDDLE), Some("2"), Some("read"))
    );
    // The middle tier's assertion names its own certificate, not the daemon's.
    let wrong = t.daemon.assertion(idp, MIDDLE);
    let (status, body) = idp
        .post_token(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("client_id", MIDDLE),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &wrong),
            ("assertion", incoming),
            ("requested_token_use", "on_behalf_of"),
            ("scope", "api://stock/read"),
        ])
        .await;
    assert_eq!((status, aadsts(&body)), (401, 700_027), "{body}");
}

#[tokio::test]
async fn code_redemption_and_device_polling_accept_a_certificate() {
    let t = start().await;
    let idp = &t.idp;
    let url = authorize_url(
        idp,
        WEB,
        WEB_REDIRECT,
        "openid offline_access",
        &[("code_challenge", ""), ("code_challenge_method", "")],
    );
    let code = code_for(idp, &url, ALICE).await;
    let assertion = t.web.assertion(idp, WEB);
    let (status, body) = idp
        .post_token(&[
            ("grant_type", "authorization_code"),
            ("client_id", WEB),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion),
            ("code", &code),
            ("redirect_uri", WEB_REDIRECT),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["appidacr"],
        "2"
    );
    assert!(body["refresh_token"].is_string());

    let started: Value = idp
        .client
        .post(format!("{}/oauth2/v2.0/devicecode", idp.authority()))
        .form(&[("client_id", WEB), ("scope", "openid")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (status, body) = idp
        .post_token(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", WEB),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion),
            ("device_code", started["device_code"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending")),
        "{body}"
    );
}

#[tokio::test]
async fn failed_assertions_are_throttled_per_client_and_source() {
    let t = start().await;
    let idp = &t.idp;
    let stock = "api://stock/.default";
    let forged = t
        .other
        .sign(&t.daemon.rs256(), &assertion_claims(idp, DAEMON));
    for _ in 0..10 {
        let (status, body) = idp
            .post_token(&client_credentials(DAEMON, &forged, stock))
            .await;
        assert_eq!((status, aadsts(&body)), (401, 700_027), "{body}");
    }
    // Now even a good assertion waits.
    let good = t.daemon.assertion(idp, DAEMON);
    let (status, body) = idp
        .post_token(&client_credentials(DAEMON, &good, stock))
        .await;
    assert_eq!(
        (status, body["error"].as_str(), aadsts(&body)),
        (429, Some("temporarily_unavailable"), 90_055),
        "{body}"
    );
    // Another client is not affected.
    let (status, body) = idp
        .post_token(&client_credentials(
            OTHER,
            &t.other.assertion(idp, OTHER),
            "api://reports/.default",
        ))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Graph's `keyCredentials` (`PATCH /applications/{id}`), as the admin
/// portal and `az ad app credential reset --cert` use it: a certificate
/// uploaded as base64 DER authenticates the app's next client assertion at
/// once; listing it by `keyId` keeps it; leaving it out removes it; a key
/// that is not a certificate, or a private key, is refused in Graph's shape.
#[tokio::test]
async fn certificates_uploaded_through_graph_authenticate_the_next_assertion() {
    const AUTOMATION: &str = "3f0c8a6e-9d2b-4c7a-8e1f-5b6a7c8d9e0f";
    const AUTOMATION_SECRET: &str = "automation-secret-7Hq2Xv9Kp4Lm8Rw3";
    let idp = Idp::start().await;
    let (status, body) = idp
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", AUTOMATION),
            ("client_secret", AUTOMATION_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    let admin = body["access_token"].as_str().unwrap().to_owned();
    let send = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut request = idp
            .client
            .request(method, format!("{}/v1.0{path}", idp.running.origin))
            .bearer_auth(&admin);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            (
                status,
                serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
            )
        }
    };
    let (status, app) = send(
        reqwest::Method::POST,
        "/applications".to_owned(),
        Some(json!({"displayName": "Signed daemon"})),
    )
    .await;
    assert_eq!(status, 201, "{app}");
    let (object_id, client) = (
        app["id"].as_str().unwrap().to_owned(),
        app["appId"].as_str().unwrap().to_owned(),
    );
    let path = format!("/applications/{object_id}");
    let cert = Cert::new();
    let scope = "https://graph.microsoft.com/.default";
    let authenticates = |assertion: String| {
        let client = client.clone();
        let idp = &idp;
        async move {
            let (status, body) = idp
                .post_token(&client_credentials(&client, &assertion, scope))
                .await;
            (status, body)
        }
    };
    // Not registered yet: refused.
    let (status, body) = authenticates(cert.assertion(&idp, &client)).await;
    assert_eq!(status, 401, "{body}");

    // Uploaded as Graph takes it: base64 of the DER.
    let der = rolegate_idp::directory::certificate::KeyCredential::from_pem(cert.pem.as_bytes())
        .map(|_| {
            let body: String = cert
                .pem
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect();
            body
        })
        .unwrap();
    let (status, body) = send(
        reqwest::Method::PATCH,
        path.clone(),
        Some(json!({"keyCredentials": [{
            "type": "AsymmetricX509Cert", "usage": "Verify", "key": der, "displayName": "signing"
        }]})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = authenticates(cert.assertion(&idp, &client)).await;
    assert_eq!(status, 200, "{body}");
    let (_, read) = send(reqwest::Method::GET, path.clone(), None).await;
    let listed = &read["keyCredentials"][0];
    assert_eq!(listed["displayName"], "signing");
    assert_eq!(
        listed["customKeyIdentifier"],
        cert.credential
            .sha1
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<String>()
    );
    let key_id = listed["keyId"].as_str().unwrap().to_owned();

    // Kept by keyId next to a second certificate (sent as base64 PEM text).
    let second = Cert::new();
    let (status, body) = send(
        reqwest::Method::PATCH,
        path.clone(),
        Some(json!({"keyCredentials": [
            {"keyId": key_id, "type": "AsymmetricX509Cert", "usage": "Verify"},
            {"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64::engine::general_purpose::STANDARD.encode(&second.pem)}
        ]})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(authenticates(cert.assertion(&idp, &client)).await.0, 200);
    assert_eq!(authenticates(second.assertion(&idp, &client)).await.0, 200);

    // Refusals, each in Graph's error shape, changing nothing.
    for (bad, needle) in [
        (json!([{"key": "not base64!"}]), "base64"),
        (json!([{"key": "AAAA"}]), "not a DER X.509 certificate"),
        (
            json!([{"keyId": "00000000-0000-0000-0000-000000000001"}]),
            "no certificate with keyId",
        ),
        (json!([{"type": "Symmetric", "key": der}]), "not supported"),
        (json!({"key": der}), "expected an array"),
    ] {
        let (status, body) = send(
            reqwest::Method::PATCH,
            path.clone(),
            Some(json!({ "keyCredentials": bad })),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{message}");
    }
    assert_eq!(authenticates(second.assertion(&idp, &client)).await.0, 200);

    // Left out: removed, and its assertions are refused at once.
    let (status, body) = send(
        reqwest::Method::PATCH,
        path.clone(),
        Some(json!({"keyCredentials": [{"keyId": key_id}]})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(authenticates(cert.assertion(&idp, &client)).await.0, 200);
    let (status, body) = authenticates(second.assertion(&idp, &client)).await;
    assert_eq!(status, 401, "{body}");
}
