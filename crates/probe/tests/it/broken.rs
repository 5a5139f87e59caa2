//! Deliberately broken APIs, each with exactly one flaw in hand-written
//! validation, and the check that must catch it.
//!
//! [`Api::check`] is a strict validator written the way teams write one by
//! hand (RS256 with the provider's keys, exact issuer and tenant, `aud`,
//! `exp`/`nbf`, `azp` and `scp` for user tokens, the route's role); a
//! [`Flaw`] removes or bends exactly one of those steps.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rolegate_probe::catalogue::CheckId;
use rolegate_probe::report::Verdict;
use serde_json::Value;

use crate::{API, TENANT_ID, assert_clean, env, now, run_probe, serve, verdict};

/// The one flaw of a broken API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    /// No token-kind check: ID tokens with the right `aud` and roles pass.
    AcceptsIdTokens,
    /// `alg: none` tokens are taken without a signature.
    AcceptsAlgNone,
    /// `jku` is fetched and its keys trusted.
    FollowsJku,
    /// HS256 is verified with the public key (PEM) as the secret.
    HmacConfusion,
    /// `aud` is not checked.
    IgnoresAudience,
    /// `exp` is not checked.
    IgnoresExpiry,
    /// `roles` is not checked.
    IgnoresRoles,
    /// Any tenant of the authority is accepted (`iss` just has to match `tid`).
    IgnoresTenant,
}

struct Api {
    flaw: Option<Flaw>,
    /// `kid` → (n, e).
    keys: HashMap<String, (Vec<u8>, Vec<u8>)>,
    /// The current key as a PEM public key (for the HMAC flaw).
    public_pem: String,
    origin: String,
    http: reqwest::Client,
}

impl Api {
    fn start(flaw: Option<Flaw>) -> String {
        let env = env();
        let jwks = env.provider.keys.jwks(None, now());
        let mut keys = HashMap::new();
        let mut public_pem = String::new();
        for key in jwks["keys"].as_array().unwrap() {
            let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
            let e = URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap();
            if public_pem.is_empty() {
                public_pem = spki_pem(&n, &e);
            }
            keys.insert(key["kid"].as_str().unwrap().to_owned(), (n, e));
        }
        let api = Arc::new(Api {
            flaw,
            keys,
            public_pem,
            origin: env.origin.clone(),
            http: reqwest::Client::new(),
        });
        let app = Router::new().route("/orders", get(handle)).with_state(api);
        format!("http://{}/orders", serve(app))
    }

    async fn check(&self, headers: &HeaderMap) -> Result<(), StatusCode> {
        let unauthorized = StatusCode::UNAUTHORIZED;
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(unauthorized)?;
        let (scheme, token) = value.split_once(' ').ok_or(unauthorized)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(unauthorized);
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [head, body, signature] = parts[..] else {
            return Err(unauthorized);
        };
        let header: Value = decode_json(head).ok_or(unauthorized)?;
        let input = format!("{head}.{body}");
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| unauthorized)?;
        let alg = header["alg"].as_str().unwrap_or_default();
        let verified = match alg {
            "RS256" => self.rs256(&header, &input, &signature).await,
            "HS256" if self.flaw == Some(Flaw::HmacConfusion) => {
                let key = hmac::Key::new(hmac::HMAC_SHA256, self.public_pem.as_bytes());
                hmac::verify(&key, input.as_bytes(), &signature).is_ok()
            }
            alg if alg.eq_ignore_ascii_case("none") => self.flaw == Some(Flaw::AcceptsAlgNone),
            _ => false,
        };
        if !verified {
            return Err(unauthorized);
        }
        let claims: Value = decode_json(body).ok_or(unauthorized)?;
        let text = |name: &str| claims[name].as_str();
        let tid = text("tid").ok_or(unauthorized)?;
        let tenant = if self.flaw == Some(Flaw::IgnoresTenant) {
            tid
        } else {
            TENANT_ID
        };
        if text("ver") != Some("2.0")
            || tid != tenant
            || text("iss") != Some(&format!("{}/{tenant}/v2.0", self.origin))
        {
            return Err(unauthorized);
        }
        if self.flaw != Some(Flaw::IgnoresAudience) && text("aud") != Some(API) {
            return Err(unauthorized);
        }
        let now = now();
        let exp = claims["exp"].as_i64().ok_or(unauthorized)?;
        let nbf = claims["nbf"].as_i64().unwrap_or(0);
        if (self.flaw != Some(Flaw::IgnoresExpiry) && exp + SKEW < now) || nbf - SKEW > now {
            return Err(unauthorized);
        }
        if self.flaw != Some(Flaw::AcceptsIdTokens) {
            // An access token names its client; a user token carries scp.
            let user = ["preferred_username", "upn", "name"]
                .iter()
                .any(|c| claims.get(*c).is_some());
            let app_only = text("idtyp") == Some("app") || (text("scp").is_none() && !user);
            if text("azp").is_none() || (!app_only && text("scp").is_none()) {
                return Err(unauthorized);
            }
        }
        let roles: Vec<&str> = claims["roles"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if self.flaw != Some(Flaw::IgnoresRoles) && !roles.contains(&"Orders.Read") {
            return Err(StatusCode::FORBIDDEN);
        }
        Ok(())
    }

