//! OAuth 2.0 errors in Entra's shape (spec §9).
//!
//! Token and device-code endpoints answer HTTP 400 (401 for
//! `invalid_client`) with
//! `{"error","error_description":"AADSTS…: text\r\nTrace ID…\r\nCorrelation ID…\r\nTimestamp…","error_codes":[…],"timestamp","trace_id","correlation_id","error_uri"}`.
//! The authorize endpoint redirects with `error` and `error_description`, or
//! shows an error page when the client or redirect URI cannot be trusted.
//! [`OAuthError::rendering`] says which, per [`Surface`]; the web layer
//! turns the answer into an HTTP response.

use serde_json::{Value, json};

use crate::protocol::{aadsts, endpoints};

/// One AADSTS-coded OAuth error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error} AADSTS{code}: {message}")]
pub struct OAuthError {
    /// The RFC 6749 `error` value.
    pub error: &'static str,
    /// The AADSTS number.
    pub code: u32,
    /// The human text after `AADSTSnnnn: `.
    pub message: String,
    /// Entra's `suberror`, when it has one (`consent_required`, …).
    pub suberror: Option<&'static str>,
    /// HTTP status at the token endpoint.
    pub status: u16,
}

impl OAuthError {
    /// An error with HTTP 400.
    pub fn new(error: &'static str, code: u32, message: impl Into<String>) -> Self {
        Self {
            error,
            code,
            message: message.into(),
            suberror: None,
            status: if error == "invalid_client" { 401 } else { 400 },
        }
    }

    /// `invalid_request`.
    pub fn invalid_request(code: u32, message: impl Into<String>) -> Self {
        Self::new("invalid_request", code, message)
    }

    /// `invalid_client` (HTTP 401).
    pub fn invalid_client(code: u32, message: impl Into<String>) -> Self {
        Self::new("invalid_client", code, message)
    }

    /// `invalid_grant`.
    pub fn invalid_grant(code: u32, message: impl Into<String>) -> Self {
        Self::new("invalid_grant", code, message)
    }

    /// `invalid_scope`.
    pub fn invalid_scope(code: u32, message: impl Into<String>) -> Self {
        Self::new("invalid_scope", code, message)
    }

    /// `unauthorized_client`.
    pub fn unauthorized_client(code: u32, message: impl Into<String>) -> Self {
        Self::new("unauthorized_client", code, message)
    }

    /// A missing request parameter (AADSTS900144).
    pub fn missing(parameter: &str) -> Self {
        Self::invalid_request(
            aadsts::MISSING_PARAMETER,
            format!("The request body must contain the following parameter: '{parameter}'."),
        )
    }

    /// `consent_required` as Entra reports it at the token endpoint:
    /// `invalid_grant` with suberror `consent_required` (AADSTS65001).
    pub fn consent_required(client: &str, resource: &str) -> Self {
        Self {
            suberror: Some("consent_required"),
            ..Self::invalid_grant(
                aadsts::CONSENT_REQUIRED,
                format!(
                    "The user or administrator has not consented to use the application with ID '{client}'. Send an interactive authorization request for this user and resource ({resource})."
                ),
            )
        }
    }

    /// Too many requests from one source (HTTP 429, AADSTS90055 as Entra's
    /// throttling answer): nothing was checked.
    pub fn throttled(what: &str) -> Self {
        Self {
            status: 429,
            ..Self::new(
                "temporarily_unavailable",
                aadsts::THROTTLED,
                format!("Too many {what} from this source; wait a minute and try again."),
            )
        }
    }

    /// A parameter sent more than once (RFC 6749 §3.1 forbids it).
    pub fn repeated(parameter: &str) -> Self {
        Self::invalid_request(
            aadsts::MALFORMED_REQUEST,
            format!(
                "The request parameter '{parameter}' was sent more than once; each parameter may appear only once (RFC 6749 section 3.1)."
            ),
        )
    }

    /// AADSTS90009: a self-request named by App ID URI on a refresh that
    /// names no resource scope (spec §7 "Self-requests").
    /// The text is Entra's; `display_name` is the application's.
    pub fn self_request_by_uri(app_id: &str, display_name: &str) -> Self {
        Self::invalid_request(
            aadsts::SELF_REQUEST_BY_URI,
            format!(
                "Application '{app_id}'({display_name}) is requesting a token for itself. This scenario is supported only if resource is specified using the GUID based App Identifier."
            ),
        )
    }

    /// Adds a suberror.
    pub fn with_suberror(mut self, suberror: &'static str) -> Self {
        self.suberror = Some(suberror);
        self
    }

    /// `AADSTSnnnn: message`.
    pub fn coded_message(&self) -> String {
        format!("AADSTS{}: {}", self.code, self.message)
    }

