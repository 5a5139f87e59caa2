//! Integration tests for the Orders API, through `tower::ServiceExt::oneshot`
//! with a static-key validator and testkit tokens.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod access;
mod orders;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Request, StatusCode};
use rolegate_demo::api::store::Store;
use rolegate_testkit::claims::{self, Tenant};
use rolegate_testkit::{SigningKey, jwks};
use rolegate_token::audience::AudiencePolicy;
use rolegate_token::id::Issuer;
use rolegate_token::issuer::IssuerPolicy;
use rolegate_token::{Validator, ValidatorConfig};
use serde_json::Value;
use tower::ServiceExt;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// The Orders API's client id.
const API: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
/// The SPA that signs users in.
const SPA: &str = "0b1a2c3d-4e5f-6789-abcd-ef0123456789";
/// The daemon that calls with client credentials.
const DAEMON: &str = "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4";

struct Fixture {
    key: SigningKey,
    tenant: Tenant,
    store: Arc<Store>,
    app: Router,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with_store(Store::seeded())
    }

    fn with_store(store: Store) -> Fixture {
        let key = SigningKey::rsa_2048();
        let tenant = Tenant::new(
            TENANT,
            &format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
        );
        let validator = Validator::new(ValidatorConfig::static_keys(
            jwks(&[&key]).to_string(),
            IssuerPolicy::entra([Issuer::new(tenant.v2_issuer.clone())]),
            AudiencePolicy::new([API]),
        ))
        .unwrap();
        let store = Arc::new(store);
        let app = rolegate_demo::api::router_with_store(validator, Arc::clone(&store));
        Fixture {
            key,
            tenant,
            store,
            app,
        }
    }

    /// A user (Alice) signed in to the SPA, with scope `access_as_user`.
    fn user(&self, roles: &[&str]) -> String {
        self.key.sign(&claims::access_v2(
            &self.tenant,
            API,
            SPA,
            "access_as_user",
            roles,
        ))
    }

    /// The daemon, with application permissions `roles`.
    fn daemon(&self, roles: &[&str]) -> String {
        self.key
            .sign(&claims::app_only_v2(&self.tenant, API, DAEMON, roles))
    }

    async fn call(&self, method: &str, path: &str, token: &str, body: Option<&str>) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"));
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
            .unwrap();
        send(self.app.clone(), request).await
    }

    async fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, token, None).await
    }
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .to_str()
            .unwrap()
    }

    /// Asserts a problem-details answer with `status` and `code`.
    fn assert_problem(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.header("content-type"), "application/problem+json");
        let body = self.json();
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(body["status"], status.as_u16());
        assert_eq!(body["request_id"], self.header("x-request-id"));
    }
}

async fn send(app: Router, request: Request<Body>) -> Reply {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}
