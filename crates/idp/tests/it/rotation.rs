//! Key rotation that running APIs can follow: two rotations back to back,
//! under load, and an API's validator (rolegate-token over HTTPS, as an API
//! builds it) refuses none of the tokens issued meanwhile.
//!
//! The provider runs on a manual clock shared with the validator, so the
//! test walks through the validators' 5-minute refetch window in a second.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rolegate_idp::directory::config;
use rolegate_idp::keys::{PUBLICATION_BEFORE_SIGNING, RotationReport, SigningKeys};
use rolegate_idp::protocol::{Provider, Settings};
use rolegate_idp::store::Store;
use rolegate_idp::store::sqlite::SqliteStore;
use rolegate_idp::tls::{self, TlsMaterial};
use rolegate_idp::web::{self, WebState};
use rolegate_token::clock::{Clock, ManualClock, SystemClock};
use rolegate_token::fetch::HttpFetcher;
use rolegate_token::{ErrorCode, Validator, ValidatorConfig};
use serde_json::Value;

use crate::{API, DAEMON, DAEMON_SECRET, TID};

/// Simulated seconds between two rounds of requests.
const STEP: i64 = 5;
/// Token requests (each validated at once) per round, run concurrently.
const PER_STEP: usize = 3;

/// The provider, served over HTTPS on loopback, with time from `clock`.
struct ClockedIdp {
    provider: Arc<Provider>,
    authority: String,
    ca: Vec<u8>,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl ClockedIdp {
    /// Assembles what `server::start` does, but with a manual clock.
    async fn start(clock: Arc<ManualClock>) -> ClockedIdp {
        let data_dir = std::env::temp_dir().join(format!(
            "rolegate-idp-rotation-{}",
            rolegate_idp::secret::random_token(9)
        ));
        std::fs::create_dir_all(&data_dir).unwrap();
        let tenant = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/tenant.toml"
        ));
        let directory = config::load(&tenant).unwrap();
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&data_dir.join("rolegate-idp.sqlite"))
                .await
                .unwrap(),
        );
        let keys = SigningKeys::load_or_create(Arc::clone(&store), clock.now())
            .await
            .unwrap();
        let material = TlsMaterial::load_or_create(&data_dir).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!(
            "https://localhost:{}",
            listener.local_addr().unwrap().port()
        );
        let provider = Arc::new(Provider::new(
            rolegate_idp::directory::Tenants::single(directory),
            store,
            keys,
            Settings::default(),
            clock,
        ));
        let app = web::routes(WebState::new(Arc::clone(&provider), &origin));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let config = material.server_config().unwrap();
        tokio::spawn(tls::serve_tls(
            listener,
            config,
            app,
            tls::ServeLimits::default(),
            async move {
                let _ = stopped.await;
            },
        ));
        let ca = std::fs::read(&material.ca_pem_path).unwrap();
        let client = reqwest::Client::builder()
            .tls_certs_only(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
            .build()
            .unwrap();
        ClockedIdp {
            provider,
            authority: format!("{origin}/{TID}"),
            ca,
            client,
            _stop: stop,
        }
    }

    /// The Orders API's validator, fetching discovery and keys over HTTPS,
    /// on the same clock as the provider.
    fn api_validator(&self, clock: Arc<ManualClock>) -> Validator {
        let fetcher =
            HttpFetcher::with_options(Duration::from_secs(5), 1 << 20, &[&self.ca]).unwrap();
        Validator::new(
            ValidatorConfig::entra_authority(self.authority.clone(), API)
                .fetcher(Arc::new(fetcher))
                .clock(clock),
        )
        .unwrap()
    }

    /// A fresh client-credentials token for the Orders API.
    async fn daemon_token(&self) -> String {
        let scope = format!("api://{API}/.default");
        let response = self
            .client
            .post(format!("{}/oauth2/v2.0/token", self.authority))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", DAEMON),
                ("client_secret", DAEMON_SECRET),
                ("scope", scope.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }
}

