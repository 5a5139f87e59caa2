//! Hot reload: file changes and SIGHUP, atomically, with no failed
//! request under load; an invalid file keeps the running configuration.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::Env;

const V1: &str = r#"
[[routes]]
path = "/v1/*"
anonymous = true
"#;

const V1_AND_V2: &str = r#"
[[routes]]
path = "/v1/*"
anonymous = true

[[routes]]
path = "/v2/*"
anonymous = true
"#;

/// Polls `f` every 50 ms for up to 15 s.
async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not within 15 s: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_under_load_without_a_failed_request() {
    let _exclusive = crate::support::EXCLUSIVE.lock().await;
    let mut env = Env::start(V1).await;
    env.gateway.watch(env.config_path.clone());
    let env = Arc::new(env);
    assert_eq!(env.get("/v2/x", None).await.status, 404);

    // Bounded load: 4 workers on the route every configuration keeps, until
    // the reloads are over (at most 3,000 requests each, paced so as not
    // to starve the other engineers' builds).
    let failures = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (env, failures, done, stop) = (
            Arc::clone(&env),
            Arc::clone(&failures),
            Arc::clone(&done),
            Arc::clone(&stop),
        );
        workers.push(tokio::spawn(async move {
            for _ in 0..3_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if env.get("/v1/ping", None).await.status != 200 {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                done.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }));
    }
    // Flip the file while the load runs: valid, invalid, valid...
    let mut generation = env.gateway.gateway().generation();
    for round in 0..3 {
        env.write_routes(V1_AND_V2);
        eventually("the new routes are live", || {
            let env = Arc::clone(&env);
            async move { env.get("/v2/x", None).await.status == 200 }
        })
        .await;
        assert!(env.gateway.gateway().generation() > generation);
        generation = env.gateway.gateway().generation();

        // An invalid file: every problem logged, old routes kept.
        std::fs::write(
            &env.config_path,
            format!(
                "{}\n[[routes]]\npath = \"broken\"\nroles = 1\n",
                std::fs::read_to_string(&env.config_path).unwrap()
            ),
        )
        .unwrap();
        eventually("the invalid file is seen", || {
            let env = Arc::clone(&env);
            async move { reloads(&env, "invalid") > round }
        })
        .await;
        assert_eq!(env.get("/v2/x", None).await.status, 200, "old config kept");
        assert_eq!(env.gateway.gateway().generation(), generation);

        env.write_routes(V1);
        eventually("the route is gone again", || {
            let env = Arc::clone(&env);
            async move { env.get("/v2/x", None).await.status == 404 }
        })
        .await;
        generation = env.gateway.gateway().generation();
    }
    let during = done.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    assert!(
        during >= 100,
        "only {during} requests ran during the reloads"
    );
    assert!(
        workers_finished_early(during),
        "the load ended before the reloads did"
    );
    assert_eq!(failures.load(Ordering::Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads() {
    let _exclusive = crate::support::EXCLUSIVE.lock().await;
    let mut env = Env::start(V1).await;
    // The SIGHUP handler is in place when `watch` returns.
    env.gateway.watch(env.config_path.clone());
    let ok_reloads = |env: &Env| reloads(env, "ok");
    let before = ok_reloads(&env);
    // The file is unchanged, so only the signal can cause a reload.
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    while ok_reloads(&env) == before {
        assert!(Instant::now() < deadline, "SIGHUP did not reload");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `rolegate_gateway_reloads_total{result}` from the metrics.
fn reloads(env: &Env, result: &str) -> u64 {
    let text = env.gateway.gateway().metrics_text();
    let prefix = format!("rolegate_gateway_reloads_total{{result=\"{result}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap()
        .parse()
        .unwrap()
}

/// Whether the load was still running when the reloads ended (it stops
/// on its own after 12,000 requests).
fn workers_finished_early(during: usize) -> bool {
    during < 12_000
}
