//! `Validator::diagnose` lists every problem.

use rolegate_testkit::claims;
use rolegate_token::ErrorCode;
use rolegate_token::kind::TokenKind;
use serde_json::json;

use crate::common::{API, Env, SPA};

#[tokio::test]
async fn lists_every_problem() {
    let env = Env::start().await;
    let mut c = claims::access_v2(
        &env.tenant,
        "api://someone-else",
        SPA,
        "access_as_user",
        &[],
    );
    claims::set(&mut c, "exp", json!(rolegate_testkit::unix_now() - 4000));
    let d = env.validator().diagnose(&env.sign(&c)).await;
    let codes: Vec<ErrorCode> = d.errors.iter().map(|e| e.code()).collect();
    assert!(codes.contains(&ErrorCode::TokenExpired), "{codes:?}");
    assert!(codes.contains(&ErrorCode::InvalidAudience), "{codes:?}");
    assert_eq!(d.classification.kind, TokenKind::AccessToken);
    assert!(d.principal.is_none());
    assert!(d.claims.is_some());
}

#[tokio::test]
async fn reports_claims_even_when_the_signature_fails() {
    let env = Env::start().await;
    let stranger = rolegate_testkit::SigningKey::rsa_2048().with_kid(env.key.kid());
    let id = claims::id_token_v2(&env.tenant, API, Some("n"), &["Orders.Admin"]);
    let d = env.validator().diagnose(&stranger.sign(&id)).await;
    let codes: Vec<ErrorCode> = d.errors.iter().map(|e| e.code()).collect();
    assert_eq!(
        codes,
        vec![ErrorCode::InvalidSignature, ErrorCode::IdTokenNotAccepted]
    );
    assert_eq!(d.classification.kind, TokenKind::IdToken);
}

#[tokio::test]
async fn valid_token_has_a_principal() {
    let env = Env::start().await;
    let d = env
        .validator()
        .diagnose(&env.sign(&claims::access_v2(
            &env.tenant,
            API,
            SPA,
            "access_as_user",
            &["Orders.Read"],
        )))
        .await;
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert!(d.principal.unwrap().has_role("Orders.Read"));
}

#[tokio::test]
async fn unparsable_token() {
    let env = Env::start().await;
    let d = env.validator().diagnose("eyJhbGciOiJSUzI1NiJ9.%%%.x").await;
    assert_eq!(d.errors.len(), 1);
    assert_eq!(d.errors[0].code(), ErrorCode::MalformedToken);
    assert!(
        d.errors[0].to_string().contains("payload (segment 2)"),
        "{}",
        d.errors[0]
    );
}

#[test]
fn docs_list_every_error_code() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md"))
        .unwrap();
    for code in ErrorCode::ALL {
        assert!(
            doc.contains(&format!("| `{}` |", code.as_str())),
            "docs/errors.md lacks {code}"
        );
    }
}
