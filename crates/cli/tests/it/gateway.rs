//! `rolegate gateway check` and `rolegate gateway --config`.

use std::process::Stdio;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use rolegate_testkit::claims;
use rolegate_testkit::{IssuerServer, SigningKey};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::{API, CLIENT, TENANT_ID, code, rolegate, stderr, stdout};

fn config(authority: &str, upstream: &str) -> String {
    format!(
        r#"
listen = "127.0.0.1:0"
upstream = "{upstream}"

[auth]
authority = "{authority}"
audiences = ["{API}"]

[[routes]]
path = "/orders/*"
roles_any = ["Orders.Read"]
"#
    )
}

fn write(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rolegate-cli-gateway-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn check_accepts_a_valid_file_and_lists_every_problem_of_an_invalid_one() {
    let good = write(
        "good.toml",
        &config("http://127.0.0.1:9/tenant", "http://127.0.0.1:3000"),
    );
    let output = rolegate(
        &["gateway", "check", "--config", good.to_str().unwrap()],
        None,
    )
    .await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stdout(&output).contains("configuration valid: 1 route(s)"));

    let bad = write(
        "bad.toml",
        r#"
listen = "nope"
colour = "blue"
[auth]
audiences = []
[[routes]]
path = "no-slash"
caller = "robot"
"#,
    );
    let output = rolegate(
        &["gateway", "check", "--config", bad.to_str().unwrap()],
        None,
    )
    .await;
    assert_eq!(code(&output), 2);
    let text = stderr(&output);
    for expected in [
        "listen:",
        "unknown key `colour`",
        "auth.authority",
        "auth.audiences",
        "routes[0].path",
        "routes[0].caller",
        "routes[0]: no upstream",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_proxies_with_the_callers_identity() {
    let key = SigningKey::rsa_2048();
    let issuer = IssuerServer::start(TENANT_ID, &[&key]).await;
    // The upstream answers with the caller's oid as the gateway sent it.
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_url = format!("http://{}", upstream.local_addr().unwrap());
    let app = Router::new().route(
        "/orders/{id}",
        get(|headers: HeaderMap| async move {
            headers
                .get("x-rolegate-oid")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        }),
    );
    tokio::spawn(async move { axum::serve(upstream, app).await.unwrap() });
    let path = write("serve.toml", &config(&issuer.authority(), &upstream_url));

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_rolegate"))
        .args([
            "gateway",
            "--config",
            path.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let banner = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let address = banner
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split([';', ',']).next())
        .unwrap_or_else(|| panic!("no address in {banner:?}"))
        .to_owned();

    let token = key.sign(&claims::access_v2(
        &issuer.tenant(),
        API,
        CLIENT,
        "access_as_user",
        &["Orders.Read"],
    ));
    let client = reqwest::Client::new();
    let answer = client
        .get(format!("http://{address}/orders/1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), claims::USER_OID);
    let refused = client
        .get(format!("http://{address}/orders/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["www-authenticate"], "Bearer");
    child.kill().await.unwrap();
}
