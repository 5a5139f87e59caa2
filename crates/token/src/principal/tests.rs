//! The app-only rule and group membership, on both paths: the validated
//! principal's fields (read in one pass) and the diagnostics' grants (read
//! from a map).

use rolegate_testkit::claims::{self, APP_OID, Tenant, USER_OID};
use serde_json::{Value, json};

use super::*;

const API: &str = "api://orders";
const CLIENT: &str = "0f2c4b8e-6d1a-4f3b-9c7e-2a5d8b1e4f60";

fn tenant() -> Tenant {
    Tenant::new(
        "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
    )
}

/// Whether `claims` are app-only; both readers must agree.
fn app_only(claims: &Value) -> bool {
    let text = claims.to_string();
    let set = ClaimSet::parse(text.as_bytes(), 16).unwrap();
    let fields = Fields::read(&set, text.as_bytes()).app_only;
    let grants = Grants::from_claims(claims.as_object().unwrap()).app_only;
    assert_eq!(fields, grants, "the two readers disagree on {claims}");
    fields
}

/// A v2.0 user token with `roles` and no `scp` (what Entra issues for
/// `.default` when the client has no delegated permission).
fn user_without_scp() -> Value {
    claims::access_v2(&tenant(), API, CLIENT, "", &["Orders.Read"])
}

#[test]
fn v2_app_only_with_idtyp_app() {
    let c = claims::app_only_v2(&tenant(), API, CLIENT, &["Orders.Read"]);
    assert!(app_only(&c));
}

#[test]
fn v2_app_only_without_idtyp() {
    let mut c = claims::app_only_v2(&tenant(), API, CLIENT, &["Orders.Read"]);
    claims::remove(&mut c, "idtyp");
    assert_eq!(c["oid"], c["sub"]);
    assert!(app_only(&c));
}

#[test]
fn v1_app_only_without_idtyp() {
    let c = claims::app_only_v1(&tenant(), API, CLIENT, &["Orders.Read"]);
    assert!(app_only(&c));
}

#[test]
fn v2_user_token_with_roles_and_no_scp_is_delegated() {
    let c = user_without_scp();
    assert!(c.get("scp").is_none() && c.get("idtyp").is_none());
    assert!(!app_only(&c));
}

#[test]
fn v1_user_token_without_scp_is_delegated() {
    let c = claims::access_v1(&tenant(), API, CLIENT, "", &["Orders.Read"]);
    assert!(!app_only(&c));
}

#[test]
fn user_token_without_names_is_delegated_by_its_pairwise_sub() {
    let mut c = user_without_scp();
    claims::remove(&mut c, "name");
    claims::remove(&mut c, "preferred_username");
    assert_ne!(c["oid"], c["sub"]);
    assert!(!app_only(&c));
}

#[test]
fn each_user_claim_alone_makes_a_token_delegated() {
    for claim in [
        "email",
        "family_name",
        "given_name",
        "name",
        "preferred_username",
        "unique_name",
        "upn",
    ] {
        for value in [json!("alice@contoso.test"), json!(""), Value::Null] {
            let mut c = claims::app_only_v2(&tenant(), API, CLIENT, &["Orders.Read"]);
            claims::remove(&mut c, "idtyp");
            claims::set(&mut c, claim, value.clone());
            assert!(!app_only(&c), "{claim}: {value}");
        }
    }
}

#[test]
fn oid_and_sub_must_be_the_same_string() {
    let app = || {
        let mut c = claims::app_only_v2(&tenant(), API, CLIENT, &["Orders.Read"]);
        claims::remove(&mut c, "idtyp");
        c
    };
    for (oid, sub) in [
        (json!(APP_OID), json!(USER_OID)),
        (json!(APP_OID), Value::Null),
        (json!(APP_OID), json!(7)),
        (Value::Null, json!(APP_OID)),
    ] {
        let mut c = app();
        claims::set(&mut c, "oid", oid.clone());
        claims::set(&mut c, "sub", sub.clone());
        assert!(!app_only(&c), "oid {oid}, sub {sub}");
    }
    // With only one of them there is nothing to compare.
    let mut c = app();
    claims::remove(&mut c, "sub");
    assert!(app_only(&c));
}

#[test]
fn idtyp_decides_when_present() {
    let mut user = user_without_scp();
    claims::set(&mut user, "idtyp", json!("user"));
    assert!(!app_only(&user));
    let mut bare = claims::app_only_v2(&tenant(), API, CLIENT, &["Orders.Read"]);
    for idtyp in [json!("user"), json!("device"), json!("APP"), Value::Null] {
        claims::set(&mut bare, "idtyp", idtyp.clone());
        assert!(!app_only(&bare), "idtyp {idtyp}");
    }
}

#[test]
fn any_scp_makes_a_token_delegated() {
    let c = claims::access_v2(&tenant(), API, CLIENT, "access_as_user", &[]);
    assert!(!app_only(&c));
    let mut app = claims::app_only_v2(&tenant(), API, CLIENT, &["Orders.Read"]);
    claims::remove(&mut app, "idtyp");
    for scp in [json!("access_as_user"), json!(""), json!(" "), Value::Null] {
        claims::set(&mut app, "scp", scp.clone());
        assert!(!app_only(&app), "scp {scp}");
    }
}

