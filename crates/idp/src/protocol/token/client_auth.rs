//! Client authentication at the token endpoint (spec §8): who the caller
//! is, which credential it presented (a secret in the body or HTTP Basic, or
//! a client assertion), and what each grant demands of it.

use crate::directory::{Application, Directory};
use crate::protocol::Provider;
use crate::protocol::aadsts::{self, NO_CREDENTIAL_MESSAGE};
use crate::protocol::assertion::{self, CLIENT_ASSERTION_TYPE, TokenEndpoint};
use crate::protocol::errors::OAuthError;
use crate::protocol::limits::source_key;
use crate::protocol::tokens::ClientAuth;
use crate::secret::Busy;

use super::{TokenRequest, unknown_client};

/// Who is calling and how it proved it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Caller<'a> {
    pub(super) app: &'a Application,
    pub(super) auth: ClientAuth,
}

/// What a grant demands of the client's credential (spec §8: client
/// authentication is per grant, not per first use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Credential {
    /// A credential is required; apps without one cannot use the grant
    /// (client credentials, on-behalf-of, redemption at a web redirect URI).
    Required,
    /// A credential is checked if sent, and not required: redemption at a
    /// native (public-client platform) redirect URI, where Entra treats the
    /// caller as a public client whatever else the app registers.
    Optional,
    /// Device code and ROPC: a credential is required unless the app allows
    /// public client flows (`is_fallback_public_client`).
    PublicFlow,
    /// A refresh: the client must authenticate as it did when the family
    /// started.
    AsFamily(ClientAuth),
    /// A credential must not be sent (SPA redemption and refresh).
    Forbidden,
}

/// The credential a token request presents.
#[derive(Debug, Clone, Copy)]
enum Presented<'r> {
    /// A client assertion signed with a registered certificate.
    Assertion(&'r str),
    /// No credential.
    Nothing,
    /// A client secret (body or HTTP Basic).
    Secret(&'r str),
}

/// Counts a failed client authentication (the refusal goes out whatever
/// the store says; a store failure is logged).
async fn count_failure(p: &Provider, key: &str, now: i64) {
    if let Err(e) = p
        .limits
        .client_failures
        .hit(p.store.as_ref(), key, now)
        .await
    {
        tracing::error!(error = %e, "a failed client authentication was not counted");
    }
}

/// Identifies the client and checks its credential as `credential` demands.
pub(super) async fn authenticate<'a>(
    p: &Provider,
    dir: &'a Directory,
    req: &TokenRequest,
    credential: Credential,
) -> Result<Caller<'a>, OAuthError> {
    let (client_id, presented) = presented_credential(req)?;
    // `client`: the built-in admin portal too (a public client, so every
    // grant that needs a credential refuses it).
    let app = dir
        .client(client_id)
        .ok_or_else(|| unknown_client(client_id, dir))?;
    if let Presented::Nothing = presented {
        return without_credential(app, credential);
    }
    if !app.is_confidential() || credential == Credential::Forbidden {
        return Err(OAuthError::public_client_with_credential());
    }
    if req.origin.is_some() {
        return Err(OAuthError::cross_origin_credential());
    }
    check_family_credential(app, credential, presented)?;
    let now = p.now();
    let throttle_key = source_key(&format!("client:{}", app.app_id), req.source);
    if !p
        .limits
        .client_failures
        .allows(p.store.as_ref(), &throttle_key, now)
        .await
        .map_err(crate::protocol::errors::server_error)?
    {
        return Err(OAuthError::throttled("failed client authentications"));
    }
    match presented {
        Presented::Assertion(assertion) => {
            let endpoint = TokenEndpoint {
                origin: &req.issuer.origin,
                tenant_segment: &req.tenant_segment,
                tenant: &dir.tenant,
            };
            match assertion::authenticate(p, app, assertion, &endpoint).await {
                Ok(()) => Ok(Caller {
                    app,
                    auth: ClientAuth::Certificate,
                }),
                Err(e) => {
                    if e.is_client_failure() {
                        count_failure(p, &throttle_key, now).await;
                    }
                    tracing::info!(client = %app.app_id, reason = %e, "client assertion refused");
                    Err(OAuthError::from(&e))
                }
            }
        }
        Presented::Secret(secret) => {
            match dir.verify_client_secret(&p.hashing, app, secret).await {
                Ok(true) => Ok(Caller {
                    app,
                    auth: ClientAuth::Secret,
                }),
                Ok(false) => {
                    count_failure(p, &throttle_key, now).await;
                    Err(OAuthError::invalid_client(
                        aadsts::INVALID_CLIENT_SECRET,
                        format!(
                            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                            app.app_id
                        ),
                    ))
                }
                Err(Busy) => Err(OAuthError::busy()),
            }
        }
        Presented::Nothing => without_credential(app, credential),
    }
}

