//! App-only or delegated: each token shape through the validator, and the
//! same answer from diagnostics (unverified claims).

use rolegate_testkit::claims::{self, APP_OID, USER_OID};
use rolegate_token::principal::Permissions;
use rolegate_token::requirement::Requirement;
use serde_json::{Value, json};

use crate::common::{API, Env, SPA};

/// Validates `claims` and returns whether the principal is app-only,
/// after checking that diagnostics agree. A user token without `scp` is
/// refused by default (`delegated_without_scope`); its classification is
/// read with that check off.
async fn app_only(env: &Env, claims: &Value) -> bool {
    let token = env.sign(claims);
    let validator = if claims.get("scp").is_none() && !looks_app_only(claims) {
        let e = env.validator().validate(&token).await.unwrap_err();
        assert_eq!(
            e.code(),
            rolegate_token::ErrorCode::DelegatedWithoutScope,
            "{claims}"
        );
        lenient(env)
    } else {
        env.validator()
    };
    let principal = validator.validate(&token).await.unwrap();
    let diagnosis = validator.diagnose(&token).await;
    let grants = rolegate_token::principal::Grants::from_claims(diagnosis.claims.as_ref().unwrap());
    assert_eq!(grants.is_app_only(), principal.is_app_only(), "{claims}");
    principal.is_app_only()
}

/// The validator with the scp-or-roles checks off (classification only).
fn lenient(env: &Env) -> rolegate_token::Validator {
    rolegate_token::Validator::new(env.config().require_scope_or_role(false)).unwrap()
}

/// The test's own reading of spec §5, to know which tokens the default
/// validator refuses.
fn looks_app_only(c: &Value) -> bool {
    match c.get("idtyp").and_then(Value::as_str) {
        Some(t) => t == "app",
        None => {
            [
                "upn",
                "preferred_username",
                "unique_name",
                "name",
                "given_name",
                "family_name",
                "email",
            ]
            .iter()
            .all(|k| c.get(k).is_none())
                && c.get("oid") == c.get("sub")
        }
    }
}

fn read() -> Requirement {
    Requirement::scope_or_app_permission(["access_as_user"], ["Orders.Read"])
}

#[tokio::test]
async fn v2_app_only_with_idtyp_app() {
    let env = Env::start().await;
    let c = claims::app_only_v2(&env.tenant, API, SPA, &["Orders.Read"]);
    assert!(app_only(&env, &c).await);
}

#[tokio::test]
async fn v2_app_only_without_idtyp() {
    let env = Env::start().await;
    let mut c = claims::app_only_v2(&env.tenant, API, SPA, &["Orders.Read"]);
    claims::remove(&mut c, "idtyp");
    assert!(app_only(&env, &c).await);
    let p = env.validator().validate(&env.sign(&c)).await.unwrap();
    assert_eq!(p.object_id(), Some(APP_OID));
    assert!(read().check(&p).is_ok());
}

#[tokio::test]
async fn v1_app_only_without_idtyp() {
    let env = Env::start().await;
    let c = claims::app_only_v1(&env.tenant, &format!("api://{API}"), SPA, &["Orders.Read"]);
    assert!(app_only(&env, &c).await);
}

#[tokio::test]
async fn v2_user_token_with_roles_and_no_scp_is_delegated() {
    let env = Env::start().await;
    let c = claims::access_v2(&env.tenant, API, SPA, "", &["Orders.Read"]);
    assert!(c.get("scp").is_none() && c.get("idtyp").is_none());
    assert!(!app_only(&env, &c).await);
    let p = lenient(&env).validate(&env.sign(&c)).await.unwrap();
    assert_eq!(p.object_id(), Some(USER_OID));
    // Neither an application with the permission nor a user with the scope.
    let e = read().check(&p).unwrap_err();
    assert!(e.to_string().contains("the token is delegated"), "{e}");
    assert!(Requirement::app_only().check(&p).is_err());
    assert!(Requirement::any_role(["Orders.Read"]).check(&p).is_ok());
}

#[tokio::test]
async fn user_token_without_scp_or_names_is_delegated() {
    let env = Env::start().await;
    let mut c = claims::access_v2(&env.tenant, API, SPA, "", &["Orders.Read"]);
    claims::remove(&mut c, "name");
    claims::remove(&mut c, "preferred_username");
    assert!(!app_only(&env, &c).await);
}

#[tokio::test]
async fn idtyp_user_without_scp_is_delegated() {
    let env = Env::start().await;
    let mut c = claims::access_v2(&env.tenant, API, SPA, "", &["Orders.Read"]);
    claims::set(&mut c, "idtyp", json!("user"));
    assert!(!app_only(&env, &c).await);
}

#[tokio::test]
async fn v1_user_token_without_scp_is_delegated() {
    let env = Env::start().await;
    let c = claims::access_v1(
        &env.tenant,
        &format!("api://{API}"),
        SPA,
        "",
        &["Orders.Read"],
    );
    assert!(!app_only(&env, &c).await);
}

#[tokio::test]
async fn user_token_with_scp_is_delegated() {
    let env = Env::start().await;
    let c = claims::access_v2(&env.tenant, API, SPA, "access_as_user", &["Orders.Read"]);
    assert!(!app_only(&env, &c).await);
    let p = env.validator().validate(&env.sign(&c)).await.unwrap();
    assert!(read().check(&p).is_ok());
}