const GROUP_A: &str = "0ba2c7b6-1c0d-4e1f-8a6b-3f1d2c4e5a60";
const GROUP_B: &str = "9d3c2b1a-8e7f-4a6b-9c5d-4e3f2a1b0c9d";
const GRAPH: &str = "https://graph.microsoft.com/v1.0/users/5f8a3c1e/getMemberObjects";

/// A principal over `payload`, built as validation builds one (the claims
/// are not checked here).
fn principal_of(payload: &str) -> Principal {
    let claims = ClaimSet::parse(payload.as_bytes(), 16).unwrap();
    let fields = Fields::read(&claims, payload.as_bytes());
    Principal::new(fields, payload.to_owned(), None)
}

/// The groups of `claims`, as both readers see them.
fn groups(claims: &Value) -> GroupMembership {
    let principal = GroupMembership::from(principal_of(&claims.to_string()).groups());
    let grants = Grants::from_claims(claims.as_object().unwrap()).groups;
    assert_eq!(principal, grants, "the two readers disagree on {claims}");
    principal
}

fn user_with(claim: &str, value: Value) -> Value {
    let mut c = claims::access_v2(&tenant(), API, CLIENT, "access_as_user", &[]);
    claims::set(&mut c, claim, value);
    c
}

#[test]
fn listed_groups() {
    let c = user_with("groups", json!([GROUP_A, GROUP_B]));
    assert_eq!(
        groups(&c),
        GroupMembership::Listed(vec![GroupId::new(GROUP_A), GroupId::new(GROUP_B)])
    );
    let p = principal_of(&c.to_string());
    assert_eq!(
        p.groups(),
        Groups::Listed(&[GroupId::new(GROUP_A), GroupId::new(GROUP_B)])
    );
    // Typed once, then borrowed.
    assert!(matches!(
        (p.groups(), p.groups()),
        (Groups::Listed(a), Groups::Listed(b)) if std::ptr::eq(a, b)
    ));
}

#[test]
fn an_empty_list_is_listed_not_absent() {
    let c = user_with("groups", json!([]));
    assert_eq!(groups(&c), GroupMembership::Listed(Vec::new()));
    assert_ne!(principal_of(&c.to_string()).groups(), Groups::Absent);
}

#[test]
fn overage_through_distributed_claims() {
    let mut c = user_with("_claim_names", json!({"groups": "src1"}));
    claims::set(
        &mut c,
        "_claim_sources",
        json!({"src1": {"endpoint": GRAPH}}),
    );
    assert_eq!(
        groups(&c),
        GroupMembership::Overage {
            endpoint: Some(GRAPH.to_owned())
        }
    );
    assert_eq!(
        principal_of(&c.to_string()).groups(),
        Groups::Overage {
            endpoint: Some(GRAPH)
        }
    );
    // An escaped endpoint is unescaped (and kept outside the payload).
    let escaped = r#"{"_claim_names":{"groups":"src1"},"_claim_sources":{"src1":{"endpoint":"https:\/\/graph.microsoft.com\/v1.0"}}}"#;
    assert_eq!(
        principal_of(escaped).groups(),
        Groups::Overage {
            endpoint: Some("https://graph.microsoft.com/v1.0")
        }
    );
}

#[test]
fn overage_through_hasgroups() {
    let c = user_with("hasgroups", json!(true));
    assert_eq!(groups(&c), GroupMembership::Overage { endpoint: None });
    let c = user_with("hasgroups", json!(false));
    assert_eq!(groups(&c), GroupMembership::Absent);
}

#[test]
fn an_overage_is_never_read_as_a_list() {
    let mut c = user_with("groups", json!([GROUP_A]));
    claims::set(&mut c, "hasgroups", json!(true));
    assert_eq!(groups(&c), GroupMembership::Overage { endpoint: None });
}

#[test]
fn absent_groups() {
    let c = claims::access_v2(&tenant(), API, CLIENT, "access_as_user", &[]);
    assert_eq!(groups(&c), GroupMembership::Absent);
    let p = principal_of(&c.to_string());
    assert_eq!(p.groups(), Groups::Absent);
    assert_eq!(p.directory_roles(), None);
}

#[test]
fn directory_roles() {
    const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
    let c = user_with("wids", json!([GLOBAL_ADMINISTRATOR]));
    let p = principal_of(&c.to_string());
    assert_eq!(
        p.directory_roles(),
        Some(&[DirectoryRoleTemplateId::new(GLOBAL_ADMINISTRATOR)][..])
    );
    let c = user_with("wids", json!([]));
    assert_eq!(
        principal_of(&c.to_string()).directory_roles(),
        Some(&[][..])
    );
}

#[test]
fn debug_shows_the_groups() {
    let p = principal_of(&user_with("hasgroups", json!(true)).to_string());
    assert!(
        format!("{p:?}").contains("groups: Overage { endpoint: None }"),
        "{p:?}"
    );
}
