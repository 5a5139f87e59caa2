//! The little DER (X.690) this crate needs: reading the modulus and exponent
//! out of a PKCS#1 `RSAPublicKey`.

/// The parts of a PKCS#1 `RSAPublicKey` (RFC 8017 §A.1.1), big-endian with
/// no leading zero bytes, ready for a JWK's `n` and `e`.
pub(crate) fn rsa_public_key(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (tag, body, _) = read(der);
    assert_eq!(tag, SEQUENCE, "RSAPublicKey is a SEQUENCE");
    let (tag, n, rest) = read(body);
    assert_eq!(tag, INTEGER, "modulus is an INTEGER");
    let (tag, e, _) = read(rest);
    assert_eq!(tag, INTEGER, "publicExponent is an INTEGER");
    (strip_zeros(n).to_vec(), strip_zeros(e).to_vec())
}

/// Splits one TLV off the front of `input`: (tag, content, rest).
fn read(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = input[0];
    let (len, header) = match input[1] {
        short if short < 0x80 => (usize::from(short), 2),
        long => {
            let count = usize::from(long & 0x7f);
            let len = input[2..2 + count]
                .iter()
                .fold(0usize, |acc, byte| (acc << 8) | usize::from(*byte));
            (len, 2 + count)
        }
    };
    let (content, rest) = input[header..].split_at(len);
    (tag, content, rest)
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|byte| *byte != 0)
        .unwrap_or(bytes.len());
    &bytes[start..]
}

const INTEGER: u8 = 0x02;
const SEQUENCE: u8 = 0x30;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_long_lengths() {
        let mut encoded = vec![SEQUENCE, 0x82, 0x01, 0x2c];
        encoded.extend(vec![7u8; 300]);
        let (tag, content, rest) = read(&encoded);
        assert_eq!((tag, content.len(), rest.len()), (SEQUENCE, 300, 0));
    }
}
