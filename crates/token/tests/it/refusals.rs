//! Every refusal the token library promises, each with its stable code.

use rolegate_testkit::claims::{self, Tenant};
use rolegate_testkit::{KeyKind, SigningKey, b64url, sign_hs256, unix_now, unsigned, weak_rsa_jwk};
use rolegate_token::issuer::TokenVersion;
use rolegate_token::{ErrorCode, ValidationError, Validator};
use serde_json::{Value, json};

use crate::common::{API, Env, SPA, TID};

async fn refuse(v: &Validator, token: &str) -> ValidationError {
    let err = v.validate(token).await.expect_err("token must be refused");
    assert!(
        !err.to_string().contains(token),
        "errors never echo the token"
    );
    assert!(!err.hint().contains(token));
    err
}

fn user(env: &Env) -> Value {
    claims::access_v2(&env.tenant, API, SPA, "access_as_user", &["Orders.Read"])
}

#[tokio::test]
async fn id_token_with_roles_and_api_audience_is_refused() {
    // The single-app-registration case: aud == the API, roles present.
    let env = Env::start().await;
    let mut id = claims::id_token_v2(&env.tenant, API, Some("n-0S6_WzA2Mj"), &["Orders.Admin"]);
    claims::set(&mut id, "aud", json!(API));
    let err = refuse(&env.validator(), &env.sign(&id)).await;
    assert_eq!(err.code(), ErrorCode::IdTokenNotAccepted);
    assert!(
        err.hint().contains(&format!("api://{API}/.default")),
        "{}",
        err.hint()
    );
    // Also without a nonce (ID tokens from the token endpoint).
    claims::remove(&mut id, "nonce");
    let err = refuse(&env.validator(), &env.sign(&id)).await;
    assert_eq!(err.code(), ErrorCode::IdTokenNotAccepted);
}

