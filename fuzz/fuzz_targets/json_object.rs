//! `json::parse_object` (depth limit 16) against serde_json, and the claim
//! reader validation uses against `json::parse_object`.
//!
//! Whatever the strict parser accepts, serde_json accepts with the same
//! value; whatever it calls a syntax error, serde_json refuses too. The
//! claim reader refuses exactly what the strict parser refuses, with the
//! same error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rolegate_token::claims::ClaimSet;
use rolegate_token::error::JsonError;
use rolegate_token::json;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let full = json::parse_object(data, 16);
    assert_eq!(
        ClaimSet::parse(data, 16).err(),
        full.as_ref().err().cloned(),
        "the claim reader and the map parser disagree"
    );
    match full {
        Ok(ours) => {
            let theirs: Map<String, Value> =
                serde_json::from_slice(data).expect("serde_json accepts what we accept");
            assert_eq!(ours, theirs);
        }
        Err(JsonError::Syntax(why)) => {
            assert!(
                serde_json::from_slice::<Value>(data).is_err(),
                "we call it invalid JSON ({why}) but serde_json parses it"
            );
        }
        Err(JsonError::NotAnObject(_)) => {
            let theirs = serde_json::from_slice::<Value>(data).expect("valid JSON");
            assert!(!theirs.is_object());
        }
        Err(_) => {}
    }
});
