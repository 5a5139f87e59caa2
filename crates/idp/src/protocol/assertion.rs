//! Client assertions: confidential clients authenticating with a certificate
//! (`private_key_jwt`; RFC 7521 §4.2, RFC 7523 §2.2 and §3; Entra's
//! certificate credentials, spec §1.5).
//!
//! The client signs a JWT with the private key of a certificate registered
//! on its application (`key_credentials`) and sends it as
//! `client_assertion`, with `client_assertion_type` =
//! [`CLIENT_ASSERTION_TYPE`]. [`verify`] checks it in this order, so a
//! caller without the key learns nothing about the claims:
//!
//! 1. a compact JWS (strictly parsed), `alg` `RS256` or `PS256`;
//! 2. the certificate named by `x5t#S256`, else `x5t`, else `kid` (either
//!    thumbprint with either algorithm) is one of *this* app's, and valid
//!    now;
//! 3. the signature verifies with it;
//! 4. `iss` = `sub` = the client id; `aud` = this provider's token endpoint
//!    for the tenant of the request (v2 `/oauth2/v2.0/token` or v1
//!    `/oauth2/token`, by tenant id or domain, any query ignored);
//! 5. `exp` is present and not past, `nbf` not in the future (each with
//!    [`CLOCK_SKEW`]), and the assertion lives at most [`MAX_LIFETIME`];
//! 6. `jti` is present.
//!
//! [`authenticate`] then spends the `jti`.
//!
//! # Security: one `jti`, one assertion
//!
//! MSAL (msal-node's `ClientAssertion`, MSAL Python's certificate
//! credential) signs an assertion, caches it for about ten minutes and
//! re-sends the *identical* assertion with every token request in that
//! time; Entra accepts that. So a `jti` is bound to the first assertion that
//! carried it (the SHA-256 of the whole compact JWS), until that assertion's
//! `exp` plus the skew: the identical assertion is accepted again, any
//! other assertion with that `jti` is refused (AADSTS7000274). Replaying a
//! captured assertion therefore works only within its own lifetime, which
//! is capped at [`MAX_LIFETIME`], and only at this provider's token
//! endpoint (`aud`); and a client cannot make an assertion that reuses a
//! `jti`. The bindings live in the store (so replicas share them), at most
//! [`MAX_JTIS_PER_CLIENT`] per client.

use aws_lc_rs::signature::{
    RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256, UnparsedPublicKey, VerificationAlgorithm,
};
use rolegate_token::jws::{self, Limits};
use serde_json::{Map, Value};

use crate::directory::certificate::{KeyCredential, Thumbprint};
use crate::directory::{Application, Tenant};
use crate::protocol::errors::{OAuthError, timestamp};
use crate::protocol::{Provider, aadsts};
use crate::secret::digest;
use crate::store::{AssertionJti, JtiUse, StoreError};

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Clock skew allowed on `exp` and `nbf` (and on the certificate's
/// validity), in seconds: Microsoft.IdentityModel's default.
pub const CLOCK_SKEW: i64 = 300;

/// The longest accepted assertion lifetime (`exp` minus the earlier of
/// `nbf` and `iat`, or minus now), in seconds. MSAL signs for 10 minutes.
///
/// # Security
///
/// A captured assertion can be replayed (identically) until its `exp`; the
/// cap bounds that window and how long a `jti` is remembered.
pub const MAX_LIFETIME: i64 = 3600;

/// How many `jti`s one client may have remembered at once (a client that
/// signs a fresh assertion per request can make about 2.5 requests a
/// second at the longest lifetime).
pub const MAX_JTIS_PER_CLIENT: u32 = 10_000;

/// The longest accepted `jti`, in bytes.
const MAX_JTI_BYTES: usize = 256;

/// The token endpoint a request reached, which an assertion's `aud` names.
#[derive(Debug, Clone, Copy)]
pub struct TokenEndpoint<'a> {
    /// `https://host:port` the client reached us at.
    pub origin: &'a str,
    /// The tenant segment of the request path (an id, a domain or an alias).
    pub tenant_segment: &'a str,
    /// The tenant.
    pub tenant: &'a Tenant,
}

/// An assertion that passed [`verify`]: what spending its `jti` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The binding to remember.
    pub jti: AssertionJti,
}

