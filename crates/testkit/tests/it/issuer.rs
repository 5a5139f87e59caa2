//! The issuer server over real HTTP.

use std::time::{Duration, Instant};

use rolegate_testkit::{IssuerServer, KeyKind, SigningKey};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// A bare HTTP/1.1 GET: (status, content type, body).
async fn get(base_url: &str, path: &str) -> (u16, String, String) {
    let address = base_url.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

async fn get_json(base_url: &str, path: &str) -> (u16, Value) {
    let (status, content_type, body) = get(base_url, path).await;
    assert_eq!(content_type, "application/json", "{path}");
    (status, serde_json::from_str(&body).unwrap())
}

#[tokio::test]
async fn serves_v2_discovery_and_jwks_and_counts_fetches() {
    let key = SigningKey::rsa_2048();
    let server = IssuerServer::start("tenant-a", &[&key]).await;
    let base = server.base_url();
    assert!(base.starts_with("http://127.0.0.1:"));
    assert_eq!(server.authority(), format!("{base}/tenant-a"));

    let (status, discovery) =
        get_json(&base, "/tenant-a/v2.0/.well-known/openid-configuration").await;
    assert_eq!(status, 200);
    assert_eq!(discovery["issuer"], format!("{base}/tenant-a/v2.0"));
    assert_eq!(discovery["issuer"], server.tenant().v2_issuer);
    assert_eq!(discovery["jwks_uri"], server.jwks_uri());
    assert_eq!(
        discovery["token_endpoint"],
        format!("{base}/tenant-a/oauth2/v2.0/token")
    );
    assert_eq!(server.discovery_fetches(), 1);

    let jwks_path = server.jwks_uri().strip_prefix(&base).unwrap().to_owned();
    assert_eq!(jwks_path, "/tenant-a/discovery/v2.0/keys");
    let (status, jwks) = get_json(&base, &jwks_path).await;
    assert_eq!(status, 200);
    assert_eq!(jwks, json!({ "keys": [key.public_jwk()] }));
    assert_eq!(server.jwks_fetches(), 1);
    assert_eq!(server.last_appid(), None);

    let (_, jwks) = get_json(&base, &format!("{jwks_path}?appid=client-1")).await;
    assert_eq!(jwks["keys"][0]["kid"], key.kid());
    assert_eq!(server.last_appid().as_deref(), Some("client-1"));
    assert_eq!(server.jwks_fetches(), 2);
}

#[tokio::test]
async fn serves_v1_discovery_with_common_keys() {
    let key = SigningKey::generate(KeyKind::EcP256);
    let server = IssuerServer::start("tenant-b", &[&key]).await;
    let base = server.base_url();
    let (status, discovery) = get_json(&base, "/tenant-b/.well-known/openid-configuration").await;
    assert_eq!(status, 200);
    assert_eq!(discovery["issuer"], "https://sts.windows.net/tenant-b/");
    assert_eq!(discovery["issuer"], server.tenant().v1_issuer);
    assert_eq!(
        discovery["jwks_uri"],
        format!("{base}/common/discovery/keys")
    );
    assert_eq!(
        discovery["authorization_endpoint"],
        format!("{base}/tenant-b/oauth2/authorize")
    );
    let (status, jwks) = get_json(&base, "/common/discovery/keys").await;
    assert_eq!((status, &jwks["keys"][0]["kid"]), (200, &json!(key.kid())));
    assert_eq!((server.discovery_fetches(), server.jwks_fetches()), (1, 1));
}

#[tokio::test]
async fn unknown_tenant_gets_aadsts90002_and_is_not_counted() {
    let server = IssuerServer::start("tenant-c", &[]).await;
    let base = server.base_url();
    for path in [
        "/other/v2.0/.well-known/openid-configuration",
        "/other/.well-known/openid-configuration",
        "/other/discovery/v2.0/keys",
    ] {
        let (status, body) = get_json(&base, path).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(body["error"], "invalid_tenant");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with("AADSTS90002: Tenant 'other' not found")
        );
    }
    assert_eq!((server.discovery_fetches(), server.jwks_fetches()), (0, 0));
}

#[tokio::test]
async fn keys_can_be_swapped_broken_annotated_and_taken_down() {
    let old = SigningKey::generate(KeyKind::Ed25519);
    let new = SigningKey::generate(KeyKind::Ed25519);
    let server = IssuerServer::start("tenant-d", &[&old]).await;
    let base = server.base_url();
    let keys_path = "/tenant-d/discovery/v2.0/keys";

    server.set_keys(&[&old, &new]);
    server.set_key_issuer(Some("https://login.microsoftonline.com/{tenantid}/v2.0"));
    let (_, jwks) = get_json(&base, keys_path).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert_eq!(
        jwks["keys"][1]["issuer"],
        "https://login.microsoftonline.com/{tenantid}/v2.0"
    );
    server.set_key_issuer(None);
    let (_, jwks) = get_json(&base, keys_path).await;
    assert!(jwks["keys"][0].get("issuer").is_none());

    server.set_jwks_json(r#"{"keys": [ {"kty":"RSA"#);
    let (status, _, body) = get(&base, keys_path).await;
    assert_eq!((status, body.as_str()), (200, r#"{"keys": [ {"kty":"RSA"#));

    server.set_down(true);
    let (status, _) = get_json(&base, keys_path).await;
    assert_eq!(status, 503);
    let (status, _) = get_json(&base, "/tenant-d/v2.0/.well-known/openid-configuration").await;
    assert_eq!(status, 503);
    assert_eq!((server.discovery_fetches(), server.jwks_fetches()), (1, 4));

    server.set_down(false);
    server.set_delay(Duration::from_millis(200));
    let started = Instant::now();
    let (status, _, _) = get(&base, keys_path).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
}