    /// RS256 with the provider's key named by `kid` — or, with
    /// [`Flaw::FollowsJku`], with a key from the `jku` URL.
    async fn rs256(&self, header: &Value, input: &str, signature: &[u8]) -> bool {
        let kid = header["kid"].as_str().unwrap_or_default();
        let key = match header["jku"].as_str() {
            Some(jku) if self.flaw == Some(Flaw::FollowsJku) => {
                let Ok(response) = self.http.get(jku).send().await else {
                    return false;
                };
                let body = response.bytes().await.unwrap_or_default();
                let jwks: Value = serde_json::from_slice(&body).unwrap_or_default();
                jwks["keys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|k| k["kid"] == kid)
                    .map(|k| {
                        let part = |n: &str| {
                            URL_SAFE_NO_PAD
                                .decode(k[n].as_str().unwrap_or_default())
                                .unwrap_or_default()
                        };
                        (part("n"), part("e"))
                    })
            }
            _ => self.keys.get(kid).cloned(),
        };
        let Some((n, e)) = key else {
            return false;
        };
        RsaPublicKeyComponents { n: &n, e: &e }
            .verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), signature)
            .is_ok()
    }
}

async fn handle(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    match api.check(&headers).await {
        Ok(()) => "orders".into_response(),
        Err(status) => (status, [(header::WWW_AUTHENTICATE, "Bearer")]).into_response(),
    }
}

fn decode_json(segment: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).ok()?).ok()
}

/// `-----BEGIN PUBLIC KEY-----` PEM of an RSA key, as OpenSSL writes it
/// (SubjectPublicKeyInfo, RFC 5280), encoded here independently of the probe.
fn spki_pem(n: &[u8], e: &[u8]) -> String {
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match content.len() {
            len @ 0..0x80 => out.push(len as u8),
            len @ 0x80..0x100 => out.extend([0x81, len as u8]),
            len => out.extend([0x82, (len >> 8) as u8, len as u8]),
        }
        out.extend_from_slice(content);
        out
    }
    let integer = |v: &[u8]| {
        let mut content = if v[0] & 0x80 != 0 { vec![0] } else { vec![] };
        content.extend_from_slice(v);
        tlv(0x02, &content)
    };
    let pkcs1 = tlv(0x30, &[integer(n), integer(e)].concat());
    let algorithm = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let bits = tlv(0x03, &[&[0u8][..], &pkcs1].concat());
    let der = tlv(0x30, &[&algorithm[..], &bits].concat());
    // aws-lc-rs agrees that this is an RSA public key.
    aws_lc_rs::rsa::PublicKey::from_der(&der).unwrap();
    let encoded = STANDARD.encode(&der);
    let mut pem = "-----BEGIN PUBLIC KEY-----\n".to_owned();
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap());
        pem.push('\n');
    }
    pem + "-----END PUBLIC KEY-----\n"
}

const SKEW: i64 = 60;

/// Probes the API with `flaw` and asserts that `id` is vulnerable.
fn caught(flaw: Flaw, id: CheckId) {
    let url = Api::start(Some(flaw));
    let report = run_probe(&url, API, &["Orders.Read"], &[]);
    assert_eq!(
        verdict(&report, id),
        Verdict::Vulnerable,
        "{flaw:?} not caught by {id}\n{}",
        report.to_table()
    );
    let json = report.to_json();
    let row = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id.as_str())
        .unwrap();
    assert_eq!(row["verdict"], "VULNERABLE");
    assert_eq!(row["fix"], id.fix());
    assert!(json["vulnerable"].as_u64().unwrap() >= 1);
}

#[test]
fn flawless_hand_written_api_passes_every_check() {
    let report = run_probe(&Api::start(None), API, &["Orders.Read"], &[]);
    assert_clean(&report);
}

#[test]
fn accepts_id_tokens_is_caught_by_id_token_same_registration() {
    caught(Flaw::AcceptsIdTokens, CheckId::IdTokenSameRegistration);
}

#[test]
fn ignores_audience_is_caught_by_wrong_audience_and_graph_audience() {
    caught(Flaw::IgnoresAudience, CheckId::WrongAudience);
    caught(Flaw::IgnoresAudience, CheckId::GraphAudience);
}

#[test]
fn ignores_tenant_is_caught_by_foreign_tenant() {
    caught(Flaw::IgnoresTenant, CheckId::ForeignTenant);
}

#[test]
fn ignores_expiry_is_caught_by_expired() {
    caught(Flaw::IgnoresExpiry, CheckId::Expired);
}

#[test]
fn accepts_alg_none_is_caught_by_alg_none() {
    caught(Flaw::AcceptsAlgNone, CheckId::AlgNone);
}

#[test]
fn hmac_confusion_is_caught_by_hs256_key_confusion() {
    caught(Flaw::HmacConfusion, CheckId::Hs256KeyConfusion);
}

#[test]
fn follows_jku_is_caught_by_jku_injection_and_the_fetch_reported() {
    let url = Api::start(Some(Flaw::FollowsJku));
    let report = run_probe(&url, API, &["Orders.Read"], &[]);
    let row = report.check(CheckId::JkuInjection).unwrap();
    assert_eq!(row.verdict, Verdict::Vulnerable, "{}", report.to_table());
    assert!(
        row.note.as_deref().unwrap_or_default().contains("fetched"),
        "{row:?}"
    );
    assert_eq!(report.vulnerable(), 1, "{}", report.to_table());
}

#[test]
fn ignores_roles_is_caught_by_missing_role() {
    caught(Flaw::IgnoresRoles, CheckId::MissingRole);
}
