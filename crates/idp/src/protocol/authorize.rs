//! The authorize endpoint's decisions (spec §1.4), independent of HTML.
//!
//! The web layer parses the request, asks [`check_client`] whether the
//! client and redirect URI can be trusted (errors then go to a page, never
//! to an unregistered redirect URI: no open redirects), then
//! [`check_request`] for everything else (errors are redirected), and once
//! a user is known, [`next_step`] says whether consent is needed before
//! [`issue_code`] completes the flow.

use std::collections::HashMap;

use url::Url;

use crate::directory::{Application, Directory, RedirectKind, User, admin_portal};
use crate::protocol::errors::{OAuthError, server_error};
use crate::protocol::scope::ScopeSet;
use crate::protocol::token::issue::{assignment_required, granted_scopes};
use crate::protocol::tokens;
use crate::protocol::{Provider, aadsts, tenancy};
use crate::secret::{digest, random_token};
use crate::store::{AuthCode, Session};

/// The parameters of an authorize request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// All parameters as received (kept to resume after login/consent).
    pub params: Vec<(String, String)>,
}

/// Rewrites a v1 authorize request (`resource=`) as the v2 request it
/// means (spec §1.1): the resource's statically consented permissions
/// (`{resource}/.default`), a refresh token (v1 always issues one), and
/// the ID token only when `openid` was asked for. Without `resource` it is
/// an OpenID Connect sign-in. `prompt=admin_consent` (v1 only) becomes
/// `prompt=consent`. The code it leads to redeems at either token endpoint.
pub fn v1_request(req: AuthorizeRequest) -> AuthorizeRequest {
    let openid = req.get("scope").is_some_and(|s| {
        s.split_whitespace()
            .any(|v| v.eq_ignore_ascii_case("openid"))
    });
    let scope = match req.get("resource") {
        Some(resource) => {
            let mut scope = format!("{resource}/.default offline_access");
            if openid {
                scope.push_str(" openid profile");
            }
            scope
        }
        None => "openid profile offline_access".to_owned(),
    };
    let mut params: Vec<(String, String)> = req
        .params
        .into_iter()
        .filter(|(k, _)| k != "resource" && k != "scope")
        .map(|(k, v)| match (k.as_str(), v.as_str()) {
            ("prompt", "admin_consent") => (k, "consent".to_owned()),
            _ => (k, v),
        })
        .collect();
    params.push(("scope".to_owned(), scope));
    AuthorizeRequest::new(params)
}

impl AuthorizeRequest {
    /// Wraps parsed parameters.
    pub fn new(params: Vec<(String, String)>) -> Self {
        Self { params }
    }

    /// A parameter's value (first occurrence), if non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The parameters as a query string, for resuming.
    pub fn encode(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.params.iter())
            .finish()
    }

    /// Decodes [`encode`](Self::encode)'s output.
    pub fn decode(text: &str) -> Self {
        Self::new(
            url::form_urlencoded::parse(text.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// `prompt`.
    pub fn prompt(&self) -> Option<&str> {
        self.get("prompt")
    }
}

/// How the response reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    /// `?code=…` (default for `code`).
    Query,
    /// `#code=…`.
    Fragment,
    /// An auto-submitting HTML form POST.
    FormPost,
}

/// `response_mode` as requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestedMode {
    /// Not sent: the response type's default.
    Default,
    /// A mode this provider serves.
    Known(ResponseMode),
    /// Anything else (refused, AADSTS900144-style).
    Unknown(String),
}

impl RequestedMode {
    /// Reads the `response_mode` parameter.
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            None => RequestedMode::Default,
            Some("query") => RequestedMode::Known(ResponseMode::Query),
            Some("fragment") => RequestedMode::Known(ResponseMode::Fragment),
            Some("form_post") => RequestedMode::Known(ResponseMode::FormPost),
            Some(other) => RequestedMode::Unknown(other.to_owned()),
        }
    }
}

/// `response_type`: the space-separated set of what the client asks
/// `/authorize` to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseType {
    /// `code`: the authorization code flow, the only one served.
    Code,
    /// A set naming `token` (implicit access token; refused when the app
    /// has not enabled it, otherwise not served).
    WithAccessToken(String),
    /// A set naming `id_token` but no `token` (implicit or hybrid ID token).
    WithIdToken(String),
    /// Anything else.
    Unknown(String),
}