    /// The JSON body, with fresh trace and correlation ids.
    pub fn body(&self, trace_id: &str, correlation_id: &str, now: i64, origin: &str) -> Value {
        let timestamp = timestamp(now);
        let mut body = json!({
            "error": self.error,
            "error_description": format!(
                "{}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
                self.coded_message()
            ),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("{origin}{}?code={}", endpoints::ERROR_PAGE.path, self.code),
        });
        if let (Some(sub), Some(map)) = (self.suberror, body.as_object_mut()) {
            map.insert("suberror".to_owned(), Value::from(sub));
        }
        body
    }

    /// How this error must reach the client at `surface`.
    pub fn rendering(&self, surface: Surface) -> Rendering {
        match surface {
            Surface::Authorize => Rendering::Redirect,
            Surface::Page => Rendering::Page {
                status: self.status,
            },
            // RFC 6750 §3.1: the scope is missing (403) or the token is not
            // acceptable (401).
            Surface::Resource => Rendering::Challenge {
                status: if self.error == "insufficient_scope" {
                    403
                } else {
                    401
                },
                www_authenticate: format!(
                    "Bearer error=\"{}\", error_description=\"AADSTS{}\"",
                    self.error, self.code
                ),
            },
            Surface::Token => Rendering::Json {
                status: self.status,
            },
        }
    }
}

/// Where an error is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// The authorize endpoint once the client and its redirect URI are
    /// trusted ([`super::authorize::check_client`] passed).
    Authorize,
    /// A page in the browser: the authorize endpoint before the client and
    /// redirect URI are trusted ([`super::authorize::PageError`]: never an
    /// open redirect), and the sign-in, consent, device and logout pages.
    Page,
    /// A protected resource of the provider's own: UserInfo.
    Resource,
    /// The token and device authorization endpoints, and the metadata
    /// endpoints (an unknown tenant).
    Token,
}

/// How an error reaches the client, without HTTP types: the web layer
/// renders each variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendering {
    /// No body: this status with `WWW-Authenticate: {www_authenticate}`
    /// (RFC 6750 §3).
    Challenge {
        /// 401, or 403 for `insufficient_scope`.
        status: u16,
        /// The challenge, `Bearer error="…", error_description="AADSTSnnnn"`.
        www_authenticate: String,
    },
    /// [`OAuthError::body`] as JSON with this status, never cached.
    Json {
        /// [`OAuthError::status`].
        status: u16,
    },
    /// An HTML error page with this status.
    Page {
        /// [`OAuthError::status`].
        status: u16,
    },
    /// Back to the client's redirect URI in its response mode, with
    /// [`super::authorize::error_params`] (see
    /// [`super::authorize::deliver`]).
    Redirect,
}

/// Maps a store failure to a generic server error (details only in logs).
pub fn server_error(e: crate::store::StoreError) -> OAuthError {
    tracing::error!(error = %e, "store failure");
    OAuthError::store_failed()
}

/// Entra's timestamp format: `2016-01-09 02:02:12Z`.
pub fn timestamp(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => "1970-01-01 00:00:00Z".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_shape() {
        let e = OAuthError::invalid_scope(
            70_011,
            "The provided value for the input parameter 'scope' is not valid.",
        );
        let b = e.body("t", "c", 1_452_304_932, "https://localhost:8443");
        assert_eq!(b["error"], "invalid_scope");
        assert_eq!(b["error_codes"][0], 70_011);
        assert_eq!(b["timestamp"], "2016-01-09 02:02:12Z");
        let d = b["error_description"].as_str().unwrap();
        assert!(d.starts_with("AADSTS70011: The provided value"));
        assert!(
            d.contains("\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: 2016-01-09 02:02:12Z")
        );
        assert_eq!(OAuthError::invalid_client(7_000_215, "x").status, 401);
        assert_eq!(
            OAuthError::consent_required("a", "b").body("t", "c", 0, "o")["suberror"],
            "consent_required"
        );
    }

    #[test]
    fn each_surface_renders_its_way() {
        let scope = OAuthError::invalid_scope(70_011, "x");
        let client = OAuthError::invalid_client(7_000_215, "x");
        assert_eq!(
            scope.rendering(Surface::Token),
            Rendering::Json { status: 400 }
        );
        assert_eq!(
            client.rendering(Surface::Token),
            Rendering::Json { status: 401 }
        );
        assert_eq!(scope.rendering(Surface::Authorize), Rendering::Redirect);
        assert_eq!(
            client.rendering(Surface::Page),
            Rendering::Page { status: 401 }
        );
        assert_eq!(
            OAuthError::userinfo_without_openid().rendering(Surface::Resource),
            Rendering::Challenge {
                status: 403,
                www_authenticate:
                    "Bearer error=\"insufficient_scope\", error_description=\"AADSTS80002\""
                        .to_owned(),
            }
        );
        assert_eq!(
            OAuthError::userinfo_user_gone().rendering(Surface::Resource),
            Rendering::Challenge {
                status: 401,
                www_authenticate:
                    "Bearer error=\"invalid_token\", error_description=\"AADSTS80001\"".to_owned(),
            }
        );
    }
}
