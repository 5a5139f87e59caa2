//! Connection limits over real HTTPS on loopback: stalled, idle and
//! oversized clients are answered or closed, and a connection cap that
//! delays legitimate clients instead of refusing them.
//!
//! The provider runs with one-second limits so each test takes seconds;
//! every wait is bounded.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Bytes, Frame};
use rolegate_idp::protocol::Settings;
use rolegate_idp::server::{self, ServerConfig, StoreConfig};
use rolegate_idp::tls::ServeLimits;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::{API, DAEMON, DAEMON_SECRET, Idp, TID};

impl Idp {
    /// A provider for the sample tenant serving within `limits`.
    async fn start_with_limits(limits: ServeLimits) -> Idp {
        let data_dir = std::env::temp_dir().join(format!(
            "rolegate-idp-test-{}",
            rolegate_idp::secret::random_token(9)
        ));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let config = ServerConfig {
            config_path: PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../examples/tenant.toml"
            )),
            more_tenants: Vec::new(),
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.clone(),
            store: StoreConfig::Sqlite,
            tls_files: None,
            public_url: None,
            insecure_http: false,
            trusted_proxies: Vec::new(),
            limits,
            settings: Settings::default(),
        };
        let running = server::start(config, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
        let client = client(&running.ca_path, false);
        Idp {
            running,
            data_dir,
            client,
            shutdown: Some(tx),
        }
    }
}

/// Limits short enough for tests.
fn fast_limits() -> ServeLimits {
    ServeLimits {
        max_connections: 8,
        handshake_timeout: Duration::from_secs(1),
        header_read_timeout: Duration::from_secs(1),
        body_read_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(1),
        close_grace: Duration::from_secs(1),
        ..ServeLimits::default()
    }
}

/// Old code kept these connections open forever; the limits above close
/// each within about a second, so five seconds means "not closed".
const CLOSE_BOUND: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_tcp_connection_that_never_sends_a_client_hello_is_closed() {
    let idp = Idp::start_with_limits(fast_limits()).await;
    let mut silent = TcpStream::connect(idp.running.addr).await.unwrap();
    let (_, waited) = closed_within(&mut silent, CLOSE_BOUND).await;
    assert!(waited >= Duration::from_millis(800), "{waited:?}");
}

#[tokio::test]
async fn a_tls_connection_that_sends_nothing_after_the_handshake_is_closed() {
    let idp = Idp::start_with_limits(fast_limits()).await;
    for alpn in [&[][..], &[&b"http/1.1"[..]], &[&b"h2"[..]]] {
        let mut tls = tls_connect(&idp, alpn).await;
        closed_within(&mut tls, CLOSE_BOUND).await;
    }
}

