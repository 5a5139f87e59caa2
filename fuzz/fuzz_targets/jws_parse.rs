//! `jws::parse` with the default limits on arbitrary input.
//!
//! Beyond "never panics": whatever parses has exactly three segments, its
//! signing input is the token up to the last dot, and its signature is the
//! third segment decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rolegate_token::jws::{self, Limits};

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let Ok(parsed) = jws::parse(&token, Limits::default()) else {
        return;
    };
    assert_eq!(
        token.split('.').count(),
        3,
        "only three-segment tokens parse"
    );
    let (signing_input, signature) = token.rsplit_once('.').expect("three segments");
    assert_eq!(parsed.signing_input, signing_input.as_bytes());
    assert_eq!(
        rolegate_testkit::b64url(&parsed.signature),
        signature,
        "the signature segment is canonical unpadded base64url"
    );
    assert_eq!(
        parsed.header.members().get("alg").and_then(|a| a.as_str()),
        Some(parsed.header.alg())
    );
    assert!(!parsed.header.members().contains_key("enc"));
    assert!(!parsed.header.members().contains_key("crit"));
});
