//! Client connections: slow request headers and idle connections end at
//! the idle timeout (`timeouts.idle`).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::Env;

/// `idle = 1` lands in the `[timeouts]` table that precedes the routes.
const ROUTES: &str = r#"idle = 1

[[routes]]
path = "/*"
anonymous = true
"#;

/// Reads until the gateway closes the connection (at most 10 s); sends
/// `trickle` one byte every 200 ms meanwhile. Returns when it closed.
async fn until_closed(stream: &mut TcpStream, trickle: &[u8]) -> Instant {
    let mut buffer = [0u8; 4096];
    let mut bytes = trickle.iter();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return Instant::now(),
            Ok(Ok(_)) => {}
            Err(_) => {
                if let Some(byte) = bytes.next() {
                    let _ = stream.write_all(&[*byte]).await;
                }
            }
        }
    }
    panic!("the gateway kept the connection open for 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_idle_connections_end_at_the_idle_timeout() {
    let env = Env::start(ROUTES).await;
    // Headers trickled one byte every 200 ms never make a request: the
    // connection ends about a second after it opened, not when the
    // client stops.
    let mut slow = TcpStream::connect(env.gateway.address()).await.unwrap();
    let opened = Instant::now();
    slow.write_all(b"GET /x HTTP/1.1\r\nhost: a\r\nx-slow: ")
        .await
        .unwrap();
    let closed = until_closed(&mut slow, &[b'a'; 40]).await;
    let lived = closed - opened;
    assert!(
        lived >= Duration::from_millis(800) && lived < Duration::from_secs(5),
        "{lived:?}"
    );
    // A connection idle after its answer ends about a second later.
    let mut idle = TcpStream::connect(env.gateway.address()).await.unwrap();
    idle.write_all(b"GET /x HTTP/1.1\r\nhost: a\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = idle.read(&mut buffer).await.unwrap();
        assert!(n > 0, "closed before the answer");
        answer.extend_from_slice(&buffer[..n]);
    }
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    let answered = Instant::now();
    let lived = until_closed(&mut idle, &[]).await - answered;
    assert!(
        lived >= Duration::from_millis(700) && lived < Duration::from_secs(5),
        "{lived:?}"
    );
}
