//! Behind a TLS-terminating balancer: `--insecure-http --public-url` serves
//! plain HTTP under the balancer's origin, and `--trusted-proxy` makes the
//! per-source limits count the client the balancer names.

use std::path::PathBuf;

use rolegate_idp::protocol::Settings;
use rolegate_idp::server::{self, PublicUrl, RunError, ServerConfig, StoreConfig};
use rolegate_idp::tls::Network;

use crate::{API, CLI, TID};

const PUBLIC: &str = "https://login.rolegate.test";

fn config(public_url: Option<&str>, trusted: Vec<Network>) -> ServerConfig {
    ServerConfig {
        config_path: PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/tenant.toml"
        )),
        more_tenants: Vec::new(),
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: std::env::temp_dir().join(format!(
            "rolegate-idp-test-{}",
            rolegate_idp::secret::random_token(9)
        )),
        store: StoreConfig::Sqlite,
        tls_files: None,
        public_url: public_url.map(|url| PublicUrl::parse(url).unwrap()),
        insecure_http: true,
        trusted_proxies: trusted,
        limits: Default::default(),
        settings: Settings::default(),
    }
}

struct Plain {
    running: server::Running,
    data_dir: PathBuf,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Plain {
    async fn start(trusted: Vec<Network>) -> Plain {
        let cfg = config(Some(PUBLIC), trusted);
        let data_dir = cfg.data_dir.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = server::start(cfg, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
        Plain {
            running,
            data_dir,
            _stop: stop,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.running.addr)
    }

    async fn device_code(&self, forwarded_for: Option<&str>) -> u16 {
        let scope = format!("api://{API}/access_as_user openid");
        let mut request = reqwest::Client::new()
            .post(self.url(&format!("/{TID}/oauth2/v2.0/devicecode")))
            .form(&[("client_id", CLI), ("scope", scope.as_str())]);
        if let Some(value) = forwarded_for {
            request = request.header("x-forwarded-for", value);
        }
        request.send().await.unwrap().status().as_u16()
    }
}

impl Drop for Plain {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

#[tokio::test]
async fn plain_http_names_the_public_origin_whatever_the_host() {
    let idp = Plain::start(Vec::new()).await;
    assert_eq!(idp.running.origin, PUBLIC);
    let client = reqwest::Client::new();
    for host in ["127.0.0.1", "localhost", "evil.example"] {
        let doc: serde_json::Value = client
            .get(idp.url(&format!("/{TID}/v2.0/.well-known/openid-configuration")))
            .header("host", format!("{host}:{}", idp.running.addr.port()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["issuer"], format!("{PUBLIC}/{TID}/v2.0"), "Host {host}");
        assert_eq!(
            doc["token_endpoint"],
            format!("{PUBLIC}/{TID}/oauth2/v2.0/token")
        );
        assert_eq!(
            doc["jwks_uri"],
            format!("{PUBLIC}/{TID}/discovery/v2.0/keys")
        );
    }
    // Tokens name it too.
    let (status, body) = {
        let response = client
            .post(idp.url(&format!("/{TID}/oauth2/v2.0/token")))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", crate::DAEMON),
                ("client_secret", crate::DAEMON_SECRET),
                ("scope", &format!("api://{API}/.default")),
            ])
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<serde_json::Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 200, "{body}");
    let claims = crate::claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["iss"], format!("{PUBLIC}/{TID}/v2.0"));
}

#[tokio::test]
async fn plain_http_needs_a_public_url() {
    let err = server::start(config(None, Vec::new()), std::future::pending())
        .await
        .unwrap_err();
    assert!(matches!(err, RunError::Setup(_)), "{err:?}");
    assert!(err.to_string().contains("--public-url"), "{err}");
}

#[test]
fn a_public_url_is_an_https_origin() {
    assert_eq!(
        PublicUrl::parse("https://Login.Example.test:8443/")
            .unwrap()
            .as_str(),
        "https://login.example.test:8443"
    );
    for bad in [
        "http://login.example.test",
        "https://login.example.test/tenant",
        "https://user@login.example.test",
        "https://login.example.test/?x=1",
        "login.example.test",
    ] {
        assert!(PublicUrl::parse(bad).is_err(), "{bad}");
    }
}

/// 30 device codes a minute per source: behind a trusted balancer the
/// source is the last `X-Forwarded-For` entry, so clients behind it are
/// counted apart, and a client cannot escape its count by writing entries
/// of its own in front.
#[tokio::test]
async fn a_trusted_balancer_names_the_source_the_limits_count() {
    // A network, as for an ingress controller's pods.
    let idp = Plain::start(vec!["127.0.0.0/8".parse().unwrap()]).await;
    for _ in 0..30 {
        assert_eq!(idp.device_code(Some("203.0.113.7")).await, 200);
    }
    assert_eq!(idp.device_code(Some("203.0.113.7")).await, 429);
    assert_eq!(
        idp.device_code(Some("198.51.100.1, 203.0.113.7")).await,
        429,
        "entries the client wrote in front do not change its source"
    );
    assert_eq!(idp.device_code(Some("203.0.113.8")).await, 200);
    assert_eq!(idp.device_code(None).await, 200, "the balancer itself");
}

/// Without `--trusted-proxy`, `X-Forwarded-For` is ignored: every request
/// counts against the connecting address.
#[tokio::test]
async fn an_untrusted_peer_cannot_choose_its_source() {
    let idp = Plain::start(Vec::new()).await;
    for i in 0..30 {
        assert_eq!(idp.device_code(Some(&format!("203.0.113.{i}"))).await, 200);
    }
    assert_eq!(idp.device_code(Some("203.0.113.200")).await, 429);
}

#[test]
fn trusted_proxies_are_addresses_or_networks() {
    let net: Network = "10.42.0.0/16".parse().unwrap();
    assert!(net.contains("10.42.7.9".parse().unwrap()));
    assert!(!net.contains("10.43.0.1".parse().unwrap()));
    let one: Network = "192.0.2.7".parse().unwrap();
    assert!(one.contains("192.0.2.7".parse().unwrap()));
    assert!(!one.contains("192.0.2.8".parse().unwrap()));
    let v6: Network = "fd00::/8".parse().unwrap();
    assert!(v6.contains("fd12::1".parse().unwrap()));
    assert!(!v6.contains("fe80::1".parse().unwrap()));
    let mapped: Network = "::ffff:10.0.0.0/104".parse().unwrap();
    assert!(mapped.contains("10.1.2.3".parse().unwrap()));
    assert!(
        "0.0.0.0/0"
            .parse::<Network>()
            .unwrap()
            .contains("8.8.8.8".parse().unwrap())
    );
    for bad in ["10.0.0.0/33", "fd00::/129", "host", "10.0.0.0/x"] {
        assert!(bad.parse::<Network>().is_err(), "{bad}");
    }
}
