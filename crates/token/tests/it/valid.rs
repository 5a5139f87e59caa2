//! Tokens that must be accepted.

use rolegate_testkit::claims::{self, APP_OID, USER_OID};
use rolegate_token::issuer::TokenVersion;
use rolegate_token::requirement::Requirement;
use serde_json::json;

use crate::common::{API, Env, SPA};

#[tokio::test]
async fn v2_delegated_token() {
    let env = Env::start().await;
    let token = env.sign(&claims::access_v2(
        &env.tenant,
        API,
        SPA,
        "access_as_user",
        &["Orders.Admin"],
    ));
    let p = env.validator().validate(&token).await.unwrap();
    assert_eq!(p.object_id(), Some(USER_OID));
    assert_eq!(p.tenant_id().unwrap().as_str(), crate::common::TID);
    assert_eq!(p.client_id().unwrap().as_str(), SPA);
    assert_eq!(p.version(), Some(TokenVersion::V2));
    assert!(!p.is_app_only());
    assert!(p.has_role("Orders.Admin") && p.has_scope("access_as_user"));
    assert_eq!(p.key_id().unwrap().as_str(), env.key.kid());
    assert!(Requirement::any_role(["Orders.Admin"]).check(&p).is_ok());
}

#[tokio::test]
async fn v1_token_with_app_id_uri_audience() {
    // v1 issuer comes from the v1 discovery document; aud is the App ID URI.
    let env = Env::start().await;
    let token = env.sign(&claims::access_v1(
        &env.tenant,
        &format!("api://{API}"),
        SPA,
        "access_as_user",
        &[],
    ));
    let p = env.validator().validate(&token).await.unwrap();
    assert_eq!(p.version(), Some(TokenVersion::V1));
    assert_eq!(p.client_id().unwrap().as_str(), SPA);
    assert_eq!(
        p.issuer().as_str(),
        format!("https://sts.windows.net/{}/", crate::common::TID)
    );
}

#[tokio::test]
async fn app_only_token() {
    let env = Env::start().await;
    let token = env.sign(&claims::app_only_v2(
        &env.tenant,
        API,
        SPA,
        &["Orders.Read"],
    ));
    let p = env.validator().validate(&token).await.unwrap();
    assert!(p.is_app_only());
    assert_eq!(p.object_id(), Some(APP_OID));
    let read = Requirement::scope_or_app_permission(["access_as_user"], ["Orders.Read"]);
    assert!(read.check(&p).is_ok());
    assert!(Requirement::delegated().check(&p).is_err());
}

#[tokio::test]
async fn clock_skew_is_honoured() {
    let env = Env::start().await;
    let mut c = claims::access_v2(&env.tenant, API, SPA, "access_as_user", &[]);
    let now = env.clock.now_for_test();
    claims::set(&mut c, "exp", json!(now - 200));
    claims::set(&mut c, "nbf", json!(now + 200));
    let token = env.sign(&c);
    assert!(
        env.validator().validate(&token).await.is_ok(),
        "within the 5 min default skew"
    );
}

#[tokio::test]
async fn multi_tenant_template_issuer() {
    let env = Env::start().await;
    let v = rolegate_token::Validator::new(
        rolegate_token::ValidatorConfig::entra_multi_tenant(API)
            .authority(env.server.authority())
            .issuer(format!("{}/{{tenantid}}/v2.0", env.server.base_url()).as_str())
            .tenants([crate::common::TID])
            .clock(env.clock.clone())
            .refresh(crate::common::no_background()),
    )
    .unwrap();
    let token = env.sign(&claims::access_v2(
        &env.tenant,
        API,
        SPA,
        "access_as_user",
        &[],
    ));
    v.validate(&token).await.unwrap();
}

#[tokio::test]
async fn generic_oidc_issuer_with_es256() {
    use rolegate_testkit::{KeyKind, SigningKey};
    let key = SigningKey::generate(KeyKind::EcP256);
    let server = rolegate_testkit::IssuerServer::start(crate::common::TID, &[&key]).await;
    let issuer = format!("{}/v2.0", server.authority());
    let v = rolegate_token::Validator::new(
        rolegate_token::ValidatorConfig::oidc(issuer.clone(), "my-api")
            .refresh(crate::common::no_background()),
    )
    .unwrap();
    let now = rolegate_testkit::unix_now();
    let claims = json!({"iss": issuer, "aud": "my-api", "sub": "s", "client_id": "c", "scope": "read", "exp": now + 60, "iat": now});
    let p = v.validate(&key.sign(&claims)).await.unwrap();
    assert_eq!(p.client_id().unwrap().as_str(), "c");
}

/// `ManualClock` reads for tests.
trait NowForTest {
    fn now_for_test(&self) -> i64;
}

impl NowForTest for rolegate_token::clock::ManualClock {
    fn now_for_test(&self) -> i64 {
        use rolegate_token::clock::Clock;
        self.now()
    }
}

/// The principal reads claims in place: pretty-printed JSON, escaped
/// strings and every accessor give what the claims say.
#[tokio::test]
async fn principal_reads_pretty_and_escaped_payloads() {
    let env = Env::start().await;
    let claims = claims::access_v2(
        &env.tenant,
        API,
        SPA,
        "access_as_user  Orders.Read",
        &["Orders.Admin", "Orders/Ä\"1"],
    );
    let mut payload = serde_json::to_string_pretty(&claims).unwrap();
    // Escape a role and the name the long way: "\u004f" is "O".
    payload = payload.replace("\"Orders.Admin\"", "\"\\u004frders.Admin\"");
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": env.key.kid()}).to_string();
    let header = header.replace("\"RS256\"", "\"R\\u0053256\"");
    let token = env.key.sign_raw(&header, &payload);
    let p = env.validator().validate(&token).await.unwrap();
    assert!(p.has_role("Orders.Admin"), "{p:?}");
    assert!(p.has_role("Orders/Ä\"1"));
    assert!(!p.has_role("Orders"));
    let roles: Vec<&str> = p.roles().iter().map(|r| r.as_str()).collect();
    assert_eq!(roles, ["Orders.Admin", "Orders/Ä\"1"]);
    let scopes: Vec<&str> = p.scopes().iter().map(|s| s.as_str()).collect();
    assert_eq!(scopes, ["access_as_user", "Orders.Read"]);
    assert!(p.has_scope("Orders.Read") && !p.has_scope(""));
    assert_eq!(p.object_id(), Some(USER_OID));
    assert_eq!(p.client_id().unwrap().as_str(), SPA);
    assert_eq!(p.claims()["roles"], json!(["Orders.Admin", "Orders/Ä\"1"]));
    assert_eq!(p.issuer().as_str(), env.tenant.v2_issuer);
}
