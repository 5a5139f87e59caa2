//! Property tests for the parsers and the validation pipeline.
//!
//! - `jws::parse` never panics, whatever the input;
//! - a duplicated member name anywhere in the payload is `malformed_token`;
//! - `json::parse_object` agrees with serde_json on duplicate-free objects
//!   and refuses nesting deeper than its limit;
//! - `ClaimSet::parse` (validation's one-pass reader) refuses exactly what
//!   `json::parse_object` refuses, with the same error, and reads every
//!   claim as the parsed map holds it;
//! - tokens signed with random claims validate, and the principal carries
//!   exactly the generated roles, scopes and claims;
//! - changing any single byte of a valid token makes validation fail.
//!
//! The RSA key, its validators and the reference token are made once per
//! test binary ([`FIXTURE`]); only the round-trip property signs per case.

use std::fmt::Write as _;
use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::FutureExt as _;
use proptest::prelude::*;
use proptest::sample::Index;
use rolegate_testkit::claims::{self, Tenant};
use rolegate_testkit::{SigningKey, b64url, jwks};
use rolegate_token::audience::AudiencePolicy;
use rolegate_token::claims::{Claim, ClaimSet};
use rolegate_token::error::JsonError;
use rolegate_token::id::Issuer;
use rolegate_token::issuer::IssuerPolicy;
use rolegate_token::json;
use rolegate_token::jws::{self, Limits};
use rolegate_token::keyset::RefreshSettings;
use rolegate_token::{ErrorCode, Principal, ValidationError, Validator, ValidatorConfig};
use serde_json::{Map, Value, json};

const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const API: &str = "api://orders";
const CLIENT: &str = "0f2c4b8e-6d1a-4f3b-9c7e-2a5d8b1e4f60";
const HEADER: &str = r#"{"typ":"JWT","alg":"RS256","kid":"k1"}"#;

/// One RSA key, validators trusting it, and a valid token it signed.
struct Fixture {
    key: SigningKey,
    tenant: Tenant,
    /// Static keys, token cache disabled.
    uncached: Validator,
    /// Static keys, token cache on and primed with `token`.
    cached: Validator,
    token: String,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let key = SigningKey::rsa_2048();
    let tenant = Tenant::new(
        TID,
        &format!("https://login.microsoftonline.com/{TID}/v2.0"),
    );
    let validator = |cache_entries: usize| {
        let config = ValidatorConfig::static_keys(
            jwks(&[&key]).to_string(),
            IssuerPolicy::entra([Issuer::new(tenant.v2_issuer.clone())]),
            AudiencePolicy::new([API]),
        )
        .refresh(RefreshSettings {
            background: false,
            ..RefreshSettings::default()
        })
        .token_cache(cache_entries);
        Validator::new(config).unwrap()
    };
    let uncached = validator(0);
    let cached = validator(100);
    let token = key.sign(&claims::access_v2(
        &tenant,
        API,
        CLIENT,
        "Orders.Read Orders.Write",
        &["Orders.Admin", "Orders.Auditor"],
    ));
    validate(&cached, &token).expect("the reference token is valid");
    Fixture {
        key,
        tenant,
        uncached,
        cached,
        token,
    }
});

/// Validates with static keys: the future never has to wait.
fn validate(validator: &Validator, token: &str) -> Result<Principal, ValidationError> {
    validator
        .validate(token)
        .now_or_never()
        .expect("static keys: validation completes without waiting")
}

// ---------------------------------------------------------------- strategies

/// Scalars, including keys and strings with any Unicode and finite floats.
fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite and exactly representable in JSON text", |f| {
            // Without serde_json's `float_roundtrip` feature a few values
            // come back one ULP off; keep the ones that survive the trip.
            let n = serde_json::Number::from_f64(f)?;
            let back: f64 = serde_json::from_str(&n.to_string()).ok()?;
            (back == f).then_some(Value::Number(n))
        }),
        any::<String>().prop_map(Value::String),
        "[a-z]{0,8}".prop_map(Value::String),
    ]
}

/// Member names: short ASCII ones (so that duplicates of common shapes
/// appear) and arbitrary Unicode.
fn member_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z_]{0,6}",
        1 => any::<String>(),
    ]
}

type Strings = Result<Option<Vec<String>>, ValidationError>;

fn strings_of(claims: &ClaimSet<'_>, claim: Claim) -> Strings {
    claims
        .string_array(claim)
        .map(|a| a.map(|a| a.map(|s| s.into_owned()).collect()))
}

fn audiences_of(claims: &ClaimSet<'_>) -> Strings {
    claims
        .audiences()
        .map(|a| a.map(|a| a.map(|s| s.into_owned()).collect()))
}

