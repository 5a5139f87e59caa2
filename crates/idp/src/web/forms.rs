//! The requests the handlers read by name, as typed values: the provider's
//! own forms (sign-in, consent, device verification) and the device-code
//! and logout requests.
//!
//! Each is built from a body or query parsed by
//! [`authorize::unique_map`] / [`authorize::unique_pairs`], so a parameter
//! sent twice is refused (AADSTS90015, RFC 6749 §3.1) and a body that is
//! not UTF-8 is AADSTS90014. Absent fields stay absent (`None`); what the
//! handlers did with an empty or missing value is kept as it was.

use crate::protocol::authorize::{self, AuthorizeRequest};
use crate::protocol::errors::OAuthError;

/// The sign-in form (`POST /{tenant}/rolegate/login`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LoginForm {
    /// `csrf`: the token bound to the CSRF cookie.
    pub(super) csrf: Option<String>,
    /// `request`: the authorize request the page carried (checked again
    /// from the start).
    pub(super) request: AuthorizeRequest,
    /// Who signs in.
    pub(super) account: Account,
}

/// Who the sign-in form names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Account {
    /// `pick`: a passwordless account from the picker (wins over
    /// `username`).
    Picked(String),
    /// `username` and `password` (a missing password is empty).
    Password {
        /// The sign-in name, as typed.
        username: String,
        /// The password.
        password: Password,
    },
    /// Neither `pick` nor `username`.
    Missing,
}

/// The consent form (`POST /{tenant}/rolegate/consent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ConsentForm {
    /// `csrf`.
    pub(super) csrf: Option<String>,
    /// `consent`: the handle of the pending consent the server stored
    /// (empty when missing: no pending consent has it).
    pub(super) handle: String,
    /// `decision=accept`; anything else declines.
    pub(super) accepted: bool,
}

/// The device verification page's form (`POST /devicelogin`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct DeviceForm {
    /// `csrf`.
    pub(super) csrf: Option<String>,
    /// `user_code`, as typed (empty when missing).
    pub(super) user_code: String,
    /// `decision`, if it is one the page offers.
    pub(super) decision: Option<DeviceDecision>,
    /// `username`, when not empty.
    pub(super) username: Option<String>,
    /// `password` (empty when missing).
    pub(super) password: Password,
}

/// A password from a form. `Debug` does not show it.
#[derive(Clone, Default, PartialEq, Eq)]
pub(super) struct Password(String);

/// The buttons of the device verification pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DeviceDecision {
    /// `approve`: the code and the account were entered (first step).
    Approve,
    /// `confirm`: the signed-in user confirms the app and scopes shown.
    Confirm,
    /// `decline`, on either step.
    Decline,
}

/// The device authorization request (RFC 8628 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DeviceCodeRequest {
    /// `client_id`.
    pub(super) client_id: Option<String>,
    /// `scope`.
    pub(super) scope: Option<String>,
}

/// The logout request's query (OpenID Connect RP-Initiated Logout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LogoutRequest {
    /// `client_id`.
    pub(super) client_id: Option<String>,
    /// `id_token_hint`.
    pub(super) id_token_hint: Option<String>,
    /// `post_logout_redirect_uri`.
    pub(super) post_logout_redirect_uri: Option<String>,
    /// `state`, echoed to the redirect URI.
    pub(super) state: Option<String>,
}

impl LoginForm {
    /// Parses the form body.
    pub(super) fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let mut fields = authorize::unique_map(body)?;
        let account = match (fields.remove("pick"), fields.remove("username")) {
            (Some(upn), _) => Account::Picked(upn),
            (None, Some(username)) => Account::Password {
                username,
                password: Password(fields.remove("password").unwrap_or_default()),
            },
            (None, None) => Account::Missing,
        };
        Ok(Self {
            csrf: fields.remove("csrf"),
            request: AuthorizeRequest::decode(&fields.remove("request").unwrap_or_default()),
            account,
        })
    }
}

impl ConsentForm {
    /// Parses the form body.
    pub(super) fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let mut fields = authorize::unique_map(body)?;
        Ok(Self {
            csrf: fields.remove("csrf"),
            handle: fields.remove("consent").unwrap_or_default(),
            accepted: fields.remove("decision").as_deref() == Some("accept"),
        })
    }
}