/// Why a client assertion was refused. Messages name what was expected and
/// what arrived, never the assertion itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionError {
    /// `alg` is not `RS256` or `PS256`.
    #[error("the client assertion's alg {alg:?} is not supported: sign with RS256 or PS256")]
    Algorithm {
        /// The `alg` sent.
        alg: String,
    },
    /// `aud` is not this provider's token endpoint for the tenant.
    #[error("the client assertion's aud {found:?} is not this token endpoint: expected {expected}")]
    Audience {
        /// The `aud` sent.
        found: String,
        /// The token endpoint URL of the request (v2 form).
        expected: String,
    },
    /// The signature does not verify with the certificate.
    #[error("the client assertion's signature does not verify with certificate {thumbprint}")]
    BadSignature {
        /// The certificate's SHA-1 thumbprint (hex).
        thumbprint: String,
    },
    /// `iss` or `sub` is not the client id.
    #[error("the client assertion's {claim} {found:?} is not the client id {client_id}")]
    ClientMismatch {
        /// `iss` or `sub`.
        claim: &'static str,
        /// Its value.
        found: String,
        /// The application's client id.
        client_id: String,
    },
    /// `exp` (plus skew) is past.
    #[error("the client assertion expired at {exp} (now {now}, skew {CLOCK_SKEW}s)")]
    Expired {
        /// `exp`.
        exp: i64,
        /// `nbf` or `iat`, when given.
        start: Option<i64>,
        /// Now.
        now: i64,
    },
    /// The `jti` was bound to another assertion of this client.
    #[error("the client assertion's jti {jti:?} was already used by another assertion")]
    JtiReused {
        /// The `jti`.
        jti: String,
    },
    /// The client's certificate is outside its validity window.
    #[error(
        "certificate {thumbprint} is not valid now (valid {not_before} to {not_after}, now {now})"
    )]
    KeyNotValid {
        /// SHA-1 thumbprint (hex).
        thumbprint: String,
        /// `notBefore`.
        not_before: i64,
        /// `notAfter`.
        not_after: i64,
        /// Now.
        now: i64,
    },
    /// Not a compact JWS this provider reads (or a claim of the wrong type).
    #[error("the client assertion is malformed: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// A required claim or header member is absent.
    #[error("the client assertion has no {name}")]
    Missing {
        /// `iss`, `sub`, `aud`, `exp`, `jti`, or the thumbprint header.
        name: &'static str,
    },
    /// `nbf` (minus skew) is in the future.
    #[error("the client assertion is not valid before {nbf} (now {now}, skew {CLOCK_SKEW}s)")]
    NotYetValid {
        /// `nbf`.
        nbf: i64,
        /// `exp`.
        exp: i64,
        /// Now.
        now: i64,
    },
    /// The store failed (not the client's fault).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The assertion lives longer than [`MAX_LIFETIME`].
    #[error("the client assertion lives {lifetime}s; at most {MAX_LIFETIME}s are accepted")]
    TooLong {
        /// `exp` minus its start.
        lifetime: i64,
        /// `exp`.
        exp: i64,
        /// `nbf`, `iat` or now.
        start: i64,
    },
    /// The client has [`MAX_JTIS_PER_CLIENT`] `jti`s remembered already.
    #[error("the client has {MAX_JTIS_PER_CLIENT} unexpired client assertion jtis remembered")]
    TooManyJtis,
    /// The certificate named is not registered on the application.
    #[error("certificate {thumbprint} is not registered on application {app_id}")]
    UnknownKey {
        /// The thumbprint sent (hex).
        thumbprint: String,
        /// The application.
        app_id: String,
        /// How many certificates the application has.
        registered: usize,
    },
}

impl AssertionError {
    /// Whether the failure is the client's (it counts against the
    /// failed-authentication throttle, as a wrong secret does).
    pub fn is_client_failure(&self) -> bool {
        !matches!(self, AssertionError::Store(_) | AssertionError::TooManyJtis)
    }
}

/// Checks `assertion` for `app` (see the module docs) and spends its `jti`.
///
/// # Errors
///
/// Every check that fails, as an [`AssertionError`]; map it to the wire with
/// `OAuthError::from`.
pub async fn authenticate(
    p: &Provider,
    app: &Application,
    assertion: &str,
    endpoint: &TokenEndpoint<'_>,
) -> Result<(), AssertionError> {
    let now = p.now();
    let verified = verify(app, assertion, endpoint, now)?;
    match p
        .store
        .bind_assertion_jti(&verified.jti, now, MAX_JTIS_PER_CLIENT)
        .await?
    {
        JtiUse::Bound | JtiUse::Repeated => Ok(()),
        JtiUse::Conflict => Err(AssertionError::JtiReused {
            jti: verified.jti.jti,
        }),
        JtiUse::Full => Err(AssertionError::TooManyJtis),
    }
}

