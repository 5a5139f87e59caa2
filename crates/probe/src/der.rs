//! The few DER and PEM encodings the forgeries need: an RSA public key as
//! PKCS#1 `RSAPublicKey` and as `SubjectPublicKeyInfo`, and PEM armour.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// PKCS#1 `RSAPublicKey` (RFC 8017 §A.1.1) of a modulus and exponent given
/// big-endian.
pub(crate) fn rsa_public_key(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut body = integer(n);
    body.extend(integer(e));
    tagged(SEQUENCE, &body)
}

/// `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7) around a PKCS#1 key.
pub(crate) fn subject_public_key_info(pkcs1: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(pkcs1);
    let mut body = RSA_ALGORITHM_IDENTIFIER.to_vec();
    body.extend(tagged(BIT_STRING, &bits));
    tagged(SEQUENCE, &body)
}

/// `n` and `e` of a PKCS#1 `RSAPublicKey`, without leading zeros.
pub(crate) fn rsa_public_key_parts(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (SEQUENCE, body, _) = read(der)? else {
        return None;
    };
    let (INTEGER, n, rest) = read(body)? else {
        return None;
    };
    let (INTEGER, e, _) = read(rest)? else {
        return None;
    };
    Some((strip_zeros(n), strip_zeros(e)))
}

/// PEM armour (RFC 7468): 64-character lines and a final newline, as
/// OpenSSL writes it.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let encoded = STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

fn integer(value: &[u8]) -> Vec<u8> {
    let value = strip_zeros(value);
    let mut content = Vec::with_capacity(value.len() + 1);
    if value.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(value);
    tagged(INTEGER, &content)
}

fn tagged(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// One TLV: (tag, contents, rest).
fn read(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (bytes, after) = rest.split_at_checked(count)?;
        rest = after;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    let (content, rest) = rest.split_at_checked(len)?;
    Some((tag, content, rest))
}

fn strip_zeros(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(value.len().saturating_sub(1));
    value.get(start..).unwrap_or(value)
}

const BIT_STRING: u8 = 0x03;
const INTEGER: u8 = 0x02;
const SEQUENCE: u8 = 0x30;

/// `SEQUENCE { OID rsaEncryption (1.2.840.113549.1.1.1), NULL }`.
const RSA_ALGORITHM_IDENTIFIER: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_key_round_trips_and_matches_aws_lc() {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        use aws_lc_rs::signature::KeyPair as _;
        let pkcs1 = pair.public_key().as_ref().to_vec();
        let (n, e) = rsa_public_key_parts(&pkcs1).unwrap();
        assert_eq!(rsa_public_key(n, e), pkcs1);
        let spki = subject_public_key_info(&pkcs1);
        use aws_lc_rs::encoding::AsDer as _;
        let parsed = aws_lc_rs::rsa::PublicKey::from_der(&spki).unwrap();
        let expected: aws_lc_rs::encoding::PublicKeyX509Der<'static> = parsed.as_der().unwrap();
        assert_eq!(expected.as_ref(), spki.as_slice());
    }

    #[test]
    fn pem_lines_are_64_characters() {
        let text = pem("PUBLIC KEY", &[7u8; 100]);
        assert!(text.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(text.ends_with("-----END PUBLIC KEY-----\n"));
        assert!(text.lines().all(|l| l.len() <= 64));
    }
}
