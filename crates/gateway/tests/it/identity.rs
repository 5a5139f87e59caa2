//! Identity headers in, spoofed ones out, hop-by-hop and forwarding
//! headers, HTTP/2 from clients.

use bytes::Bytes;
use http::Request;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rolegate_testkit::claims::{APP_OID, USER_OID, USER_SUB};

use crate::support::{CLIENT, Env, TENANT, TestBody, full, read};

const ROUTES: &str = r#"
[[routes]]
path = "/public/*"
anonymous = true

[[routes]]
path = "/*"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_the_callers_identity() {
    let env = Env::start(ROUTES).await;
    let token = env.user_token(
        "access_as_user Orders.Write",
        &["Orders.Read", "Orders.Admin"],
    );
    let reply = env
        .call("GET", "/orders", Some(&token), &[("x-request-id", "req-7")])
        .await;
    let seen = reply.seen();
    assert_eq!(seen["x-rolegate-caller"], "user");
    assert_eq!(seen["x-rolegate-oid"], USER_OID);
    assert_eq!(seen["x-rolegate-tid"], TENANT);
    assert_eq!(seen["x-rolegate-sub"], USER_SUB);
    assert_eq!(seen["x-rolegate-client-id"], CLIENT);
    assert_eq!(seen["x-rolegate-roles"], "Orders.Read,Orders.Admin");
    assert_eq!(seen["x-rolegate-scopes"], "access_as_user Orders.Write");
    assert_eq!(seen["x-rolegate-name"], "Alice");
    assert_eq!(seen["x-rolegate-preferred-username"], "alice@contoso.test");
    assert_eq!(seen["x-request-id"], "req-7");
    // The token is not forwarded by default.
    assert!(seen.get("authorization").is_none(), "{seen}");
    assert_eq!(seen["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen["x-forwarded-proto"], "http");
    assert_eq!(seen["x-forwarded-host"], env.gateway.address().to_string());
    assert_eq!(reply.header("x-request-id"), "req-7");

    let app = env.app_token(&["Orders.Read"]);
    let seen = env.get("/orders", Some(&app)).await.seen();
    assert_eq!(seen["x-rolegate-caller"], "app");
    assert_eq!(seen["x-rolegate-oid"], APP_OID);
    assert!(seen.get("x-rolegate-scopes").is_none(), "{seen}");
    assert!(seen.get("x-rolegate-name").is_none(), "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strips_spoofed_identity_and_hop_by_hop_headers() {
    let env = Env::start(ROUTES).await;
    let spoofed = [
        ("x-rolegate-roles", "Orders.Admin"),
        ("X-Rolegate-Caller", "app"),
        ("x-rolegate-oid", "evil"),
        ("x-rolegate-anything", "x"),
        ("connection", "x-custom-hop"),
        ("x-custom-hop", "1"),
        ("x-forwarded-for", "10.1.2.3"),
    ];
    // On an anonymous route, without a token...
    let seen = env.call("GET", "/public/a", None, &spoofed).await.seen();
    let names: Vec<&String> = seen.as_object().unwrap().keys().collect();
    assert!(
        names.iter().all(|n| !n.starts_with("x-rolegate-")),
        "{names:?}"
    );
    assert!(seen.get("x-custom-hop").is_none(), "{seen}");
    assert_eq!(seen["x-forwarded-for"], "10.1.2.3, 127.0.0.1");
    // ... and with one: only the gateway's values arrive.
    let token = env.user_token("access_as_user", &["Orders.Read"]);
    let reply = env.call("GET", "/orders", Some(&token), &spoofed).await;
    let seen = reply.seen();
    assert_eq!(seen["x-rolegate-roles"], "Orders.Read");
    assert_eq!(seen["x-rolegate-caller"], "user");
    assert_eq!(seen["x-rolegate-oid"], USER_OID);
    assert!(seen.get("x-rolegate-anything").is_none(), "{seen}");
    // The upstream's hop-by-hop headers do not reach the client.
    assert!(reply.headers.get("keep-alive").is_none());
    assert_eq!(reply.header("x-echo-name"), "main");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_token_passes_authorization() {
    let env = Env::start_with(ROUTES, "forward_token = true").await;
    let token = env.user_token("access_as_user", &[]);
    let seen = env.get("/orders", Some(&token)).await.seen();
    assert_eq!(seen["authorization"], format!("Bearer {token}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_clients_are_served() {
    let env = Env::start(ROUTES).await;
    let client: Client<_, TestBody> = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let token = env.user_token("access_as_user", &["Orders.Read"]);
    let request = Request::post(env.url("/orders"))
        .header("authorization", format!("Bearer {token}"))
        .body(full(Bytes::from_static(b"hello")))
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    let reply = read(response).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["body_bytes"], 5);
    assert_eq!(reply.seen()["x-rolegate-roles"], "Orders.Read");
}

/// Requests without a body go upstream through the gateway's own HTTP/1.1
/// client, requests with one through hyper's: the upstream sees the same
/// headers either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_with_and_without_a_body_carry_the_same_headers() {
    let env = Env::start(ROUTES).await;
    let token = env.user_token("access_as_user", &["Orders.Read"]);
    let headers = [
        ("x-rolegate-roles", "Orders.Admin"),
        ("connection", "x-custom-hop"),
        ("x-custom-hop", "1"),
        ("x-forwarded-for", "10.1.2.3"),
        ("x-forwarded-proto", "https"),
        ("x-request-id", "same-id"),
        ("accept", "application/json"),
        ("x-multi", "a"),
    ];
    let send = |body: &'static [u8]| {
        let mut request = Request::post(env.url("/orders?page=2"))
            .header("authorization", format!("Bearer {token}"))
            .header("x-multi", "b");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        env.send(request.body(full(Bytes::from_static(body))).unwrap())
    };
    let without = send(b"").await;
    let with = send(b"hello").await;
    assert_eq!((without.status.as_u16(), with.status.as_u16()), (200, 200));
    assert_eq!(with.json()["body_bytes"], 5);
    let (mut without, mut with) = (without.seen(), with.seen());
    for seen in [&mut without, &mut with] {
        let seen = seen.as_object_mut().unwrap();
        // Framing differs: no length without a body.
        seen.remove("content-length");
    }
    assert_eq!(without, with);
    assert_eq!(with["x-rolegate-roles"], "Orders.Read");
    assert_eq!(with["x-forwarded-for"], "10.1.2.3, 127.0.0.1");
    assert_eq!(with["x-forwarded-proto"], "https, http");
    assert_eq!(with["x-request-id"], "same-id");
    assert!(with.get("x-custom-hop").is_none(), "{with}");
    assert!(with.get("authorization").is_none(), "{with}");
}