/// Checks an assertion without touching the store: header, certificate,
/// signature, then claims.
///
/// # Errors
///
/// The first check that fails.
pub fn verify(
    app: &Application,
    assertion: &str,
    endpoint: &TokenEndpoint<'_>,
    now: i64,
) -> Result<VerifiedAssertion, AssertionError> {
    let jws = jws::parse(assertion, Limits::default()).map_err(|e| AssertionError::Malformed {
        reason: e.to_string(),
    })?;
    let algorithm: &'static dyn VerificationAlgorithm = match jws.header.alg() {
        "RS256" => &RSA_PKCS1_2048_8192_SHA256,
        "PS256" => &RSA_PSS_2048_8192_SHA256,
        other => {
            return Err(AssertionError::Algorithm {
                alg: other.to_owned(),
            });
        }
    };
    let credential = certificate(app, &jws.header.members(), jws.header.kid())?;
    let thumbprint = credential.thumbprint_hex();
    if now + CLOCK_SKEW < credential.not_before || credential.not_after + CLOCK_SKEW < now {
        return Err(AssertionError::KeyNotValid {
            thumbprint,
            not_before: credential.not_before,
            not_after: credential.not_after,
            now,
        });
    }
    UnparsedPublicKey::new(algorithm, &credential.public_key)
        .verify(jws.signing_input, &jws.signature)
        .map_err(|_| AssertionError::BadSignature { thumbprint })?;
    let claims = Claims::read(&jws.claims)?;
    for (claim, value) in [("iss", claims.iss), ("sub", claims.sub)] {
        if !value.eq_ignore_ascii_case(&app.app_id) {
            return Err(AssertionError::ClientMismatch {
                claim,
                found: value.to_owned(),
                client_id: app.app_id.clone(),
            });
        }
    }
    check_audience(claims.aud, endpoint)?;
    let expires_at = check_lifetime(&claims, now)?;
    Ok(VerifiedAssertion {
        jti: AssertionJti {
            client_id: app.app_id.clone(),
            jti: claims.jti.to_owned(),
            digest: digest(assertion),
            expires_at,
        },
    })
}

/// The certificate the header names: `x5t#S256`, else `x5t`, else `kid`
/// (when it decodes as a thumbprint). When both thumbprints are sent they
/// must name the same certificate.
fn certificate<'a>(
    app: &'a Application,
    header: &Map<String, Value>,
    kid: Option<&str>,
) -> Result<&'a KeyCredential, AssertionError> {
    let member = |name: &'static str| -> Result<Option<Thumbprint>, AssertionError> {
        match header.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => {
                Thumbprint::decode(text)
                    .map(Some)
                    .ok_or_else(|| AssertionError::Malformed {
                        reason: format!(
                            "the header's {name} is not a base64url SHA-1 or SHA-256 thumbprint"
                        ),
                    })
            }
            Some(_) => Err(AssertionError::Malformed {
                reason: format!("the header's {name} is not a string"),
            }),
        }
    };
    let sha256 = member("x5t#S256")?;
    let sha1 = member("x5t")?;
    let presented: Vec<Thumbprint> = match (sha256, sha1, kid) {
        (None, None, Some(kid)) => vec![Thumbprint::decode(kid).ok_or_else(|| {
            AssertionError::Malformed {
                reason: format!(
                    "the header has neither x5t#S256 nor x5t, and its kid {kid:?} is not a certificate thumbprint"
                ),
            }
        })?],
        (first, second, _) => first.into_iter().chain(second).collect(),
    };
    let Some(named) = presented.first() else {
        return Err(AssertionError::Missing {
            name: "certificate thumbprint (x5t#S256, x5t or kid)",
        });
    };
    let unknown = |thumbprint: &Thumbprint| AssertionError::UnknownKey {
        thumbprint: thumbprint.to_string(),
        app_id: app.app_id.clone(),
        registered: app.key_credentials.len(),
    };
    let credential = app
        .key_credentials
        .iter()
        .find(|c| c.matches(named))
        .ok_or_else(|| unknown(named))?;
    match presented.iter().find(|t| !credential.matches(t)) {
        Some(other) => Err(unknown(other)),
        None => Ok(credential),
    }
}

/// The claims this check reads.
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    nbf: Option<i64>,
    iat: Option<i64>,
    jti: &'a str,
}

