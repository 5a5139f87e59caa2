//! The provider on a PostgreSQL store (a fresh database on the server
//! `ROLEGATE_TEST_POSTGRES` names; skipped loudly without it, failing under
//! CI): tokens from `server::start`, and two providers on one database
//! acting as replicas.

use rolegate_idp::server::{self, ServerConfig, StoreConfig};
use rolegate_idp::store::key_encryption::{KeyEncryptionKey, generate_key_encryption_key};
use rolegate_idp::store::postgres::PostgresUrl;
use rolegate_testkit::postgres::TestDatabase;
use serde_json::Value;

use crate::{ALICE, API, CLI, DAEMON, DAEMON_SECRET, Idp, aadsts, claims};

fn postgres(db: &TestDatabase, kek: &KeyEncryptionKey) -> StoreConfig {
    StoreConfig::Postgres {
        url: PostgresUrl::parse(db.url()).unwrap(),
        kek: kek.clone(),
    }
}

fn fresh_kek() -> KeyEncryptionKey {
    KeyEncryptionKey::from_base64(&generate_key_encryption_key().unwrap()).unwrap()
}

async fn client_credentials(idp: &Idp) -> String {
    let scope = format!("api://{API}/.default");
    let (status, body) = idp
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", DAEMON),
            ("client_secret", DAEMON_SECRET),
            ("scope", &scope),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn jwks_keys(idp: &Idp) -> Vec<(String, String)> {
    let jwks: Value = idp
        .client
        .get(format!("{}/discovery/v2.0/keys", idp.authority()))
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
        .map(|key| {
            (
                key["kid"].as_str().unwrap().to_owned(),
                key["n"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn kid(jwt: &str) -> String {
    use base64::Engine as _;
    let header = jwt.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_issues_tokens_from_a_postgres_store() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let idp = Idp::start_with_store(postgres(&db, &fresh_kek())).await;
    let token = client_credentials(&idp).await;
    assert_eq!(claims(&token)["roles"], serde_json::json!(["Orders.Read"]));
    let principal = idp.api_validator().validate(&token).await.unwrap();
    assert!(principal.is_app_only() && principal.has_role("Orders.Read"));
    assert!(
        !idp.data_dir.join(server::DATABASE).exists(),
        "no SQLite database next to a PostgreSQL store"
    );
    idp.stop().await;
}

/// Two providers on one database: the same signing key and JWKS, and a
/// refresh token issued by one rotates at the other, whose replay at the
/// first revokes the family.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_providers_on_one_database_act_as_replicas() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let kek = fresh_kek();
    let (one, two) = tokio::join!(
        Idp::start_with_store(postgres(&db, &kek)),
        Idp::start_with_store(postgres(&db, &kek)),
    );
    assert_eq!(jwks_keys(&one).await, jwks_keys(&two).await);
    assert_eq!(
        kid(&client_credentials(&one).await),
        kid(&client_credentials(&two).await),
        "both sign with the same current key"
    );

    let scope = format!("api://{API}/access_as_user openid offline_access");
    let (status, first) = one
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", CLI),
            ("username", ALICE.0),
            ("password", ALICE.1),
            ("scope", &scope),
        ])
        .await;
    assert_eq!(status, 200, "{first}");
    let rt1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, second) = two
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("refresh_token", &rt1),
            ("scope", &scope),
        ])
        .await;
    assert_eq!(status, 200, "{second}");
    let rt2 = second["refresh_token"].as_str().unwrap().to_owned();
    let (status, replay) = one
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("refresh_token", &rt1),
        ])
        .await;
    assert_eq!(status, 400, "{replay}");
    let (status, after) = two
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("refresh_token", &rt2),
        ])
        .await;
    assert_eq!((status, aadsts(&after)), (400, 70_008), "{after}");
    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kek_that_cannot_decrypt_the_stored_keys_stops_the_start() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    Idp::start_with_store(postgres(&db, &fresh_kek()))
        .await
        .stop()
        .await;
    let data_dir = std::env::temp_dir().join(format!(
        "rolegate-idp-test-{}",
        rolegate_idp::secret::random_token(9)
    ));
    let config = ServerConfig {
        config_path: concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/tenant.toml").into(),
        more_tenants: Vec::new(),
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir,
        store: postgres(&db, &fresh_kek()),
        tls_files: None,
        public_url: None,
        insecure_http: false,
        trusted_proxies: Vec::new(),
        limits: Default::default(),
        settings: Default::default(),
    };
    let err = server::start(config, std::future::pending())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("the key-encryption key cannot decrypt the signing keys stored in")
            && message.contains(db.url()),
        "{message}"
    );
}

/// `/rolegate/ready` reports a database that stopped answering (503), while
/// discovery, served from memory, still answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_reports_an_unreachable_database() {
    use sqlx::Connection as _;
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let idp = Idp::start_with_store(postgres(&db, &fresh_kek())).await;
    let ready = || async {
        idp.client
            .get(format!("{}/rolegate/ready", idp.running.origin))
            .send()
            .await
            .unwrap()
    };
    assert_eq!(ready().await.status().as_u16(), 200);
    // Nobody may connect to the database any more, and its sessions end.
    let server = rolegate_testkit::postgres::server_url().unwrap();
    let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
    sqlx::query(&format!(
        "ALTER DATABASE \"{}\" WITH ALLOW_CONNECTIONS false",
        db.name()
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(db.name())
        .execute(&mut admin)
        .await
        .unwrap();
    let response = ready().await;
    assert_eq!(response.status().as_u16(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["reason"], "the store does not answer");
    let discovery = idp
        .client
        .get(format!(
            "{}/v2.0/.well-known/openid-configuration",
            idp.authority()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(discovery.status().as_u16(), 200);
    sqlx::query(&format!(
        "ALTER DATABASE \"{}\" WITH ALLOW_CONNECTIONS true",
        db.name()
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    let mut back = false;
    for _ in 0..50 {
        if ready().await.status().as_u16() == 200 {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(back, "ready again once the database answers");
}