impl DeviceForm {
    /// Parses the form body.
    pub(super) fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let mut fields = authorize::unique_map(body)?;
        let decision = match fields.remove("decision").as_deref() {
            Some("approve") => Some(DeviceDecision::Approve),
            Some("confirm") => Some(DeviceDecision::Confirm),
            Some("decline") => Some(DeviceDecision::Decline),
            _ => None,
        };
        Ok(Self {
            csrf: fields.remove("csrf"),
            user_code: fields.remove("user_code").unwrap_or_default(),
            decision,
            username: fields.remove("username").filter(|u| !u.is_empty()),
            password: Password(fields.remove("password").unwrap_or_default()),
        })
    }
}

impl DeviceCodeRequest {
    /// Parses the form body.
    pub(super) fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let mut fields = authorize::unique_map(body)?;
        Ok(Self {
            client_id: fields.remove("client_id"),
            scope: fields.remove("scope"),
        })
    }
}

impl LogoutRequest {
    /// Parses the query string.
    pub(super) fn parse(query: &str) -> Result<Self, OAuthError> {
        let mut fields = authorize::to_map(&authorize::unique_pairs(query)?);
        Ok(Self {
            client_id: fields.remove("client_id"),
            id_token_hint: fields.remove("id_token_hint"),
            post_logout_redirect_uri: fields.remove("post_logout_redirect_uri"),
            state: fields.remove("state"),
        })
    }
}

impl Password {
    /// The password, to check it.
    pub(super) fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_field_is_90015_in_every_form() {
        let body = b"csrf=a&csrf=b";
        for code in [
            LoginForm::parse(body).map(|_| ()),
            ConsentForm::parse(body).map(|_| ()),
            DeviceForm::parse(body).map(|_| ()),
            DeviceCodeRequest::parse(body).map(|_| ()),
            LogoutRequest::parse("csrf=a&csrf=b").map(|_| ()),
        ]
        .map(|r| r.err().map(|e| e.code))
        {
            assert_eq!(code, Some(90_015));
        }
        assert_eq!(
            LoginForm::parse(b"username=\xff").err().map(|e| e.code),
            Some(90_014)
        );
    }

    #[test]
    fn the_sign_in_form_prefers_the_picked_account() {
        let form =
            LoginForm::parse(b"csrf=t&request=client_id%3Dapp&pick=a%40x&username=b").unwrap();
        assert_eq!(form.account, Account::Picked("a@x".to_owned()));
        assert_eq!(form.csrf.as_deref(), Some("t"));
        assert_eq!(form.request.get("client_id"), Some("app"));
        let form = LoginForm::parse(b"username=b").unwrap();
        assert_eq!(
            form.account,
            Account::Password {
                username: "b".to_owned(),
                password: Password::default()
            }
        );
        let form = LoginForm::parse(b"username=b&password=hunter2").unwrap();
        assert!(!format!("{form:?}").contains("hunter2"));
        let form = DeviceForm::parse(b"username=b&password=hunter2").unwrap();
        assert!(!format!("{form:?}").contains("hunter2"));
        assert_eq!(form.password.as_str(), "hunter2");
        assert_eq!(LoginForm::parse(b"").unwrap().account, Account::Missing);
    }

    #[test]
    fn only_accept_accepts_a_consent() {
        assert!(
            ConsentForm::parse(b"consent=h&decision=accept")
                .unwrap()
                .accepted
        );
        for body in [
            &b"consent=h&decision=cancel"[..],
            b"consent=h",
            b"decision=ACCEPT",
        ] {
            assert!(!ConsentForm::parse(body).unwrap().accepted);
        }
        assert_eq!(ConsentForm::parse(b"").unwrap().handle, "");
    }

    #[test]
    fn the_device_form_knows_its_buttons_and_ignores_an_empty_username() {
        let form =
            DeviceForm::parse(b"user_code=ABC&decision=approve&username=&password=p").unwrap();
        assert_eq!(form.decision, Some(DeviceDecision::Approve));
        assert_eq!(form.username, None);
        assert_eq!(form.user_code, "ABC");
        assert_eq!(DeviceForm::parse(b"decision=other").unwrap().decision, None);
    }
}
