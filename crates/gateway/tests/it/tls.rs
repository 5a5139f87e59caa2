//! HTTPS on the listener (tls_cert/tls_key, paths relative to the file).

use crate::support::{Env, temp_path};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_and_says_so_upstream() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let config_path = temp_path("gateway.toml");
    let dir = config_path.parent().unwrap();
    std::fs::write(dir.join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), certified.signing_key.serialize_pem()).unwrap();
    let routes = "[[routes]]\npath = \"/*\"\n";
    // Top-level keys must come before the first table.
    let env = Env::start_in(
        config_path,
        "tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"",
        routes,
        "",
        false,
    )
    .await;
    assert_eq!(env.gateway.scheme(), "https");

    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/orders", env.gateway.address().port());
    let token = env.user_token("access_as_user", &["Orders.Read"]);
    let answer = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let seen: serde_json::Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
    assert_eq!(seen["headers"]["x-forwarded-proto"], "https");
    assert_eq!(seen["headers"]["x-rolegate-roles"], "Orders.Read");

    let refused = client.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn tls_files_must_come_in_pairs_and_parse() {
    let config_path = temp_path("gateway.toml");
    let text = r#"
tls_cert = "missing.pem"
listen = "127.0.0.1:0"
upstream = "http://127.0.0.1:1"
[auth]
authority = "http://127.0.0.1:9/t"
audiences = ["api://x"]
[[routes]]
path = "/*"
"#;
    std::fs::write(&config_path, text).unwrap();
    let problems = rolegate_gateway::Config::load(&config_path)
        .unwrap_err()
        .problems;
    assert!(
        problems.iter().any(|p| p.contains("give both")),
        "{problems:?}"
    );
    let dir = config_path.parent().unwrap();
    std::fs::write(dir.join("bad.pem"), "not pem").unwrap();
    std::fs::write(
        &config_path,
        text.replace(
            "tls_cert = \"missing.pem\"",
            "tls_cert = \"bad.pem\"\ntls_key = \"bad.pem\"",
        ),
    )
    .unwrap();
    let problems = rolegate_gateway::Config::load(&config_path)
        .unwrap_err()
        .problems;
    assert!(
        problems.iter().any(|p| p.starts_with("tls_cert:")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("tls_key:")),
        "{problems:?}"
    );
}