fn kid_of(jwt: &str) -> String {
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// `jwt` with its header naming a key the provider never published: what
/// an API receives from a client holding a token from an earlier run of
/// the provider, or from anyone forging one.
fn with_unknown_kid(jwt: &str) -> String {
    let header = URL_SAFE_NO_PAD
        .encode(r#"{"typ":"JWT","alg":"RS256","kid":"a-key-this-provider-never-published"}"#);
    let (_, rest) = jwt.split_once('.').unwrap();
    format!("{header}.{rest}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_rotations_back_to_back_under_load_refuse_no_token() {
    let t0 = SystemClock.now();
    let clock = Arc::new(ManualClock::new(t0));
    let idp = Arc::new(ClockedIdp::start(Arc::clone(&clock)).await);
    let validator = Arc::new(idp.api_validator(Arc::clone(&clock)));
    validator.warm_up().await.unwrap();

    // Rotations at t1 and t1 + STEP, both asking for an immediate switch
    // (`--force --publish-lead 0`). The next key was made at t0, long
    // enough ago: the first switch may happen at once. The second promotes
    // the key the first made.
    let t1 = t0 + PUBLICATION_BEFORE_SIGNING + 70;
    let end = t1 + PUBLICATION_BEFORE_SIGNING + 60;
    let mut reports: Vec<RotationReport> = Vec::new();
    let mut validated = 0usize;
    let mut refused = Vec::new();
    let mut signers = BTreeSet::new();
    while clock.now() < end {
        clock.advance(STEP);
        let now = clock.now();
        if now == t1 - STEP {
            // Just before the rotations the API is sent a token naming an
            // unknown key: its refetch starts the validator's throttle
            // window. (Any API on a network sees such tokens.)
            let stray = with_unknown_kid(&idp.daemon_token().await);
            let error = validator.validate(&stray).await.unwrap_err();
            assert_eq!(error.code(), ErrorCode::KeyNotFound, "{error}");
        }
        let rotation = (now == t1 || now == t1 + STEP).then(|| {
            let idp = Arc::clone(&idp);
            tokio::spawn(async move { idp.provider.keys.rotate(now, 0, 3_600).await })
        });
        let requests: Vec<_> = (0..PER_STEP)
            .map(|_| {
                let idp = Arc::clone(&idp);
                let validator = Arc::clone(&validator);
                tokio::spawn(async move {
                    let token = idp.daemon_token().await;
                    let verdict = validator.validate(&token).await.map(|_| ());
                    (kid_of(&token), verdict)
                })
            })
            .collect();
        for request in requests {
            let (kid, verdict) = request.await.unwrap();
            match verdict {
                Ok(()) => validated += 1,
                Err(error) => refused.push(format!("at t0+{}: {kid}: {error}", now - t0)),
            }
            signers.insert(kid);
        }
        if let Some(rotation) = rotation {
            reports.push(rotation.await.unwrap().unwrap());
        }
    }

    assert!(
        refused.is_empty(),
        "{} of {} tokens refused; first: {:?}; rotations: {reports:?}",
        refused.len(),
        refused.len() + validated,
        refused.first()
    );
    let [first, second] = <[RotationReport; 2]>::try_from(reports).unwrap();
    assert_eq!(first.switch_at, t1, "{first:?}");
    assert_eq!(second.promoted_kid, first.next_kid);
    assert!(
        second.switch_at >= t1 + PUBLICATION_BEFORE_SIGNING,
        "the key made at t1 signs only after the refetch window: {second:?}"
    );
    let expected: BTreeSet<String> = [
        first.retired_kid.clone(),
        first.promoted_kid.clone(),
        second.promoted_kid.clone(),
    ]
    .into();
    assert_eq!(signers, expected, "tokens from all three keys were checked");
    assert!(validated > 200, "{validated} tokens validated");
}

/// OBO and UserInfo validate the provider's own tokens with a validator
/// that is built once per key set, not per request, and rebuilt when a
/// rotation changes the published keys.
#[tokio::test]
async fn own_token_validators_are_reused_until_the_keys_change() {
    use rolegate_idp::protocol::own_tokens::Audiences;
    let t0 = SystemClock.now();
    let clock = Arc::new(ManualClock::new(t0));
    let idp = ClockedIdp::start(Arc::clone(&clock)).await;
    let p = &idp.provider;
    let issuers = [format!("{}/v2.0", idp.authority)];
    let audiences = [API.to_owned()];
    let first = p
        .own_tokens
        .get(p, &issuers, Audiences::Api(&audiences))
        .unwrap();
    let again = p
        .own_tokens
        .get(p, &issuers, Audiences::Api(&audiences))
        .unwrap();
    assert!(Arc::ptr_eq(&first, &again), "one validator per key set");
    let token = idp.daemon_token().await;
    assert!(first.validate(&token).await.is_ok());
    let other = p
        .own_tokens
        .get(p, &issuers, Audiences::Exact(&["someone-else"]))
        .unwrap();
    assert!(!Arc::ptr_eq(&first, &other));
    assert!(
        other.validate(&token).await.is_err(),
        "audience is kept apart"
    );

    clock.advance(PUBLICATION_BEFORE_SIGNING + 70);
    p.keys.rotate(clock.now(), 0, 3_600).await.unwrap();
    let after = p
        .own_tokens
        .get(p, &issuers, Audiences::Api(&audiences))
        .unwrap();
    assert!(
        !Arc::ptr_eq(&first, &after),
        "a rotation changes the key set"
    );
    let fresh = idp.daemon_token().await;
    assert!(after.validate(&fresh).await.is_ok());
}
