//! Several tenants served at once: multi-tenant applications, the
//! `organizations`/`common` authorities with home-realm discovery, tokens
//! from the user's home tenant, service principals installed by the tenant
//! file or on first consent, and the errors Entra gives — and an API that
//! validates with rolegate-token's `{tenantid}` issuer and a tenant
//! allow-list.

use std::sync::Arc;

use rolegate_token::fetch::HttpFetcher;
use rolegate_token::{ErrorCode, Validator, ValidatorConfig};
use serde_json::{Value, json};

use crate::code_flow::{CHALLENGE, VERIFIER, hidden};
use crate::{Idp, aadsts, claims};

const A: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const B: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
const C: &str = "cccccccc-0000-4000-8000-00000000000c";
const FLEET_API: &str = "f1ee7000-0000-4000-8000-0000000000a1";
const FLEET_CLI: &str = "f1ee7000-0000-4000-8000-0000000000c1";
const FLEET_DAEMON: &str = "f1ee7000-0000-4000-8000-0000000000d1";
const DAEMON_SECRET: &str = "fleet-daemon-secret-0123456789";
const ALPHA_INTERNAL: &str = "a1a1a1a1-0000-4000-8000-0000000000e1";
const ANN: (&str, &str) = ("ann@alpha.test", "ann-Passw0rd");
const BO: (&str, &str) = ("bo@beta.test", "bo-Passw0rd");
const CY: (&str, &str) = ("cy@gamma.test", "cy-Passw0rd");

async fn start() -> Idp {
    let dir = std::env::temp_dir().join(format!(
        "rolegate-idp-mt-{}",
        rolegate_idp::secret::random_token(9)
    ));
    let base = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/multitenant");
    let files = ["a.toml", "b.toml", "c.toml"].map(|f| format!("{base}/{f}"));
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    Idp::start_tenants(dir, "127.0.0.1:0", &files).await
}