impl ResponseType {
    /// Reads the `response_type` parameter (order-insensitive, as OIDC
    /// defines response types as sets).
    pub fn parse(value: &str) -> Self {
        let parts: Vec<&str> = value.split(' ').filter(|p| !p.is_empty()).collect();
        match parts.as_slice() {
            ["code"] => ResponseType::Code,
            _ if parts.contains(&"token") => ResponseType::WithAccessToken(value.to_owned()),
            _ if parts.contains(&"id_token") => ResponseType::WithIdToken(value.to_owned()),
            _ => ResponseType::Unknown(value.to_owned()),
        }
    }

    /// Whether it asks for an implicit (fragment-delivered) token.
    pub fn is_implicit(&self) -> bool {
        matches!(
            self,
            ResponseType::WithAccessToken(_) | ResponseType::WithIdToken(_)
        )
    }
}

/// A trusted client and redirect URI: errors may be redirected there.
#[derive(Debug, Clone)]
pub struct Client<'a> {
    /// The app registration.
    pub app: &'a Application,
    /// The redirect URI exactly as requested.
    pub redirect_uri: String,
    /// Its platform.
    pub kind: RedirectKind,
    /// The response mode.
    pub mode: ResponseMode,
    /// `state`, echoed.
    pub state: Option<String>,
}

/// A failure to show as a page: the client or redirect URI is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageError(pub OAuthError);

/// Checks the client and redirect URI. Failures must not be redirected.
///
/// `own_origin` is the provider's origin as the server derived it for this
/// request (never taken from a parameter): the built-in admin portal's
/// redirect URI is its page on that origin ([`admin_portal`]).
pub fn check_client<'a>(
    dir: &'a Directory,
    req: &AuthorizeRequest,
    own_origin: &str,
) -> Result<Client<'a>, PageError> {
    let client_id = req
        .get("client_id")
        .ok_or_else(|| PageError(OAuthError::missing("client_id")))?;
    let app = dir
        .client(client_id)
        .ok_or_else(|| PageError(tenancy::app_not_found(client_id, dir)))?;
    let redirect_uri = match req.get("redirect_uri") {
        Some(uri) => uri.to_owned(),
        None => match app.redirect_uris.as_slice() {
            [(only, _)] => only.clone(),
            _ => {
                return Err(PageError(OAuthError::missing("redirect_uri")));
            }
        },
    };
    let kind = if admin_portal::is_portal(&app.app_id) {
        admin_portal::is_redirect_uri(dir, own_origin, &redirect_uri).then_some(RedirectKind::Spa)
    } else {
        app.redirect_kind(&redirect_uri)
    };
    let kind = kind.ok_or_else(|| {
        PageError(OAuthError::invalid_request(
            aadsts::REDIRECT_URI_MISMATCH,
            format!("The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.", app.app_id),
        ))
    })?;
    let implicit = req
        .get("response_type")
        .is_some_and(|t| ResponseType::parse(t).is_implicit());
    let mode = match RequestedMode::parse(req.get("response_mode")) {
        RequestedMode::Known(mode) => mode,
        RequestedMode::Default if implicit => ResponseMode::Fragment,
        // An unknown mode is refused by `check_request`, delivered by query.
        RequestedMode::Default | RequestedMode::Unknown(_) => ResponseMode::Query,
    };
    Ok(Client {
        app,
        redirect_uri,
        kind,
        mode,
        state: req.get("state").map(str::to_owned),
    })
}

