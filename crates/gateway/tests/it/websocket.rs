//! WebSocket upgrades: passed through on allowed routes (101, then the two
//! connections spliced), refused like any request elsewhere.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{Env, TestBody, full};

/// RFC 6455 §1.3's example key and its accept value.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A WebSocket echo upstream written by hand: answers the handshake, then
/// echoes text frames (client frames are masked, its own are not).
struct WsEcho {
    address: SocketAddr,
    upgrades: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl WsEcho {
    async fn start() -> WsEcho {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let upgrades = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&upgrades);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let counted = Arc::clone(&counted);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        handshake(Arc::clone(&counted), request)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                });
            }
        });
        WsEcho {
            address,
            upgrades,
            task,
        }
    }
}

impl Drop for WsEcho {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handshake(
    upgrades: Arc<AtomicUsize>,
    mut request: Request<Incoming>,
) -> Result<Response<TestBody>, std::convert::Infallible> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let Some(key) = header("sec-websocket-key") else {
        return Ok(Response::new(full("not a websocket request")));
    };
    assert_eq!(header("upgrade").as_deref(), Some("websocket"));
    assert_eq!(header("connection").as_deref(), Some("upgrade"));
    // The gateway's identity headers arrive; the token does not.
    assert_eq!(header("x-rolegate-caller").as_deref(), Some("app"));
    assert!(header("authorization").is_none());
    upgrades.fetch_add(1, Ordering::Relaxed);
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes(),
    );
    let accept = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let mut io = TokioIo::new(on_upgrade.await.unwrap());
        loop {
            let mut head = [0u8; 2];
            if io.read_exact(&mut head).await.is_err() {
                return;
            }
            let length = usize::from(head[1] & 0x7f);
            assert!(head[1] & 0x80 != 0, "client frames are masked");
            assert!(length < 126);
            let mut mask = [0u8; 4];
            io.read_exact(&mut mask).await.unwrap();
            let mut payload = vec![0u8; length];
            io.read_exact(&mut payload).await.unwrap();
            for (i, byte) in payload.iter_mut().enumerate() {
                *byte ^= mask[i % 4];
            }
            let mut frame = vec![head[0], length as u8];
            frame.extend_from_slice(&payload);
            io.write_all(&frame).await.unwrap();
        }
    });
    let response = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-accept", accept)
        .body(full(""))
        .unwrap();
    Ok(response)
}

/// Sends an upgrade request for `path` on a raw connection; returns the
/// connection and the response head.
async fn upgrade(env: &Env, path: &str, token: Option<&str>) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(env.gateway.address()).await.unwrap();
    let authorization = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: gateway.test\r\nConnection: keep-alive, Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {KEY}\r\n\
         {authorization}\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut byte))
            .await
            .expect("no response head in 10 s")
            .unwrap();
        assert_eq!(
            n,
            1,
            "connection closed after {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    (
        stream,
        String::from_utf8(head).unwrap().to_ascii_lowercase(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_upgrades_pass_through_on_allowed_routes_only() {
    let upstream = WsEcho::start().await;
    let routes = format!(
        r#"
[[routes]]
path = "/ws/admin"
roles_any = ["Orders.Admin"]
upstream = "http://{0}"

[[routes]]
path = "/ws/*"
roles_any = ["Orders.Read"]
upstream = "http://{0}"
"#,
        upstream.address
    );
    let env = Env::start(&routes).await;
    let token = env.app_token(&["Orders.Read"]);

    let (mut stream, head) = upgrade(&env, "/ws/chat", Some(&token)).await;
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: websocket\r\n"), "{head}");
    assert!(head.contains("connection: upgrade\r\n"), "{head}");
    assert!(
        head.contains(&format!(
            "sec-websocket-accept: {}\r\n",
            ACCEPT.to_ascii_lowercase()
        )),
        "{head}"
    );
    assert!(head.contains("x-request-id: "), "{head}");
    for text in ["hello", "through the gateway"] {
        let mask = [0x12u8, 0x34, 0x56, 0x78];
        let mut frame = vec![0x81, 0x80 | text.len() as u8];
        frame.extend_from_slice(&mask);
        frame.extend(text.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        stream.write_all(&frame).await.unwrap();
        let mut echo = vec![0u8; 2 + text.len()];
        tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut echo))
            .await
            .expect("no echo in 10 s")
            .unwrap();
        assert_eq!(echo[..2], [0x81, text.len() as u8]);
        assert_eq!(&echo[2..], text.as_bytes());
    }
    drop(stream);

    // Refused routes refuse as usual, without upgrading.
    let (_, head) = upgrade(&env, "/ws/chat", None).await;
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert!(!head.contains("upgrade: websocket"), "{head}");
    let (_, head) = upgrade(&env, "/ws/admin", Some(&token)).await;
    assert!(head.starts_with("http/1.1 403"), "{head}");
    assert!(!head.contains("upgrade: websocket"), "{head}");
    assert_eq!(upstream.upgrades.load(Ordering::Relaxed), 1);

    // Plain requests on the same routes are unaffected.
    let reply = env.get("/ws/plain", Some(&token)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(&reply.body[..], b"not a websocket request");
}