async fn post(idp: &Idp, authority: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = idp
        .client
        .post(format!(
            "{}/{authority}/oauth2/v2.0/token",
            idp.running.origin
        ))
        .form(form)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn ropc(idp: &Idp, authority: &str, client: &str, user: (&str, &str)) -> (u16, Value) {
    let scope = format!("api://{FLEET_API}/Fleet.Read openid profile offline_access");
    post(
        idp,
        authority,
        &[
            ("grant_type", "password"),
            ("client_id", client),
            ("username", user.0),
            ("password", user.1),
            ("scope", &scope),
            ("client_info", "1"),
        ],
    )
    .await
}

/// The Fleet API's validator: the `organizations` authority (issuer
/// template `{tenantid}`) and an allow-list of tenants.
fn fleet_api(idp: &Idp, allowed: &[&str]) -> Validator {
    let ca = std::fs::read(&idp.running.ca_path).unwrap();
    let fetcher =
        HttpFetcher::with_options(std::time::Duration::from_secs(5), 1 << 20, &[&ca]).unwrap();
    Validator::new(
        ValidatorConfig::entra_authority(
            format!("{}/organizations", idp.running.origin),
            FLEET_API,
        )
        .fetcher(Arc::new(fetcher))
        .tenants(allowed.iter().map(|t| (*t).to_owned())),
    )
    .unwrap()
}

#[tokio::test]
async fn organizations_signs_users_in_to_their_home_tenant() {
    let idp = start().await;
    let (status, body) = ropc(&idp, "organizations", FLEET_CLI, BO).await;
    assert_eq!(status, 200, "{body}");
    let at = claims(body["access_token"].as_str().unwrap());
    assert_eq!(at["iss"], format!("{}/{B}/v2.0", idp.running.origin));
    assert_eq!(at["tid"], B);
    assert_eq!(at["aud"], FLEET_API);
    assert_eq!(at["scp"], "Fleet.Read");
    assert_eq!(at["roles"], json!(["Fleet.Admin"]), "B's own assignment");
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(
        (id["tid"].as_str(), id["aud"].as_str()),
        (Some(B), Some(FLEET_CLI))
    );
    let info: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            body["client_info"].as_str().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(info["utid"], B);

    // The same app at its home tenant's authority, for its home user.
    let (status, body) = ropc(&idp, "alpha.test", FLEET_CLI, ANN).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(claims(body["access_token"].as_str().unwrap())["tid"], A);

    // The refresh token continues in the user's tenant, at `common` too.
    let (status, body) = ropc(&idp, "organizations", FLEET_CLI, BO).await;
    assert_eq!(status, 200);
    let (status, refreshed) = post(
        &idp,
        "common",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", FLEET_CLI),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(
        claims(refreshed["access_token"].as_str().unwrap())["tid"],
        B
    );
}

#[tokio::test]
async fn a_multi_tenant_api_accepts_allowed_tenants_and_names_the_others() {
    let idp = start().await;
    let api = fleet_api(&idp, &[B]);
    let (_, bo) = ropc(&idp, "organizations", FLEET_CLI, BO).await;
    let bo_token = bo["access_token"].as_str().unwrap();
    let principal = api.validate(bo_token).await.unwrap();
    assert!(principal.has_role("Fleet.Admin"));
    assert_eq!(principal.tenant_id().unwrap().as_str(), B);

    // A token from tenant A, valid in every other way: not on the list.
    let (_, ann) = ropc(&idp, "organizations", FLEET_CLI, ANN).await;
    let refused = api
        .validate(ann["access_token"].as_str().unwrap())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::TenantNotAllowed, "{refused}");
    assert!(
        refused.to_string().contains(A),
        "names the tenant: {refused}"
    );

    // tid says A, iss says B (signed by the provider's own key): refused.
    let mut forged = claims(bo_token);
    forged["tid"] = json!(A);
    let now = idp.running.provider.now();
    let forged = idp.running.provider.keys.sign(&forged, false, now).unwrap();
    let refused = fleet_api(&idp, &[A, B])
        .validate(&forged)
        .await
        .unwrap_err();
    // The `{tenantid}` template filled with the token's tid is not its
    // issuer (Microsoft.Identity.Web's AadIssuerValidator reads it so).
    assert!(
        matches!(
            refused.code(),
            ErrorCode::InvalidIssuer | ErrorCode::TenantMismatch
        ),
        "{refused}"
    );
    assert!(!refused.code().is_authorization() && !refused.code().is_server_side());
}

#[tokio::test]
async fn tenant_authorities_admit_only_their_users_and_common_only_multi_tenant_apps() {
    let idp = start().await;
    // Bo (tenant B) at tenant A's authority.
    let (status, body) = ropc(&idp, "alpha.test", FLEET_CLI, BO).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(aadsts(&body), 50_020, "{body}");
    // A single-tenant app at `common`.
    let (status, body) = ropc(&idp, "common", ALPHA_INTERNAL, ANN).await;
    assert_eq!((status, aadsts(&body)), (400, 50_194), "{body}");
    // A single-tenant app at another tenant.
    let (status, body) = ropc(&idp, B, ALPHA_INTERNAL, BO).await;
    assert_eq!((status, aadsts(&body)), (400, 700_016), "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("beta.test")
    );
    // An unknown tenant.
    let (status, body) = ropc(&idp, "delta.test", FLEET_CLI, BO).await;
    assert_eq!((status, aadsts(&body)), (400, 90_002), "{body}");
}

