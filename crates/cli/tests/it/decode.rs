//! `rolegate token decode`: golden outputs and the JSON shape.
//!
//! The golden tokens have fixed claims (times, ids, opaque values) and a
//! fixed `kid`; only the signature differs between runs, and decode does not
//! print it. `--now` pins the relative times. Rewrite the files under
//! `tests/golden/` with `UPDATE_GOLDEN=1 cargo test -p rolegate`.

use std::path::PathBuf;

use rolegate_testkit::SigningKey;
use rolegate_testkit::claims::{self, Tenant};
use serde_json::{Value, json};

use crate::{API, CLIENT, TENANT_ID, code, rolegate_blocking, stderr, stdout};

/// 2026-11-29 09:44:52 UTC.
const NOW: i64 = 1_795_945_492;

fn tenant() -> Tenant {
    Tenant::new(
        TENANT_ID,
        &format!("https://login.microsoftonline.com/{TENANT_ID}/v2.0"),
    )
}

/// Signs `claims` after pinning times (issued `age` seconds before `NOW`,
/// valid for an hour) and Entra's opaque claims.
fn sign(mut claims: Value, age: i64) -> String {
    let iat = NOW - age;
    claims::set(&mut claims, "iat", json!(iat));
    claims::set(&mut claims, "nbf", json!(iat));
    claims::set(&mut claims, "exp", json!(iat + 3600));
    claims::set(&mut claims, "aio", json!("E2RgYPjv1Bcl0xBNGtbT9U0AA=="));
    claims::set(
        &mut claims,
        "rh",
        json!("0.AXEAKjxvjh1LjkyfeixdO0xdbn8AAA."),
    );
    claims::set(&mut claims, "uti", json!("qGxPb0yX0kSTfEHUZgw8AA"));
    SigningKey::rsa_2048()
        .with_kid("nOo3ZDrODXEK1jKWhXslHR_KXEg")
        .sign(&claims)
}

fn decode(token: &str, extra: &[&str]) -> std::process::Output {
    let now = NOW.to_string();
    let mut args = vec!["token", "decode", token, "--now", &now];
    args.extend_from_slice(extra);
    rolegate_blocking(&args, None)
}

/// Compares with `tests/golden/<name>.txt`, or rewrites it under
/// `UPDATE_GOLDEN=1`.
fn assert_golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); run with UPDATE_GOLDEN=1",
            path.display()
        )
    });
    assert_eq!(
        actual,
        expected,
        "decode output differs from {}; if the change is intended, rerun with UPDATE_GOLDEN=1",
        path.display()
    );
}

fn golden(name: &str, token: &str) {
    let out = decode(token, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "Signature: not verified (decode never verifies; use 'rolegate token check')"
        )
    );
    assert_golden(name, &text);
}

#[test]
fn golden_v1_access_token() {
    let claims = claims::access_v1(
        &tenant(),
        &format!("api://{API}"),
        CLIENT,
        "access_as_user",
        &["Orders.Read"],
    );
    golden("decode_v1_access", &sign(claims, 18 * 60));
}

#[test]
fn golden_v2_access_token() {
    let mut claims = claims::access_v2(
        &tenant(),
        API,
        CLIENT,
        "access_as_user Orders.Read",
        &["Orders.Admin"],
    );
    claims::set(&mut claims, "xms_cc", json!(["cp1"]));
    golden("decode_v2_access", &sign(claims, 18 * 60));
}

#[test]
fn golden_app_only_token() {
    // Issued four hours ago: expired three hours ago.
    let claims = claims::app_only_v2(&tenant(), API, CLIENT, &["Orders.Sync"]);
    golden("decode_app_only", &sign(claims, 4 * 3600));
}

#[test]
fn golden_id_token() {
    let claims = claims::id_token_v2(&tenant(), API, Some("n-0S6_WzA2Mj"), &["Orders.Admin"]);
    golden("decode_id_token", &sign(claims, 18 * 60));
}

#[test]
fn json_output_has_the_documented_shape() {
    let claims = claims::access_v2(&tenant(), API, CLIENT, "access_as_user", &[]);
    let out = decode(&sign(claims, 18 * 60), &["--json"]);
    assert_eq!(code(&out), 0);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut keys: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "claims",
            "header",
            "kind_reason",
            "signature_verified",
            "times",
            "token_kind"
        ]
    );
    assert_eq!(report["signature_verified"], json!(false));
    assert_eq!(report["token_kind"], json!("access_token"));
    assert_eq!(
        report["header"]["kid"],
        json!("nOo3ZDrODXEK1jKWhXslHR_KXEg")
    );
    assert_eq!(report["claims"]["azp"], json!(CLIENT));
    assert_eq!(
        report["times"]["exp"],
        json!({"utc": "2026-11-29 10:26:52 UTC", "relative": "expires in 42 min"})
    );
    assert_eq!(
        report["times"]["iat"]["relative"],
        json!("issued 18 min ago")
    );
}

#[test]
fn reads_standard_input() {
    let claims = claims::app_only_v2(&tenant(), API, CLIENT, &["Orders.Sync"]);
    let token = format!("\n{}\n", sign(claims, 60));
    for args in [&["token", "decode", "-"][..], &["token", "decode"]] {
        let out = rolegate_blocking(args, Some(&token));
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(stdout(&out).contains("Kind: access token"));
    }
}

#[test]
fn malformed_tokens_name_the_segment() {
    let cases = [
        ("abc", "expected 3 dot-separated segments"),
        ("e30.e30", "expected 3 dot-separated segments"),
        ("!!!.e30.c2ln", "header (segment 1)"),
        (
            "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln",
            "payload (segment 2)",
        ),
        ("eyJhbGciOiJSUzI1NiJ9.e30.***", "signature (segment 3)"),
    ];
    for (token, expected) in cases {
        let out = decode(token, &[]);
        assert_eq!(code(&out), 1, "{token}");
        let message = stderr(&out);
        assert!(message.contains(expected), "{token}: {message}");
        assert!(message.contains("fix:"), "{token}: {message}");
        assert!(stdout(&out).is_empty());
    }
}
