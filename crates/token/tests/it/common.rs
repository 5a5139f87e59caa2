//! Shared set-up: a tenant, an API, a client, an issuer server and a validator.

use std::sync::Arc;
use std::time::Duration;

use rolegate_testkit::claims::Tenant;
use rolegate_testkit::{IssuerServer, SigningKey, unix_now};
use rolegate_token::clock::ManualClock;
use rolegate_token::keyset::RefreshSettings;
use rolegate_token::{Validator, ValidatorConfig};
use serde_json::Value;

pub const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const API: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
pub const SPA: &str = "0f2c4b8e-6d1a-4f3b-9c7e-2a5d8b1e4f60";

pub struct Env {
    pub server: IssuerServer,
    pub key: SigningKey,
    pub tenant: Tenant,
    pub clock: Arc<ManualClock>,
}

impl Env {
    pub async fn start() -> Env {
        let key = SigningKey::rsa_2048();
        let server = IssuerServer::start(TID, &[&key]).await;
        let tenant = server.tenant();
        Env {
            server,
            key,
            tenant,
            clock: Arc::new(ManualClock::new(unix_now())),
        }
    }

    /// The default configuration for tests: this server as authority, a
    /// manual clock, no background refresh.
    pub fn config(&self) -> ValidatorConfig {
        ValidatorConfig::entra(TID, API)
            .authority(self.server.authority())
            .clock(self.clock.clone())
            .refresh(no_background())
    }

    pub fn validator(&self) -> Validator {
        Validator::new(self.config()).unwrap()
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.key.sign(claims)
    }
}

pub fn no_background() -> RefreshSettings {
    RefreshSettings {
        background: false,
        ..RefreshSettings::default()
    }
}

/// Short windows for key-refresh tests.
pub fn fast_refresh() -> RefreshSettings {
    RefreshSettings {
        background: false,
        unknown_kid_throttle: Duration::from_secs(300),
        failure_backoff: Duration::from_secs(10),
        ..RefreshSettings::default()
    }
}
