//! `https://` upstreams: certificates checked against `auth.ca_file` (plus
//! the platform's CAs), connections pooled, 502 when the upstream's
//! certificate is not trusted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;
use tokio::net::TcpListener;

use crate::support::{Env, TestBody, full, temp_path};

/// A test CA: its PEM, and what signs server certificates.
struct TestCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let certificate = params.self_signed(&key).unwrap();
        TestCa {
            pem: certificate.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate for 127.0.0.1 and its key.
    fn server_certificate(&self) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let certificate = params.signed_by(&key, &self.issuer).unwrap();
        let key = PrivatePkcs8KeyDer::from(key.serialize_der());
        (certificate.der().clone(), key.into())
    }
}

/// An HTTPS upstream answering JSON `{tls, path, caller}`; counts TLS
/// connections.
struct HttpsUpstream {
    address: SocketAddr,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpsUpstream {
    async fn start(ca: &TestCa) -> HttpsUpstream {
        let (chain, key) = ca.server_certificate();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![chain], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let counted = Arc::clone(&counted);
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    counted.fetch_add(1, Ordering::Relaxed);
                    let service = hyper::service::service_fn(answer);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        HttpsUpstream {
            address,
            connections,
            task,
        }
    }
}

impl Drop for HttpsUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    request: Request<Incoming>,
) -> Result<Response<TestBody>, std::convert::Infallible> {
    let caller = request
        .headers()
        .get("x-rolegate-caller")
        .map(|v| v.to_str().unwrap().to_owned());
    let host = request
        .headers()
        .get("host")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = json!({
        "tls": true,
        "path": request.uri().path(),
        "caller": caller,
        "host": host,
    });
    Ok(Response::new(full(body.to_string())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstream_trusted_by_ca_file_and_untrusted_is_502() {
    let ca = TestCa::new("rolegate gateway test CA");
    let other = TestCa::new("a CA nobody trusts");
    let trusted = HttpsUpstream::start(&ca).await;
    let untrusted = HttpsUpstream::start(&other).await;
    let config_path = temp_path("gateway.toml");
    let ca_path = config_path.with_file_name("upstream-ca.pem");
    std::fs::write(&ca_path, &ca.pem).unwrap();
    let routes = format!(
        r#"
[[routes]]
path = "/secure/*"
upstream = "https://{}/api"

[[routes]]
path = "/untrusted/*"
upstream = "https://{}"
"#,
        trusted.address, untrusted.address
    );
    let env = Env::start_in(
        config_path,
        "",
        &routes,
        "ca_file = \"upstream-ca.pem\"",
        false,
    )
    .await;
    let token = env.app_token(&["Orders.Read"]);

    for _ in 0..3 {
        let reply = env.get("/secure/orders", Some(&token)).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let body = reply.json();
        assert_eq!(body["path"], "/api/secure/orders");
        assert_eq!(body["caller"], "app");
        assert_eq!(body["host"], trusted.address.to_string());
    }
    // Keep-alive: the three requests shared one TLS connection.
    assert_eq!(trusted.connections.load(Ordering::Relaxed), 1);

    let reply = env.get("/untrusted/x", Some(&token)).await;
    reply.assert_refused(502, "upstream_unavailable");
    assert_eq!(untrusted.connections.load(Ordering::Relaxed), 0);
    // Without a token nothing is forwarded, https or not.
    env.get("/secure/orders", None)
        .await
        .assert_refused(401, "missing_token");
}

#[tokio::test]
async fn https_upstreams_need_a_ca_and_a_readable_ca_file() {
    let config_path = temp_path("gateway.toml");
    std::fs::write(config_path.with_file_name("bad.pem"), "not a certificate").unwrap();
    let text = r#"
listen = "127.0.0.1:0"
upstream = "https://127.0.0.1:1"
[auth]
authority = "http://127.0.0.1:9/t"
audiences = ["api://x"]
ca_file = "bad.pem"
[[routes]]
path = "/*"
"#;
    std::fs::write(&config_path, text).unwrap();
    let problems = rolegate_gateway::Config::load(&config_path)
        .unwrap_err()
        .problems;
    assert!(
        problems.iter().any(|p| p.starts_with("auth.ca_file")),
        "{problems:?}"
    );
}
