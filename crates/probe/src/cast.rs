//! Who appears in the probe's tokens: the API under test, the client that
//! calls it, a single-page app, a daemon, another API and a user — taken
//! from the tenant where it has them, otherwise made up the way Entra would
//! issue them (a fresh GUID app id), so that every check can be sent.

use std::path::Path;

use rolegate_idp::directory::{Application, Directory, RedirectKind, User};

use crate::ProbeError;

/// The registrations and the user the tokens name.
#[derive(Debug, Clone)]
pub(crate) struct Cast {
    /// The API under test.
    pub api: Application,
    /// The audience as given on the command line (the v1.0 `aud`).
    pub audience: String,
    /// The client of delegated tokens.
    pub client: Application,
    /// The app whose ID token is sent (`id_token`).
    pub spa: Application,
    /// The client of app-only tokens.
    pub daemon: Application,
    /// Another API of the tenant (`wrong_audience`).
    pub other_api: Application,
    /// The signed-in user.
    pub user: User,
    /// Which of these were made up (for the report).
    pub synthesized: Vec<&'static str>,
}

impl Cast {
    /// Picks the cast for the API `audience` (client id or App ID URI).
    pub(crate) fn new(
        directory: &Directory,
        audience: &str,
        tenant_file: &Path,
    ) -> Result<Cast, ProbeError> {
        let api =
            directory
                .resource(audience)
                .cloned()
                .ok_or_else(|| ProbeError::UnknownAudience {
                    audience: audience.to_owned(),
                    tenant_file: tenant_file.to_path_buf(),
                    apis: api_list(directory),
                })?;
        let others = || {
            directory
                .applications
                .iter()
                .filter(|a| !a.first_party && a.app_id != api.app_id)
        };
        let mut synthesized = Vec::new();
        let mut pick = |found: Option<&Application>, role: &'static str| match found {
            Some(app) => Ok(app.clone()),
            None => {
                synthesized.push(role);
                synthetic_app(role)
            }
        };
        let names_api = |a: &&Application| {
            a.required_resource_access
                .iter()
                .any(|r| r.resource_app_id == api.app_id && !r.scopes.is_empty())
        };
        let client = others()
            .find(names_api)
            .or_else(|| (!api.redirect_uris.is_empty()).then_some(&api))
            .or_else(|| others().find(|a| !a.redirect_uris.is_empty()));
        let client = pick(client, "client")?;
        let spa = others().find(|a| a.redirect_uris.iter().any(|(_, k)| *k == RedirectKind::Spa));
        let spa = pick(spa, "single-page app")?;
        let daemon = others()
            .filter(|a| !a.secrets.is_empty())
            .find(|a| {
                a.required_resource_access
                    .iter()
                    .any(|r| r.resource_app_id == api.app_id && !r.roles.is_empty())
            })
            .or_else(|| others().find(|a| !a.secrets.is_empty() && a.redirect_uris.is_empty()));
        let daemon = pick(daemon, "daemon")?;
        // Another API, preferably one whose roles differ from the API's: an
        // API that shares role names may be served by the same endpoint on
        // purpose (as the demo serves both of its Orders registrations).
        let is_api = |a: &&Application| {
            a.app_id != client.app_id
                && (!a.scopes.is_empty()
                    || !a.app_roles.is_empty()
                    || !a.identifier_uris.is_empty())
        };
        let shares_roles = |a: &&Application| {
            a.app_roles
                .iter()
                .any(|r| api.app_roles.iter().any(|own| own.value == r.value))
        };
        let other_api = others()
            .filter(is_api)
            .find(|a| !shares_roles(a))
            .or_else(|| others().find(is_api));
        let other_api = pick(other_api, "other API")?;
        let user = match directory.users.first() {
            Some(user) => user.clone(),
            None => {
                synthesized.push("user");
                User {
                    object_id: guid()?,
                    user_principal_name: format!("probe.user@{}", directory.tenant.domain),
                    display_name: "Probe User".to_owned(),
                    password_hash: None,
                    groups: Vec::new(),
                    directory_roles: Vec::new(),
                }
            }
        };
        Ok(Cast {
            api,
            audience: audience.to_owned(),
            client,
            spa,
            daemon,
            other_api,
            user,
            synthesized,
        })
    }
}

/// A fresh random GUID (version 4), as Entra's app and object ids are.
pub(crate) fn guid() -> Result<String, ProbeError> {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| ProbeError::Random)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let v = u128::from_be_bytes(b);
    Ok(format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        v >> 96,
        (v >> 80) & 0xffff,
        (v >> 64) & 0xffff,
        (v >> 48) & 0xffff,
        v & 0xffff_ffff_ffff
    ))
}

/// The applications that expose roles or scopes, for error messages.
fn api_list(directory: &Directory) -> String {
    let apis: Vec<String> = directory
        .applications
        .iter()
        .filter(|a| !a.first_party && (!a.scopes.is_empty() || !a.app_roles.is_empty()))
        .map(|a| {
            let uri = a
                .identifier_uris
                .first()
                .map(|u| format!(", {u}"))
                .unwrap_or_default();
            format!("{} ({}{uri})", a.display_name, a.app_id)
        })
        .collect();
    if apis.is_empty() {
        "none exposes app roles or scopes".to_owned()
    } else {
        apis.join("; ")
    }
}

/// An app registration the tenant does not have, as Entra would register
/// it: a fresh app id and service principal, an `api://` URI, v2.0 tokens.
fn synthetic_app(role: &str) -> Result<Application, ProbeError> {
    let app_id = guid()?;
    Ok(Application {
        identifier_uris: vec![format!("api://{app_id}")],
        service_principal_id: guid()?,
        display_name: format!("probe {role}"),
        app_id,
        requested_access_token_version: 2,
        app_role_assignment_required: false,
        redirect_uris: Vec::new(),
        is_fallback_public_client: false,
        enable_id_token_issuance: false,
        enable_access_token_issuance: false,
        app_roles: Vec::new(),
        scopes: Vec::new(),
        secrets: Vec::new(),
        key_credentials: Vec::new(),
        required_resource_access: Vec::new(),
        emit_idtyp: false,
        group_membership_claims: Default::default(),
        sign_in_audience: Default::default(),
        home_tenant_id: String::new(),
        provisioned: true,
        first_party: false,
    })
}
