//! `rolegate idp` as several processes on one PostgreSQL database (issue
//! 14): any replica serves any step of any flow, single-use rules hold
//! across replicas, a rotation reaches every replica within seconds, and a
//! replica killed with SIGKILL under load loses nothing it acknowledged.
//!
//! The replicas share one data folder for their TLS material (the first
//! one creates the local CA; the others load it) and name one issuer
//! (`--public-url`), as replicas behind a balancer do. The test client
//! keeps the session cookie across them (cookies ignore the port).
//! Needs `ROLEGATE_TEST_POSTGRES` (see rolegate-testkit); skipped loudly
//! without it outside CI.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rolegate_testkit::postgres::TestDatabase;
use serde_json::Value;

use crate::{code, rolegate, stderr, stdout};

const TENANT_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/tenant.toml");
const TID: &str = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b";
const API: &str = "8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c";
const INVENTORY: &str = "5c1d9e7a-3b2f-4d6c-8e9a-0b1c2d3e4f5a";
/// Orders CLI: a public client with a loopback redirect and device flow.
const CLI: &str = "c2e9bc59-4581-415a-9b7f-78e66989c5c8";
const REDIRECT: &str = "http://localhost";
const ALICE: (&str, &str) = ("alice@contoso.test", "alice-Passw0rd");
const BOB: (&str, &str) = ("bob@contoso.test", "bob-Passw0rd");
const CAROL: (&str, &str) = ("carol@contoso.test", "carol-Passw0rd");
/// The example tenant's client holding Graph application permissions.
const AUTOMATION: &str = "3f0c8a6e-9d2b-4c7a-8e1f-5b6a7c8d9e0f";
const AUTOMATION_SECRET: &str = "automation-secret-7Hq2Xv9Kp4Lm8Rw3";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Replicas of one provider on one database.
struct Cluster {
    _db: TestDatabase,
    dir: PathBuf,
    url: String,
    kek_file: PathBuf,
    public_port: u16,
    replicas: Vec<Replica>,
    /// Trusts the shared CA; keeps cookies; follows no redirects.
    client: reqwest::Client,
}

struct Replica {
    port: u16,
    child: tokio::process::Child,
}