/// Checks the rest of the request; failures are redirected to the client.
pub fn check_request(
    dir: &Directory,
    req: &AuthorizeRequest,
    client: &Client<'_>,
) -> Result<ScopeSet, OAuthError> {
    if let RequestedMode::Unknown(other) = RequestedMode::parse(req.get("response_mode")) {
        return Err(OAuthError::invalid_request(
            aadsts::MISSING_PARAMETER,
            format!(
                "The provided value '{other}' for the input parameter 'response_mode' is not valid."
            ),
        ));
    }
    let Some(requested) = req.get("response_type") else {
        return Err(OAuthError::missing("response_type"));
    };
    match ResponseType::parse(requested) {
        ResponseType::Code => {}
        ResponseType::WithAccessToken(_) if !client.app.enable_access_token_issuance => {
            return Err(OAuthError::token_response_type_not_enabled());
        }
        ResponseType::WithIdToken(_) | ResponseType::WithAccessToken(_)
            if !client.app.enable_id_token_issuance
                && requested.split(' ').any(|p| p == "id_token") =>
        {
            return Err(OAuthError::id_token_response_type_not_enabled());
        }
        ResponseType::WithAccessToken(other)
        | ResponseType::WithIdToken(other)
        | ResponseType::Unknown(other) => {
            return Err(OAuthError::new(
                "unsupported_response_type",
                aadsts::UNSUPPORTED_RESPONSE_TYPE,
                format!(
                    "response_type '{other}' is not supported by this identity provider yet; use 'code' with PKCE."
                ),
            ));
        }
    }
    if req.get("resource").is_some() {
        return Err(OAuthError::resource_parameter_on_v2());
    }
    if req.prompt() == Some("select_account") && req.get("login_hint").is_some() {
        return Err(OAuthError::select_account_with_login_hint());
    }
    if let Some(prompt) = req.prompt()
        && !matches!(
            prompt,
            "login" | "none" | "consent" | "select_account" | "create"
        )
    {
        return Err(OAuthError::invalid_request(
            aadsts::INVALID_PROMPT,
            format!("The provided value '{prompt}' for the input parameter 'prompt' is not valid."),
        ));
    }
    if let Some(method) = req.get("code_challenge_method")
        && !matches!(method, "S256" | "plain")
    {
        return Err(OAuthError::invalid_request(
            aadsts::UNSUPPORTED_CHALLENGE_METHOD,
            format!("The code_challenge_method '{method}' is not supported; use S256."),
        ));
    }
    // Public clients (SPA and native redirect URIs) cannot keep a secret:
    // PKCE with S256 is mandatory for them (RFC 9700 §2.1.1).
    if matches!(client.kind, RedirectKind::Spa | RedirectKind::PublicClient) {
        if req.get("code_challenge").is_none() {
            return Err(OAuthError::pkce_required_public_client());
        }
        if req.get("code_challenge_method") != Some("S256") {
            return Err(OAuthError::pkce_s256_required());
        }
    }
    let scope = req
        .get("scope")
        .ok_or_else(|| OAuthError::missing("scope"))?;
    ScopeSet::parse(scope, dir)
}

/// What must happen before a code can be issued to this user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Ready: issue the code.
    Issue,
    /// The user must consent to these scopes of this resource.
    Consent {
        /// The resource's app id.
        resource_app_id: String,
        /// Its display name.
        resource_name: String,
        /// Scope values needing consent.
        scopes: Vec<String>,
    },
    /// Scopes of type `Admin` that no admin granted: a user cannot consent
    /// to them ("Need admin approval", AADSTS90094).
    NeedsAdmin {
        /// The resource's display name.
        resource_name: String,
        /// The admin-only scope values.
        scopes: Vec<String>,
    },
}