#[tokio::test]
async fn algorithm_attacks() {
    let env = Env::start().await;
    let v = env.validator();
    let payload = user(&env).to_string();
    // alg none, in several spellings.
    for alg in ["none", "None", "NONE"] {
        let t = unsigned(&format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#), &payload);
        assert_eq!(refuse(&v, &t).await.code(), ErrorCode::AlgorithmNotAllowed);
    }
    // HS256 "signed" with the RSA public key as the secret (key confusion).
    let jwk = env.key.public_jwk();
    let secret = jwk["n"].as_str().unwrap().as_bytes().to_vec();
    let t = sign_hs256(
        &secret,
        &format!(r#"{{"alg":"HS256","kid":"{}"}}"#, env.key.kid()),
        &payload,
    );
    let err = refuse(&v, &t).await;
    assert_eq!(err.code(), ErrorCode::AlgorithmNotAllowed);
    assert!(err.hint().contains("HMAC"));
    // PS256 is a fine algorithm but not Entra's: refused by the allow-list.
    let pss = env.key.clone().with_alg("PS256");
    assert_eq!(
        refuse(&v, &pss.sign(&user(&env))).await.code(),
        ErrorCode::AlgorithmNotAllowed
    );
}

#[tokio::test]
async fn key_type_must_match_alg() {
    // Generic mode allows ES256, but not with an RSA key.
    let env = Env::start().await;
    let ec = SigningKey::generate(KeyKind::EcP256).with_kid(env.key.kid());
    let v = Validator::new(
        env.config()
            .algorithms(rolegate_token::algorithm::AlgorithmPolicy::oidc()),
    )
    .unwrap();
    let err = refuse(&v, &ec.sign(&user(&env))).await;
    assert_eq!(err.code(), ErrorCode::KeyTypeMismatch);
}

#[tokio::test]
async fn weak_rsa_key_is_refused() {
    let env = Env::start().await;
    let mut jwks = rolegate_testkit::jwks(&[&env.key]);
    jwks["keys"]
        .as_array_mut()
        .unwrap()
        .push(weak_rsa_jwk("weak-1024", 1024));
    env.server.set_jwks_json(&jwks.to_string());
    let header = json!({"alg": "RS256", "kid": "weak-1024", "typ": "JWT"});
    let t = env.key.sign_with_header(&header, &user(&env));
    let err = refuse(&env.validator(), &t).await;
    assert_eq!(err.code(), ErrorCode::WeakKey);
    assert!(err.to_string().contains("1024-bit"), "{err}");
}

#[tokio::test]
async fn keys_in_token_headers_are_never_used() {
    let env = Env::start().await;
    let attacker = SigningKey::rsa_2048();
    // A second server the attacker controls: it must never be contacted.
    let evil = rolegate_testkit::IssuerServer::start(TID, &[&attacker]).await;
    let header = json!({
        "alg": "RS256", "typ": "JWT", "kid": attacker.kid(),
        "jku": evil.jwks_uri(), "x5u": evil.jwks_uri(), "jwk": attacker.public_jwk(),
        "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],
    });
    let err = refuse(
        &env.validator(),
        &attacker.sign_with_header(&header, &user(&env)),
    )
    .await;
    assert_eq!(err.code(), ErrorCode::KeyNotFound);
    assert_eq!(evil.jwks_fetches(), 0);
    // Same with the real kid: the embedded key is ignored, the signature fails.
    let header = json!({"alg": "RS256", "kid": env.key.kid(), "jwk": attacker.public_jwk()});
    let err = refuse(
        &env.validator(),
        &attacker.sign_with_header(&header, &user(&env)),
    )
    .await;
    assert_eq!(err.code(), ErrorCode::InvalidSignature);
}

#[tokio::test]
async fn structural_refusals() {
    let env = Env::start().await;
    let v = env.validator();
    let kid = env.key.kid();
    let payload = user(&env).to_string();
    let header = format!(r#"{{"alg":"RS256","kid":"{kid}"}}"#);
    let cases: Vec<(String, ErrorCode)> = vec![
        ("a.b".into(), ErrorCode::MalformedToken),
        ("a.b.c.d.e".into(), ErrorCode::EncryptedToken),
        (
            env.key.sign_raw(
                &format!(r#"{{"alg":"RS256","kid":"{kid}","enc":"A256GCM"}}"#),
                &payload,
            ),
            ErrorCode::EncryptedToken,
        ),
        (
            env.key.sign_raw(
                &format!(r#"{{"alg":"RS256","kid":"{kid}","crit":["exp"],"exp":1}}"#),
                &payload,
            ),
            ErrorCode::UnsupportedCriticalHeader,
        ),
        (
            env.key
                .sign_raw(&header, &payload.replacen('{', r#"{"exp":1,"#, 1)),
            ErrorCode::MalformedToken,
        ),
        (
            env.key.sign_raw(
                &format!(r#"{{"alg":"RS256","kid":"{kid}","kid":"x"}}"#),
                &payload,
            ),
            ErrorCode::MalformedToken,
        ),
        (
            env.key.sign_raw(&header, "[1,2]"),
            ErrorCode::MalformedToken,
        ),
        (
            format!(
                "{}.{}.{}",
                b64url(header.as_bytes()),
                b64url(payload.as_bytes()),
                "not*base64"
            ),
            ErrorCode::MalformedToken,
        ),
        ("x".repeat(20_000), ErrorCode::TokenTooLarge),
    ];
    for (token, code) in cases {
        assert_eq!(
            refuse(&v, &token).await.code(),
            code,
            "{}",
            &token[..token.len().min(60)]
        );
    }
    // Deep nesting.
    let deep = format!(r#"{{"x":{}1{}}}"#, "[".repeat(40), "]".repeat(40));
    let err = refuse(&v, &env.key.sign_raw(&header, &deep)).await;
    assert!(err.to_string().contains("nest deeper"), "{err}");
}

#[tokio::test]
async fn claims_of_the_wrong_type_are_refused_not_coerced() {
    let env = Env::start().await;
    let v = env.validator();
    for (claim, value) in [
        ("exp", json!((unix_now() + 3600).to_string())),
        ("roles", json!("Orders.Admin")),
        ("roles", json!(["Orders.Admin", 7])),
        ("scp", json!(["access_as_user"])),
        ("aud", json!(42)),
        ("tid", json!({"id": TID})),
    ] {
        let mut c = user(&env);
        claims::set(&mut c, claim, value);
        let err = refuse(&v, &env.sign(&c)).await;
        assert_eq!(err.code(), ErrorCode::InvalidClaimType, "{claim}: {err}");
    }
}

#[tokio::test]
async fn lifetime() {
    let env = Env::start().await;
    let v = env.validator();
    let now = unix_now();
    let mut c = user(&env);
    claims::set(&mut c, "exp", json!(now - 400));
    let err = refuse(&v, &env.sign(&c)).await;
    assert_eq!(err.code(), ErrorCode::TokenExpired);
    assert!(err.to_string().contains("clock skew 300s"), "{err}");
    let mut c = user(&env);
    claims::set(&mut c, "nbf", json!(now + 400));
    assert_eq!(
        refuse(&v, &env.sign(&c)).await.code(),
        ErrorCode::TokenNotYetValid
    );
    let mut c = user(&env);
    claims::remove(&mut c, "exp");
    assert!(matches!(
        refuse(&v, &env.sign(&c)).await,
        ValidationError::MissingClaim { claim: "exp" }
    ));
    // An injectable clock: the same token expires when time moves on.
    let token = env.sign(&user(&env));
    v.validate(&token).await.unwrap();
    env.clock.advance(4000);
    assert_eq!(refuse(&v, &token).await.code(), ErrorCode::TokenExpired);
}

#[tokio::test]
async fn issuer_and_tenant() {
    let env = Env::start().await;
    let v = env.validator();
    let other = "11111111-2222-3333-4444-555555555555";
    // Another tenant's issuer and tid.
    let stranger = Tenant::new(other, &format!("{}/{other}/v2.0", env.server.base_url()));
    let err = refuse(
        &v,
        &env.sign(&claims::access_v2(
            &stranger,
            API,
            SPA,
            "access_as_user",
            &[],
        )),
    )
    .await;
    assert_eq!(err.code(), ErrorCode::InvalidIssuer);
    // Right issuer, wrong tid.
    let mut c = user(&env);
    claims::set(&mut c, "tid", json!(other));
    assert_eq!(
        refuse(&v, &env.sign(&c)).await.code(),
        ErrorCode::TenantMismatch
    );
    // Issuer differing only by a trailing slash.
    let mut c = user(&env);
    claims::set(&mut c, "iss", json!(format!("{}/", env.tenant.v2_issuer)));
    assert_eq!(
        refuse(&v, &env.sign(&c)).await.code(),
        ErrorCode::InvalidIssuer
    );
    // No tid at all.
    let mut c = user(&env);
    claims::remove(&mut c, "tid");
    assert_eq!(
        refuse(&v, &env.sign(&c)).await.code(),
        ErrorCode::MissingClaim
    );
    // v1 refused when only v2 is accepted, with the manifest hint.
    let v2_only = Validator::new(env.config().versions([TokenVersion::V2])).unwrap();
    let err = refuse(
        &v2_only,
        &env.sign(&claims::access_v1(
            &env.tenant,
            API,
            SPA,
            "access_as_user",
            &[],
        )),
    )
    .await;
    assert_eq!(err.code(), ErrorCode::TokenVersionNotAccepted);
    assert!(err.hint().contains("requestedAccessTokenVersion"));
}

#[tokio::test]
async fn tenant_allow_list_for_multi_tenant_apis() {
    let env = Env::start().await;
    let v = Validator::new(
        env.config()
            .issuer(format!("{}/{{tenantid}}/v2.0", env.server.base_url()).as_str())
            .tenants(["99999999-9999-9999-9999-999999999999"]),
    )
    .unwrap();
    let err = refuse(&v, &env.sign(&user(&env))).await;
    assert_eq!(err.code(), ErrorCode::TenantNotAllowed);
}

#[tokio::test]
async fn audience() {
    let env = Env::start().await;
    let v = env.validator();
    let graph = claims::access_v2(
        &env.tenant,
        "00000003-0000-0000-c000-000000000000",
        SPA,
        "User.Read",
        &[],
    );
    let err = refuse(&v, &env.sign(&graph)).await;
    assert_eq!(err.code(), ErrorCode::InvalidAudience);
    assert!(err.hint().contains("Microsoft Graph"), "{}", err.hint());
    assert!(err.hint().contains(&format!("api://{API}/.default")));
    let other = claims::access_v2(
        &env.tenant,
        "api://ffffffff-0000-0000-0000-000000000000",
        SPA,
        "x",
        &[],
    );
    assert_eq!(
        refuse(&v, &env.sign(&other)).await.code(),
        ErrorCode::InvalidAudience
    );
    // Configured as App ID URI only: the GUID audience is refused with a hint.
    let uri_only = Validator::new(env.config().audience_policy(
        rolegate_token::audience::AudiencePolicy::exact([format!("api://{API}").as_str()]),
    ))
    .unwrap();
    let err = refuse(&uri_only, &env.sign(&user(&env))).await;
    assert!(err.hint().contains("client id"), "{}", err.hint());
}

#[tokio::test]
async fn not_an_access_token_and_no_permissions() {
    let env = Env::start().await;
    let v = env.validator();
    // Conflicting signals (scopes and a sign-in nonce): unclassifiable.
    let mut odd = user(&env);
    claims::set(&mut odd, "nonce", json!("n"));
    let err = refuse(&v, &env.sign(&odd)).await;
    assert_eq!(err.code(), ErrorCode::NotAnAccessToken, "{err}");
    // A real access token granting nothing (IDW10201).
    let empty = claims::access_v2(&env.tenant, API, SPA, "", &[]);
    assert_eq!(
        refuse(&v, &env.sign(&empty)).await.code(),
        ErrorCode::NoPermissions
    );
}

#[tokio::test]
async fn signature_and_key_issuer() {
    let env = Env::start().await;
    let v = env.validator();
    // Tampered payload.
    let token = env.sign(&user(&env));
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged_claims = user(&env);
    claims::set(&mut forged_claims, "roles", json!(["Orders.Admin"]));
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64url(forged_claims.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(
        refuse(&v, &forged).await.code(),
        ErrorCode::InvalidSignature
    );
    // A JWKS key bound to another tenant's issuer may not sign for this one.
    env.server.set_key_issuer(Some(
        "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
    ));
    let v = env.validator();
    assert_eq!(
        refuse(&v, &env.sign(&user(&env))).await.code(),
        ErrorCode::KeyIssuerMismatch
    );
    // The template form for this authority is fine.
    env.server.set_key_issuer(Some(&format!(
        "{}/{{tenantid}}/v2.0",
        env.server.base_url()
    )));
    let v = env.validator();
    v.validate(&env.sign(&user(&env))).await.unwrap();
    v.validate(&env.sign(&claims::access_v1(
        &env.tenant,
        API,
        SPA,
        "access_as_user",
        &[],
    )))
    .await
    .unwrap();
}