#[tokio::test]
async fn app_only_tokens_need_a_tenant_and_the_apps_service_principal_there() {
    let idp = start().await;
    let scope = format!("api://{FLEET_API}/.default");
    let form = |_: ()| {
        [
            ("grant_type", "client_credentials"),
            ("client_id", FLEET_DAEMON),
            ("client_secret", DAEMON_SECRET),
            ("scope", scope.as_str()),
        ]
    };
    let (status, b) = post(&idp, B, &form(())).await;
    assert_eq!(status, 200, "{b}");
    let b = claims(b["access_token"].as_str().unwrap());
    assert_eq!(
        (b["tid"].as_str(), b["azp"].as_str()),
        (Some(B), Some(FLEET_DAEMON))
    );
    assert_eq!(b["roles"], json!(["Fleet.Admin"]));
    // The daemon's service principal in B is not its one in A (none there
    // holds a role: A granted nothing to it).
    let (status, a) = post(&idp, A, &form(())).await;
    assert_eq!(status, 200, "{a}");
    let a = claims(a["access_token"].as_str().unwrap());
    assert_ne!(a["oid"], b["oid"]);
    assert!(a.get("roles").is_none());
    // C never installed the daemon.
    let (status, c) = post(&idp, C, &form(())).await;
    assert_eq!((status, aadsts(&c)), (400, 700_016), "{c}");
    // `organizations` names no tenant.
    let (status, o) = post(&idp, "organizations", &form(())).await;
    assert_eq!((status, aadsts(&o)), (400, 50_059), "{o}");
}

