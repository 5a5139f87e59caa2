//! `rolegate token check` against a loopback discovery + JWKS issuer.

use rolegate_testkit::claims::{self, USER_OID};
use rolegate_testkit::{IssuerServer, SigningKey, unix_now};
use serde_json::{Value, json};

use crate::{API, CLIENT, TENANT_ID, code, error_codes, json, rolegate, stderr, stdout};

/// A running issuer and a key it publishes.
struct Issuer {
    key: SigningKey,
    server: IssuerServer,
}

impl Issuer {
    async fn start() -> Issuer {
        let key = SigningKey::rsa_2048();
        let server = IssuerServer::start(TENANT_ID, &[&key]).await;
        Issuer { key, server }
    }

    /// A v2 delegated token for the API with scope `access_as_user` and
    /// the given roles.
    fn user_token(&self, roles: &[&str]) -> String {
        self.key.sign(&claims::access_v2(
            &self.server.tenant(),
            API,
            CLIENT,
            "access_as_user",
            roles,
        ))
    }

    /// `token check <token> --authority … --audience API` plus `extra`.
    async fn check(&self, token: &str, extra: &[&str]) -> std::process::Output {
        let authority = self.server.authority();
        let mut args = vec![
            "token",
            "check",
            token,
            "--authority",
            &authority,
            "--audience",
            API,
        ];
        args.extend_from_slice(extra);
        rolegate(&args, None).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_token_with_the_role_passes_with_the_contract_json() {
    let issuer = Issuer::start().await;
    let token = issuer.user_token(&["Orders.Admin"]);
    let out = issuer
        .check(
            &token,
            &[
                "--require-role",
                "Orders.Admin",
                "--require-scope",
                "access_as_user",
                "--json",
            ],
        )
        .await;
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    let report = json(&out);
    let mut keys: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["authorized", "claims", "errors", "token_kind", "valid"]
    );
    assert_eq!(report["valid"], json!(true));
    assert_eq!(report["authorized"], json!(true));
    assert_eq!(report["token_kind"], json!("access_token"));
    assert_eq!(report["errors"], json!([]));
    assert_eq!(report["claims"]["oid"], json!(USER_OID));
    assert_eq!(report["claims"]["roles"], json!(["Orders.Admin"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_token_human_output_says_so() {
    let issuer = Issuer::start().await;
    let out = issuer
        .check(&issuer.user_token(&["Orders.Admin"]), &[])
        .await;
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("Result: VALID and AUTHORIZED"), "{text}");
    assert!(
        text.contains(&format!("verified with key {}", issuer.key.kid())),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_token_for_the_app_id_uri_passes() {
    let issuer = Issuer::start().await;
    let token = issuer.key.sign(&claims::access_v1(
        &issuer.server.tenant(),
        &format!("api://{API}"),
        CLIENT,
        "access_as_user",
        &[],
    ));
    let out = issuer.check(&token, &["--json"]).await;
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_token_with_roles_for_the_api_is_refused() {
    let issuer = Issuer::start().await;
    // The app is its own API: same audience, and the user holds a role.
    let token = issuer.key.sign(&claims::id_token_v2(
        &issuer.server.tenant(),
        API,
        Some("n-0S6_WzA2Mj"),
        &["Orders.Admin"],
    ));
    let out = issuer
        .check(&token, &["--require-role", "Orders.Admin", "--json"])
        .await;
    assert_eq!(code(&out), 1, "stderr: {}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["valid"], json!(false));
    assert_eq!(report["authorized"], json!(false));
    assert_eq!(report["token_kind"], json!("id_token"));
    assert!(
        error_codes(&report).contains(&"id_token_not_accepted".to_owned()),
        "{report:#}"
    );
    let hint = report["errors"][0]["hint"].as_str().unwrap();
    assert!(hint.contains(&format!("api://{API}/")), "{hint}");

    let out = issuer.check(&token, &[]).await;
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(text.starts_with("Result: REFUSED"), "{text}");
    assert!(text.contains("id_token_not_accepted"), "{text}");
    assert!(text.contains("fix:"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_problem_is_listed() {
    let issuer = Issuer::start().await;
    let mut claims = claims::access_v2(
        &issuer.server.tenant(),
        "00000003-0000-0000-c000-000000000000",
        CLIENT,
        "User.Read",
        &[],
    );
    let now = unix_now();
    claims::set(&mut claims, "iat", json!(now - 7200));
    claims::set(&mut claims, "nbf", json!(now - 7200));
    claims::set(&mut claims, "exp", json!(now - 3600));
    let token = issuer.key.sign(&claims);
    let out = issuer
        .check(&token, &["--require-role", "Orders.Admin", "--json"])
        .await;
    assert_eq!(code(&out), 1);
    let codes = error_codes(&json(&out));
    for expected in ["token_expired", "invalid_audience", "missing_role"] {
        assert!(codes.contains(&expected.to_owned()), "{codes:?}");
    }

    let text = stdout(&issuer.check(&token, &[]).await);
    assert!(text.contains("token_expired"), "{text}");
    assert!(text.contains("invalid_audience"), "{text}");
    assert!(text.contains("Microsoft Graph"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_role_is_not_authorized() {
    let issuer = Issuer::start().await;
    let token = issuer.user_token(&["Orders.Read"]);
    let out = issuer
        .check(
            &token,
            &[
                "--require-role",
                "Orders.Admin",
                "--require-role",
                "Orders.Read",
                "--json",
            ],
        )
        .await;
    assert_eq!(code(&out), 1);
    let report = json(&out);
    assert_eq!(report["valid"], json!(true));
    assert_eq!(report["authorized"], json!(false));
    assert_eq!(error_codes(&report), ["missing_role"]);
    let error = &report["errors"][0];
    assert!(
        error["message"].as_str().unwrap().contains("Orders.Admin"),
        "{error}"
    );
    assert!(
        error["hint"].as_str().unwrap().contains("Users and groups"),
        "{error}"
    );

    let text = stdout(
        &issuer
            .check(&token, &["--require-scope", "Orders.Write"])
            .await,
    );
    assert!(
        text.starts_with("Result: valid token, but NOT AUTHORIZED"),
        "{text}"
    );
    assert!(text.contains("missing_scope"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_outside_the_allow_list_is_refused() {
    let issuer = Issuer::start().await;
    let out = issuer
        .check(
            &issuer.user_token(&[]),
            &[
                "--tenant-allow",
                "11111111-1111-1111-1111-111111111111",
                "--json",
            ],
        )
        .await;
    assert_eq!(code(&out), 1);
    assert_eq!(error_codes(&json(&out)), ["tenant_not_allowed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_from_standard_input() {
    let issuer = Issuer::start().await;
    let token = issuer.user_token(&[]);
    let authority = issuer.server.authority();
    let piped = format!("  {token}\n\n");
    let with_dash = [
        "token",
        "check",
        "-",
        "--authority",
        &authority,
        "--audience",
        API,
    ];
    let out = rolegate(&with_dash, Some(&piped)).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let omitted = [
        "token",
        "check",
        "--authority",
        &authority,
        "--audience",
        API,
    ];
    let out = rolegate(&omitted, Some(&piped)).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let out = rolegate(&omitted, Some("   \n")).await;
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("no token"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_token_names_the_segment() {
    let issuer = Issuer::start().await;
    let out = issuer
        .check("eyJhbGciOiJSUzI1NiJ9.not*base64.c2ln", &["--json"])
        .await;
    assert_eq!(code(&out), 1);
    let report = json(&out);
    assert_eq!(error_codes(&report), ["malformed_token"]);
    assert_eq!(report["token_kind"], json!("unknown"));
    assert_eq!(report["claims"], json!({}));
    let message = report["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("payload (segment 2)"), "{message}");

    let text = stdout(&issuer.check("only.two", &[]).await);
    assert!(text.contains("malformed_token"), "{text}");
    assert!(text.contains("expected 3 dot-separated segments"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_authority_exits_2_naming_the_url() {
    let key = SigningKey::rsa_2048();
    let tenant = claims::Tenant::new(TENANT_ID, &format!("http://127.0.0.1:1/{TENANT_ID}/v2.0"));
    let token = key.sign(&claims::access_v2(&tenant, API, CLIENT, "x", &[]));
    let authority = format!("http://127.0.0.1:1/{TENANT_ID}");
    let args = [
        "token",
        "check",
        &token,
        "--authority",
        &authority,
        "--audience",
        API,
    ];
    let out = rolegate(&args, None).await;
    assert_eq!(code(&out), 2);
    let text = stdout(&out);
    assert!(text.starts_with("Result: COULD NOT CHECK"), "{text}");
    assert!(text.contains("keys_unavailable"), "{text}");
    assert!(
        text.contains(&format!("http://127.0.0.1:1/{TENANT_ID}/v2.0/.well-known")),
        "{text}"
    );

    let mut json_args = args.to_vec();
    json_args.push("--json");
    let out = rolegate(&json_args, None).await;
    assert_eq!(code(&out), 2);
    let report = json(&out);
    assert_eq!(error_codes(&report), ["keys_unavailable"]);
    let message = report["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("127.0.0.1:1"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_jwks_exits_2() {
    let issuer = Issuer::start().await;
    issuer.server.set_jwks_json("{\"keys\": 42}");
    let out = issuer.check(&issuer.user_token(&[]), &["--json"]).await;
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    assert!(error_codes(&json(&out)).contains(&"keys_unavailable".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2() {
    let issuer = Issuer::start().await;
    let token = issuer.user_token(&[]);
    // No audience.
    let authority = issuer.server.authority();
    let out = rolegate(&["token", "check", &token, "--authority", &authority], None).await;
    assert_eq!(code(&out), 2);
    // Plain http to a non-loopback host.
    let out = rolegate(
        &[
            "token",
            "check",
            &token,
            "--authority",
            "http://login.example.com/tenant",
            "--audience",
            API,
        ],
        None,
    )
    .await;
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("https"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_documents_the_exit_codes() {
    for args in [
        &["--help"][..],
        &["token", "--help"],
        &["token", "check", "--help"],
        &["token", "decode", "--help"],
        &["token", "get", "--help"],
    ] {
        let out = rolegate(args, None).await;
        assert_eq!(code(&out), 0);
        let text = stdout(&out);
        assert!(text.contains("Exit codes:"), "{args:?}: {text}");
        for line in ["  0  ", "  1  ", "  2  "] {
            assert!(text.contains(line), "{args:?}: {text}");
        }
        assert!(!text.contains("--now"), "--now is hidden");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_skew_and_a_pinned_clock() {
    let issuer = Issuer::start().await;
    let mut claims = claims::access_v2(&issuer.server.tenant(), API, CLIENT, "x", &[]);
    let now = unix_now();
    claims::set(&mut claims, "iat", json!(now - 2000));
    claims::set(&mut claims, "nbf", json!(now - 2000));
    claims::set(&mut claims, "exp", json!(now - 100));
    let token = issuer.key.sign(&claims);
    // Within the default 300 s skew; outside a zero skew.
    assert_eq!(code(&issuer.check(&token, &[]).await), 0);
    let out = issuer.check(&token, &["--clock-skew", "0", "--json"]).await;
    assert_eq!(error_codes(&json(&out)), ["token_expired"]);
    // `--now` (hidden) moves the validator's clock back before expiry.
    let earlier = (now - 1000).to_string();
    let out = issuer
        .check(&token, &["--clock-skew", "0", "--now", &earlier])
        .await;
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_oidc_issuer() {
    let issuer = Issuer::start().await;
    let token = issuer.user_token(&[]);
    let authority = format!("{}/v2.0", issuer.server.authority());
    let uri = format!("api://{API}");
    for (audience, expected) in [(API, 0), (uri.as_str(), 1)] {
        let args = [
            "token",
            "check",
            &token,
            "--oidc",
            "--authority",
            &authority,
            "--audience",
            audience,
            "--json",
        ];
        let out = rolegate(&args, None).await;
        assert_eq!(code(&out), expected, "{}", stdout(&out));
        if expected == 1 {
            // Generic issuers match audiences exactly: no api:// expansion.
            assert_eq!(error_codes(&json(&out)), ["invalid_audience"]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_ca_file_is_a_usage_error() {
    let issuer = Issuer::start().await;
    let dir = std::env::temp_dir().join(format!("rolegate-cli-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let not_pem = dir.join("not-a-ca.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let missing = dir.join("missing.pem");
    for (path, expected) in [(&not_pem, "no PEM certificate"), (&missing, "cannot read")] {
        let path = path.to_str().unwrap();
        let out = issuer
            .check(&issuer.user_token(&[]), &["--ca-file", path])
            .await;
        assert_eq!(code(&out), 2);
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The offline samples in examples/tokens: `--jwks-file` + `--issuer`, and a
/// token given as a file path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_check_with_a_jwks_file() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/tokens");
    let jwks = format!("{root}/jwks.json");
    let issuer = "https://login.microsoftonline.com/7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b/v2.0";
    let api = "8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c";
    let run = |file: &'static str, extra: &'static [&'static str]| {
        let jwks = jwks.clone();
        async move {
            let token = format!("{root}/{file}");
            let mut args = vec![
                "token",
                "check",
                &token,
                "--jwks-file",
                &jwks,
                "--issuer",
                issuer,
                "--audience",
                api,
                "--json",
            ];
            args.extend_from_slice(extra);
            crate::rolegate(&args, None).await
        }
    };
    let out = run("access-token-v2.jwt", &["--require-role", "Orders.Admin"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = run("id-token.jwt", &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["token_kind"], "id_token");
    assert_eq!(report["errors"][0]["code"], "id_token_not_accepted");
    let out = run("app-only.jwt", &["--require-scope", "access_as_user"]).await;
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["valid"].as_bool(), report["authorized"].as_bool()),
        (Some(true), Some(false))
    );
    // --jwks-file without --issuer is a usage error.
    let out = crate::rolegate(
        &[
            "token",
            "check",
            "x.y.z",
            "--jwks-file",
            &jwks,
            "--audience",
            api,
        ],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
}
