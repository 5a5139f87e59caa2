//! Group membership and directory roles through validation: listed,
//! overage, absent, and wrongly typed group claims.

use rolegate_testkit::claims;
use rolegate_token::ErrorCode;
use rolegate_token::id::{DirectoryRoleTemplateId, GroupId};
use rolegate_token::principal::{Grants, GroupMembership, Groups};
use rolegate_token::requirement::Requirement;
use serde_json::{Value, json};

use crate::common::{API, Env, SPA};

const AUDITORS: &str = "0ba2c7b6-1c0d-4e1f-8a6b-3f1d2c4e5a60";
const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";
const GRAPH: &str = "https://graph.microsoft.com/v1.0/users/5f8a3c1e/getMemberObjects";

fn user(env: &Env) -> Value {
    claims::access_v2(&env.tenant, API, SPA, "access_as_user", &["Orders.Read"])
}

#[tokio::test]
async fn listed_groups_and_directory_roles() {
    let env = Env::start().await;
    let v = env.validator();
    let mut c = user(&env);
    claims::set(&mut c, "groups", json!([AUDITORS]));
    claims::set(&mut c, "wids", json!([GLOBAL_READER]));
    let token = env.sign(&c);
    for _ in 0..2 {
        // Validated, then from the verified-token cache.
        let p = v.validate(&token).await.unwrap();
        assert_eq!(p.groups(), Groups::Listed(&[GroupId::new(AUDITORS)]));
        assert_eq!(
            p.directory_roles(),
            Some(&[DirectoryRoleTemplateId::new(GLOBAL_READER)][..])
        );
        assert_eq!(Requirement::any_group([AUDITORS]).check(&p), Ok(()));
    }
    assert_eq!(v.cache_stats().hits, 1);
}

#[tokio::test]
async fn an_overage_token_is_valid_but_satisfies_no_group_requirement() {
    let env = Env::start().await;
    let v = env.validator();
    let mut c = user(&env);
    claims::set(&mut c, "_claim_names", json!({"groups": "src1"}));
    claims::set(
        &mut c,
        "_claim_sources",
        json!({"src1": {"endpoint": GRAPH}}),
    );
    let p = v.validate(&env.sign(&c)).await.unwrap();
    assert_eq!(
        p.groups(),
        Groups::Overage {
            endpoint: Some(GRAPH)
        }
    );
    let e = Requirement::any_group([AUDITORS]).check(&p).unwrap_err();
    assert_eq!(e.code(), ErrorCode::GroupsOverage);
    // Diagnostics read the same from the unverified claims.
    let d = v.diagnose(&env.sign(&c)).await;
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let grants = Grants::from_claims(d.claims.as_ref().unwrap());
    assert_eq!(
        grants.groups,
        GroupMembership::Overage {
            endpoint: Some(GRAPH.to_owned())
        }
    );
}

#[tokio::test]
async fn implicit_flow_overage_and_absent_groups() {
    let env = Env::start().await;
    let v = env.validator();
    let mut c = user(&env);
    claims::set(&mut c, "hasgroups", json!(true));
    let p = v.validate(&env.sign(&c)).await.unwrap();
    assert_eq!(p.groups(), Groups::Overage { endpoint: None });

    let p = v.validate(&env.sign(&user(&env))).await.unwrap();
    assert_eq!(p.groups(), Groups::Absent);
    assert_eq!(p.directory_roles(), None);
    let e = Requirement::any_group([AUDITORS]).check(&p).unwrap_err();
    assert_eq!(e.code(), ErrorCode::NoGroupsClaim);
}

#[tokio::test]
async fn group_claims_of_the_wrong_type_are_refused_not_coerced() {
    let env = Env::start().await;
    let v = env.validator();
    for (claim, value) in [
        ("groups", json!(AUDITORS)),
        ("groups", json!([AUDITORS, 7])),
        ("groups", Value::Null),
        ("wids", json!({"id": GLOBAL_READER})),
        ("hasgroups", json!("true")),
        ("_claim_names", json!(["groups"])),
        ("_claim_names", json!({"groups": 1})),
        ("_claim_sources", json!({"src1": GRAPH})),
        ("_claim_sources", json!({"src1": {"endpoint": [GRAPH]}})),
    ] {
        let mut c = user(&env);
        claims::set(&mut c, claim, value.clone());
        let err = v.validate(&env.sign(&c)).await.unwrap_err();
        assert_eq!(
            err.code(),
            ErrorCode::InvalidClaimType,
            "{claim}: {value}: {err}"
        );
        assert!(err.to_string().contains(claim), "{err}");
    }
}