#[tokio::test]
async fn the_first_consent_in_a_tenant_installs_the_apps_there() {
    let idp = start().await;
    let p = &idp.running.provider;
    assert!(
        !p.store
            .service_principal_installed(C, FLEET_CLI)
            .await
            .unwrap()
    );
    // ROPC cannot consent: Cy's tenant granted nothing yet.
    let (status, body) = ropc(&idp, "organizations", FLEET_CLI, CY).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(aadsts(&body), 65_001, "{body}");

    let origin = &idp.running.origin;
    let scope = format!("api://{FLEET_API}/Fleet.Read openid profile");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", FLEET_CLI),
            ("response_type", "code"),
            ("redirect_uri", "http://localhost:7777/"),
            ("scope", scope.as_str()),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", "mt"),
        ])
        .finish();
    let page = idp
        .client
        .get(format!(
            "{origin}/organizations/oauth2/v2.0/authorize?{query}"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Fleet CLI"), "{page}");
    let consent = idp
        .client
        .post(format!("{origin}/organizations/rolegate/login"))
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("request", hidden(&page, "request")),
            ("username", CY.0.to_owned()),
            ("password", CY.1.to_owned()),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(consent.contains("Read the fleet"), "{consent}");
    let resp = idp
        .client
        .post(format!("{origin}/organizations/rolegate/consent"))
        .form(&[
            ("csrf", hidden(&consent, "csrf")),
            ("consent", hidden(&consent, "consent")),
            ("decision", "accept".to_owned()),
        ])
        .send()
        .await
        .unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("http://localhost:7777/?"),
        "{location}"
    );
    let code: String = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    assert!(
        p.store
            .service_principal_installed(C, FLEET_CLI)
            .await
            .unwrap()
    );
    assert!(
        p.store
            .service_principal_installed(C, FLEET_API)
            .await
            .unwrap()
    );
    let (status, body) = post(
        &idp,
        "organizations",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", FLEET_CLI),
            ("code", &code),
            ("redirect_uri", "http://localhost:7777/"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let at = claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        (at["tid"].as_str(), at["scp"].as_str()),
        (Some(C), Some("Fleet.Read"))
    );
    assert!(at.get("roles").is_none(), "C assigned no role");
    // The API (allow-listing C) accepts it.
    assert!(
        fleet_api(&idp, &[C])
            .validate(body["access_token"].as_str().unwrap())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn cross_tenant_configuration_mistakes_are_listed() {
    use rolegate_idp::directory::config;
    let dir = std::env::temp_dir().join(format!(
        "rolegate-idp-mt-bad-{}",
        rolegate_idp::secret::random_token(9)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let base = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/multitenant");
    let bad = dir.join("d.toml");
    std::fs::write(
        &bad,
        format!(
            r#"
[tenant]
id = "{B}"
domain = "delta.test"

[[service_principals]]
app_id = "{ALPHA_INTERNAL}"

[[app_role_assignments]]
principal = "{FLEET_DAEMON}"
resource = "{FLEET_API}"
role = "Fleet.Admin"
"#
        ),
    )
    .unwrap();
    let problems = config::load_all(&[
        format!("{base}/a.toml").into(),
        format!("{base}/b.toml").into(),
        bad.clone(),
    ])
    .unwrap_err()
    .problems;
    let all = problems.join("\n");
    assert!(
        all.contains(&format!("tenant id {B} is also served by")),
        "{all}"
    );
    let problems = config::load_all(&[format!("{base}/a.toml").into(), {
        let text = std::fs::read_to_string(&bad).unwrap().replace(B, C);
        std::fs::write(&bad, text).unwrap();
        bad.clone()
    }])
    .unwrap_err()
    .problems;
    let all = problems.join("\n");
    assert!(all.contains("is not a multi-tenant application"), "{all}");
    assert!(
        all.contains("another tenant's application: list it under [[service_principals]] first"),
        "{all}"
    );
}

/// Signs in on the device page as `user` and returns the page shown.
async fn device_sign_in(idp: &Idp, user_code: &str, user: (&str, &str)) -> String {
    let url = format!("{}/devicelogin", idp.running.origin);
    let page = idp
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    idp.client
        .post(&url)
        .form(&[
            ("csrf", hidden(&page, "csrf").as_str()),
            ("user_code", user_code),
            ("username", user.0),
            ("password", user.1),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn device_start(idp: &Idp, authority: &str) -> Value {
    let scope = format!("api://{FLEET_API}/Fleet.Read openid offline_access");
    idp.client
        .post(format!(
            "{}/{authority}/oauth2/v2.0/devicecode",
            idp.running.origin
        ))
        .form(&[("client_id", FLEET_CLI), ("scope", scope.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn device_codes_follow_the_authority_they_were_requested_at() {
    let idp = start().await;
    // At tenant A's authority, Bo (tenant B) may not approve.
    let started = device_start(&idp, "alpha.test").await;
    let page = device_sign_in(&idp, started["user_code"].as_str().unwrap(), BO).await;
    assert!(page.contains("AADSTS50020"), "{page}");
    assert!(!page.contains("value=\"confirm\""));

    // At `organizations`, Bo approves and the token is from tenant B.
    let started = device_start(&idp, "organizations").await;
    let user_code = started["user_code"].as_str().unwrap();
    let confirm = device_sign_in(&idp, user_code, BO).await;
    assert!(confirm.contains("value=\"confirm\""), "{confirm}");
    let url = format!("{}/devicelogin", idp.running.origin);
    let done = idp
        .client
        .post(&url)
        .form(&[
            ("csrf", hidden(&confirm, "csrf")),
            ("user_code", hidden(&confirm, "user_code")),
            ("decision", "confirm".to_owned()),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(done.contains("signed in"), "{done}");
    let (status, body) = post(
        &idp,
        "organizations",
        &[
            ("grant_type", "device_code"),
            ("client_id", FLEET_CLI),
            ("device_code", started["device_code"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(claims(body["access_token"].as_str().unwrap())["tid"], B);
}

#[tokio::test]
async fn the_sign_in_page_at_a_tenant_refuses_another_tenants_user() {
    let idp = start().await;
    let scope = format!("api://{FLEET_API}/Fleet.Read openid");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", FLEET_CLI),
            ("response_type", "code"),
            ("redirect_uri", "http://localhost:7777/"),
            ("scope", scope.as_str()),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    let origin = &idp.running.origin;
    let page = idp
        .client
        .get(format!("{origin}/alpha.test/oauth2/v2.0/authorize?{query}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let again = idp
        .client
        .post(format!("{origin}/alpha.test/rolegate/login"))
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("request", hidden(&page, "request")),
            ("username", BO.0.to_owned()),
            ("password", BO.1.to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 200, "the sign-in page again");
    let html = again.text().await.unwrap();
    assert!(
        html.contains("AADSTS50020") && html.contains("alpha.test"),
        "{html}"
    );
}