/// Member names for claim sets: mostly names validation reads, so that
/// duplicates and wrong types of those claims come up often.
fn claim_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(Claim::ALL).prop_map(|c| c.as_str().to_owned()),
        1 => member_name(),
    ]
}

/// A duplicate-free JSON value nesting at most `levels` containers deep.
fn json_value(levels: u32) -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(levels, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(member_name(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A duplicate-free JSON object whose members nest at most `levels` deep.
fn json_object(levels: u32) -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(member_name(), json_value(levels), 0..8)
        .prop_map(|m| m.into_iter().collect())
}

/// How to write JSON text.
#[derive(Debug, Clone, Copy)]
enum Style {
    Compact,
    Pretty,
    /// Every character of every string as a `\uXXXX` escape.
    EscapeAll,
}

fn style() -> impl Strategy<Value = Style> {
    prop_oneof![
        Just(Style::Compact),
        Just(Style::Pretty),
        Just(Style::EscapeAll)
    ]
}

fn write_json(value: &Value, style: Style) -> String {
    match style {
        Style::Compact => value.to_string(),
        Style::Pretty => serde_json::to_string_pretty(value).unwrap(),
        Style::EscapeAll => {
            let mut out = String::new();
            write_escaped(value, &mut out);
            out
        }
    }
}

fn write_escaped(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => escape_all(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_escaped(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (name, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                escape_all(name, out);
                out.push(':');
                write_escaped(item, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A JSON string literal with every UTF-16 code unit escaped.
fn escape_all(s: &str, out: &mut String) {
    out.push('"');
    for unit in s.encode_utf16() {
        write!(out, "\\u{unit:04x}").unwrap();
    }
    out.push('"');
}

/// A JSON member name written plainly or fully escaped.
fn name_literal(name: &str, escaped: bool) -> String {
    if escaped {
        let mut out = String::new();
        escape_all(name, &mut out);
        out
    } else {
        Value::String(name.to_owned()).to_string()
    }
}

/// Nesting depth as `json::parse_object` counts it: every array or object,
/// empty or not, is one level; scalars are none.
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Random bytes, JSON text, or JSON text with one byte changed: material for
/// one base64url segment.
fn segment_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        json_object(3).prop_map(|m| Value::Object(m).to_string().into_bytes()),
        (json_object(2), any::<Index>(), any::<u8>()).prop_map(|(m, at, byte)| {
            let mut text = Value::Object(m).to_string().into_bytes();
            let i = at.index(text.len());
            text[i] = byte;
            text
        }),
        Just(HEADER.as_bytes().to_vec()),
    ]
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary strings, under default and arbitrary limits.
    #[test]
    fn jws_parse_never_panics_on_any_string(
        token in any::<String>(),
        max_token_bytes in 0usize..20_000,
        max_json_depth in 0usize..20,
    ) {
        let _ = jws::parse(&token, Limits::default());
        let _ = jws::parse(&token, Limits { max_token_bytes, max_json_depth });
    }

    /// Byte soup over the base64url alphabet, the dot and `=`.
    #[test]
    fn jws_parse_never_panics_on_base64url_soup(token in "[A-Za-z0-9_.=-]{0,600}") {
        let _ = jws::parse(&token, Limits::default());
    }

    /// Three to five segments whose contents decode to JSON-ish bytes.
    #[test]
    fn jws_parse_never_panics_on_segmented_tokens(
        segments in prop::collection::vec(segment_bytes(), 3..=5),
        max_json_depth in 0usize..6,
    ) {
        let token = segments.iter().map(|s| b64url(s)).collect::<Vec<_>>().join(".");
        if let Ok(parsed) = jws::parse(&token, Limits::default()) {
            prop_assert_eq!(segments.len(), 3);
            prop_assert_eq!(&parsed.signature, &segments[2]);
            let dot = token.rfind('.').unwrap();
            prop_assert_eq!(parsed.signing_input, &token.as_bytes()[..dot]);
        }
        let _ = jws::parse(&token, Limits { max_token_bytes: 16 * 1024, max_json_depth });
    }

    /// A payload with one member name twice, in the top-level object or in a
    /// nested one, written plainly or with escapes, is `malformed_token`.
    #[test]
    fn duplicate_payload_members_are_malformed(
        members in prop::collection::btree_map(member_name(), json_value(2), 1..8),
        which in any::<Index>(),
        position in any::<Index>(),
        dup_value in json_value(1),
        escaped in any::<bool>(),
        nest_under in prop::option::of("[a-z]{1,5}"),
        signature in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let names: Vec<&String> = members.keys().collect();
        let duplicated = names[which.index(names.len())].clone();
        let mut written: Vec<String> = members
            .iter()
            .map(|(name, value)| format!("{}:{value}", name_literal(name, false)))
            .collect();
        written.insert(
            position.index(written.len() + 1),
            format!("{}:{dup_value}", name_literal(&duplicated, escaped)),
        );
        let object = format!("{{{}}}", written.join(","));
        let payload = match nest_under {
            Some(outer) => format!(r#"{{"sub":"x",{}:[1,{object}]}}"#, name_literal(&outer, false)),
            None => object,
        };
        let token = format!("{}.{}.{}", b64url(HEADER.as_bytes()), b64url(payload.as_bytes()), b64url(&signature));
        let err = jws::parse(&token, Limits::default()).unwrap_err();
        prop_assert_eq!(err.code(), ErrorCode::MalformedToken, "{}", err);
        prop_assert!(err.to_string().contains("duplicate member"), "{}", err);
        let err = validate(&FIXTURE.uncached, &token).unwrap_err();
        prop_assert_eq!(err.code(), ErrorCode::MalformedToken, "{}", err);
    }

    /// On duplicate-free objects within the depth limit, the strict parser
    /// returns exactly what serde_json returns.
    #[test]
    fn parse_object_agrees_with_serde_json(object in json_object(5), style in style()) {
        let text = write_json(&Value::Object(object.clone()), style);
        let ours = json::parse_object(text.as_bytes(), 16);
        let theirs: Map<String, Value> = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(ours.as_ref(), Ok::<_, &JsonError>(&theirs));
        prop_assert_eq!(ours, Ok(object));
    }

    /// The claim reader and the map parser agree on every document: valid
    /// ones (claim names likely, duplicates possible, any style) and
    /// damaged ones (a byte changed, inserted or removed).
    #[test]
    fn claim_set_agrees_with_parse_object(
        object in prop::collection::vec((claim_name(), json_value(3)), 0..10),
        style in style(),
        damage in prop::option::of((any::<Index>(), 0u8..3, any::<u8>())),
        max_depth in 1usize..6,
    ) {
        let mut text = String::from("{");
        for (i, (name, value)) in object.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&name_literal(name, matches!(style, Style::EscapeAll)));
            text.push(':');
            text.push_str(&write_json(value, style));
        }
        text.push('}');
        let mut bytes = text.into_bytes();
        if let Some((at, how, byte)) = damage {
            let at = at.index(bytes.len() + 1);
            match how {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => {}
            }
        }
        let full = json::parse_object(&bytes, max_depth);
        let read = ClaimSet::parse(&bytes, max_depth);
        prop_assert_eq!(read.as_ref().err(), full.as_ref().err());
        if let (Ok(read), Ok(map)) = (read, full) {
            let viewed = ClaimSet::from_map(&map);
            for &claim in Claim::ALL {
                prop_assert_eq!(read.has(claim), viewed.has(claim));
                prop_assert_eq!(read.contains(claim), viewed.contains(claim));
                prop_assert_eq!(read.string(claim), viewed.string(claim));
                prop_assert_eq!(read.numeric_date(claim), viewed.numeric_date(claim));
                prop_assert_eq!(strings_of(&read, claim), strings_of(&viewed, claim));
            }
            prop_assert_eq!(audiences_of(&read), audiences_of(&viewed));
        }
    }

    /// Ok exactly when the nesting is within the limit; otherwise `TooDeep`
    /// naming the limit.
    #[test]
    fn parse_object_bounds_nesting(object in json_object(7), max_depth in 1usize..9) {
        let value = Value::Object(object);
        let text = value.to_string();
        let result = json::parse_object(text.as_bytes(), max_depth);
        if depth(&value) <= max_depth {
            prop_assert!(result.is_ok(), "{:?}", result);
        } else {
            prop_assert_eq!(result, Err(JsonError::TooDeep(max_depth)));
        }
    }

    /// Long chains of arrays and objects, far past the limit.
    #[test]
    fn parse_object_refuses_deep_chains(
        kinds in prop::collection::vec(any::<bool>(), 0..300),
        max_depth in 1usize..40,
    ) {
        let mut text = String::from("{\"a\":");
        for &object in &kinds {
            text.push_str(if object { "{\"a\":" } else { "[" });
        }
        text.push('1');
        for &object in kinds.iter().rev() {
            text.push(if object { '}' } else { ']' });
        }
        text.push('}');
        let result = json::parse_object(text.as_bytes(), max_depth);
        if kinds.len() < max_depth {
            prop_assert!(result.is_ok(), "{:?}", result);
        } else {
            prop_assert_eq!(result, Err(JsonError::TooDeep(max_depth)));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random roles, scopes, names and extra claims survive signing and
    /// validation unchanged.
    #[test]
    fn signed_tokens_round_trip(
        roles in prop::collection::vec("[A-Za-z][A-Za-z0-9._-]{0,24}", 0..5),
        scopes in prop::collection::vec("[A-Za-z][A-Za-z0-9._:/-]{0,24}", 0..5),
        name in any::<String>(),
        client in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        extra in prop::collection::btree_map("x_[a-z0-9]{1,8}", json_value(2), 0..4),
    ) {
        let f = &*FIXTURE;
        let role_refs: Vec<&str> = roles.iter().map(String::as_str).collect();
        let mut claims = claims::access_v2(&f.tenant, API, &client, &scopes.join(" "), &role_refs);
        claims::set(&mut claims, "name", json!(name));
        for (member, value) in &extra {
            claims::set(&mut claims, member, value.clone());
        }
        let token = f.key.sign(&claims);
        let result = validate(&f.uncached, &token);
        if roles.is_empty() && scopes.is_empty() {
            prop_assert_eq!(result.unwrap_err().code(), ErrorCode::NoPermissions);
            return Ok(());
        }
        if scopes.is_empty() {
            // A user token (name, oid != sub) with roles only.
            prop_assert_eq!(result.unwrap_err().code(), ErrorCode::DelegatedWithoutScope);
            return Ok(());
        }
        let principal = result.unwrap();
        let got_roles: Vec<&str> = principal.roles().iter().map(|r| r.as_str()).collect();
        let got_scopes: Vec<&str> = principal.scopes().iter().map(|s| s.as_str()).collect();
        prop_assert_eq!(got_roles, role_refs);
        prop_assert_eq!(got_scopes, scopes.iter().map(String::as_str).collect::<Vec<_>>());
        prop_assert_eq!(principal.name(), Some(name.as_str()));
        prop_assert_eq!(principal.client_id().map(|c| c.as_str()), Some(client.as_str()));
        prop_assert_eq!(principal.key_id().map(|k| k.as_str()), Some(f.key.kid()));
        for (member, value) in &extra {
            prop_assert_eq!(principal.claims().get(member), Some(value));
        }
        prop_assert_eq!(principal.claims(), claims.as_object().unwrap());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any single byte of the compact token changed (header, payload or
    /// signature segment), with the cache cold or holding the original.
    #[test]
    fn any_changed_token_byte_is_refused(
        segment in 0usize..3,
        at in any::<Index>(),
        mask in 1u8..=255,
    ) {
        let f = &*FIXTURE;
        let start: usize = f.token.split('.').take(segment).map(|s| s.len() + 1).sum();
        let len = f.token.split('.').nth(segment).unwrap().len();
        let mut bytes = f.token.clone().into_bytes();
        bytes[start + at.index(len)] ^= mask;
        let tampered = String::from_utf8_lossy(&bytes);
        prop_assert_ne!(&*tampered, f.token.as_str());
        for validator in [&f.uncached, &f.cached] {
            prop_assert!(validate(validator, &tampered).is_err());
        }
    }

    /// Any single byte of the decoded signature or payload changed and the
    /// segment re-encoded: a well-formed token whose signature is wrong.
    #[test]
    fn any_changed_decoded_byte_is_refused(
        payload in any::<bool>(),
        at in any::<Index>(),
        mask in 1u8..=255,
    ) {
        let f = &*FIXTURE;
        let mut parts: Vec<String> = f.token.split('.').map(str::to_owned).collect();
        let segment = if payload { 1 } else { 2 };
        let mut decoded = URL_SAFE_NO_PAD.decode(&parts[segment]).unwrap();
        let i = at.index(decoded.len());
        decoded[i] ^= mask;
        parts[segment] = b64url(&decoded);
        let tampered = parts.join(".");
        for validator in [&f.uncached, &f.cached] {
            let err = validate(validator, &tampered).unwrap_err();
            if !payload {
                prop_assert_eq!(err.code(), ErrorCode::InvalidSignature, "{}", err);
            }
        }
    }
}

#[test]
fn fixture_token_validates_with_and_without_cache() {
    let f = &*FIXTURE;
    for validator in [&f.uncached, &f.cached] {
        let principal = validate(validator, &f.token).unwrap();
        assert!(principal.has_role("Orders.Admin") && principal.has_scope("Orders.Write"));
    }
    assert!(f.cached.cache_stats().hits >= 1);
}

#[test]
fn depth_counts_like_the_parser() {
    let value: Value = serde_json::from_str(r#"{"a":[[1]],"b":{}}"#).unwrap();
    assert_eq!(depth(&value), 3);
    let mut escaped = String::new();
    escape_all("é😀", &mut escaped);
    assert_eq!(escaped, r#""\u00e9\ud83d\ude00""#);
}