#[tokio::test]
async fn headers_announcing_a_huge_body_get_413_and_the_connection_closes() {
    let idp = Idp::start_with_limits(fast_limits()).await;
    let mut tls = tls_connect(&idp, &[b"http/1.1"]).await;
    tls.write_all(
        format!(
            "POST /{TID}/oauth2/v2.0/token HTTP/1.1\r\nHost: localhost\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: 1000000000000\r\n\r\ngrant_type="
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let (answer, _) = closed_within(&mut tls, CLOSE_BOUND).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(answer.contains("\"error\":\"invalid_request\""), "{answer}");
    assert!(answer.contains("AADSTS90015"), "{answer}");
}

#[tokio::test]
async fn a_body_that_stops_arriving_gets_408_and_the_connection_closes() {
    let idp = Idp::start_with_limits(fast_limits()).await;
    let mut tls = tls_connect(&idp, &[b"http/1.1"]).await;
    tls.write_all(
        format!(
            "POST /{TID}/oauth2/v2.0/token HTTP/1.1\r\nHost: localhost\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: 100\r\n\r\ngrant_type="
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let (answer, waited) = closed_within(&mut tls, CLOSE_BOUND).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(waited >= Duration::from_millis(800), "{waited:?}");
}

#[tokio::test]
async fn an_idle_http1_keep_alive_connection_is_closed() {
    let idp = Idp::start_with_limits(fast_limits()).await;
    let mut tls = tls_connect(&idp, &[b"http/1.1"]).await;
    tls.write_all(
        format!(
            "GET /{TID}/v2.0/.well-known/openid-configuration HTTP/1.1\r\nHost: localhost\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let (answer, _) = closed_within(&mut tls, CLOSE_BOUND).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(
        !answer.to_ascii_lowercase().contains("connection: close"),
        "kept alive until idle: {answer}"
    );
}

#[tokio::test]
async fn an_idle_http2_connection_gets_goaway_and_is_closed() {
    let idp = Idp::start_with_limits(fast_limits()).await;
    let mut tls = tls_connect(&idp, &[b"h2"]).await;
    // The client preface and an empty SETTINGS frame.
    tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let started = Instant::now();
    let mut goaway = false;
    // A polite client: acknowledge SETTINGS and answer PINGs, so only the
    // idle timer can end the connection.
    let closed = tokio::time::timeout(CLOSE_BOUND, async {
        loop {
            let mut header = [0u8; 9];
            if tls.read_exact(&mut header).await.is_err() {
                return;
            }
            let length =
                usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
            let mut payload = vec![0u8; length];
            if tls.read_exact(&mut payload).await.is_err() {
                return;
            }
            let (kind, flags) = (header[3], header[4]);
            match kind {
                SETTINGS if flags & ACK == 0 => {
                    let _ = tls.write_all(&[0, 0, 0, SETTINGS, ACK, 0, 0, 0, 0]).await;
                }
                PING if flags & ACK == 0 => {
                    let mut pong = vec![0, 0, 8, PING, ACK, 0, 0, 0, 0];
                    pong.extend_from_slice(&payload);
                    let _ = tls.write_all(&pong).await;
                }
                GOAWAY => goaway = true,
                _ => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "still open after {CLOSE_BOUND:?}");
    assert!(goaway, "GOAWAY before closing");
    assert!(started.elapsed() >= Duration::from_millis(800));
}

#[tokio::test]
async fn over_the_connection_cap_a_token_request_waits_for_stalled_connections_to_be_reaped() {
    let limits = fast_limits();
    let idp = Idp::start_with_limits(limits).await;
    // The cap plus a few more, all silent: the first `max_connections`
    // hold every slot until the handshake timeout.
    let mut stalled = Vec::new();
    for _ in 0..limits.max_connections + 4 {
        stalled.push(TcpStream::connect(idp.running.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    let client = client(&idp.running.ca_path, false);
    let (status, body) = tokio::time::timeout(CLOSE_BOUND, client_credentials(&idp, &client))
        .await
        .expect("served once stalled connections are reaped");
    let waited = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string(), "{body}");
    assert!(
        waited >= Duration::from_millis(500),
        "served only after a slot freed up: {waited:?}"
    );
    drop(stalled);
}

#[tokio::test]
async fn an_oversized_body_gets_413_over_http1_and_http2() {
    let idp = Idp::start().await;
    // Twice the limit: also over axum's own 2 MiB default.
    let size = 2 * ServeLimits::default().max_request_body + 1;
    let prefix = format!("grant_type=client_credentials&client_id={DAEMON}&padding=");
    for http2 in [false, true] {
        let client = client(&idp.running.ca_path, http2);
        for streamed in [false, true] {
            let context = format!("http2 {http2}, streamed {streamed}");
            let body = match streamed {
                false => reqwest::Body::from(format!("{prefix}{}", "a".repeat(size))),
                true => reqwest::Body::wrap(Chunks {
                    prefix: Some(prefix.clone()),
                    remaining: size,
                }),
            };
            let response = client
                .post(idp.token_url())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{context}: {e:?}"));
            assert_eq!(
                response.version() == reqwest::Version::HTTP_2,
                http2,
                "{context}"
            );
            assert_eq!(response.status(), 413, "{context}");
            let json: serde_json::Value = response.json().await.unwrap();
            assert_eq!(json["error"], "invalid_request", "{context}");
            let description = json["error_description"].as_str().unwrap();
            assert!(
                description.starts_with("AADSTS90015: "),
                "{context}: {json}"
            );
        }
    }
}

/// A request body of unannounced length (chunked on HTTP/1.1, no
/// `content-length` on HTTP/2): `prefix`, then `remaining` bytes of `a`.
struct Chunks {
    prefix: Option<String>,
    remaining: usize,
}

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(prefix) = self.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(prefix)))));
        }
        let chunk = self.remaining.min(1 << 16);
        self.remaining -= chunk;
        Poll::Ready((chunk > 0).then(|| Ok(Frame::data(Bytes::from(vec![b'a'; chunk])))))
    }
}

/// An HTTPS client trusting the provider's CA, with HTTP/2 (ALPN `h2`)
/// when `http2`.
fn client(ca_path: &std::path::Path, http2: bool) -> reqwest::Client {
    let ca = std::fs::read(ca_path).unwrap();
    let builder = reqwest::Client::builder()
        .tls_certs_only(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
        .no_proxy();
    match http2 {
        true => builder.http2_prior_knowledge(),
        false => builder.http1_only(),
    }
    .build()
    .unwrap()
}

async fn client_credentials(idp: &Idp, client: &reqwest::Client) -> (u16, serde_json::Value) {
    let scope = format!("api://{API}/.default");
    let response = client
        .post(idp.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DAEMON),
            ("client_secret", DAEMON_SECRET),
            ("scope", &scope),
        ])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// A TLS connection trusting the provider's CA, offering `alpn`.
async fn tls_connect(idp: &Idp, alpn: &[&[u8]]) -> TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(&idp.running.ca_path).unwrap() {
        roots.add(certificate.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], idp.running.addr.port())))
        .await
        .unwrap();
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

/// Reads until the server closes the connection (EOF or reset), failing
/// the test after `bound`; returns what was read and how long it took.
async fn closed_within(
    stream: &mut (impl AsyncRead + Unpin),
    bound: Duration,
) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let read = tokio::time::timeout(bound, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "still open after {bound:?}; received {:?}",
        String::from_utf8_lossy(&received)
    );
    (received, started.elapsed())
}

/// HTTP/2 frame types and the ACK flag (RFC 9113 §6).
const ACK: u8 = 0x1;
const GOAWAY: u8 = 0x7;
const PING: u8 = 0x6;
const SETTINGS: u8 = 0x4;
