//! Every AADSTS number the provider answers with, by name, and the errors
//! whose text is fixed.
//!
//! The scheme: one `pub const NAME: u32` per number, used as
//! `aadsts::INVALID_SCOPE`. The name says what the provider means by the
//! number (which is Entra's meaning where Entra documents one); the doc
//! line gives the number and when it is sent. Constants are listed in
//! numeric order, and [`ALL`] lists them all (a unit test checks that the
//! numbers are unique and that `docs/errors.md`'s table of the provider's
//! codes matches [`ALL`] exactly).
//!
//! An error whose text is fixed has a constructor here (the
//! `impl OAuthError` block below: `OAuthError::code_redeemed()`, …), so the
//! number, the RFC 6749 `error` value and the text sit together. An error
//! whose text names something of the request (an app id, a scope, a
//! tenant) is built where that is known, with the named number.
//!
//! The numbers stay `u32`, the type of [`OAuthError::code`]: the wire
//! carries them as numbers (`error_codes`) and as text (`AADSTSnnnn:`).

use crate::protocol::errors::OAuthError;

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $value:literal;)*) => {
        $($(#[$doc])* pub const $name: u32 = $value;)*

        /// Every named code with its name, in numeric order.
        pub const ALL: &[(&str, u32)] = &[$((stringify!($name), $name)),*];
    };
}

codes! {
    /// 28000: a token request names more than one resource.
    SEVERAL_RESOURCES = 28_000;
    /// 28003: a code redemption with an empty `scope`.
    EMPTY_SCOPE = 28_003;
    /// 50011: the redirect URI is not registered on the application (an
    /// error page, never a redirect).
    REDIRECT_URI_MISMATCH = 50_011;
    /// 50013: an on-behalf-of assertion is invalid or app-only.
    INVALID_ASSERTION = 50_013;
    /// 50020: the user is not from the tenant of the authority.
    USER_NOT_IN_TENANT = 50_020;
    /// 50027: a client assertion is not a well-formed JWT.
    ASSERTION_MALFORMED = 50_027;
    /// 50034: the user of an on-behalf-of assertion does not exist.
    USER_NOT_FOUND = 50_034;
    /// 50053: too many wrong passwords (the lockout or the account back-off).
    ACCOUNT_LOCKED = 50_053;
    /// 50058: `prompt=none` without a signed-in user.
    LOGIN_REQUIRED = 50_058;
    /// 50059: an app-only request at `organizations`/`common`, which names no
    /// tenant.
    NO_TENANT = 50_059;
    /// 50105: the application requires assignment and the user is not
    /// assigned.
    USER_NOT_ASSIGNED = 50_105;
    /// 50126: a wrong user name or password (the same answer for both).
    INVALID_USERNAME_OR_PASSWORD = 50_126;
    /// 50194: a single-tenant application at `organizations`/`common`.
    NOT_MULTI_TENANT = 50_194;
    /// 50199: `prompt=select_account` together with `login_hint`.
    SELECT_ACCOUNT_WITH_LOGIN_HINT = 50_199;
    /// 54005: an authorization code that was already redeemed or never issued.
    CODE_REDEEMED = 54_005;
    /// 65001: consent to a scope is missing.
    CONSENT_REQUIRED = 65_001;
    /// 65004: the user declined consent.
    CONSENT_DECLINED = 65_004;
    /// 70000: a code or refresh token presented by another client, or with
    /// another redirect URI.
    INVALID_GRANT = 70_000;
    /// 70003: an unknown `grant_type`.
    UNSUPPORTED_GRANT_TYPE = 70_003;
    /// 70005: a `response_type` other than `code` (or not enabled).
    UNSUPPORTED_RESPONSE_TYPE = 70_005;
    /// 70008: an expired, revoked or reused code or refresh token.
    EXPIRED_OR_REVOKED_GRANT = 70_008;
    /// 70011: an invalid `scope` value.
    INVALID_SCOPE = 70_011;
    /// 70016: device code: the user has not decided yet.
    AUTHORIZATION_PENDING = 70_016;
    /// 70018: device code: the user declined.
    AUTHORIZATION_DECLINED = 70_018;
    /// 70019: device code: unknown, used, or issued to another client.
    BAD_VERIFICATION_CODE = 70_019;
    /// 70020: device code: expired.
    DEVICE_CODE_EXPIRED = 70_020;
    /// 80001: a UserInfo bearer token that is invalid or whose user is gone.
    USERINFO_INVALID_TOKEN = 80_001;
    /// 80002: a UserInfo bearer token without `openid`.
    USERINFO_INSUFFICIENT_SCOPE = 80_002;
    /// 90002: an unknown tenant in the path.
    TENANT_NOT_FOUND = 90_002;
    /// 90009: an application asks for a token for itself by App ID URI where
    /// Entra requires its GUID.
    SELF_REQUEST_BY_URI = 90_009;
    /// 90011: an unexpected `client_assertion_type`.
    UNEXPECTED_ASSERTION_TYPE = 90_011;
    /// 90014: a required field is missing (a client assertion's claim or
    /// header) or a form body is not UTF-8.
    MISSING_REQUIRED_FIELD = 90_014;
    /// 90015: the request itself is refused: a repeated parameter, a body
    /// over the size limit, a page form without a valid CSRF token, an
    /// expired consent page.
    MALFORMED_REQUEST = 90_015;
    /// 90023: an invalid `prompt`.
    INVALID_PROMPT = 90_023;
    /// 90055: throttled (HTTP 429), or the credential checks are saturated
    /// (HTTP 503).
    THROTTLED = 90_055;
    /// 90094: scopes only an admin may grant.
    ADMIN_CONSENT_REQUIRED = 90_094;
    /// 500000: a token could not be signed.
    SIGNING_FAILED = 500_000;
    /// 500001: the store failed.
    STORE_FAILED = 500_001;
    /// 500002: a validator for the provider's own tokens could not be built.
    VALIDATOR_FAILED = 500_002;
    /// 500011: the resource has no service principal in the tenant.
    RESOURCE_NOT_FOUND = 500_011;
    /// 501051: the client holds no role on an API that requires assignment.
    APP_NOT_ASSIGNED_TO_ROLE = 501_051;
    /// 501481: the PKCE `code_verifier` is malformed, wrong, missing, or sent
    /// for a code issued without a challenge.
    INVALID_CODE_VERIFIER = 501_481;
    /// 501491: an unsupported `code_challenge_method`.
    UNSUPPORTED_CHALLENGE_METHOD = 501_491;
    /// 700005: a code redeemed at another tenant.
    CODE_OTHER_TENANT = 700_005;
    /// 700016: the client is not registered (or installed) in the tenant.
    APP_NOT_FOUND = 700_016;
    /// 700021: a client assertion's `iss` or `sub` is not the client id.
    ASSERTION_CLIENT_MISMATCH = 700_021;
    /// 700023: a client assertion's `aud` is not this token endpoint.
    ASSERTION_AUDIENCE = 700_023;
    /// 700024: a client assertion outside its time range, or too long-lived.
    ASSERTION_TIME_RANGE = 700_024;
    /// 700025: a public client presented a credential.
    PUBLIC_CLIENT_WITH_CREDENTIAL = 700_025;
    /// 700027: a client assertion's key or signature is not accepted.
    ASSERTION_KEY_OR_SIGNATURE = 700_027;
    /// 700054: `response_type=id_token` is not enabled for the application.
    ID_TOKEN_NOT_ENABLED = 700_054;
    /// 700082: a refresh token expired through inactivity.
    REFRESH_TOKEN_INACTIVE = 700_082;
    /// 700084: a SPA refresh token past its fixed 24-hour lifetime.
    SPA_REFRESH_TOKEN_EXPIRED = 700_084;
    /// 900144: a required parameter is missing, or parameters contradict
    /// each other.
    MISSING_PARAMETER = 900_144;
    /// 901002: `resource` on the v2.0 authorize endpoint.
    RESOURCE_PARAMETER_ON_V2 = 901_002;
    /// 1002012: client credentials without `{resource}/.default`.
    DEFAULT_SCOPE_REQUIRED = 1_002_012;
    /// 7000215: a wrong client secret.
    INVALID_CLIENT_SECRET = 7_000_215;
    /// 7000218: the grant needs a client credential (or the family's kind
    /// of credential), or public client flows are not allowed.
    CREDENTIAL_REQUIRED = 7_000_218;
    /// 7000274: a client assertion reuses another assertion's `jti`.
    ASSERTION_JTI_REUSED = 7_000_274;
    /// 9002325: PKCE is required (public clients, cross-origin redemption).
    PKCE_REQUIRED = 9_002_325;
    /// 9002326: a cross-origin (browser) request that is not a SPA's
    /// redemption, or that carries a credential.
    CROSS_ORIGIN_NOT_SPA = 9_002_326;
    /// 9002327: a SPA's code or refresh token redeemed without `Origin`.
    SPA_NOT_CROSS_ORIGIN = 9_002_327;
}

/// The start of every "no credential" answer (AADSTS7000218).
pub const NO_CREDENTIAL_MESSAGE: &str =
    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.";

/// The errors whose text is fixed, by code.
impl OAuthError {
    /// AADSTS28003: a code redemption with an empty `scope`.
    pub fn empty_scope() -> Self {
        Self::invalid_request(
            EMPTY_SCOPE,
            "Provided value for the input parameter scope cannot be empty when requesting an access token using the provided authorization code. Please specify a valid scope.",
        )
    }

    /// AADSTS50013: an on-behalf-of assertion that names no user.
    pub fn app_only_assertion() -> Self {
        Self::invalid_grant(
            INVALID_ASSERTION,
            "Assertion is an app-only token: on-behalf-of needs a token issued for a signed-in user.",
        )
    }

    /// AADSTS50034: the user of an on-behalf-of assertion is unknown.
    pub fn assertion_user_not_found() -> Self {
        Self::invalid_grant(
            USER_NOT_FOUND,
            "The user of the assertion does not exist in this directory.",
        )
    }

    /// AADSTS50053: five wrong passwords from this source in the lockout
    /// window.
    pub fn account_locked() -> Self {
        Self::invalid_grant(
            ACCOUNT_LOCKED,
            "Your account is locked because you've tried to sign in too many times with an incorrect user ID or password. Wait and try again.",
        )
    }

    /// AADSTS50053: the account-wide back-off (many wrong passwords from
    /// all sources within a minute).
    pub fn sign_in_backing_off() -> Self {
        Self::invalid_grant(
            ACCOUNT_LOCKED,
            "You've tried to sign in too many times with an incorrect user ID or password. Wait a minute and try again.",
        )
    }

    /// AADSTS50058: `prompt=none` and nobody is signed in.
    pub fn login_required() -> Self {
        Self::new(
            "login_required",
            LOGIN_REQUIRED,
            "A silent sign-in request was sent but no user is signed in.",
        )
    }

    /// AADSTS50059: an app-only token needs a tenant in the path.
    pub fn no_tenant() -> Self {
        Self::invalid_request(
            NO_TENANT,
            "No tenant-identifying information found in either the request or implied by any provided credentials. Use a tenant-specific authority (tenant id or domain) for this grant.",
        )
    }

    /// AADSTS50126: the one answer for a wrong user name or a wrong
    /// password: unknown and known accounts are indistinguishable.
    pub fn invalid_username_or_password() -> Self {
        Self::invalid_grant(
            INVALID_USERNAME_OR_PASSWORD,
            "Error validating credentials due to invalid username or password.",
        )
    }

    /// AADSTS50199: `prompt=select_account` with `login_hint`.
    pub fn select_account_with_login_hint() -> Self {
        Self::invalid_request(
            SELECT_ACCOUNT_WITH_LOGIN_HINT,
            "prompt=select_account cannot be combined with login_hint.",
        )
    }

    /// AADSTS54005: a code already redeemed, or never issued.
    pub fn code_redeemed() -> Self {
        Self::invalid_grant(
            CODE_REDEEMED,
            "OAuth2 Authorization code was already redeemed or is invalid, please retry with a new valid code or use an existing refresh token.",
        )
    }

    /// AADSTS65004: the user declined consent.
    pub fn consent_declined() -> Self {
        Self::new(
            "access_denied",
            CONSENT_DECLINED,
            "User declined to consent to access the app.",
        )
    }

    /// AADSTS70000: a code issued to another client.
    pub fn code_of_another_client() -> Self {
        Self::invalid_grant(
            INVALID_GRANT,
            "The provided authorization code was issued to another client.",
        )
    }

    /// AADSTS70000: the redirect URI differs from the authorization
    /// request's (RFC 6749 §4.1.3).
    pub fn redirect_uri_changed() -> Self {
        Self::invalid_grant(
            INVALID_GRANT,
            "The provided value for the input parameter 'redirect_uri' is not valid: it must be identical to the one used in the authorization request.",
        )
    }

    /// AADSTS70000: a refresh token issued to another client.
    pub fn refresh_token_of_another_client() -> Self {
        Self::invalid_grant(
            INVALID_GRANT,
            "The refresh token was issued to a different client.",
        )
    }

    /// AADSTS70005: `response_type=token` for a client without implicit
    /// access tokens.
    pub fn token_response_type_not_enabled() -> Self {
        Self::new(
            "unsupported_response_type",
            UNSUPPORTED_RESPONSE_TYPE,
            "The provided value for the input parameter 'response_type' is not allowed for this client. Expected value is 'code'.",
        )
    }

    /// AADSTS70008: a refresh token (or the user of a grant) that is unknown,
    /// expired or revoked.
    pub fn expired_grant() -> Self {
        Self::invalid_grant(
            EXPIRED_OR_REVOKED_GRANT,
            "The provided authorization code or refresh token has expired due to inactivity or was revoked. Send a new interactive authorization request for this user and resource.",
        )
    }

    /// AADSTS70008: an authorization code past its lifetime.
    pub fn code_expired() -> Self {
        Self::invalid_grant(
            EXPIRED_OR_REVOKED_GRANT,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
        )
    }

    /// AADSTS70008: the user an authorization code was issued for is gone.
    pub fn code_user_gone() -> Self {
        Self::invalid_grant(
            EXPIRED_OR_REVOKED_GRANT,
            "The user of this code no longer exists.",
        )
    }

    /// AADSTS70008: a rotated refresh token used again; its family is
    /// revoked.
    pub fn refresh_token_reused() -> Self {
        Self::invalid_grant(
            EXPIRED_OR_REVOKED_GRANT,
            "The refresh token has already been used; every token of its family has been revoked. Sign in again.",
        )
    }

    /// AADSTS70016 (`authorization_pending`, RFC 8628 §3.5).
    pub fn authorization_pending() -> Self {
        Self::new(
            "authorization_pending",
            AUTHORIZATION_PENDING,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        )
    }

    /// AADSTS70018 (`authorization_declined`).
    pub fn authorization_declined() -> Self {
        Self::new(
            "authorization_declined",
            AUTHORIZATION_DECLINED,
            "The user declined the sign-in request.",
        )
    }

    /// AADSTS70019: an unknown or used device code.
    pub fn device_code_unknown() -> Self {
        Self::new(
            "bad_verification_code",
            BAD_VERIFICATION_CODE,
            "The device code is unknown or was already used.",
        )
    }

    /// AADSTS70019: a device code issued to another client.
    pub fn device_code_of_another_client() -> Self {
        Self::new(
            "bad_verification_code",
            BAD_VERIFICATION_CODE,
            "The device code was issued to another client.",
        )
    }

    /// AADSTS70020 (`expired_token`, RFC 8628 §3.5).
    pub fn device_code_expired() -> Self {
        Self::new(
            "expired_token",
            DEVICE_CODE_EXPIRED,
            "The provided value for the input parameter 'device_code' is not valid: it has expired.",
        )
    }

    /// AADSTS80001: the user of a UserInfo bearer token is gone.
    pub fn userinfo_user_gone() -> Self {
        Self::new(
            "invalid_token",
            USERINFO_INVALID_TOKEN,
            "The token's user no longer exists.",
        )
    }

    /// AADSTS80002: a UserInfo bearer token without `openid`.
    pub fn userinfo_without_openid() -> Self {
        Self::new(
            "insufficient_scope",
            USERINFO_INSUFFICIENT_SCOPE,
            "The access token does not grant 'openid'.",
        )
    }

    /// AADSTS90014: a form body that is not UTF-8.
    pub fn body_not_utf8() -> Self {
        Self::invalid_request(
            MISSING_REQUIRED_FIELD,
            "The request body is not valid UTF-8 form data.",
        )
    }

    /// AADSTS90055 with HTTP 503: the credential checks are saturated; try
    /// again shortly.
    pub fn busy() -> Self {
        Self {
            status: 503,
            ..Self::new(
                "temporarily_unavailable",
                THROTTLED,
                "The server is busy verifying credentials; try again in a few seconds.",
            )
        }
    }

    /// AADSTS500000: signing failed (details only in logs).
    pub fn signing_failed() -> Self {
        Self::new(
            "server_error",
            SIGNING_FAILED,
            "The token could not be signed.",
        )
    }

    /// AADSTS500001 with HTTP 500: the store failed (details only in logs;
    /// see [`crate::protocol::errors::server_error`]).
    pub fn store_failed() -> Self {
        Self {
            status: 500,
            ..Self::new(
                "server_error",
                STORE_FAILED,
                "A server error occurred; see the identity provider's log.",
            )
        }
    }

    /// AADSTS500002: a validator for the provider's own tokens could not be
    /// built (details only in logs).
    pub fn validator_failed() -> Self {
        Self::new(
            "server_error",
            VALIDATOR_FAILED,
            "The token could not be checked.",
        )
    }

    /// AADSTS501481: a `code_verifier` that does not match the challenge,
    /// or none for a code issued with one.
    pub fn code_verifier_mismatch() -> Self {
        Self::invalid_grant(
            INVALID_CODE_VERIFIER,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        )
    }

    /// AADSTS501481: a malformed `code_verifier` (RFC 7636 §4.1).
    pub fn code_verifier_malformed() -> Self {
        Self::invalid_grant(
            INVALID_CODE_VERIFIER,
            "The Code_Verifier is malformed: it must be 43 to 128 characters of [A-Z a-z 0-9 - . _ ~].",
        )
    }

    /// AADSTS501481: a PKCE downgrade (RFC 9700 §2.1.1): a verifier for a
    /// code issued without a challenge proves nothing.
    pub fn code_verifier_without_challenge() -> Self {
        Self::invalid_grant(
            INVALID_CODE_VERIFIER,
            "A code_verifier was sent, but the authorization request carried no code_challenge: send PKCE on the authorization request, or no verifier.",
        )
    }

    /// AADSTS700005: a code redeemed at another tenant.
    pub fn code_of_another_tenant() -> Self {
        Self::invalid_grant(
            CODE_OTHER_TENANT,
            "Provided Authorization Code is intended to use against other tenant, thus rejected.",
        )
    }

    /// AADSTS700025: a public client sent a credential.
    pub fn public_client_with_credential() -> Self {
        Self::invalid_client(
            PUBLIC_CLIENT_WITH_CREDENTIAL,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        )
    }

    /// AADSTS700054: `response_type=id_token` not enabled.
    pub fn id_token_response_type_not_enabled() -> Self {
        Self::new(
            "unsupported_response_type",
            ID_TOKEN_NOT_ENABLED,
            "response_type 'id_token' is not enabled for the application.",
        )
    }

    /// AADSTS700082: a refresh token expired through inactivity.
    pub fn refresh_token_inactive() -> Self {
        Self::invalid_grant(
            REFRESH_TOKEN_INACTIVE,
            "The refresh token has expired due to inactivity.",
        )
    }

    /// AADSTS700084: a SPA refresh token past its fixed lifetime (Entra's
    /// text, which names 24 hours).
    pub fn spa_refresh_token_expired() -> Self {
        Self::invalid_grant(
            SPA_REFRESH_TOKEN_EXPIRED,
            "The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of 1.00:00:00, which cannot be extended. It is now expired and a new sign in request must be sent by the SPA to the sign in page.",
        )
    }

    /// AADSTS900144: the client secret both in HTTP Basic and in the body.
    pub fn secret_sent_twice() -> Self {
        Self::invalid_request(
            MISSING_PARAMETER,
            "The client secret was sent both in the Authorization header and in the body; send it once.",
        )
    }

    /// AADSTS900144: a client secret and a client assertion together.
    pub fn secret_and_assertion() -> Self {
        Self::invalid_request(
            MISSING_PARAMETER,
            "Both a client secret and a client assertion were sent; authenticate with one of them.",
        )
    }

    /// AADSTS900144: on-behalf-of without `requested_token_use=on_behalf_of`.
    pub fn requested_token_use_missing() -> Self {
        Self::invalid_request(
            MISSING_PARAMETER,
            "The request body must contain the following parameter: 'requested_token_use' (value 'on_behalf_of').",
        )
    }

    /// AADSTS901002: `resource` at the v2.0 authorize endpoint.
    pub fn resource_parameter_on_v2() -> Self {
        Self::invalid_request(
            RESOURCE_PARAMETER_ON_V2,
            "The 'resource' request parameter is not supported on the v2.0 endpoint; use scopes.",
        )
    }

    /// AADSTS7000218: a confidential client without a credential.
    pub fn credential_required() -> Self {
        Self::invalid_client(CREDENTIAL_REQUIRED, NO_CREDENTIAL_MESSAGE)
    }

    /// AADSTS7000218 (`unauthorized_client`): the device code flow for an app
    /// that allows no public client flows.
    pub fn device_flow_not_allowed() -> Self {
        Self::unauthorized_client(
            CREDENTIAL_REQUIRED,
            "The device code flow needs 'Allow public client flows' (is_fallback_public_client) on the application.",
        )
    }

    /// AADSTS9002325: PKCE is required to redeem cross-origin.
    pub fn pkce_required_cross_origin() -> Self {
        Self::invalid_request(
            PKCE_REQUIRED,
            "Proof Key for Code Exchange is required for cross-origin authorization code redemption.",
        )
    }

    /// AADSTS9002325: a public client's authorization request without a
    /// `code_challenge` (RFC 9700 §2.1.1).
    pub fn pkce_required_public_client() -> Self {
        Self::invalid_request(
            PKCE_REQUIRED,
            "Proof Key for Code Exchange is required for public clients (SPA and native redirect URIs): send code_challenge with code_challenge_method=S256.",
        )
    }

    /// AADSTS9002325: a public client's authorization request with a method
    /// other than `S256`.
    pub fn pkce_s256_required() -> Self {
        Self::invalid_request(
            PKCE_REQUIRED,
            "Public clients must use code_challenge_method=S256; 'plain' (or a missing method) is not accepted.",
        )
    }

    /// AADSTS9002326: a browser redeeming a code for a redirect URI that is
    /// not a SPA's.
    pub fn cross_origin_not_spa() -> Self {
        Self::invalid_request(
            CROSS_ORIGIN_NOT_SPA,
            "Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type. Request origin does not match the redirect URI's platform.",
        )
    }

    /// AADSTS9002326: a browser sending a client credential.
    pub fn cross_origin_credential() -> Self {
        Self::invalid_request(
            CROSS_ORIGIN_NOT_SPA,
            "Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type; a browser must never send a client secret or client assertion.",
        )
    }

    /// AADSTS9002327: a SPA's code or refresh token redeemed without
    /// `Origin`.
    pub fn spa_not_cross_origin() -> Self {
        Self::invalid_request(
            SPA_NOT_CROSS_ORIGIN,
            "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn codes_are_unique_and_in_numeric_order() {
        assert!(
            ALL.windows(2).all(|w| w[0].1 < w[1].1),
            "aadsts::ALL must be strictly ascending (so no number repeats)"
        );
        let names: BTreeSet<&str> = ALL.iter().map(|(name, _)| *name).collect();
        assert_eq!(names.len(), ALL.len());
    }

    /// `docs/errors.md`'s table of the provider's codes lists exactly the
    /// named codes.
    #[test]
    fn docs_list_exactly_the_named_codes() {
        let doc =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md"))
                .unwrap();
        let section = doc
            .split("\n## ")
            .find(|s| s.starts_with(DOCS_SECTION))
            .unwrap_or_else(|| panic!("docs/errors.md has no section '{DOCS_SECTION}'"));
        let documented: BTreeSet<u32> = section
            .lines()
            .filter_map(|line| line.strip_prefix("| "))
            .filter_map(|row| row.split(" |").next())
            .filter_map(|cell| cell.trim().parse().ok())
            .collect();
        let named: BTreeSet<u32> = ALL.iter().map(|(_, code)| *code).collect();
        let undocumented: Vec<&u32> = named.difference(&documented).collect();
        let unknown: Vec<&u32> = documented.difference(&named).collect();
        assert!(
            undocumented.is_empty(),
            "docs/errors.md, '{DOCS_SECTION}', lacks {undocumented:?}"
        );
        assert!(
            unknown.is_empty(),
            "docs/errors.md, '{DOCS_SECTION}', lists {unknown:?}, which aadsts.rs does not name"
        );
    }

    #[test]
    fn fixed_errors_use_their_codes() {
        assert_eq!(OAuthError::code_redeemed().code, 54_005);
        assert_eq!(OAuthError::busy().status, 503);
        assert_eq!(OAuthError::store_failed().status, 500);
        assert_eq!(OAuthError::credential_required().status, 401);
        assert_eq!(
            OAuthError::spa_refresh_token_expired().coded_message(),
            "AADSTS700084: The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of 1.00:00:00, which cannot be extended. It is now expired and a new sign in request must be sent by the SPA to the sign in page."
        );
    }

    const DOCS_SECTION: &str = "Identity provider: every AADSTS code";
}