/// Checks assignment rules and consent for a signed-in user. A client that
/// names itself as the resource (by GUID or by App ID URI) is an ordinary
/// request here, as in Entra (spec §7 "Self-requests").
pub async fn next_step(
    p: &Provider,
    dir: &Directory,
    client: &Client<'_>,
    scopes: &ScopeSet,
    user: &User,
    force_consent: bool,
) -> Result<Step, OAuthError> {
    if client.app.app_role_assignment_required && !dir.user_is_assigned(user, client.app) {
        return Err(assignment_required(user, client.app));
    }
    if admin_portal::is_portal(&client.app.app_id) && user.directory_roles.is_empty() {
        return Err(portal_needs_directory_role(user));
    }
    for resource in scopes.api_resources() {
        let Some(app) = dir.application(&resource.app_id) else {
            continue;
        };
        if app.app_role_assignment_required && !dir.user_is_assigned(user, app) {
            return Err(assignment_required(user, app));
        }
        let granted = granted_scopes(p, dir, client.app, user, app).await?;
        let wanted: Vec<String> = if resource.is_default() {
            if force_consent {
                client
                    .app
                    .required_resource_access
                    .iter()
                    .filter(|r| r.resource_app_id == app.app_id)
                    .flat_map(|r| r.scopes.iter().cloned())
                    .collect()
            } else {
                Vec::new()
            }
        } else {
            resource
                .values
                .iter()
                .filter_map(|v| app.scope(v).map(|s| s.value.clone()))
                .collect()
        };
        let is_granted = |w: &String| granted.iter().any(|g| g.eq_ignore_ascii_case(w));
        let admin_only = |w: &String| app.scope(w).is_some_and(|s| s.admin_only);
        let needs_admin: Vec<String> = wanted
            .iter()
            .filter(|w| admin_only(w) && !is_granted(w))
            .cloned()
            .collect();
        if !needs_admin.is_empty() && !resource.is_default() {
            return Ok(Step::NeedsAdmin {
                resource_name: app.display_name.clone(),
                scopes: needs_admin,
            });
        }
        // Admin-only scopes are never put to the user; with prompt=consent
        // the user re-confirms what a user may grant.
        let missing: Vec<String> = wanted
            .into_iter()
            .filter(|w| !admin_only(w) && (force_consent || !is_granted(w)))
            .collect();
        if !missing.is_empty() {
            return Ok(Step::Consent {
                resource_app_id: app.app_id.clone(),
                resource_name: app.display_name.clone(),
                scopes: missing,
            });
        }
    }
    Ok(Step::Issue)
}

/// AADSTS50105 for the admin portal: only users holding a directory role
/// (`directory_roles` in the tenant file, `wids` in tokens) may sign in.
pub fn portal_needs_directory_role(user: &User) -> OAuthError {
    OAuthError::new(
        "access_denied",
        aadsts::USER_NOT_ASSIGNED,
        format!(
            "The signed in user '{}' holds no directory role in this tenant. The admin portal is for administrators: give the user a directory role such as Application Administrator (directory_roles = [\"Application Administrator\"] under the user in the tenant file), or sign in as another user.",
            user.user_principal_name
        ),
    )
}

/// AADSTS90094 for a user asking for admin-only scopes (shown as a page).
pub fn needs_admin_error(
    client: &Application,
    resource_name: &str,
    scopes: &[String],
) -> OAuthError {
    OAuthError::new(
        "access_denied",
        aadsts::ADMIN_CONSENT_REQUIRED,
        format!(
            "Need admin approval: {} needs permission to access resources in your organization that only an admin can grant ({resource_name}: {}). Ask an admin to grant permission to this app before you can use it.",
            client.display_name,
            scopes.join(", ")
        ),
    )
}

/// Issues an authorization code; returns the response parameters.
pub async fn issue_code(
    p: &Provider,
    dir: &Directory,
    req: &AuthorizeRequest,
    client: &Client<'_>,
    session: &Session,
    tenant_segment: &str,
) -> Result<Vec<(String, String)>, OAuthError> {
    let code = random_token(48);
    let now = p.now();
    let challenge = req.get("code_challenge").map(|c| {
        (
            c.to_owned(),
            req.get("code_challenge_method")
                .unwrap_or("plain")
                .to_owned(),
        )
    });
    let record = AuthCode {
        digest: digest(&code),
        client_id: client.app.app_id.clone(),
        redirect_uri: client.redirect_uri.clone(),
        user_id: session.user_id.clone(),
        scope: req.get("scope").unwrap_or_default().to_owned(),
        nonce: req.get("nonce").map(str::to_owned),
        code_challenge: challenge,
        session_id: session.id.clone(),
        auth_time: session.auth_time,
        tenant_path: tenant_segment.to_owned(),
        expires_at: now + p.settings.code_lifetime,
    };
    p.store.put_code(&record).await.map_err(server_error)?;
    p.store
        .add_session_client(&session.id, &client.app.app_id)
        .await
        .map_err(server_error)?;
    let mut out = vec![("code".to_owned(), code)];
    if req.get("client_info") == Some("1")
        && let Some(user) = dir.user(&session.user_id)
    {
        out.push((
            "client_info".to_owned(),
            tokens::client_info(user, &dir.tenant.id),
        ));
    }
    if let Some(state) = &client.state {
        out.push(("state".to_owned(), state.clone()));
    }
    out.push(("session_state".to_owned(), session.id.clone()));
    Ok(out)
}

