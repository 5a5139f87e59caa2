//! Validation throughput: raw RSA-2048 verification against full
//! validation, uncached and cached.
//!
//! All benchmarks run in one Criterion group over the same Entra-shaped v2.0
//! access token (about 1.35 KB, `scp` plus two app roles; its key published
//! with an `issuer`, as Entra publishes them), so their figures are
//! directly comparable: `raw_rsa2048_verify` (the floor: one aws-lc-rs
//! signature check), `validate_uncached`, `validate_cached`, and parts of
//! the uncached overhead: `jws_decode` (split, base64, header) and
//! `claims_read` (the one-pass claim reader over the payload). For
//! comparison, `json_payload` builds the whole payload as a map (what
//! diagnostics and `Principal::claims` do, never validation). Run with
//! `cargo bench -p rolegate-token --bench validate`; results are recorded in
//! `docs/benchmarks.md`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::FutureExt as _;
use rolegate_testkit::{SigningKey, claims, jwks};
use rolegate_token::audience::AudiencePolicy;
use rolegate_token::claims::ClaimSet;
use rolegate_token::id::Issuer;
use rolegate_token::issuer::IssuerPolicy;
use rolegate_token::json;
use rolegate_token::jws::{self, Limits};
use rolegate_token::keyset::RefreshSettings;
use rolegate_token::{Validator, ValidatorConfig};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const API: &str = "api://orders";
const CLIENT: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";

/// The key, its JWKS document, and a signed Entra v2.0 access token.
struct Fixture {
    key: SigningKey,
    jwks_json: String,
    issuer: String,
    token: String,
}

impl Fixture {
    fn new() -> Fixture {
        let key = SigningKey::rsa_2048();
        let tenant = claims::Tenant::new(
            TENANT,
            &format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
        );
        let token = key.sign(&claims::access_v2(
            &tenant,
            API,
            CLIENT,
            "Orders.Read Orders.Write",
            &["Orders.Admin", "Orders.Auditor"],
        ));
        // As Entra publishes them: each key names the issuer it may sign for.
        let mut set = jwks(&[&key]);
        set["keys"][0]["issuer"] = "https://login.microsoftonline.com/{tenantid}/v2.0".into();
        Fixture {
            jwks_json: set.to_string(),
            key,
            issuer: tenant.v2_issuer,
            token,
        }
    }

    fn validator(&self, cache_entries: Option<usize>) -> Validator {
        let mut config = ValidatorConfig::static_keys(
            self.jwks_json.clone(),
            IssuerPolicy::entra([Issuer::new(self.issuer.clone())]),
            AudiencePolicy::new([API]),
        )
        .refresh(RefreshSettings {
            background: false,
            ..Default::default()
        });
        if let Some(entries) = cache_entries {
            config = config.token_cache(entries);
        }
        Validator::new(config).expect("static-keys validator")
    }
}

fn validation(c: &mut Criterion) {
    let fixture = Fixture::new();
    let token = fixture.token.as_str();
    let (signing_input, signature_b64) = token.rsplit_once('.').expect("three segments");
    let signature = URL_SAFE_NO_PAD.decode(signature_b64).expect("base64url");
    let jwk = fixture.key.public_jwk();
    let component = |name: &str| {
        URL_SAFE_NO_PAD
            .decode(jwk[name].as_str().expect("RSA JWK member"))
            .expect("base64url")
    };
    let (n, e) = (component("n"), component("e"));
    let raw_key = RsaPublicKeyComponents {
        n: n.as_slice(),
        e: e.as_slice(),
    }
    .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
    .expect("RSA public key");
    raw_key
        .verify_sig(signing_input.as_bytes(), &signature)
        .expect("the token's signature verifies");

    let uncached = fixture.validator(Some(0));
    let cached = fixture.validator(None);
    for validator in [&uncached, &cached] {
        let principal = validator
            .validate(token)
            .now_or_never()
            .expect("static keys: validation completes without waiting")
            .expect("the token validates");
        assert!(principal.has_role("Orders.Admin") && principal.has_scope("Orders.Write"));
    }
    assert_eq!(cached.cache_stats().entries, 1);
    assert_eq!(uncached.cache_stats().entries, 0);

    let mut group = c.benchmark_group("validate");
    group.throughput(Throughput::Elements(1));
    group.bench_function("raw_rsa2048_verify", |b| {
        b.iter(|| {
            raw_key
                .verify_sig(black_box(signing_input.as_bytes()), black_box(&signature))
                .expect("valid signature")
        });
    });
    group.bench_function("validate_uncached", |b| {
        b.iter(|| {
            uncached
                .validate(black_box(token))
                .now_or_never()
                .expect("completes immediately")
                .expect("valid token")
        });
    });
    group.bench_function("validate_cached", |b| {
        b.iter(|| {
            cached
                .validate(black_box(token))
                .now_or_never()
                .expect("completes immediately")
                .expect("valid token")
        });
    });
    // Parts of the uncached overhead: splitting and decoding the token
    // (with the header), and reading the claims from the payload.
    let payload = URL_SAFE_NO_PAD
        .decode(token.split('.').nth(1).expect("payload segment"))
        .expect("base64url");
    group.bench_function("jws_decode", |b| {
        b.iter(|| jws::decode(black_box(token), Limits::default()).expect("well-formed token"));
    });
    group.bench_function("claims_read", |b| {
        b.iter(|| ClaimSet::parse(black_box(&payload), 16).expect("payload object"));
    });
    group.bench_function("json_payload", |b| {
        b.iter(|| json::parse_object(black_box(&payload), 16).expect("payload object"));
    });
    group.finish();
    // Every benchmarked lookup after the first validation was a hit.
    let stats = cached.cache_stats();
    assert_eq!(stats.misses, 1, "{stats:?}");
}

criterion_group!(benches, validation);
criterion_main!(benches);
