//! The upstream connection pool: keep-alive reuse, connections the
//! upstream closes, the bound on idle connections, HEAD and 204 answers;
//! the response shapes the gateway's own HTTP/1.1 client reads (chunked,
//! until the close, byte by byte) and those it refuses.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use bytes::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::support::{Env, TestBody, full};

/// A raw HTTP/1.1 upstream for requests without a body. It counts the
/// connections it accepted and those still open, and answers:
/// - `/delay`: 200 after 300 ms
/// - `/head-or-204`: 204 (no body)
/// - `/chunked`: 200, a chunked body with an extension and a trailer
/// - `/until-close`: 200, a body without a length, then the close
/// - `/bytewise`: 200 `ok`, written one byte at a time
/// - `/smuggle`: both `Transfer-Encoding` and `Content-Length`
/// - `/cut`: `Content-Length: 10`, 5 bytes, then the close
/// - `/close-on-second`: 200 `ok`, except for the second request on a
///   connection: that one is read and the connection closed unanswered
/// - anything else: 200 `ok`
///
/// With `close_after_answer`, it closes each connection 50 ms after its
/// first answer, without announcing it (no `Connection: close`), as an
/// upstream whose keep-alive timeout is shorter than the gateway's.
struct RawUpstream {
    address: SocketAddr,
    accepted: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl RawUpstream {
    async fn start(close_after_answer: bool) -> RawUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicUsize::new(0));
        let (a, o) = (Arc::clone(&accepted), Arc::clone(&open));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                a.fetch_add(1, Ordering::SeqCst);
                o.fetch_add(1, Ordering::SeqCst);
                let open = Arc::clone(&o);
                tokio::spawn(async move {
                    serve(stream, close_after_answer).await;
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        RawUpstream {
            address,
            accepted,
            open,
            task,
        }
    }
}

impl Drop for RawUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, close_after_answer: bool) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut served = 0;
    loop {
        let end = loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
        buffer.drain(..end);
        let mut words = head.split(' ');
        let method = words.next().unwrap_or_default().to_owned();
        let target = words.next().unwrap_or("/").to_owned();
        served += 1;
        let answer: &[u8] = match target.as_str() {
            "/close-on-second" if served == 2 => return,
            "/chunked" => b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4;ext=1\r\nchun\r\n3\r\nked\r\n0\r\nx-trailer: t\r\n\r\n",
            "/until-close" => {
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the close")
                    .await;
                return;
            }
            "/bytewise" => {
                for byte in b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-slow: 1\r\n\r\nok" {
                    if stream.write_all(&[*byte]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                continue;
            }
            "/smuggle" => b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n0\r\n\r\n",
            "/cut" => {
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort")
                    .await;
                return;
            }
            _ => b"",
        };
        let answer: &[u8] = if !answer.is_empty() {
            answer
        } else if target == "/head-or-204" {
            b"HTTP/1.1 204 No Content\r\n\r\n"
        } else if method == "HEAD" {
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"
        } else {
            if target == "/delay" {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
        };
        if stream.write_all(answer).await.is_err() {
            return;
        }
        if close_after_answer {
            tokio::time::sleep(Duration::from_millis(50)).await;
            return;
        }
    }
}

fn routes(upstream: &RawUpstream) -> String {
    format!(
        r#"
[[routes]]
path = "/*"
anonymous = true
upstream = "http://{}"
"#,
        upstream.address
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_connections_are_reused() {
    let upstream = RawUpstream::start(false).await;
    let env = Env::start(&routes(&upstream)).await;
    for _ in 0..50 {
        let reply = env.get("/x", None).await;
        assert_eq!(reply.status, 200);
        assert_eq!(&reply.body[..], b"ok");
    }
    // A body-less answer (204) and a HEAD leave the connection reusable too.
    for _ in 0..5 {
        assert_eq!(env.get("/head-or-204", None).await.status, 204);
        assert_eq!(env.call("HEAD", "/x", None, &[]).await.status, 200);
    }
    assert_eq!(upstream.accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_upstream_closed_is_not_reused() {
    let upstream = RawUpstream::start(true).await;
    let env = Env::start(&routes(&upstream)).await;
    for i in 1..=10 {
        let reply = env.get("/x", None).await;
        assert_eq!(reply.status, 200, "request {i}: {:?}", reply.body);
        // The upstream closes the idle connection meanwhile.
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(upstream.open.load(Ordering::SeqCst), 0);
    }
    assert_eq!(upstream.accepted.load(Ordering::SeqCst), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_bounded() {
    let _exclusive = crate::support::EXCLUSIVE.lock().await;
    let upstream = RawUpstream::start(false).await;
    let env = Arc::new(Env::start(&routes(&upstream)).await);
    // More requests at once than the pool keeps idle connections (128).
    let concurrent = 160;
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..concurrent {
        let env = Arc::clone(&env);
        requests.spawn(async move { env.get("/delay", None).await.status });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    assert!(upstream.accepted.load(Ordering::SeqCst) > 128);
    // The connections beyond the bound are closed once they come back.
    let mut open = usize::MAX;
    for _ in 0..50 {
        open = upstream.open.load(Ordering::SeqCst);
        if open <= 128 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(open <= 128, "{open} upstream connections still open");
    // And the pool still serves.
    assert_eq!(env.get("/x", None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_shapes_read_by_the_gateways_own_client() {
    let upstream = RawUpstream::start(false).await;
    let env = Env::start(&routes(&upstream)).await;
    for _ in 0..3 {
        let reply = env.get("/chunked", None).await;
        assert_eq!(reply.status, 200);
        assert_eq!(&reply.body[..], b"chunked");
        let reply = env.get("/bytewise", None).await;
        assert_eq!(reply.status, 200);
        assert_eq!(&reply.body[..], b"ok");
        assert_eq!(reply.header("x-slow"), "1");
    }
    // Chunked and byte-by-byte answers leave the connection reusable.
    assert_eq!(upstream.accepted.load(Ordering::SeqCst), 1);
    // A body without a length runs to the close, which ends the connection.
    let reply = env.get("/until-close", None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(&reply.body[..], b"until the close");
    assert_eq!(env.get("/x", None).await.status, 200);
    assert_eq!(upstream.accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_cut_answers_fail_without_reuse() {
    let upstream = RawUpstream::start(false).await;
    let env = Env::start(&routes(&upstream)).await;
    // Both framings at once: refused as a possible smuggling attempt.
    let reply = env.get("/smuggle", None).await;
    reply.assert_refused(502, "upstream_unavailable");
    // A body cut short: the client sees a failure (the response, or its
    // body, fails), never a short success.
    let client: Client<HttpConnector, TestBody> =
        Client::builder(TokioExecutor::new()).build_http();
    let request = http::Request::get(env.url("/cut"))
        .body(full(Bytes::new()))
        .unwrap();
    if let Ok(response) = client.request(request).await {
        let body = http_body_util::BodyExt::collect(response.into_body()).await;
        assert!(body.is_err(), "a cut body arrived whole");
    }
    // Neither connection is reused.
    assert_eq!(env.get("/x", None).await.status, 200);
    assert_eq!(upstream.accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_request_is_sent_again_when_a_reused_connection_closes_unanswered() {
    let upstream = RawUpstream::start(false).await;
    let env = Env::start(&routes(&upstream)).await;
    assert_eq!(env.get("/close-on-second", None).await.status, 200);
    // The pooled connection reads the next request and closes: the GET
    // goes again on a new connection.
    let reply = env.get("/close-on-second", None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(upstream.accepted.load(Ordering::SeqCst), 2);
    // A POST is not repeated: the upstream may have acted on it.
    assert_eq!(
        env.call("POST", "/close-on-second", None, &[]).await.status,
        502
    );
    assert_eq!(upstream.accepted.load(Ordering::SeqCst), 2);
}
