//! Signing keys sealed at rest: AES-256-GCM under a key-encryption key
//! (KEK) that never enters the database.
//!
//! A KEK is 32 random bytes, written as one line of standard base64 (RFC
//! 4648 §4, with padding): 44 characters. Each private key is sealed with a
//! fresh random 96-bit nonce and its key id as associated data, so a sealed
//! key copied onto another key's row does not open. The sealed form is
//! `nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`.
//!
//! ```
//! use rolegate_idp::store::key_encryption::{KeyEncryptionKey, generate_key_encryption_key};
//!
//! let line = generate_key_encryption_key().unwrap();
//! let kek = KeyEncryptionKey::from_base64(&line).unwrap();
//! let sealed = kek.seal("kid-1", b"PKCS#8").unwrap();
//! assert_eq!(kek.open("kid-1", &sealed).unwrap(), b"PKCS#8");
//! assert!(kek.open("kid-2", &sealed).is_err());
//! ```
//!
//! # Security
//!
//! Whoever holds the KEK and a copy of the database holds the signing keys.
//! `Debug` never shows the KEK, and nothing here logs.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The key that seals signing keys in a PostgreSQL store.
///
/// Cheap to clone (the key is shared).
#[derive(Clone)]
pub struct KeyEncryptionKey {
    key: Arc<RandomizedNonceKey>,
}

/// Why a KEK was refused. The messages never include the text given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyEncryptionKeyError {
    /// Not one line of standard base64.
    #[error(
        "the key-encryption key is not standard base64 (one line of 44 characters, e.g. from `rolegate idp gen-kek`)"
    )]
    NotBase64,
    /// The OS random source failed.
    #[error("the OS random source failed")]
    Random,
    /// Decoded, but not to 32 bytes.
    #[error("the key-encryption key decodes to {found} bytes; it must be {expected}")]
    WrongLength {
        /// How many bytes were found.
        found: usize,
        /// [`KEY_ENCRYPTION_KEY_LEN`].
        expected: usize,
    },
}

/// A sealed key did not open: another KEK sealed it, or it was altered or
/// moved to another key id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the key-encryption key cannot open this sealed key")]
pub struct UnsealError;

impl KeyEncryptionKey {
    /// Parses one line of standard base64 (surrounding whitespace, such as
    /// a file's final newline, is ignored) into a 32-byte KEK.
    pub fn from_base64(text: &str) -> Result<KeyEncryptionKey, KeyEncryptionKeyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| KeyEncryptionKeyError::NotBase64)?;
        if bytes.len() != KEY_ENCRYPTION_KEY_LEN {
            return Err(KeyEncryptionKeyError::WrongLength {
                found: bytes.len(),
                expected: KEY_ENCRYPTION_KEY_LEN,
            });
        }
        let key = RandomizedNonceKey::new(&AES_256_GCM, &bytes).map_err(|_| {
            KeyEncryptionKeyError::WrongLength {
                found: bytes.len(),
                expected: KEY_ENCRYPTION_KEY_LEN,
            }
        })?;
        Ok(KeyEncryptionKey { key: Arc::new(key) })
    }

    /// Seals `plaintext` for the key `kid`: a fresh random nonce, `kid` as
    /// associated data.
    pub fn seal(&self, kid: &str, plaintext: &[u8]) -> Result<Vec<u8>, KeyEncryptionKeyError> {
        let mut in_out = plaintext.to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(kid.as_bytes()), &mut in_out)
            .map_err(|_| KeyEncryptionKeyError::Random)?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + in_out.len());
        sealed.extend_from_slice(nonce.as_ref());
        sealed.append(&mut in_out);
        Ok(sealed)
    }

    /// Opens what [`seal`](Self::seal) made for `kid`.
    pub fn open(&self, kid: &str, sealed: &[u8]) -> Result<Vec<u8>, UnsealError> {
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN).ok_or(UnsealError)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| UnsealError)?;
        let mut in_out = ciphertext.to_vec();
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut in_out)
            .map_err(|_| UnsealError)?;
        Ok(plaintext.to_vec())
    }
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyEncryptionKey([redacted])")
    }
}

/// A fresh KEK from the OS random source, as one line of standard base64
/// (what `rolegate idp gen-kek` prints).
pub fn generate_key_encryption_key() -> Result<String, KeyEncryptionKeyError> {
    let mut bytes = [0u8; KEY_ENCRYPTION_KEY_LEN];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| KeyEncryptionKeyError::Random)?;
    Ok(STANDARD.encode(bytes))
}

/// A KEK's length in bytes (AES-256).
pub const KEY_ENCRYPTION_KEY_LEN: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    fn kek() -> KeyEncryptionKey {
        KeyEncryptionKey::from_base64(&generate_key_encryption_key().unwrap()).unwrap()
    }

    #[test]
    fn sealed_keys_open_only_with_their_kek_and_kid() {
        let (kek, other) = (kek(), kek());
        let sealed = kek.seal("kid", b"private key").unwrap();
        assert_eq!(sealed.len(), NONCE_LEN + b"private key".len() + 16);
        assert!(
            !sealed
                .windows(b"private key".len())
                .any(|w| w == b"private key")
        );
        assert_eq!(kek.open("kid", &sealed).unwrap(), b"private key");
        assert_eq!(other.open("kid", &sealed), Err(UnsealError));
        assert_eq!(kek.open("other kid", &sealed), Err(UnsealError));
        let mut altered = sealed.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert_eq!(kek.open("kid", &altered), Err(UnsealError));
        assert_eq!(kek.open("kid", &sealed[..NONCE_LEN]), Err(UnsealError));
        assert_eq!(kek.open("kid", &[]), Err(UnsealError));
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let kek = kek();
        let (a, b) = (kek.seal("k", b"x").unwrap(), kek.seal("k", b"x").unwrap());
        assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN]);
    }

    #[test]
    fn a_kek_is_one_line_of_standard_base64_for_32_bytes() {
        let line = generate_key_encryption_key().unwrap();
        assert_eq!(line.len(), 44);
        assert!(KeyEncryptionKey::from_base64(&format!("{line}\n")).is_ok());
        assert!(KeyEncryptionKey::from_base64(&format!("  {line}\r\n")).is_ok());
        assert_eq!(
            KeyEncryptionKey::from_base64("not base64!").unwrap_err(),
            KeyEncryptionKeyError::NotBase64
        );
        // base64url is another alphabet.
        let url_safe = base64::engine::general_purpose::URL_SAFE.encode([0xfb; 32]);
        assert_eq!(
            KeyEncryptionKey::from_base64(&url_safe).unwrap_err(),
            KeyEncryptionKeyError::NotBase64
        );
        assert_eq!(
            KeyEncryptionKey::from_base64(&STANDARD.encode([7; 16])).unwrap_err(),
            KeyEncryptionKeyError::WrongLength {
                found: 16,
                expected: 32
            }
        );
        assert_eq!(
            KeyEncryptionKey::from_base64("").unwrap_err(),
            KeyEncryptionKeyError::WrongLength {
                found: 0,
                expected: 32
            }
        );
    }

    #[test]
    fn debug_and_errors_never_show_the_key() {
        let line = generate_key_encryption_key().unwrap();
        let kek = KeyEncryptionKey::from_base64(&line).unwrap();
        assert_eq!(format!("{kek:?}"), "KeyEncryptionKey([redacted])");
        let short = &line[..40];
        let message = KeyEncryptionKey::from_base64(short)
            .unwrap_err()
            .to_string();
        assert!(!message.contains(short), "{message}");
    }
}
