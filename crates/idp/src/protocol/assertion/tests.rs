use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaEncoding, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::json;

use super::*;
use crate::directory::RedirectKind;
use crate::protocol::tokens::ClientAuth;

const APP: &str = "7fbf04bb-64db-4661-a8cd-d2d07d250ad8";
const OTHER: &str = "33333333-cccc-4ccc-8ccc-333333333333";
const TID: &str = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b";
const ORIGIN: &str = "https://localhost:8443";
const NOW: i64 = 1_750_000_000;

/// A certificate and its private key.
struct Signer {
    key: RsaKeyPair,
    credential: KeyCredential,
}

fn signer(not_before: i64, not_after: i64) -> Signer {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["client".to_owned()]).unwrap();
    crate::tls::set_validity(&mut params, not_before, not_after);
    let cert = params.self_signed(&key).unwrap();
    Signer {
        key: RsaKeyPair::from_pkcs8(&key.serialize_der()).unwrap(),
        credential: KeyCredential::from_der(cert.der()).unwrap(),
    }
}

impl Signer {
    fn sign(&self, header: &Value, claims: &Value) -> String {
        let encoding: &'static dyn RsaEncoding = match header["alg"].as_str() {
            Some("PS256") => &RSA_PSS_SHA256,
            _ => &RSA_PKCS1_SHA256,
        };
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                encoding,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// msal-node's default: RS256 with `x5t`.
    fn rs256(&self, claims: &Value) -> String {
        self.sign(
            &json!({"alg": "RS256", "typ": "JWT", "x5t": self.credential.x5t()}),
            claims,
        )
    }
}

fn app(app_id: &str, credentials: Vec<KeyCredential>) -> Application {
    Application {
        app_id: app_id.to_owned(),
        service_principal_id: app_id.to_owned(),
        display_name: "client".to_owned(),
        identifier_uris: Vec::new(),
        requested_access_token_version: 2,
        app_role_assignment_required: false,
        redirect_uris: vec![("https://app.test/cb".to_owned(), RedirectKind::Web)],
        is_fallback_public_client: false,
        enable_id_token_issuance: false,
        enable_access_token_issuance: false,
        app_roles: Vec::new(),
        scopes: Vec::new(),
        secrets: Vec::new(),
        key_credentials: credentials,
        required_resource_access: Vec::new(),
        emit_idtyp: false,
        group_membership_claims: Default::default(),
        sign_in_audience: Default::default(),
        home_tenant_id: TID.to_owned(),
        provisioned: true,
        first_party: false,
    }
}

fn tenant() -> Tenant {
    Tenant {
        id: TID.to_owned(),
        domain: "contoso.test".to_owned(),
    }
}

