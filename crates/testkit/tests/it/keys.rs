//! Every kind of key signs tokens that verify against its public JWK alone.

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rolegate_testkit::{KeyKind, SigningKey, b64url, claims, jwks, sign_hs256, unsigned};
use serde_json::{Value, json};

fn decode(part: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(part).unwrap()
}

fn jwk_member(jwk: &Value, name: &str) -> Vec<u8> {
    decode(jwk[name].as_str().unwrap())
}

/// Splits a compact JWS into (signing input, header, payload, signature).
fn split(token: &str) -> (String, Value, Value, Vec<u8>) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    (
        format!("{}.{}", parts[0], parts[1]),
        serde_json::from_slice(&decode(parts[0])).unwrap(),
        serde_json::from_slice(&decode(parts[1])).unwrap(),
        decode(parts[2]),
    )
}

fn tenant() -> claims::Tenant {
    claims::Tenant::new("tid-1", "https://login.microsoftonline.com/tid-1/v2.0")
}

fn rsa_public(jwk: &Value) -> RsaPublicKeyComponents<Vec<u8>> {
    RsaPublicKeyComponents {
        n: jwk_member(jwk, "n"),
        e: jwk_member(jwk, "e"),
    }
}

#[test]
fn rs256_token_verifies_with_n_and_e_from_the_jwk() {
    let key = SigningKey::rsa_2048();
    let claims = claims::access_v2(&tenant(), "api://orders", "client", "Orders.Read", &[]);
    let (input, header, payload, sig) = split(&key.sign(&claims));

    assert_eq!(
        header,
        json!({ "typ": "JWT", "alg": "RS256", "kid": key.kid(), "x5t": key.kid() })
    );
    assert_eq!(payload, claims);

    let jwk = key.public_jwk();
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["x5t"], key.kid());
    assert!(jwk.get("alg").is_none() && jwk.get("d").is_none());
    assert_eq!(jwk_member(&jwk, "n").len(), 256);
    assert_eq!(jwk_member(&jwk, "e"), [1, 0, 1]);
    rsa_public(&jwk)
        .verify(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            input.as_bytes(),
            &sig,
        )
        .unwrap();
}

#[test]
fn rsa_algorithms_verify() {
    let key = SigningKey::rsa_2048();
    let cases: [(&str, &signature::RsaParameters); 6] = [
        ("RS256", &signature::RSA_PKCS1_2048_8192_SHA256),
        ("RS384", &signature::RSA_PKCS1_2048_8192_SHA384),
        ("RS512", &signature::RSA_PKCS1_2048_8192_SHA512),
        ("PS256", &signature::RSA_PSS_2048_8192_SHA256),
        ("PS384", &signature::RSA_PSS_2048_8192_SHA384),
        ("PS512", &signature::RSA_PSS_2048_8192_SHA512),
    ];
    for (alg, params) in cases {
        let key = key.clone().with_alg(alg);
        let (input, header, _, sig) = split(&key.sign(&json!({ "sub": "x" })));
        assert_eq!(header["alg"], alg);
        rsa_public(&key.public_jwk())
            .verify(params, input.as_bytes(), &sig)
            .unwrap_or_else(|_| panic!("{alg} verifies"));
    }
}

#[test]
fn weak_rsa_jwk_has_the_requested_modulus_size() {
    let jwk = rolegate_testkit::weak_rsa_jwk("weak", 1024);
    assert_eq!(jwk_member(&jwk, "n").len(), 128);
    assert_eq!(jwk["kid"], "weak");
}