impl Cluster {
    /// `count` replicas, started one after another (the first creates the
    /// keys and the CA), or `None` without a PostgreSQL server.
    async fn start(count: usize) -> Option<Cluster> {
        let db = TestDatabase::create().await?;
        let dir = std::env::temp_dir().join(format!(
            "rolegate-replicas-{}",
            rolegate_idp::secret::random_token(9)
        ));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let kek = stdout(&rolegate(&["idp", "gen-kek"], None).await);
        let kek_file = dir.join("kek");
        std::fs::write(&kek_file, kek).unwrap();
        let ports: Vec<u16> = (0..count).map(|_| free_port()).collect();
        let mut cluster = Cluster {
            url: db.url().to_owned(),
            _db: db,
            kek_file,
            public_port: ports[0],
            replicas: Vec::new(),
            client: reqwest::Client::new(),
            dir,
        };
        for (i, port) in ports.into_iter().enumerate() {
            let replica = cluster.spawn(port, i).await;
            cluster.replicas.push(replica);
            if i == 0 {
                let ca = std::fs::read(cluster.dir.join("data/tls/ca.pem")).unwrap();
                cluster.client = reqwest::Client::builder()
                    .tls_certs_only(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
                    .redirect(reqwest::redirect::Policy::none())
                    .cookie_store(true)
                    .timeout(Duration::from_secs(20))
                    .build()
                    .unwrap();
            }
        }
        Some(cluster)
    }

    /// Another browser: the shared CA, a cookie jar of its own.
    fn fresh_client(&self) -> reqwest::Client {
        let ca = std::fs::read(self.dir.join("data/tls/ca.pem")).unwrap();
        reqwest::Client::builder()
            .tls_certs_only(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap()
    }

    /// Starts replica number `index` on `port` and waits until it answers.
    async fn spawn(&self, port: u16, index: usize) -> Replica {
        let log = std::fs::File::create(self.dir.join(format!("replica-{index}.log"))).unwrap();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_rolegate"))
            .args(["idp", "--config", TENANT_FILE, "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(self.dir.join("data"))
            .args(["--store", &self.url, "--key-encryption-key-file"])
            .arg(&self.kek_file)
            .arg("--public-url")
            .arg(format!("https://localhost:{}", self.public_port))
            .env_remove("ROLEGATE_STORE")
            .env_remove("ROLEGATE_KEK")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn rolegate idp");
        let ca_path = self.dir.join("data/tls/ca.pem");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(
                Instant::now() < deadline,
                "replica {index} did not start: {}",
                self.log(index)
            );
            if let Ok(ca) = std::fs::read(&ca_path) {
                let probe = reqwest::Client::builder()
                    .tls_certs_only(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
                    .timeout(Duration::from_secs(2))
                    .build()
                    .unwrap();
                let url =
                    format!("https://localhost:{port}/{TID}/v2.0/.well-known/openid-configuration");
                if let Ok(response) = probe.get(url).send().await
                    && response.status().is_success()
                {
                    return Replica { port, child };
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log(&self, index: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("replica-{index}.log"))).unwrap_or_default()
    }

    /// `https://localhost:{port}/{TID}` of replica `index`.
    fn authority(&self, index: usize) -> String {
        format!("https://localhost:{}/{TID}", self.replicas[index].port)
    }

    fn issuer(&self) -> String {
        format!("https://localhost:{}/{TID}/v2.0", self.public_port)
    }

    /// Signs `user` in at replica `index` through the sign-in page (the
    /// session cookie then serves every replica); returns the code.
    async fn sign_in(&self, index: usize, user: (&str, &str), scope: &str) -> String {
        let page = self
            .get_text(&authorize_url(&self.authority(index), scope))
            .await;
        let location = self
            .post_form(
                &format!("{}/rolegate/login", self.authority(index)),
                &[
                    ("csrf", &hidden(&page, "csrf")),
                    ("request", &hidden(&page, "request")),
                    ("username", user.0),
                    ("password", user.1),
                ],
            )
            .await
            .location()
            .unwrap_or_else(|| panic!("sign-in at replica {index} redirects"));
        code_of(&location)
    }

    /// With a session: a code at replica `index` without any page.
    async fn silent_code(&self, index: usize, scope: &str) -> String {
        let response = self
            .client
            .get(authorize_url(&self.authority(index), scope))
            .send()
            .await
            .unwrap();
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        code_of(&location)
    }

    async fn get_text(&self, url: &str) -> String {
        let response = self.client.get(url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "GET {url}");
        response.text().await.unwrap()
    }

    async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Answer {
        let response = self.client.post(url).form(form).send().await.unwrap();
        Answer::read(response).await
    }

    async fn token(&self, index: usize, form: &[(&str, &str)]) -> (u16, Value) {
        token_at(&self.client, &self.authority(index), form).await
    }

    async fn redeem(&self, index: usize, code: &str) -> (u16, Value) {
        self.token(
            index,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", CLI),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await
    }

    async fn refresh(&self, index: usize, refresh_token: &str) -> (u16, Value) {
        refresh_at(&self.client, &self.authority(index), refresh_token).await
    }

    async fn jwks_kids(&self, index: usize) -> Vec<String> {
        let jwks: Value = self
            .client
            .get(format!("{}/discovery/v2.0/keys", self.authority(index)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["kid"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn rotate_keys(&self) -> String {
        let out = rolegate(
            &[
                "idp",
                "rotate-keys",
                "--store",
                &self.url,
                "--key-encryption-key-file",
                self.kek_file.to_str().unwrap(),
                "--data-dir",
                self.dir.join("data").to_str().unwrap(),
            ],
            None,
        )
        .await;
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let report = stdout(&out);
        let line = report
            .lines()
            .find_map(|l| l.trim().strip_prefix("next:"))
            .expect("the report names the next key");
        line.split_whitespace().next().unwrap().to_owned()
    }

    async fn stop(mut self) {
        for replica in &mut self.replicas {
            let _ = replica.child.start_kill();
            let _ = replica.child.wait().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A response's status, redirect target and body.
struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Answer {
    async fn read(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap_or_default();
        Answer {
            status,
            location,
            body,
        }
    }

    fn location(&self) -> Option<String> {
        self.location.clone()
    }
}

async fn token_at(
    client: &reqwest::Client,
    authority: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let response = client
        .post(format!("{authority}/oauth2/v2.0/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn refresh_at(
    client: &reqwest::Client,
    authority: &str,
    refresh_token: &str,
) -> (u16, Value) {
    token_at(
        client,
        authority,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// `user` signs in at `authority` in a browser of their own (`client`) and
/// accepts the consent page for `scope`; true once the provider answered
/// with a code (the consent is acknowledged).
async fn sign_in_and_consent(
    client: &reqwest::Client,
    authority: &str,
    user: (&str, &str),
    scope: &str,
) -> bool {
    let page = client
        .get(authorize_url(authority, scope))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let consent = client
        .post(format!("{authority}/rolegate/login"))
        .form(&[
            ("csrf", hidden(&page, "csrf").as_str()),
            ("request", &hidden(&page, "request")),
            ("username", user.0),
            ("password", user.1),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let accepted = client
        .post(format!("{authority}/rolegate/consent"))
        .form(&[
            ("csrf", hidden(&consent, "csrf").as_str()),
            ("consent", &hidden(&consent, "consent")),
            ("decision", "accept"),
        ])
        .send()
        .await
        .unwrap();
    accepted
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .is_some_and(|l| l.contains("code="))
}

fn authorize_url(authority: &str, scope: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", CLI),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", scope),
            ("state", "s"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    format!("{authority}/oauth2/v2.0/authorize?{query}")
}

fn orders_scope() -> String {
    format!("api://{API}/access_as_user openid offline_access")
}

fn code_of(location: &str) -> String {
    let query = location.split_once('?').map_or("", |(_, q)| q);
    let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    params
        .get("code")
        .unwrap_or_else(|| panic!("no code in {location}"))
        .clone()
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

fn kid(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_serve_any_step_of_any_flow() {
    let Some(cluster) = Cluster::start(3).await else {
        return;
    };
    let scope = orders_scope();

    // Every replica publishes the same keys and names the same issuer.
    let kids = cluster.jwks_kids(0).await;
    assert_eq!(kids.len(), 2, "current and next: {kids:?}");
    for i in 1..3 {
        assert_eq!(cluster.jwks_kids(i).await, kids, "replica {i}");
    }

    // Authorize at A, redeem the code at B.
    let code = cluster.sign_in(0, ALICE, &scope).await;
    let (status, tokens) = cluster.redeem(1, &code).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["iss"], cluster.issuer());
    assert_eq!(claims(access)["roles"], serde_json::json!(["Orders.Admin"]));
    assert!(kids.contains(&kid(access)), "signed with the shared key");
    // Refresh at C the family started at A; replay the rotated token at B:
    // the family is revoked on every replica.
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, rotated) = cluster.refresh(2, &first).await;
    assert_eq!(status, 200, "{rotated}");
    let second = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    let (status, replay) = cluster.refresh(1, &first).await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, revoked) = cluster.refresh(0, &second).await;
    assert_eq!(
        (status, revoked["error"].as_str()),
        (400, Some("invalid_grant")),
        "the reuse at B revoked the family for A too: {revoked}"
    );

    // A code redeemed at A and replayed at C: refused, and the tokens the
    // first redemption issued are revoked, for B too.
    let code = cluster.silent_code(1, &scope).await;
    let (status, tokens) = cluster.redeem(0, &code).await;
    assert_eq!(status, 200, "{tokens}");
    let (status, again) = cluster.redeem(2, &code).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, revoked) = cluster
        .refresh(1, tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(
        (status, revoked["error"].as_str()),
        (400, Some("invalid_grant")),
        "{revoked}"
    );

    // Concurrent redemption of one code at all three: exactly one winner.
    let code = cluster.silent_code(2, &scope).await;
    let racers: Vec<_> = (0..9)
        .map(|i| {
            let (client, authority, code) = (
                cluster.client.clone(),
                cluster.authority(i % 3),
                code.clone(),
            );
            tokio::spawn(async move {
                token_at(
                    &client,
                    &authority,
                    &[
                        ("grant_type", "authorization_code"),
                        ("client_id", CLI),
                        ("code", &code),
                        ("redirect_uri", REDIRECT),
                        ("code_verifier", VERIFIER),
                    ],
                )
                .await
                .0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for racer in racers {
        statuses.push(racer.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400, 400, 400, 400, 400, 400, 400, 400]);

    // A consent page shown at A, accepted at B; C remembers it.
    let inventory = format!("api://{INVENTORY}/Inventory.Read openid");
    let page = cluster
        .get_text(&authorize_url(&cluster.authority(0), &inventory))
        .await;
    assert!(page.contains("Inventory"), "a consent page: {page}");
    let accepted = cluster
        .post_form(
            &format!("{}/rolegate/consent", cluster.authority(1)),
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("consent", &hidden(&page, "consent")),
                ("decision", "accept"),
            ],
        )
        .await;
    code_of(
        &accepted
            .location()
            .expect("accepting redirects with a code"),
    );
    let code = cluster.silent_code(2, &inventory).await;
    let (status, body) = cluster.redeem(0, &code).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["aud"],
        INVENTORY
    );

    // Device code started at A, approved at B, polled at C.
    let device_scope = format!("api://{API}/access_as_user openid");
    let grant: Value = cluster
        .client
        .post(format!("{}/oauth2/v2.0/devicecode", cluster.authority(0)))
        .form(&[("client_id", CLI), ("scope", device_scope.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let device_code = grant["device_code"].as_str().unwrap();
    let poll = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("client_id", CLI),
        ("device_code", device_code),
    ];
    let (_, pending) = cluster.token(2, &poll).await;
    assert_eq!(pending["error"], "authorization_pending");
    let device_page = format!("https://localhost:{}/devicelogin", cluster.replicas[1].port);
    let page = cluster.get_text(&device_page).await;
    let confirm = cluster
        .post_form(
            &device_page,
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("user_code", grant["user_code"].as_str().unwrap()),
                ("username", BOB.0),
                ("password", BOB.1),
                ("decision", "approve"),
            ],
        )
        .await
        .body;
    let done = cluster
        .post_form(
            &device_page,
            &[
                ("csrf", &hidden(&confirm, "csrf")),
                ("user_code", &hidden(&confirm, "user_code")),
                ("decision", "confirm"),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let (status, body) = cluster.token(2, &poll).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["preferred_username"],
        BOB.0,
        "{body}"
    );
    let (_, spent) = cluster.token(0, &poll).await;
    assert_eq!(spent["error"], "bad_verification_code");

    // A rotation through the store reaches every replica within seconds
    // (LISTEN/NOTIFY; the fallback poll would take 30 s).
    let started = Instant::now();
    let next = cluster.rotate_keys().await;
    for i in 0..3 {
        loop {
            if cluster.jwks_kids(i).await.contains(&next) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "replica {i} did not publish {next} within 10 s: {}",
                cluster.log(i)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let published = cluster.jwks_kids(0).await;
    for i in 1..3 {
        assert_eq!(cluster.jwks_kids(i).await, published, "replica {i}");
    }

    // A Graph write at A (the directory lives in the store) reaches B and
    // C at once (LISTEN/NOTIFY): the app and its secret work there.
    let (status, body) = cluster
        .token(
            0,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", AUTOMATION),
                ("client_secret", AUTOMATION_SECRET),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let graph_token = body["access_token"].as_str().unwrap().to_owned();
    let created: Value = cluster
        .client
        .post(format!(
            "https://localhost:{}/v1.0/applications",
            cluster.replicas[0].port
        ))
        .bearer_auth(&graph_token)
        .json(&serde_json::json!({"displayName": "Made at A"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_app = created["appId"].as_str().unwrap().to_owned();
    let password: Value = cluster
        .client
        .post(format!(
            "https://localhost:{}/v1.0/applications/{}/addPassword",
            cluster.replicas[0].port,
            created["id"].as_str().unwrap()
        ))
        .bearer_auth(&graph_token)
        .json(&serde_json::json!({"passwordCredential": {}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = password["secretText"].as_str().unwrap().to_owned();
    // Graph reads at another replica see the write at once (each Graph
    // request checks the stored version first).
    let read_back = cluster
        .client
        .get(format!(
            "https://localhost:{}/v1.0/applications(appId='{new_app}')",
            cluster.replicas[1].port
        ))
        .bearer_auth(&graph_token)
        .send()
        .await
        .unwrap();
    assert_eq!(read_back.status().as_u16(), 200);
    for i in 1..3 {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (status, body) = cluster
                .token(
                    i,
                    &[
                        ("grant_type", "client_credentials"),
                        ("client_id", &new_app),
                        ("client_secret", &secret),
                        ("scope", &format!("api://{API}/.default")),
                    ],
                )
                .await;
            if status == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "replica {i} does not know the app made at A: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    cluster.stop().await;
}

/// One client of the kill test: a refresh-token chain, refreshed again
/// and again at alternating replicas, retrying at the survivor when a
/// replica stops answering.
struct Chain {
    /// The last refresh token the provider acknowledged (answered with).
    acknowledged: String,
    rotations: usize,
    /// A request whose answer never came: the provider may have rotated
    /// the token before dying, so presenting it again may count as reuse.
    in_flight_lost: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_killed_under_load_loses_nothing_acknowledged() {
    let Some(mut cluster) = Cluster::start(2).await else {
        return;
    };
    let scope = orders_scope();
    let authorities = [cluster.authority(0), cluster.authority(1)];

    // Four sessions' refresh-token chains, started at either replica.
    let mut chains = Vec::new();
    for i in 0..4 {
        let code = if i == 0 {
            cluster.sign_in(0, ALICE, &scope).await
        } else {
            cluster.silent_code(i % 2, &scope).await
        };
        let (status, tokens) = cluster.redeem((i + 1) % 2, &code).await;
        assert_eq!(status, 200, "{tokens}");
        chains.push(Chain {
            acknowledged: tokens["refresh_token"].as_str().unwrap().to_owned(),
            rotations: 0,
            in_flight_lost: false,
        });
    }
    // A consent and a rotation acknowledged before the kill.
    let inventory = format!("api://{INVENTORY}/Inventory.Read openid");
    let page = cluster
        .get_text(&authorize_url(&cluster.authority(0), &inventory))
        .await;
    let accepted = cluster
        .post_form(
            &format!("{}/rolegate/consent", cluster.authority(0)),
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("consent", &hidden(&page, "consent")),
                ("decision", "accept"),
            ],
        )
        .await;
    assert!(accepted.location().is_some_and(|l| l.contains("code=")));
    let next = cluster.rotate_keys().await;

    // Load: each chain refreshes in a loop at replica A then B then A...;
    // a transport error (A gone) is retried at B with the same token.
    let killed = Arc::new(AtomicBool::new(false));
    let lost_requests = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut tasks = Vec::new();
    for (n, mut chain) in chains.into_iter().enumerate() {
        let client = cluster.client.clone();
        let authorities = authorities.clone();
        let killed = Arc::clone(&killed);
        let lost_requests = Arc::clone(&lost_requests);
        tasks.push(tokio::spawn(async move {
            let mut turn = n;
            while Instant::now() < deadline && !chain.in_flight_lost {
                turn += 1;
                let target = if killed.load(Ordering::SeqCst) {
                    1
                } else {
                    turn % 2
                };
                let response = client
                    .post(format!("{}/oauth2/v2.0/token", authorities[target]))
                    .form(&[
                        ("grant_type", "refresh_token"),
                        ("client_id", CLI),
                        ("refresh_token", chain.acknowledged.as_str()),
                    ])
                    .send()
                    .await;
                let answer = match response {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        match response.json::<Value>().await {
                            Ok(body) => Some((status, body)),
                            Err(_) => None,
                        }
                    }
                    Err(_) => None,
                };
                match answer {
                    Some((200, body)) => {
                        chain.acknowledged = body["refresh_token"].as_str().unwrap().to_owned();
                        chain.rotations += 1;
                    }
                    Some((status, body)) => {
                        panic!("chain {n}: refresh at replica {target} answered {status}: {body}")
                    }
                    None => {
                        // No answer: retry at the survivor. If the dead
                        // replica rotated before dying, the retry is a
                        // reuse and revokes the family (by design).
                        lost_requests.fetch_add(1, Ordering::SeqCst);
                        let (status, body) =
                            refresh_at(&client, &authorities[1], &chain.acknowledged).await;
                        match status {
                            200 => {
                                chain.acknowledged =
                                    body["refresh_token"].as_str().unwrap().to_owned();
                                chain.rotations += 1;
                            }
                            _ => chain.in_flight_lost = true,
                        }
                    }
                }
            }
            chain
        }));
    }
    // During the load, at replica A: a rotation and carol's consent, both
    // acknowledged before the kill.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let next_during_load = cluster.rotate_keys().await;
    let carol = cluster.fresh_client();
    assert!(
        sign_in_and_consent(&carol, &authorities[0], CAROL, &inventory).await,
        "carol's consent was acknowledged"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let victim = &mut cluster.replicas[0].child;
    victim.start_kill().unwrap(); // SIGKILL
    victim.wait().await.unwrap();
    killed.store(true, Ordering::SeqCst);

    let mut chains = Vec::new();
    for task in tasks {
        chains.push(task.await.unwrap());
    }
    let rotations: usize = chains.iter().map(|c| c.rotations).sum();
    let lost = chains.iter().filter(|c| c.in_flight_lost).count();
    eprintln!(
        "{rotations} acknowledged rotations; {} requests cut off by the kill; {lost} chains ended by \
         a retry that counted as reuse",
        lost_requests.load(Ordering::SeqCst)
    );
    assert!(rotations >= 20, "the load ran: {rotations} rotations");
    assert!(
        lost <= lost_requests.load(Ordering::SeqCst),
        "only a request cut off by the kill may end a chain"
    );
    // Every acknowledged refresh token of every other chain still works at
    // the survivor.
    for (n, chain) in chains.iter().enumerate().filter(|(_, c)| !c.in_flight_lost) {
        let (status, body) = cluster.refresh(1, &chain.acknowledged).await;
        assert_eq!(status, 200, "chain {n}'s acknowledged token: {body}");
    }
    assert!(
        lost < chains.len(),
        "at most the chains cut off mid-request"
    );
    // The consents and the rotated keys survived.
    let code = cluster.silent_code(1, &inventory).await;
    assert!(!code.is_empty());
    let response = carol
        .get(authorize_url(&authorities[1], &inventory))
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains("code="),
        "carol's consent, given at A during the load, is known at B: {location}"
    );
    let published = cluster.jwks_kids(1).await;
    assert!(
        published.contains(&next) && published.contains(&next_during_load),
        "{published:?}"
    );

    // A replacement replica joins and serves the same state.
    let port = free_port();
    let replacement = cluster.spawn(port, 2).await;
    cluster.replicas.push(replacement);
    let (status, body) = cluster.redeem(2, &code).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cluster.jwks_kids(2).await, cluster.jwks_kids(1).await);
    cluster.stop().await;
}
