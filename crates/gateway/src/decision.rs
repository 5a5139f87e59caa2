//! The judgement for one request, made by the library: the bearer token
//! ([`rolegate_axum::bearer`]), the [`Validator`], the route's
//! [`Requirement`](rolegate_token::requirement::Requirement); and the
//! caller's identity as `X-Rolegate-*` headers.

use http::{HeaderMap, HeaderName, HeaderValue};
use rolegate_axum::AuthError;
use rolegate_axum::bearer;
use rolegate_token::{Principal, Validator};

use crate::route::Route;

/// Decides whether the request described by `headers` may pass `route`:
/// `Ok(Some(caller))` with a valid token that meets the route's
/// requirement, `Ok(None)` for an anonymous route without a token, or the
/// library's refusal (400, 401, 403, or 503 when keys are unavailable).
///
/// # Security
/// A token sent to an anonymous route is still validated: an invalid one
/// is refused rather than silently ignored.
pub async fn decide(
    route: &Route,
    validator: &Validator,
    headers: &HeaderMap,
) -> Result<Option<Principal>, AuthError> {
    match bearer::token(headers)? {
        None if route.anonymous => Ok(None),
        None => Err(AuthError::missing_token()),
        Some(token) => {
            let caller = validator.validate(token).await?;
            if let Some(requirement) = &route.requirement {
                requirement.check(&caller)?;
            }
            Ok(Some(caller))
        }
    }
}

/// Removes every `X-Rolegate-*` header: only the gateway may set them.
pub fn strip_identity(headers: &mut HeaderMap) {
    let spoofed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with(IDENTITY_PREFIX))
        .cloned()
        .collect();
    for name in spoofed {
        headers.remove(&name);
    }
}

/// Adds the caller's identity headers. Claims that are absent, or hold
/// characters a header cannot carry, are left out.
pub fn insert_identity(headers: &mut HeaderMap, caller: &Principal) {
    let caller_kind = if caller.is_app_only() { "app" } else { "user" };
    headers.insert(CALLER, HeaderValue::from_static(caller_kind));
    // Borrowed claims go straight into header values (one copy each); only
    // the role and scope lists are joined into a new string.
    let single: [(HeaderName, Option<&str>); 6] = [
        (OID, caller.object_id()),
        (TID, caller.tenant_id().map(|t| t.as_str())),
        (SUB, caller.subject()),
        (CLIENT_ID, caller.client_id().map(|c| c.as_str())),
        (NAME, caller.name()),
        (PREFERRED_USERNAME, caller.preferred_username()),
    ];
    for (name, value) in single {
        if let Some(value) = value.and_then(header_value) {
            headers.insert(name, value);
        }
    }
    if let Some(value) = joined(caller.roles().iter().map(|r| r.as_str()), ",") {
        headers.insert(ROLES, value);
    }
    if let Some(value) = joined(caller.scopes().iter().map(|s| s.as_str()), " ") {
        headers.insert(SCOPES, value);
    }
}

/// The identity headers of the last few callers, so that a caller's
/// repeated requests reuse their header values (reference-counted, no copy)
/// instead of building them again from the claims.
///
/// Keyed by the [`Principal`] itself: equal principals (the same validated
/// token, which the verified-token cache hands out as the same shared
/// value) have equal headers. Bounded: [`IDENTITY_CACHE`] entries,
/// replaced round-robin.
#[derive(Default)]
pub(crate) struct Identities {
    entries: std::sync::Mutex<IdentityEntries>,
}

/// A caller's identity headers, built once.
pub(crate) type IdentityHeaders = std::sync::Arc<[(HeaderName, HeaderValue)]>;

#[derive(Default)]
struct IdentityEntries {
    entries: Vec<(Principal, IdentityHeaders)>,
    next: usize,
}

impl Identities {
    /// Adds `caller`'s identity headers to `headers`, as
    /// [`insert_identity`] does.
    pub(crate) fn insert(&self, headers: &mut HeaderMap, caller: &Principal) {
        for (name, value) in self.get(caller).iter() {
            headers.insert(name.clone(), value.clone());
        }
    }

