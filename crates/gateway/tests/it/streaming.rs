//! Bodies stream both ways: first bytes pass before the body ends, and
//! 100 MB each way leaves the process's memory flat.

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::BodyExt;
use tokio::sync::mpsc;

use crate::support::{Channel, Env, Generated};

const ROUTES: &str = r#"
[[routes]]
path = "/*"
anonymous = true
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_streams_before_the_body_ends() {
    let env = Env::start(ROUTES).await;
    let response = env
        .send_streaming(
            Request::get(env.url("/held-download"))
                .body(crate::support::full(Bytes::new()))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    // The upstream holds the rest back until released: a buffering
    // gateway would never deliver this first frame.
    let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("first bytes did not arrive before the body ended")
        .unwrap()
        .unwrap();
    assert_eq!(first.into_data().unwrap(), "first");
    env.upstream.release.notify_one();
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(rest, "-rest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_streams_before_the_body_ends() {
    let env = Env::start(ROUTES).await;
    let (tx, rx) = mpsc::channel(1);
    tx.send(Bytes::from_static(b"chunk-1")).await.unwrap();
    let request = Request::post(env.url("/first-chunk"))
        .body(Channel(rx).boxed())
        .unwrap();
    // The client has not finished its body; the upstream answers on the
    // first chunk, which a buffering gateway would never forward.
    let response = env.send_streaming(request).await;
    assert_eq!(response.status(), 200);
    let reply = crate::support::read(response).await;
    assert_eq!(reply.body, "chunk-1");
    drop(tx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_megabytes_each_way_with_flat_memory() {
    let _exclusive = crate::support::EXCLUSIVE.lock().await;
    let env = Env::start(ROUTES).await;
    let before = rss_bytes();
    let mut peak = before;

    let upload = Request::post(env.url("/upload"))
        .body(Generated { remaining: SIZE }.boxed())
        .unwrap();
    let reply = env.send(upload).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["body_bytes"], SIZE);
    peak = peak.max(rss_bytes());

    let response = env
        .send_streaming(
            Request::get(env.url(&format!("/download/{SIZE}")))
                .body(crate::support::full(Bytes::new()))
                .unwrap(),
        )
        .await;
    let mut body = response.into_body();
    let mut received = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            received += data.len() as u64;
            if received % (16 << 20) < data.len() as u64 {
                peak = peak.max(rss_bytes());
            }
        }
    }
    assert_eq!(received, SIZE);
    peak = peak.max(rss_bytes());
    let growth = peak.saturating_sub(before);
    // A gateway (or test) that buffered would grow by at least 100 MB.
    assert!(
        growth < 40 << 20,
        "resident memory grew by {} MB while 2 x 100 MB streamed",
        growth >> 20
    );
}

/// Resident set size of this process (the gateway runs in it).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

const SIZE: u64 = 100 * 1024 * 1024;