/// The client id and the credential of a request: a secret (body or HTTP
/// Basic, not both) or a client assertion (RFC 7521 §4.2: with
/// `client_assertion_type`, and never together with a secret).
fn presented_credential(req: &TokenRequest) -> Result<(&str, Presented<'_>), OAuthError> {
    let body_id = req.get("client_id");
    let (client_id, secret) = match (&req.basic, body_id) {
        (Some((id, _)), Some(body)) if !id.eq_ignore_ascii_case(body) => {
            return Err(OAuthError::invalid_request(
                aadsts::MISSING_PARAMETER,
                format!(
                    "The client_id in the body ('{body}') differs from the one in the Authorization header ('{id}')."
                ),
            ));
        }
        (Some(_), _) if req.get("client_secret").is_some() => {
            return Err(OAuthError::secret_sent_twice());
        }
        (Some((id, secret)), _) => (id.as_str(), Some(secret.as_str())),
        (None, Some(id)) => (id, req.get("client_secret")),
        (None, None) => return Err(OAuthError::missing("client_id")),
    };
    let presented = match (
        req.get("client_assertion"),
        req.get("client_assertion_type"),
        secret,
    ) {
        (None, None, None) => Presented::Nothing,
        (None, None, Some(secret)) => Presented::Secret(secret),
        (Some(_), _, Some(_)) => {
            return Err(OAuthError::secret_and_assertion());
        }
        (Some(_), None, None) => return Err(OAuthError::missing("client_assertion_type")),
        (None, Some(_), _) => return Err(OAuthError::missing("client_assertion")),
        (Some(assertion), Some(kind), None) if kind == CLIENT_ASSERTION_TYPE => {
            Presented::Assertion(assertion)
        }
        (Some(_), Some(kind), None) => {
            return Err(OAuthError::invalid_request(
                aadsts::UNEXPECTED_ASSERTION_TYPE,
                format!(
                    "Unexpected client assertion type '{kind}': client_assertion_type must be '{CLIENT_ASSERTION_TYPE}'."
                ),
            ));
        }
    };
    Ok((client_id, presented))
}

/// A request without a credential: fine for public clients and where the
/// grant allows it.
fn without_credential(app: &Application, credential: Credential) -> Result<Caller<'_>, OAuthError> {
    match credential {
        Credential::Forbidden => Ok(Caller {
            app,
            auth: ClientAuth::Public,
        }),
        Credential::Required if !app.is_confidential() => Err(OAuthError::invalid_client(
            aadsts::CREDENTIAL_REQUIRED,
            format!(
                "{NO_CREDENTIAL_MESSAGE} Application '{}' has no credential: add a password or certificate credential to use this grant.",
                app.app_id
            ),
        )),
        Credential::PublicFlow if !app.is_fallback_public_client => {
            Err(OAuthError::invalid_client(
                aadsts::CREDENTIAL_REQUIRED,
                format!(
                    "{NO_CREDENTIAL_MESSAGE} (To use this flow without a credential, enable 'Allow public client flows' — is_fallback_public_client — on application '{}'.)",
                    app.app_id
                ),
            ))
        }
        Credential::PublicFlow => Ok(Caller {
            app,
            auth: ClientAuth::Public,
        }),
        Credential::AsFamily(family @ (ClientAuth::Secret | ClientAuth::Certificate)) => {
            Err(OAuthError::invalid_client(
                aadsts::CREDENTIAL_REQUIRED,
                format!(
                    "{NO_CREDENTIAL_MESSAGE} The refresh token was issued to application '{}' authenticated with {}: every refresh must authenticate the same way.",
                    app.app_id,
                    family_credential(family)
                ),
            ))
        }
        Credential::Required if app.is_confidential() => Err(OAuthError::credential_required()),
        Credential::Required | Credential::Optional | Credential::AsFamily(_) => Ok(Caller {
            app,
            auth: ClientAuth::Public,
        }),
    }
}

/// A family started with a secret refreshes with a secret, one started with
/// a certificate with a client assertion: neither stands in for the other.
fn check_family_credential(
    app: &Application,
    credential: Credential,
    presented: Presented<'_>,
) -> Result<(), OAuthError> {
    let sent = match presented {
        Presented::Assertion(_) => ClientAuth::Certificate,
        Presented::Secret(_) => ClientAuth::Secret,
        Presented::Nothing => return Ok(()),
    };
    match credential {
        Credential::AsFamily(family @ (ClientAuth::Secret | ClientAuth::Certificate))
            if family != sent =>
        {
            Err(OAuthError::invalid_client(
                aadsts::CREDENTIAL_REQUIRED,
                format!(
                    "The refresh token was issued to application '{}' authenticated with {}: every refresh must authenticate the same way, and {} is not accepted instead.",
                    app.app_id,
                    family_credential(family),
                    family_credential(sent)
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// How a refresh family's credential reads in messages.
fn family_credential(auth: ClientAuth) -> &'static str {
    match auth {
        ClientAuth::Certificate => "a certificate (client_assertion)",
        ClientAuth::Public => "no credential",
        ClientAuth::Secret => "a client secret (client_secret)",
    }
}