    /// `caller`'s identity headers, as [`insert_identity`] makes them.
    pub(crate) fn get(&self, caller: &Principal) -> IdentityHeaders {
        let cached = {
            let entries = lock(&self.entries);
            entries
                .entries
                .iter()
                .find(|(principal, _)| principal == caller)
                .map(|(_, values)| std::sync::Arc::clone(values))
        };
        cached.unwrap_or_else(|| {
            let mut built = HeaderMap::new();
            insert_identity(&mut built, caller);
            let values: IdentityHeaders = built
                .into_iter()
                .filter_map(|(name, value)| Some((name?, value)))
                .collect();
            let mut entries = lock(&self.entries);
            let slot = entries.next;
            entries.next = (slot + 1) % IDENTITY_CACHE;
            let entry = (caller.clone(), std::sync::Arc::clone(&values));
            match entries.entries.get_mut(slot) {
                Some(old) => *old = entry,
                None => entries.entries.push(entry),
            }
            values
        })
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How many callers' identity headers [`Identities`] keeps.
const IDENTITY_CACHE: usize = 16;

/// `items` joined by `separator` as a header value; `None` when empty or
/// not representable.
fn joined<'a>(items: impl Iterator<Item = &'a str>, separator: &str) -> Option<HeaderValue> {
    let mut text = String::new();
    for item in items {
        if !text.is_empty() {
            text.push_str(separator);
        }
        text.push_str(item);
    }
    if text.is_empty() {
        return None;
    }
    header_value(&text)
}

/// The request id: the caller's `X-Request-Id` when it is 1 to 64 visible
/// ASCII characters, else 16 hexadecimal digits unique to this process's
/// requests and unpredictable across processes.
///
/// Ids identify, they grant nothing: they come from a counter mixed with a
/// random per-process seed (one OS RNG read per process), not from the OS
/// RNG per request, which cost more than the rest of the id handling.
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    let mut values = headers.get_all(X_REQUEST_ID).iter();
    if let (Some(value), None) = (values.next(), values.next())
        && value.len() <= 64
        && !value.is_empty()
        && value.as_bytes().iter().all(u8::is_ascii_graphic)
    {
        return value.clone();
    }
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // splitmix64's finalizer is a bijection: distinct counters, distinct ids.
    let mut x = n ^ *SEED.get_or_init(seed);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    let mut hex = [0u8; 16];
    for (i, digit) in hex.iter_mut().enumerate() {
        let nibble = (x >> (60 - 4 * i)) & 0xf;
        *digit = b"0123456789abcdef"
            .get(usize::try_from(nibble).unwrap_or(0))
            .copied()
            .unwrap_or(b'0');
    }
    HeaderValue::from_bytes(&hex).unwrap_or(HeaderValue::from_static("0"))
}

/// The per-process seed of request ids (a fixed value if the OS RNG fails:
/// ids stay unique, only predictable).
fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        return 0x5eed;
    }
    u64::from_le_bytes(bytes)
}

static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// UTF-8 text as a header value, without control characters (names may
/// be non-ASCII; HTTP carries them as opaque octets).
fn header_value(text: &str) -> Option<HeaderValue> {
    if text.chars().any(char::is_control) {
        return None;
    }
    HeaderValue::from_bytes(text.as_bytes()).ok()
}

/// Every identity header starts with this (lower case, as `http` stores
/// names).
pub const IDENTITY_PREFIX: &str = "x-rolegate-";
/// `user` or `app`.
pub const CALLER: HeaderName = HeaderName::from_static("x-rolegate-caller");
/// `oid`.
pub const OID: HeaderName = HeaderName::from_static("x-rolegate-oid");
/// `tid`.
pub const TID: HeaderName = HeaderName::from_static("x-rolegate-tid");
/// `sub`.
pub const SUB: HeaderName = HeaderName::from_static("x-rolegate-sub");
/// `azp` / `appid`.
pub const CLIENT_ID: HeaderName = HeaderName::from_static("x-rolegate-client-id");
/// `roles`, comma-separated.
pub const ROLES: HeaderName = HeaderName::from_static("x-rolegate-roles");
/// `scp`, space-separated.
pub const SCOPES: HeaderName = HeaderName::from_static("x-rolegate-scopes");
/// `name`.
pub const NAME: HeaderName = HeaderName::from_static("x-rolegate-name");
/// `preferred_username` (or v1 `upn`).
pub const PREFERRED_USERNAME: HeaderName = HeaderName::from_static("x-rolegate-preferred-username");
/// The request id, forwarded upstream and returned to the client.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_every_identity_header() {
        let mut headers = HeaderMap::new();
        headers.insert("x-rolegate-roles", HeaderValue::from_static("Admin"));
        headers.append("X-Rolegate-Oid", HeaderValue::from_static("x"));
        headers.append("x-rolegate-oid", HeaderValue::from_static("y"));
        headers.insert("x-rolegatefoo", HeaderValue::from_static("kept"));
        strip_identity(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key("x-rolegatefoo"));
    }

    #[test]
    fn request_ids() {
        let mut headers = HeaderMap::new();
        headers.insert(X_REQUEST_ID, HeaderValue::from_static("abc-1"));
        assert_eq!(request_id(&headers), "abc-1");
        headers.insert(X_REQUEST_ID, HeaderValue::from_static("has space"));
        assert_eq!(request_id(&headers).len(), 16);
        assert_ne!(request_id(&HeaderMap::new()), request_id(&HeaderMap::new()));
        let ids: std::collections::HashSet<_> =
            (0..10_000).map(|_| request_id(&HeaderMap::new())).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(
            ids.iter()
                .all(|id| id.len() == 16 && id.as_bytes().iter().all(u8::is_ascii_hexdigit))
        );
    }
}