/// The response parameters for an error (`error`, `error_description`, `state`…).
pub fn error_params(
    error: &OAuthError,
    client: &Client<'_>,
    trace_id: &str,
    correlation_id: &str,
    now: i64,
) -> Vec<(String, String)> {
    let mut out = vec![
        ("error".to_owned(), error.error.to_owned()),
        (
            "error_description".to_owned(),
            format!(
                "{}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {}",
                error.coded_message(),
                super::errors::timestamp(now)
            ),
        ),
        ("error_codes".to_owned(), error.code.to_string()),
    ];
    if let Some(sub) = error.suberror {
        out.push(("suberror".to_owned(), sub.to_owned()));
    }
    if let Some(state) = &client.state {
        out.push(("state".to_owned(), state.clone()));
    }
    out
}

/// Where to send the browser: a redirect URL, or a form to post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// HTTP 302 to this URL.
    Redirect(String),
    /// An auto-submitting form.
    FormPost {
        /// The redirect URI.
        action: String,
        /// The fields.
        fields: Vec<(String, String)>,
    },
}

/// Builds the delivery of `params` to the client in its response mode. A
/// redirect URI without a path gets a trailing `/` (as Entra does).
pub fn deliver(client: &Client<'_>, params: Vec<(String, String)>) -> Delivery {
    let Ok(mut url) = Url::parse(&client.redirect_uri) else {
        return Delivery::FormPost {
            action: client.redirect_uri.clone(),
            fields: params,
        };
    };
    match client.mode {
        ResponseMode::FormPost => Delivery::FormPost {
            action: url.to_string(),
            fields: params,
        },
        ResponseMode::Query => {
            url.query_pairs_mut().extend_pairs(params.iter());
            Delivery::Redirect(url.to_string())
        }
        ResponseMode::Fragment => {
            let fragment = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter())
                .finish();
            url.set_fragment(Some(&fragment));
            Delivery::Redirect(url.to_string())
        }
    }
}

/// Parses `application/x-www-form-urlencoded` or query text into pairs.
pub fn parse_pairs(text: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

/// Parses form or query text, refusing a parameter sent twice (RFC 6749
/// §3.1: "Request and response parameters MUST NOT be included more than
/// once").
pub fn unique_pairs(text: &str) -> Result<Vec<(String, String)>, OAuthError> {
    let pairs = parse_pairs(text);
    let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|w| w.first() == w.get(1)) {
        return Err(OAuthError::repeated(
            pair.first().copied().unwrap_or_default(),
        ));
    }
    Ok(pairs)
}

/// A form body as a map, refusing repeated parameters and bodies that are
/// not UTF-8.
pub fn unique_map(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let text = std::str::from_utf8(body).map_err(|_| OAuthError::body_not_utf8())?;
    Ok(unique_pairs(text)?.into_iter().collect())
}

/// Pairs into a map (first occurrence wins).
pub fn to_map(pairs: &[(String, String)]) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for (k, v) in pairs {
        map.entry(k.clone()).or_insert_with(|| v.clone());
    }
    map
}

#[cfg(test)]
mod request_type_tests {
    use super::{RequestedMode, ResponseMode, ResponseType};

    #[test]
    fn response_types_are_sets_with_an_explicit_unknown() {
        assert_eq!(ResponseType::parse("code"), ResponseType::Code);
        assert!(matches!(
            ResponseType::parse("id_token code"),
            ResponseType::WithIdToken(_)
        ));
        assert!(matches!(
            ResponseType::parse("token id_token"),
            ResponseType::WithAccessToken(_)
        ));
        assert!(ResponseType::parse("id_token").is_implicit());
        assert_eq!(
            ResponseType::parse("code code2"),
            ResponseType::Unknown("code code2".to_owned())
        );
        assert!(!ResponseType::parse("code").is_implicit());
    }

    #[test]
    fn response_modes_have_an_explicit_unknown() {
        assert_eq!(RequestedMode::parse(None), RequestedMode::Default);
        assert_eq!(
            RequestedMode::parse(Some("form_post")),
            RequestedMode::Known(ResponseMode::FormPost)
        );
        assert_eq!(
            RequestedMode::parse(Some("web_message")),
            RequestedMode::Unknown("web_message".to_owned())
        );
    }
}
