//! Upstream failures: 502 when it is down, 504 when it is slow.

use std::time::Instant;

use crate::support::Env;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_is_502_and_slow_is_504() {
    // A port nobody listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let routes = format!(
        r#"
[[routes]]
path = "/down/*"
anonymous = true
upstream = "http://{closed}"

[[routes]]
path = "/slow"
anonymous = true
timeout = 1

[[routes]]
path = "/*"
anonymous = true
"#
    );
    let env = Env::start(&routes).await;
    let reply = env.get("/down/x", None).await;
    reply.assert_refused(502, "upstream_unavailable");
    assert!(
        !reply.json()["detail"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1")
    );

    let started = Instant::now();
    let reply = env.get("/slow", None).await;
    reply.assert_refused(504, "upstream_timeout");
    let elapsed = started.elapsed().as_secs_f64();
    assert!((0.9..2.9).contains(&elapsed), "{elapsed}");

    // The gateway still serves afterwards.
    assert_eq!(env.get("/fine", None).await.status, 200);
    let metrics = env.gateway.gateway().metrics_text();
    assert!(
        metrics.contains(
            "rolegate_gateway_upstream_errors_total{route=\"/down/*\",code=\"upstream_unavailable\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains(
        "rolegate_gateway_upstream_errors_total{route=\"/slow\",code=\"upstream_timeout\"} 1"
    ));
}
