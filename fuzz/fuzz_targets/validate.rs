//! The whole validator (static keys, Entra issuer policy) on fuzzed tokens.
//!
//! The first input byte picks a mode:
//! - `0 mod 3`: the rest is the compact token, verbatim. The keys are made
//!   afresh in every process, so no such token can be valid: an `Ok` is a
//!   forgery and fails the target.
//! - `1 mod 3`: the rest is the payload JSON; the target signs it with its
//!   Ed25519 key under the header `{"typ":"JWT","alg":"EdDSA","kid":"fuzz-ed"}`,
//!   so the fuzzer explores the claim checks behind the signature.
//! - `2 mod 3`: the rest is `header JSON \n payload JSON`, signed likewise.
//!
//! In every mode `validate` and `diagnose` must agree: `validate` fails
//! exactly when `diagnose` finds a problem, with the code of the first one.
//!
//! With `ROLEGATE_FUZZ_DEBUG` set, each input's outcome is printed (run one
//! input with `cargo fuzz run validate <file>`).
#![no_main]

use std::sync::LazyLock;

use futures_util::FutureExt as _;
use libfuzzer_sys::fuzz_target;
use rolegate_testkit::{KeyKind, SigningKey, jwks};
use rolegate_token::algorithm::{Algorithm, AlgorithmPolicy};
use rolegate_token::audience::AudiencePolicy;
use rolegate_token::id::Issuer;
use rolegate_token::issuer::IssuerPolicy;
use rolegate_token::keyset::RefreshSettings;
use rolegate_token::{Validator, ValidatorConfig};

const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const API: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
const ED_HEADER: &str = r#"{"typ":"JWT","alg":"EdDSA","kid":"fuzz-ed"}"#;

struct Fixture {
    ed: SigningKey,
    validator: Validator,
}

static DEBUG: LazyLock<bool> = LazyLock::new(|| std::env::var_os("ROLEGATE_FUZZ_DEBUG").is_some());

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let rsa = SigningKey::rsa_2048().with_kid("fuzz-rsa");
    let ed = SigningKey::generate(KeyKind::Ed25519).with_kid("fuzz-ed");
    let config = ValidatorConfig::static_keys(
        jwks(&[&rsa, &ed]).to_string(),
        IssuerPolicy::entra([
            Issuer::new(format!("https://login.microsoftonline.com/{TID}/v2.0")),
            Issuer::new(format!("https://sts.windows.net/{TID}/")),
        ]),
        AudiencePolicy::new([API]),
    )
    .algorithms(AlgorithmPolicy::only([Algorithm::Rs256, Algorithm::EdDsa]))
    .refresh(RefreshSettings {
        background: false,
        ..RefreshSettings::default()
    })
    .token_cache(64);
    Fixture {
        ed,
        validator: Validator::new(config).expect("static-keys validator"),
    }
});

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = &*FIXTURE;
    let rest = String::from_utf8_lossy(rest);
    let token = match mode % 3 {
        0 => rest.into_owned(),
        1 => f.ed.sign_raw(ED_HEADER, &rest),
        _ => {
            let (header, payload) = rest.split_once('\n').unwrap_or((&rest, "{}"));
            f.ed.sign_raw(header, payload)
        }
    };
    let validated = f
        .validator
        .validate(&token)
        .now_or_never()
        .expect("static keys: validate never waits");
    let diagnosis = f
        .validator
        .diagnose(&token)
        .now_or_never()
        .expect("static keys: diagnose never waits");
    if *DEBUG {
        match &validated {
            Ok(p) => eprintln!(
                "mode {}: valid; roles {:?}",
                mode % 3,
                p.claims().get("roles")
            ),
            Err(e) => eprintln!("mode {}: {}: {e}", mode % 3, e.code()),
        }
    }
    if mode % 3 == 0 {
        assert!(
            validated.is_err(),
            "accepted a token this process never signed"
        );
    }
    match (&validated, diagnosis.errors.first()) {
        (Ok(_), None) => assert!(diagnosis.principal.is_some()),
        (Err(e), Some(first)) => assert_eq!(e.code(), first.code(), "{e} vs {first}"),
        (Ok(_), Some(first)) => panic!("validate accepted what diagnose refuses: {first}"),
        (Err(e), None) => panic!("validate refused what diagnose accepts: {e}"),
    }
});