impl<'a> Claims<'a> {
    fn read(claims: &'a Map<String, Value>) -> Result<Claims<'a>, AssertionError> {
        let text = |name: &'static str| -> Result<&'a str, AssertionError> {
            match claims.get(name) {
                None => Err(AssertionError::Missing { name }),
                Some(Value::String(value)) if !value.is_empty() => Ok(value),
                // Entra refuses an `aud` array (AADSTS50027).
                Some(_) => Err(AssertionError::Malformed {
                    reason: format!("{name} must be a non-empty string"),
                }),
            }
        };
        let time = |name: &'static str| -> Result<Option<i64>, AssertionError> {
            match claims.get(name) {
                None => Ok(None),
                Some(Value::Number(n)) => n
                    .as_i64()
                    .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
                    .map(Some)
                    .ok_or_else(|| AssertionError::Malformed {
                        reason: format!("{name} is not a NumericDate"),
                    }),
                Some(_) => Err(AssertionError::Malformed {
                    reason: format!("{name} must be a number (seconds since 1970)"),
                }),
            }
        };
        let jti = text("jti")?;
        if jti.len() > MAX_JTI_BYTES {
            return Err(AssertionError::Malformed {
                reason: format!("jti is longer than {MAX_JTI_BYTES} bytes"),
            });
        }
        Ok(Claims {
            iss: text("iss")?,
            sub: text("sub")?,
            aud: text("aud")?,
            exp: time("exp")?.ok_or(AssertionError::Missing { name: "exp" })?,
            nbf: time("nbf")?,
            iat: time("iat")?,
            jti,
        })
    }
}

/// `aud` must be the token endpoint of the request's tenant: the v2 or v1
/// path, under the path's tenant segment, the tenant id or its domain
/// (case-insensitive, any query ignored).
fn check_audience(aud: &str, endpoint: &TokenEndpoint<'_>) -> Result<(), AssertionError> {
    let without_query = aud.split_once('?').map_or(aud, |(url, _)| url);
    let segments = [
        endpoint.tenant_segment,
        &endpoint.tenant.id,
        &endpoint.tenant.domain,
    ];
    let accepted = segments.iter().any(|segment| {
        ["oauth2/v2.0/token", "oauth2/token"].iter().any(|path| {
            without_query.eq_ignore_ascii_case(&format!("{}/{segment}/{path}", endpoint.origin))
        })
    });
    if accepted {
        return Ok(());
    }
    let segment = if segments[1..]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(endpoint.tenant_segment))
    {
        endpoint.tenant.id.as_str()
    } else {
        endpoint.tenant_segment
    };
    Err(AssertionError::Audience {
        found: aud.to_owned(),
        expected: format!("{}/{segment}/oauth2/v2.0/token", endpoint.origin),
    })
}

/// `exp`, `nbf` and the lifetime cap; the time until which the `jti` is
/// remembered.
fn check_lifetime(claims: &Claims<'_>, now: i64) -> Result<i64, AssertionError> {
    let start = [claims.nbf, claims.iat].into_iter().flatten().min();
    if claims.exp.saturating_add(CLOCK_SKEW) < now {
        return Err(AssertionError::Expired {
            exp: claims.exp,
            start,
            now,
        });
    }
    if let Some(nbf) = claims.nbf
        && nbf.saturating_sub(CLOCK_SKEW) > now
    {
        return Err(AssertionError::NotYetValid {
            nbf,
            exp: claims.exp,
            now,
        });
    }
    let start = start.unwrap_or(now);
    let lifetime = claims.exp.saturating_sub(start);
    if lifetime > MAX_LIFETIME {
        return Err(AssertionError::TooLong {
            lifetime,
            exp: claims.exp,
            start,
        });
    }
    Ok(claims.exp.saturating_add(CLOCK_SKEW))
}

