//! The app-only rule, on both paths: the validated principal's fields
//! (read in one pass) and the diagnostics' grants (read from a map).

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
