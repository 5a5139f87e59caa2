//! `groups` and `wids` per the app's `group_membership_claims`: nested
//! (transitive) groups, security vs other groups, application groups,
//! directory roles, and the overage indirection above the tenant's limit.

use serde_json::{Value, json};

use std::sync::Arc;

use rolegate_token::fetch::HttpFetcher;
use rolegate_token::principal::Groups;
use rolegate_token::{Validator, ValidatorConfig};

use crate::{Idp, claims};

const TOOL: &str = "f0000000-0000-4000-8000-00000000000f";
const SECURITY_API: &str = "a0000000-0000-4000-8000-00000000000a";
const ALL_V1_API: &str = "b0000000-0000-4000-8000-00000000000b";
const APP_GROUP_API: &str = "c0000000-0000-4000-8000-00000000000c";
const NO_GROUPS_API: &str = "d0000000-0000-4000-8000-00000000000d";
const ENGINEERING: &str = "e0000000-0000-4000-8000-000000000001";
const PLATFORM: &str = "e0000000-0000-4000-8000-000000000002";
const NEWSLETTER: &str = "e0000000-0000-4000-8000-000000000003";
const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";
const HELPDESK: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";
const MEMBER: &str = "b79fbf4d-3ef9-4689-8143-76b194e85509";
const DANA: (&str, &str) = ("dana@fabrikam.test", "dana-Passw0rd");
const ERIN: (&str, &str) = ("erin@fabrikam.test", "erin-Passw0rd");

async fn start() -> Idp {
    let dir = std::env::temp_dir().join(format!(
        "rolegate-idp-groups-{}",
        rolegate_idp::secret::random_token(9)
    ));
    Idp::start_with(
        dir,
        "127.0.0.1:0",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/groups/tenant.toml"),
    )
    .await
}

