//! Writes the sample tokens under `examples/tokens/`: a fresh RSA-2048 key's
//! JWKS plus tokens it signs, valid until 2100. The private key is not kept,
//! so regenerating replaces every file together:
//!
//! ```text
//! cargo run -p rolegate-testkit --bin gen-samples -- examples/tokens
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use rolegate_testkit::claims::{self, Tenant};
use rolegate_testkit::{SigningKey, jwks};
use serde_json::{Value, json};

/// The sample tenant (not a real one).
const TID: &str = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b";
/// The Orders API's client id.
const API: &str = "8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c";
/// The Orders SPA's client id.
const SPA: &str = "3c9e7a1b-5d2f-4a8c-9e6b-1f2a3b4c5d6e";
/// A daemon's client id.
const DAEMON: &str = "b4d2f6a8-1c3e-4f5a-8b7c-9d0e1f2a3b4c";

const IAT: i64 = 1_764_000_000; // 2025-11-24
const EXP: i64 = 4_102_444_800; // 2100-01-01

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "examples/tokens".to_owned()),
    );
    std::fs::create_dir_all(&dir).expect("create the output folder");
    let key = SigningKey::rsa_2048();
    let tenant = Tenant::new(
        TID,
        &format!("https://login.microsoftonline.com/{TID}/v2.0"),
    );
    let samples = [
        (
            "access-token-v2.jwt",
            claims::access_v2(&tenant, API, SPA, "access_as_user", &["Orders.Admin"]),
        ),
        (
            "access-token-v1.jwt",
            claims::access_v1(
                &tenant,
                &format!("api://{API}"),
                SPA,
                "access_as_user",
                &["Orders.Read"],
            ),
        ),
        (
            "app-only.jwt",
            claims::app_only_v2(&tenant, API, DAEMON, &["Orders.Read"]),
        ),
        ("id-token.jwt", id_token_for_the_api(&tenant)),
        (
            "graph-token.jwt",
            claims::access_v2(
                &tenant,
                "00000003-0000-0000-c000-000000000000",
                SPA,
                "User.Read",
                &[],
            ),
        ),
    ];
    for (name, mut claims) in samples {
        fix_times(&mut claims);
        std::fs::write(dir.join(name), key.sign(&claims) + "\n").expect("write a token");
    }
    let doc = serde_json::to_string_pretty(&jwks(&[&key])).unwrap();
    std::fs::write(dir.join("jwks.json"), doc + "\n").expect("write the JWKS");
    println!(
        "wrote samples for tenant {TID}, API {API} into {}",
        dir.display()
    );
}

/// The single-app-registration mistake: an ID token whose audience is the
/// API itself and which carries the user's app roles.
fn id_token_for_the_api(tenant: &Tenant) -> Value {
    let mut c = claims::id_token_v2(tenant, API, Some("0S6_WzA2Mj"), &["Orders.Admin"]);
    claims::set(&mut c, "aud", json!(API));
    c
}

fn fix_times(c: &mut Value) {
    for (claim, value) in [("iat", IAT), ("nbf", IAT), ("exp", EXP)] {
        claims::set(c, claim, json!(value));
    }
}