#[test]
fn es256_and_es384_tokens_verify_as_fixed_length_r_s() {
    let cases = [
        (
            KeyKind::EcP256,
            "ES256",
            "P-256",
            32,
            &signature::ECDSA_P256_SHA256_FIXED,
        ),
        (
            KeyKind::EcP384,
            "ES384",
            "P-384",
            48,
            &signature::ECDSA_P384_SHA384_FIXED,
        ),
    ];
    for (kind, alg, crv, len, verification) in cases {
        let key = SigningKey::generate(kind);
        let (input, header, _, sig) = split(&key.sign(&json!({ "sub": "x" })));
        assert_eq!(
            header,
            json!({ "typ": "JWT", "alg": alg, "kid": key.kid() })
        );
        assert_eq!(sig.len(), 2 * len);

        let jwk = key.public_jwk();
        assert_eq!((&jwk["kty"], &jwk["crv"]), (&json!("EC"), &json!(crv)));
        assert!(jwk.get("d").is_none());
        let point = [vec![4], jwk_member(&jwk, "x"), jwk_member(&jwk, "y")].concat();
        assert_eq!(point.len(), 1 + 2 * len);
        UnparsedPublicKey::new(verification, &point)
            .verify(input.as_bytes(), &sig)
            .unwrap();
    }
}

#[test]
fn eddsa_token_verifies() {
    let key = SigningKey::generate(KeyKind::Ed25519);
    assert_eq!(key.alg(), "EdDSA");
    let (input, _, _, sig) = split(&key.sign(&json!({ "sub": "x" })));
    let jwk = key.public_jwk();
    assert_eq!(
        (&jwk["kty"], &jwk["crv"]),
        (&json!("OKP"), &json!("Ed25519"))
    );
    UnparsedPublicKey::new(&signature::ED25519, jwk_member(&jwk, "x"))
        .verify(input.as_bytes(), &sig)
        .unwrap();
}

#[test]
fn pkcs8_round_trips_through_aws_lc() {
    let rsa = SigningKey::rsa_2048();
    aws_lc_rs::rsa::KeyPair::from_pkcs8(&rsa.pkcs8_der()).unwrap();
    let ec = SigningKey::generate(KeyKind::EcP256);
    signature::EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &ec.pkcs8_der(),
    )
    .unwrap();
    let ed = SigningKey::generate(KeyKind::Ed25519);
    signature::Ed25519KeyPair::from_pkcs8(&ed.pkcs8_der()).unwrap();
}

#[test]
fn raw_and_custom_headers_are_signed_as_given() {
    let key = SigningKey::generate(KeyKind::EcP256).with_kid("k1");
    assert_eq!(key.kid(), "k1");
    let header = r#"{"alg":"ES256","alg":"none","kid":"k1"}"#;
    let token = key.sign_raw(header, r#"{"sub":"a","sub":"b"}"#);
    let first = token.split('.').next().unwrap();
    assert_eq!(first, b64url(header.as_bytes()));

    let (input, header, _, sig) =
        split(&key.sign_with_header(&json!({ "alg": "RS256" }), &json!({})));
    assert_eq!(header, json!({ "alg": "RS256" }));
    let jwk = key.public_jwk();
    let point = [vec![4], jwk_member(&jwk, "x"), jwk_member(&jwk, "y")].concat();
    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &point)
        .verify(input.as_bytes(), &sig)
        .unwrap();
}

#[test]
fn generated_kids_look_like_thumbprints() {
    let a = SigningKey::generate(KeyKind::Ed25519);
    let b = SigningKey::generate(KeyKind::Ed25519);
    assert_ne!(a.kid(), b.kid());
    assert_eq!(decode(a.kid()).len(), 20);
    let set = jwks(&[&a, &b]);
    assert_eq!(set["keys"][1]["kid"], b.kid());
}

#[test]
#[should_panic(expected = "not RS256")]
fn with_alg_refuses_an_algorithm_the_key_cannot_sign() {
    let _ = SigningKey::generate(KeyKind::EcP256).with_alg("RS256");
}

#[test]
fn attack_tokens_have_the_expected_shape() {
    assert_eq!(
        unsigned(r#"{"alg":"none"}"#, r#"{"sub":"x"}"#),
        format!(
            "{}.{}.",
            b64url(br#"{"alg":"none"}"#),
            b64url(br#"{"sub":"x"}"#)
        )
    );
    let token = sign_hs256(b"secret", r#"{"alg":"HS256"}"#, "{}");
    let (input, _, _, sig) = split(&token);
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"secret");
    aws_lc_rs::hmac::verify(&key, input.as_bytes(), &sig).unwrap();
}