fn claims() -> Value {
    json!({
        "aud": format!("{ORIGIN}/{TID}/oauth2/v2.0/token"),
        "iss": APP,
        "sub": APP,
        "jti": "5f8e9f0a-8a64-4a36-9b0c-4c4d2f1c9e11",
        "nbf": NOW - 10,
        "iat": NOW - 10,
        "exp": NOW + 590,
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    match value {
        Value::Null => {
            claims.as_object_mut().unwrap().remove(name);
        }
        value => claims[name] = value,
    }
    claims
}

fn check(
    app: &Application,
    assertion: &str,
    segment: &str,
) -> Result<VerifiedAssertion, AssertionError> {
    let tenant = tenant();
    let endpoint = TokenEndpoint {
        origin: ORIGIN,
        tenant_segment: segment,
        tenant: &tenant,
    };
    verify(app, assertion, &endpoint, NOW)
}

#[test]
fn accepts_either_thumbprint_with_either_algorithm() {
    let s = signer(NOW - 86_400, NOW + 86_400);
    let registered = app(APP, vec![s.credential.clone()]);
    let padded_x5t = URL_SAFE.encode(s.credential.sha1);
    for header in [
        json!({"alg": "RS256", "x5t": s.credential.x5t()}),
        json!({"alg": "PS256", "x5t#S256": s.credential.x5t_s256()}),
        json!({"alg": "RS256", "x5t#S256": s.credential.x5t_s256()}),
        json!({"alg": "PS256", "x5t": s.credential.x5t()}),
        // MSAL Python pads its base64url thumbprint.
        json!({"alg": "PS256", "x5t": padded_x5t}),
        json!({"alg": "RS256", "x5t": s.credential.x5t(), "x5t#S256": s.credential.x5t_s256()}),
        // kid as the fallback: base64url or hex.
        json!({"alg": "RS256", "kid": s.credential.x5t()}),
        json!({"alg": "RS256", "kid": s.credential.thumbprint_hex()}),
    ] {
        let assertion = s.sign(&header, &claims());
        let verified =
            check(&registered, &assertion, TID).unwrap_or_else(|e| panic!("{header}: {e}"));
        assert_eq!(verified.jti.client_id, APP);
        assert_eq!(verified.jti.expires_at, NOW + 590 + CLOCK_SKEW);
        assert_eq!(verified.jti.digest, digest(&assertion));
    }
}

#[test]
fn aud_is_the_token_endpoint_in_any_of_its_forms() {
    let s = signer(NOW - 86_400, NOW + 86_400);
    let registered = app(APP, vec![s.credential.clone()]);
    for (segment, aud) in [
        (TID, format!("{ORIGIN}/{TID}/oauth2/v2.0/token")),
        (TID, format!("{ORIGIN}/{TID}/oauth2/token")),
        (TID, format!("{ORIGIN}/contoso.test/oauth2/v2.0/token")),
        (
            TID,
            format!("{ORIGIN}/{TID}/oauth2/v2.0/token?client-request-id=1"),
        ),
        (
            "contoso.test",
            format!("{ORIGIN}/{}/oauth2/v2.0/token", TID.to_uppercase()),
        ),
        (
            "organizations",
            format!("{ORIGIN}/organizations/oauth2/v2.0/token"),
        ),
    ] {
        let assertion = s.rs256(&with(claims(), "aud", json!(aud)));
        assert!(
            check(&registered, &assertion, segment).is_ok(),
            "{aud} at {segment}"
        );
    }
    for aud in [
        json!(format!(
            "https://login.microsoftonline.com/{TID}/oauth2/v2.0/token"
        )),
        json!(format!("{ORIGIN}/{TID}/v2.0")),
        json!(format!("{ORIGIN}/common/oauth2/v2.0/token")),
        json!(format!("{ORIGIN}/{TID}/oauth2/v2.0/token/")),
    ] {
        let assertion = s.rs256(&with(claims(), "aud", aud.clone()));
        match check(&registered, &assertion, TID) {
            Err(AssertionError::Audience { expected, .. }) => {
                assert_eq!(expected, format!("{ORIGIN}/{TID}/oauth2/v2.0/token"));
            }
            other => panic!("{aud}: {other:?}"),
        }
    }
    // Entra refuses an aud array (AADSTS50027).
    let array = s.rs256(&with(
        claims(),
        "aud",
        json!([format!("{ORIGIN}/{TID}/oauth2/v2.0/token")]),
    ));
    assert!(matches!(
        check(&registered, &array, TID),
        Err(AssertionError::Malformed { .. })
    ));
}

#[test]
fn the_certificate_must_be_this_apps_and_sign_it() {
    let s = signer(NOW - 86_400, NOW + 86_400);
    let stranger = signer(NOW - 86_400, NOW + 86_400);
    let registered = app(APP, vec![s.credential.clone()]);
    // A certificate this app does not have (another app's), named honestly.
    let assertion = stranger.rs256(&claims());
    match check(&registered, &assertion, TID) {
        Err(AssertionError::UnknownKey {
            thumbprint,
            app_id,
            registered: 1,
        }) => {
            assert_eq!(thumbprint, stranger.credential.thumbprint_hex());
            assert_eq!(app_id, APP);
        }
        other => panic!("{other:?}"),
    }
    // Signed by another key but naming this app's certificate.
    let forged = stranger.sign(
        &json!({"alg": "RS256", "x5t": s.credential.x5t()}),
        &claims(),
    );
    assert!(matches!(
        check(&registered, &forged, TID),
        Err(AssertionError::BadSignature { .. })
    ));
    // A changed payload under a real signature.
    let good = s.rs256(&claims());
    let mut parts: Vec<&str> = good.split('.').collect();
    let other_payload = URL_SAFE_NO_PAD.encode(with(claims(), "jti", json!("other")).to_string());
    parts[1] = &other_payload;
    assert!(matches!(
        check(&registered, &parts.join("."), TID),
        Err(AssertionError::BadSignature { .. })
    ));
    // Two thumbprints naming different certificates.
    let both = s.sign(&json!({"alg": "RS256", "x5t": s.credential.x5t(), "x5t#S256": stranger.credential.x5t_s256()}), &claims());
    assert!(matches!(
        check(&registered, &both, TID),
        Err(AssertionError::UnknownKey { .. })
    ));
    // No thumbprint at all; a kid that is not one.
    let none = s.sign(&json!({"alg": "RS256"}), &claims());
    assert!(matches!(
        check(&registered, &none, TID),
        Err(AssertionError::Missing { .. })
    ));
    let kid = s.sign(&json!({"alg": "RS256", "kid": "key-1"}), &claims());
    assert!(matches!(
        check(&registered, &kid, TID),
        Err(AssertionError::Malformed { .. })
    ));
}

#[test]
fn only_rs256_and_ps256_are_accepted() {
    let s = signer(NOW - 86_400, NOW + 86_400);
    let registered = app(APP, vec![s.credential.clone()]);
    let good = s.rs256(&claims());
    let (_, rest) = good.split_once('.').unwrap();
    for alg in ["none", "HS256", "RS384", "ES256"] {
        let header =
            URL_SAFE_NO_PAD.encode(json!({"alg": alg, "x5t": s.credential.x5t()}).to_string());
        match check(&registered, &format!("{header}.{rest}"), TID) {
            Err(AssertionError::Algorithm { alg: found }) => assert_eq!(found, alg),
            other => panic!("{alg}: {other:?}"),
        }
    }
    assert!(matches!(
        check(&registered, "not-a-jwt", TID),
        Err(AssertionError::Malformed { .. })
    ));
}

#[test]
fn a_certificate_outside_its_validity_is_refused() {
    let expired = signer(NOW - 10 * 86_400, NOW - 2 * 86_400);
    let registered = app(APP, vec![expired.credential.clone()]);
    match check(&registered, &expired.rs256(&claims()), TID) {
        Err(e @ AssertionError::KeyNotValid { .. }) => {
            let wire = OAuthError::from(&e);
            assert_eq!(wire.code, 700_027);
            assert!(
                wire.message.contains("The key used is expired"),
                "{}",
                wire.message
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn claims_must_name_the_client_and_a_bounded_time() {
    let s = signer(NOW - 86_400, NOW + 86_400);
    let registered = app(APP, vec![s.credential.clone()]);
    let refused = |claims: Value| check(&registered, &s.rs256(&claims), TID).unwrap_err();
    assert!(matches!(
        refused(with(claims(), "iss", json!(OTHER))),
        AssertionError::ClientMismatch { claim: "iss", .. }
    ));
    assert!(matches!(
        refused(with(claims(), "sub", json!(OTHER))),
        AssertionError::ClientMismatch { claim: "sub", .. }
    ));
    for missing in ["iss", "sub", "aud", "exp", "jti"] {
        match refused(with(claims(), missing, Value::Null)) {
            AssertionError::Missing { name } => assert_eq!(name, missing),
            other => panic!("{missing}: {other:?}"),
        }
    }
    assert!(matches!(
        refused(with(claims(), "exp", json!(NOW - CLOCK_SKEW - 1))),
        AssertionError::Expired { .. }
    ));
    assert!(matches!(
        refused(with(claims(), "nbf", json!(NOW + CLOCK_SKEW + 1))),
        AssertionError::NotYetValid { .. }
    ));
    assert!(matches!(
        refused(with(claims(), "exp", json!("soon"))),
        AssertionError::Malformed { .. }
    ));
    assert!(matches!(
        refused(with(claims(), "jti", json!("j".repeat(257)))),
        AssertionError::Malformed { .. }
    ));
    // Within the skew: accepted.
    assert!(
        check(
            &registered,
            &s.rs256(&with(claims(), "exp", json!(NOW - CLOCK_SKEW + 1))),
            TID
        )
        .is_ok()
    );
    // The lifetime cap counts from the earlier of nbf and iat, else from now.
    let long = with(
        with(claims(), "iat", json!(NOW - 10)),
        "exp",
        json!(NOW - 10 + MAX_LIFETIME + 1),
    );
    assert!(matches!(refused(long), AssertionError::TooLong { .. }));
    let no_start = with(
        with(with(claims(), "iat", Value::Null), "nbf", Value::Null),
        "exp",
        json!(NOW + MAX_LIFETIME + 1),
    );
    assert!(matches!(refused(no_start), AssertionError::TooLong { .. }));
    let hour = with(
        with(claims(), "nbf", Value::Null),
        "exp",
        json!(NOW - 10 + MAX_LIFETIME),
    );
    assert!(check(&registered, &s.rs256(&hour), TID).is_ok());
}

#[test]
fn errors_carry_entras_codes() {
    let cases: Vec<(AssertionError, u32)> = vec![
        (AssertionError::Malformed { reason: "x".into() }, 50_027),
        (AssertionError::Missing { name: "jti" }, 90_014),
        (
            AssertionError::ClientMismatch {
                claim: "iss",
                found: "a".into(),
                client_id: APP.into(),
            },
            700_021,
        ),
        (
            AssertionError::Audience {
                found: "a".into(),
                expected: "b".into(),
            },
            700_023,
        ),
        (
            AssertionError::Expired {
                exp: NOW - 400,
                start: None,
                now: NOW,
            },
            700_024,
        ),
        (
            AssertionError::TooLong {
                lifetime: 7200,
                exp: NOW + 7200,
                start: NOW,
            },
            700_024,
        ),
        (
            AssertionError::BadSignature {
                thumbprint: "AB".into(),
            },
            700_027,
        ),
        (AssertionError::JtiReused { jti: "j".into() }, 7_000_274),
    ];
    for (error, code) in cases {
        let wire = OAuthError::from(&error);
        assert_eq!(
            (wire.error, wire.code, wire.status),
            ("invalid_client", code, 401),
            "{error}"
        );
        assert!(error.is_client_failure());
    }
    let expired = OAuthError::from(&AssertionError::Expired {
        exp: 1_452_304_932,
        start: Some(1_452_304_332),
        now: 1_452_305_932,
    });
    assert!(
        expired.message.starts_with("Client assertion is not within its valid time range. Current time: 2016-01-09T02:18:52Z, assertion valid from 2016-01-09T01:52:12Z, expiry time of assertion 2016-01-09T02:02:12Z"),
        "{}",
        expired.message
    );
    let full = OAuthError::from(&AssertionError::TooManyJtis);
    assert_eq!((full.status, full.code), (429, 90_055));
    assert!(!AssertionError::TooManyJtis.is_client_failure());
}

#[test]
fn client_auth_round_trips_through_the_store_name() {
    for auth in [
        ClientAuth::Certificate,
        ClientAuth::Public,
        ClientAuth::Secret,
    ] {
        assert_eq!(ClientAuth::parse(auth.as_str()), Some(auth));
    }
    assert_eq!(ClientAuth::parse("unknown"), None);
}
