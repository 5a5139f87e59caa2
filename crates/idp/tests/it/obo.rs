//! On-behalf-of: the Orders API exchanges alice's token for an Inventory API token.

use crate::{ALICE, API, CLI, DAEMON, DAEMON_SECRET, Idp, aadsts, claims};

const INVENTORY: &str = "5c1d9e7a-3b2f-4d6c-8e9a-0b1c2d3e4f5a";
const API_SECRET: &str = "orders-api-secret-4Kd9Wq2Zr7Lm3Tx8";
const OBO: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

#[tokio::test]
async fn middle_tier_gets_a_downstream_token_for_the_same_user() {
    let idp = Idp::start().await;
    let (_, user) = idp
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("scope", &format!("api://{API}/access_as_user")),
        ])
        .await;
    let incoming = user["access_token"].as_str().unwrap();
    let scope = format!("api://{INVENTORY}/Inventory.Read");
    let (status, body) = idp
        .post_token(&[
            ("grant_type", OBO),
            ("client_id", API),
            ("client_secret", API_SECRET),
            ("assertion", incoming),
            ("requested_token_use", "on_behalf_of"),
            ("scope", &scope),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        (c["aud"].as_str(), c["azp"].as_str(), c["scp"].as_str()),
        (Some(INVENTORY), Some(API), Some("Inventory.Read"))
    );
    assert_eq!(c["oid"], claims(incoming)["oid"]);
    assert!(body.get("id_token").is_none());

    // The assertion must be for the calling middle tier.
    let (_, body) = idp
        .post_token(&[
            ("grant_type", OBO),
            ("client_id", DAEMON),
            ("client_secret", DAEMON_SECRET),
            ("assertion", incoming),
            ("requested_token_use", "on_behalf_of"),
            ("scope", &scope),
        ])
        .await;
    assert_eq!(
        (body["error"].as_str(), aadsts(&body)),
        (Some("invalid_grant"), 50_013)
    );
    // An app-only assertion cannot be exchanged.
    let (_, app) = idp
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", DAEMON),
            ("client_secret", DAEMON_SECRET),
            ("scope", &format!("api://{API}/.default")),
        ])
        .await;
    let (_, body) = idp
        .post_token(&[
            ("grant_type", OBO),
            ("client_id", API),
            ("client_secret", API_SECRET),
            ("assertion", app["access_token"].as_str().unwrap()),
            ("requested_token_use", "on_behalf_of"),
            ("scope", &scope),
        ])
        .await;
    assert_eq!(aadsts(&body), 50_013);
}
