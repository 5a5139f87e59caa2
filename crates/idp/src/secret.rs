//! Password and client-secret hashing (argon2id, PHC strings).

use aws_lc_rs::digest;

/// Hashes a password or client secret with argon2id and a random salt.
pub fn hash(secret: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| "no system randomness".to_owned())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `phc` is an argon2 PHC string (`$argon2id$v=19$m=…$salt$hash`).
pub fn is_hash(phc: &str) -> bool {
    argon2::password_hash::PasswordHash::new(phc)
        .is_ok_and(|h| h.algorithm.as_str().starts_with("argon2") && h.hash.is_some())
}

/// Verifies `secret` against an argon2 PHC string.
pub fn verify(phc: &str, secret: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc)
        .map(|parsed| {
            argon2::Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Runs argon2 verifications one at a time per spare core, off the async
/// workers, with a bounded queue: however many wrong secrets or passwords
/// arrive at once, the endpoints keep answering (requests whose secret is
/// already cached never wait here), and past the queue bound a request is
/// refused at once instead of piling up.
#[derive(Debug)]
pub struct HashPool {
    /// One permit per verification allowed to run at once.
    running: std::sync::Arc<tokio::sync::Semaphore>,
    /// One permit per verification allowed in the pool (running or
    /// waiting); taken without waiting, so a full queue answers at once.
    admitted: tokio::sync::Semaphore,
}

/// The hashing queue is full: answer "try again later".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many password or secret verifications are waiting")]
pub struct Busy;

impl HashPool {
    /// A pool running `parallel` verifications at once with at most
    /// `max_waiting` queued.
    pub fn new(parallel: usize, max_waiting: usize) -> Self {
        let parallel = parallel.max(1);
        Self {
            running: std::sync::Arc::new(tokio::sync::Semaphore::new(parallel)),
            admitted: tokio::sync::Semaphore::new(parallel.saturating_add(max_waiting)),
        }
    }

    /// One verification at a time per core but one (at least one), 64 queued.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::new(cores.saturating_sub(1).max(1), 64)
    }

    /// Verifies `secret` against any of `phcs` on the blocking pool.
    ///
    /// Both permits are released by their guards: a caller that goes away
    /// while queued gives its place back, and a verification that is already
    /// running keeps its running permit until argon2 returns, even if its
    /// caller left (the work is still being done).
    pub async fn verify_any(&self, phcs: Vec<String>, secret: &str) -> Result<bool, Busy> {
        if phcs.is_empty() {
            return Ok(false);
        }
        let Ok(_admitted) = self.admitted.try_acquire() else {
            return Err(Busy);
        };
        let running = std::sync::Arc::clone(&self.running)
            .acquire_owned()
            .await
            .map_err(|_| Busy)?;
        let secret = secret.to_owned();
        tokio::task::spawn_blocking(move || {
            let _running = running;
            phcs.iter().any(|phc| verify(phc, &secret))
        })
        .await
        .map_err(|_| Busy)
    }
}

/// SHA-256 of `client_id \0 secret`, for the verified-secret cache.
pub(crate) fn cache_key(client_id: &str, secret: &str) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(client_id.as_bytes());
    ctx.update(&[0]);
    ctx.update(secret.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// SHA-256 of a high-entropy value (codes, refresh tokens): what the store keeps.
pub fn digest(value: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, value.as_bytes()).as_ref());
    out
}

/// `n` random bytes as base64url: codes, refresh tokens, session ids.
pub fn random_token(n: usize) -> String {
    use base64::Engine as _;
    let mut bytes = vec![0u8; n];
    // The system RNG failing is unrecoverable; fall back to a zeroed buffer
    // would be insecure, so abort loudly instead.
    #[allow(clippy::expect_used)] // invariant: the OS random source is available
    aws_lc_rs::rand::fill(&mut bytes).expect("system random source");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A random GUID-shaped id (opaque identifiers: `sid`, trace ids). Aborts
/// when the OS random source fails, like [`random_token`]: an all-zero id
/// would make every session look the same.
pub fn guid() -> String {
    let mut b = [0u8; 16];
    #[allow(clippy::expect_used)] // invariant: the OS random source is available
    aws_lc_rs::rand::fill(&mut b).expect("system random source");
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let part = |range: std::ops::Range<usize>| hex.get(range).unwrap_or_default().to_owned();
    format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

/// HMAC-SHA256 of `message` under `key`, base64url.
pub fn mac(key: &[u8], message: &[u8]) -> String {
    use base64::Engine as _;
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(aws_lc_rs::hmac::sign(&key, message))
}

/// Checks `tag` against HMAC-SHA256 of `message` in constant time.
pub fn mac_ok(key: &[u8], message: &[u8], tag: &str) -> bool {
    use base64::Engine as _;
    let Ok(tag) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(tag) else {
        return false;
    };
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    aws_lc_rs::hmac::verify(&key, message, &tag).is_ok()
}

/// Whether `text` is a GUID (`8-4-4-4-12` hex digits).
pub fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(&h, "correct horse"));
        assert!(!verify(&h, "correct horsE"));
        assert!(!verify("not a phc", "x"));
    }

    #[test]
    fn guids_and_macs() {
        let a = guid();
        assert!(is_guid(&a), "{a}");
        assert_ne!(a, guid());
        assert!(!is_guid("api://8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c"));
        let tag = mac(b"key", b"message");
        assert!(mac_ok(b"key", b"message", &tag));
        assert!(!mac_ok(b"key", b"messagE", &tag));
        assert!(!mac_ok(b"other", b"message", &tag));
        assert!(!mac_ok(b"key", b"message", "not base64!"));
    }

    #[tokio::test]
    async fn the_hash_pool_refuses_past_its_queue() {
        let h = hash("s3cret").unwrap();
        let pool = std::sync::Arc::new(HashPool::new(1, 2));
        assert_eq!(pool.verify_any(vec![h.clone()], "s3cret").await, Ok(true));
        assert_eq!(pool.verify_any(vec![h.clone()], "wrong").await, Ok(false));
        assert_eq!(pool.verify_any(Vec::new(), "x").await, Ok(false));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (pool, h) = (std::sync::Arc::clone(&pool), h.clone());
                tokio::spawn(async move { pool.verify_any(vec![h], "wrong").await })
            })
            .collect();
        let mut busy = 0;
        for t in tasks {
            if t.await.unwrap() == Err(Busy) {
                busy += 1;
            }
        }
        assert!(
            busy > 0,
            "a queue of 2 must refuse some of 12 concurrent verifications"
        );
    }
}
