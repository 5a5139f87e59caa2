//! `JwkSet::parse` with the OIDC algorithm policy (every supported
//! algorithm) on arbitrary input.
//!
//! Every entry of the `keys` array is either usable or explained, and key
//! ids are unique.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rolegate_token::algorithm::AlgorithmPolicy;
use rolegate_token::jwk::JwkSet;

fuzz_target!(|data: &[u8]| {
    let Ok(set) = JwkSet::parse(data, &AlgorithmPolicy::oidc()) else {
        return;
    };
    let doc: serde_json::Value = serde_json::from_slice(data).expect("parsed as JSON");
    let entries = doc["keys"].as_array().map_or(0, Vec::len);
    assert_eq!(set.keys().len() + set.skipped().len(), entries);
    let kids: Vec<&str> = set.keys().iter().filter_map(|k| k.kid()).collect();
    let mut unique = kids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), kids.len(), "duplicate kids were kept");
    assert_eq!(set.is_empty(), set.keys().is_empty());
});