/// Access and ID token claims for `user` asking for `api`'s `read` scope.
async fn tokens(idp: &Idp, user: (&str, &str), api: &str) -> (Value, Value) {
    let scope = format!("api://{api}/read openid profile");
    let resp = idp
        .client
        .post(format!(
            "{}/fabrikam.test/oauth2/v2.0/token",
            idp.running.origin
        ))
        .form(&[
            ("grant_type", "password"),
            ("client_id", TOOL),
            ("username", user.0),
            ("password", user.1),
            ("scope", &scope),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    (
        claims(body["access_token"].as_str().unwrap()),
        claims(body["id_token"].as_str().unwrap()),
    )
}

fn validator(idp: &Idp, api: &str) -> Validator {
    let ca = std::fs::read(&idp.running.ca_path).unwrap();
    let fetcher =
        HttpFetcher::with_options(std::time::Duration::from_secs(5), 1 << 20, &[&ca]).unwrap();
    Validator::new(
        ValidatorConfig::entra_authority(format!("{}/fabrikam.test", idp.running.origin), api)
            .fetcher(Arc::new(fetcher)),
    )
    .unwrap()
}

async fn erin_token(idp: &Idp) -> String {
    let scope = format!("api://{SECURITY_API}/read");
    let body: Value = idp
        .client
        .post(format!(
            "{}/fabrikam.test/oauth2/v2.0/token",
            idp.running.origin
        ))
        .form(&[
            ("grant_type", "password"),
            ("client_id", TOOL),
            ("username", ERIN.0),
            ("password", ERIN.1),
            ("scope", &scope),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

fn sorted(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn security_group_claims_list_transitive_security_groups_and_directory_roles() {
    let idp = start().await;
    let (at, id) = tokens(&idp, DANA, SECURITY_API).await;
    // Platform directly, Engineering through Platform; not the
    // distribution group.
    assert_eq!(sorted(&at["groups"]), set(&[PLATFORM, ENGINEERING]));
    assert_eq!(sorted(&at["wids"]), set(&[GLOBAL_READER, HELPDESK, MEMBER]));
    assert!(at.get("_claim_names").is_none() && at.get("hasgroups").is_none());
    // As the token library reads it.
    let scope_token = {
        let scope = format!("api://{SECURITY_API}/read");
        let body: Value = idp
            .client
            .post(format!(
                "{}/fabrikam.test/oauth2/v2.0/token",
                idp.running.origin
            ))
            .form(&[
                ("grant_type", "password"),
                ("client_id", TOOL),
                ("username", DANA.0),
                ("password", DANA.1),
                ("scope", &scope),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    };
    let principal = validator(&idp, SECURITY_API)
        .validate(&scope_token)
        .await
        .unwrap();
    match principal.groups() {
        Groups::Listed(ids) => assert_eq!(ids.len(), 2),
        other => panic!("expected two groups, got {other:?}"),
    }
    assert_eq!(principal.directory_roles().map(<[_]>::len), Some(3));
    // The ID token follows the client's setting (DirectoryRole): roles only.
    assert!(id.get("groups").is_none(), "{id}");
    assert_eq!(sorted(&id["wids"]).len(), 3);
}

#[tokio::test]
async fn all_lists_every_group_and_v1_tokens_carry_them_too() {
    let idp = start().await;
    let (at, _) = tokens(&idp, DANA, ALL_V1_API).await;
    assert_eq!(at["ver"], "1.0");
    assert_eq!(
        sorted(&at["groups"]),
        set(&[ENGINEERING, PLATFORM, NEWSLETTER])
    );
}

#[tokio::test]
async fn application_group_lists_only_groups_assigned_to_the_api() {
    let idp = start().await;
    let (at, _) = tokens(&idp, DANA, APP_GROUP_API).await;
    assert_eq!(at["groups"], json!([ENGINEERING]));
    assert!(at.get("wids").is_none());
    // Group assignments give roles to direct members only (spec §8):
    // Dana is in Engineering through Platform.
    assert!(at.get("roles").is_none(), "{at}");
}

#[tokio::test]
async fn no_setting_no_group_claims() {
    let idp = start().await;
    let (at, _) = tokens(&idp, DANA, NO_GROUPS_API).await;
    for claim in [
        "groups",
        "wids",
        "_claim_names",
        "_claim_sources",
        "hasgroups",
    ] {
        assert!(at.get(claim).is_none(), "{claim} in {at}");
    }
}

#[tokio::test]
async fn above_the_limit_the_token_carries_the_overage_indirection_and_no_groups() {
    let idp = start().await;
    // Erin: G1..G4, Platform and (through it) Engineering = 6 > 4.
    let (at, _) = tokens(&idp, ERIN, SECURITY_API).await;
    assert!(at.get("groups").is_none(), "{at}");
    assert_eq!(at["_claim_names"], json!({"groups": "src1"}));
    let oid = at["oid"].as_str().unwrap();
    assert_eq!(
        at["_claim_sources"],
        json!({"src1": {"endpoint": format!("https://graph.microsoft.com/v1.0/users/{oid}/getMemberObjects")}})
    );
    // v1 tokens point at the v1 directory endpoint.
    let (v1, _) = tokens(&idp, ERIN, ALL_V1_API).await;
    let tid = v1["tid"].as_str().unwrap();
    assert_eq!(
        v1["_claim_sources"]["src1"]["endpoint"],
        format!("https://graph.windows.net/{tid}/users/{oid}/getMemberObjects")
    );
    // The token library reports the overage: an API cannot mistake it for
    // "no groups".
    let principal = validator(&idp, SECURITY_API)
        .validate(&erin_token(&idp).await)
        .await
        .unwrap();
    match principal.groups() {
        Groups::Overage { endpoint } => assert!(endpoint.unwrap().ends_with("/getMemberObjects")),
        other => panic!("expected an overage, got {other:?}"),
    }
    // Below the limit for an application-group API: one assigned group.
    let (app_group, _) = tokens(&idp, ERIN, APP_GROUP_API).await;
    assert_eq!(app_group["groups"], json!([ENGINEERING]));
}

fn set(ids: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    out.sort();
    out
}