impl From<&AssertionError> for OAuthError {
    /// Entra's codes (docs/errors.md, "Client assertions"): 50027
    /// malformed, 90014 a field missing, 700021 the client id, 700023 the
    /// audience, 700024 the time range, 700027 the key or signature,
    /// 7000274 a reused `jti`; all `invalid_client` (RFC 7521 §4.2.1).
    fn from(e: &AssertionError) -> Self {
        const DOCS: &str = "See docs/idp.md, \"Client assertions\".";
        let (code, message) = match e {
            AssertionError::Malformed { reason } => (
                aadsts::ASSERTION_MALFORMED,
                format!("JWT token is invalid or malformed: the client assertion: {reason}."),
            ),
            AssertionError::Missing { name } => (
                aadsts::MISSING_REQUIRED_FIELD,
                format!(
                    "The required field '{name}' is missing from the credential (client assertion)."
                ),
            ),
            AssertionError::Algorithm { alg } => (
                aadsts::ASSERTION_KEY_OR_SIGNATURE,
                format!(
                    "Client assertion contains an invalid signature. [Reason - The algorithm '{alg}' is not supported; sign with RS256 or PS256.]"
                ),
            ),
            AssertionError::UnknownKey {
                thumbprint,
                app_id,
                registered,
            } => (
                aadsts::ASSERTION_KEY_OR_SIGNATURE,
                format!(
                    "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', app Id '{app_id}' has {registered} certificate(s) under key_credentials in the tenant file.]"
                ),
            ),
            AssertionError::KeyNotValid {
                thumbprint,
                not_before,
                not_after,
                now,
            } => (
                aadsts::ASSERTION_KEY_OR_SIGNATURE,
                format!(
                    "Client assertion contains an invalid signature. [Reason - The key used is {}., Thumbprint of key used by client: '{thumbprint}', Found key 'Start={}, End={}', Current time: {}]",
                    if now < not_before {
                        "not yet valid"
                    } else {
                        "expired"
                    },
                    iso(*not_before),
                    iso(*not_after),
                    iso(*now)
                ),
            ),
            AssertionError::BadSignature { thumbprint } => (
                aadsts::ASSERTION_KEY_OR_SIGNATURE,
                format!(
                    "Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{thumbprint}']"
                ),
            ),
            AssertionError::ClientMismatch {
                claim,
                found,
                client_id,
            } => (
                aadsts::ASSERTION_CLIENT_MISMATCH,
                format!(
                    "Client assertion application identifier doesn't match 'client_id' parameter: its '{claim}' is '{found}', expected '{client_id}' (iss and sub must both be the client id)."
                ),
            ),
            AssertionError::Audience { found, expected } => (
                aadsts::ASSERTION_AUDIENCE,
                format!(
                    "Client assertion audience claim does not match Realm issuer: aud is '{found}', expected this token endpoint, {expected} (the v1 /oauth2/token form and the tenant's domain are accepted too)."
                ),
            ),
            AssertionError::Expired { exp, start, now } => (
                aadsts::ASSERTION_TIME_RANGE,
                format!(
                    "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {} (clock skew {CLOCK_SKEW}s).",
                    iso(*now),
                    start.map_or_else(|| "(no nbf or iat)".to_owned(), iso),
                    iso(*exp)
                ),
            ),
            AssertionError::NotYetValid { nbf, exp, now } => (
                aadsts::ASSERTION_TIME_RANGE,
                format!(
                    "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {} (clock skew {CLOCK_SKEW}s).",
                    iso(*now),
                    iso(*nbf),
                    iso(*exp)
                ),
            ),
            AssertionError::TooLong {
                lifetime,
                exp,
                start,
            } => (
                aadsts::ASSERTION_TIME_RANGE,
                format!(
                    "Client assertion is not within its valid time range: it is valid from {} to {} ({lifetime}s), longer than the {MAX_LIFETIME}s this identity provider accepts. Sign assertions that expire within {MAX_LIFETIME}s (MSAL uses 600s).",
                    iso(*start),
                    iso(*exp)
                ),
            ),
            AssertionError::JtiReused { jti } => (
                aadsts::ASSERTION_JTI_REUSED,
                format!(
                    "The client assertion's jti '{jti}' was already used by another assertion; sign a fresh assertion for each new jti (re-sending the identical assertion until it expires is accepted)."
                ),
            ),
            AssertionError::TooManyJtis => {
                return OAuthError {
                    status: 429,
                    ..OAuthError::new(
                        "temporarily_unavailable",
                        aadsts::THROTTLED,
                        format!(
                            "This client has {MAX_JTIS_PER_CLIENT} unexpired client assertions remembered; re-send an assertion until it expires (as MSAL does) instead of signing a new one per request, or wait."
                        ),
                    )
                };
            }
            AssertionError::Store(e) => {
                return crate::protocol::errors::server_error(StoreError(e.0.clone()));
            }
        };
        OAuthError::invalid_client(code, format!("{message} {DOCS}"))
    }
}

/// `2024-10-02T22:05:03Z`, as Entra's assertion messages write times.
fn iso(unix: i64) -> String {
    timestamp(unix).replacen(' ', "T", 1)
}

#[cfg(test)]
mod tests;
