//! `rolegate demo --gateway`: the Orders API behind the gateway gives the
//! same role answers (a daemon with Orders.Read may list, not delete).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};

/// What the banner says: the demo's origin, its CA and the gateway's URL.
struct Banner {
    origin: String,
    ca: String,
    gateway: String,
}

fn after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.split_once(marker)
        .map(|(_, rest)| rest.split_whitespace().next().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_gateway_allows_and_refuses_by_role() {
    let data_dir = std::env::temp_dir().join(format!("rolegate-demo-gw-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_rolegate"))
        .args(["demo", "--port", "0", "--gateway", "--gateway-port", "0"])
        .arg("--data-dir")
        .arg(&data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn rolegate demo");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut origin, mut ca, mut gateway) = (None, None, None);
    let mut seen = String::new();
    let read = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            seen.push_str(&line);
            seen.push('\n');
            if let Some(value) = after(&line, "app:") {
                origin = value.strip_suffix("/demo/").map(str::to_owned);
            }
            if let Some(value) = after(&line, "trust the local CA once:") {
                ca = Some(value.to_owned());
            }
            if let Some(value) = after(&line, "gateway: ") {
                gateway = value.strip_suffix("/orders,").map(str::to_owned);
            }
            if line.contains("Ctrl-C stops it.") {
                return;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no banner within 60 s:\n{seen}");
    let banner = Banner {
        origin: origin.unwrap_or_else(|| panic!("no origin in\n{seen}")),
        ca: ca.unwrap_or_else(|| panic!("no CA in\n{seen}")),
        gateway: gateway.unwrap_or_else(|| panic!("no gateway in\n{seen}")),
    };
    // Keep draining the demo's log so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let ca = std::fs::read(&banner.ca).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let token: serde_json::Value = client
        .post(format!("{}/demo/daemon-token", banner.origin))
        .header("origin", &banner.origin)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    let token = token["access_token"].as_str().expect("an access token");

    // Allowed: the daemon has Orders.Read. The gateway may still be loading
    // the signing keys (503) for a moment.
    let mut listed = None;
    for _ in 0..100 {
        let answer = client
            .get(format!("{}/orders", banner.gateway))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        if answer.status() != 503 {
            listed = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let listed = listed.expect("the gateway loaded no keys within 20 s");
    assert_eq!(listed.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&listed.bytes().await.unwrap()).unwrap();
    assert_eq!(body["view"], "application", "{body}");

    // Refused by the gateway itself: DELETE needs Orders.Admin.
    let refused = client
        .delete(format!("{}/orders/1", banner.gateway))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    let body: serde_json::Value = serde_json::from_slice(&refused.bytes().await.unwrap()).unwrap();
    assert_eq!(body["code"], "missing_role", "{body}");

    // No token: 401 from the gateway; no route: 404.
    let anonymous = client
        .get(format!("{}/orders", banner.gateway))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let unknown = client
        .get(format!("{}/admin", banner.gateway))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    child.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
}
