//! Integration tests for rolegate-axum: routers driven through
//! `tower::ServiceExt::oneshot` with a real validator and testkit tokens,
//! plus one test over a real socket.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod authorization;
mod header;
mod keys;
mod optional;
mod responder;
mod socket;
mod token;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{HeaderMap, Request, StatusCode};
use rolegate_axum::extract::{Auth, MaybeAuth};
use rolegate_axum::{AuthError, AuthLayer, RequireLayer};
use rolegate_testkit::claims::{self, Tenant};
use rolegate_testkit::{SigningKey, jwks};
use rolegate_token::audience::AudiencePolicy;
use rolegate_token::id::Issuer;
use rolegate_token::issuer::IssuerPolicy;
use rolegate_token::requirement::Requirement;
use rolegate_token::{Validator, ValidatorConfig};
use serde_json::Value;
use tower::ServiceExt;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// The API's client id (the audience).
const API: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
/// The calling client application.
const CLIENT: &str = "0b1a2c3d-4e5f-6789-abcd-ef0123456789";

/// A key, a tenant and a validator that trusts the key (static JWKS).
struct Fixture {
    key: SigningKey,
    tenant: Tenant,
    validator: Validator,
}

impl Fixture {
    fn new() -> Fixture {
        let key = SigningKey::rsa_2048();
        let tenant = Tenant::new(
            TENANT,
            &format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
        );
        let config = ValidatorConfig::static_keys(
            jwks(&[&key]).to_string(),
            IssuerPolicy::entra([Issuer::new(tenant.v2_issuer.clone())]),
            AudiencePolicy::new([API]),
        );
        let validator = Validator::new(config).unwrap();
        Fixture {
            key,
            tenant,
            validator,
        }
    }

    /// A delegated v2.0 access token for this API.
    fn user_token(&self, roles: &[&str]) -> String {
        self.key.sign(&claims::access_v2(
            &self.tenant,
            API,
            CLIENT,
            "access_as_user",
            roles,
        ))
    }
}

/// The routes every test uses, behind `layer`.
fn app(layer: AuthLayer) -> Router {
    routes().layer(layer)
}

/// The routes without any AuthLayer.
fn routes() -> Router {
    Router::new()
        .route(
            "/me",
            get(|Auth(caller): Auth| async move {
                format!("oid={}", caller.object_id().unwrap_or("none"))
            }),
        )
        .route(
            "/maybe",
            get(|MaybeAuth(caller): MaybeAuth| async move {
                match caller {
                    Some(caller) => format!("oid={}", caller.object_id().unwrap_or("none")),
                    None => "anonymous".to_owned(),
                }
            }),
        )
        .route(
            "/admin",
            get(|| async { "admin area" })
                .route_layer(RequireLayer::new(Requirement::any_role(["Orders.Admin"]))),
        )
        .route(
            "/purge",
            get(|auth: Auth| async move {
                auth.require(&Requirement::any_role(["Orders.Admin"]))?;
                Ok::<_, AuthError>("purged")
            }),
        )
}

/// A GET with the given `Authorization` header values.
fn get_with(path: &str, authorization: &[&str]) -> Request<Body> {
    let mut request = Request::get(path);
    for value in authorization {
        request = request.header("authorization", *value);
    }
    request.body(Body::empty()).unwrap()
}

/// A GET with `Authorization: Bearer {token}`.
fn get_bearer(path: &str, token: &str) -> Request<Body> {
    get_with(path, &[&format!("Bearer {token}")])
}

/// A response, read completely.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .to_str()
            .unwrap()
    }

    /// Asserts that neither the body nor any header contains `token`.
    fn assert_hides(&self, token: &str) {
        assert!(!self.body.contains(token), "body leaks the token");
        for (name, value) in &self.headers {
            assert!(
                !String::from_utf8_lossy(value.as_bytes()).contains(token),
                "header {name} leaks the token"
            );
        }
        // Not even a recognisable piece of it (the signature segment).
        if let Some(signature) = token.rsplit('.').next().filter(|s| s.len() > 20) {
            assert!(!self.body.contains(signature), "body leaks the signature");
        }
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

/// Checks the RFC 9457 body shape for `code`.
fn assert_problem(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.header("content-type"), "application/problem+json");
    let body = reply.json();
    assert_eq!(body["type"], format!("urn:rolegate:error:{code}"));
    assert_eq!(body["status"], status.as_u16());
    assert_eq!(body["code"], code);
    for field in ["title", "detail", "hint", "request_id"] {
        assert!(
            body[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field} in {body}"
        );
    }
    assert_eq!(body["request_id"], reply.header("x-request-id"));
}
