//! Which tenant a request is served in (spec §2): the authority path
//! segment (a tenant id or domain, or `organizations`/`common`), the
//! client's registration and sign-in audience, and the signed-in user's
//! home tenant. Tokens carry the user's home tenant in `iss`/`tid`.

use crate::directory::{Application, Directory, Tenants, User};
use crate::protocol::errors::{OAuthError, server_error};
use crate::protocol::{Provider, aadsts};

/// Where a request was sent.
#[derive(Debug, Clone, Copy)]
pub enum Authority<'a> {
    /// A tenant, by id or domain: only its users sign in.
    Tenant(&'a Directory),
    /// `organizations` or `common`: any tenant's users; the client must
    /// be multi-tenant; the user's home tenant issues the tokens.
    Multi,
}

impl<'a> Authority<'a> {
    /// Resolves an authority path segment (AADSTS90002 when unknown).
    pub fn resolve(tenants: &'a Tenants, segment: &str) -> Result<Self, OAuthError> {
        if let Some(dir) = tenants.by_segment(segment) {
            return Ok(Authority::Tenant(dir));
        }
        match segment.to_ascii_lowercase().as_str() {
            "common" | "organizations" => Ok(Authority::Multi),
            _ => {
                let served: Vec<String> = tenants
                    .iter()
                    .map(|d| format!("{} ({})", d.tenant.id, d.tenant.domain))
                    .collect();
                Err(OAuthError::new(
                    "invalid_tenant",
                    aadsts::TENANT_NOT_FOUND,
                    format!(
                        "Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. This identity provider serves {}.",
                        served.join(", ")
                    ),
                ))
            }
        }
    }

    /// The directory a client is looked up in before the user is known: the
    /// tenant itself, or for `organizations`/`common` the client's home,
    /// where it must be registered as multi-tenant (AADSTS50194).
    pub fn client_directory(
        self,
        tenants: &'a Tenants,
        client_id: &str,
    ) -> Result<&'a Directory, OAuthError> {
        match self {
            Authority::Tenant(dir) => match dir.client(client_id) {
                Some(_) => Ok(dir),
                None => Err(app_not_found(client_id, dir)),
            },
            Authority::Multi => match tenants.registered(client_id) {
                None => Err(app_not_found(client_id, tenants.default_tenant())),
                Some((_, app)) if !app.is_multi_tenant() => Err(single_tenant_on_common(app)),
                Some((dir, _)) => Ok(dir),
            },
        }
    }

    /// Checks that `user` (from `home`) may sign in here for `client_id`:
    /// at a tenant only its own users (AADSTS50020); at `common` anyone,
    /// if the client exists in their tenant (its own app, or a multi-tenant
    /// one).
    pub fn admit(self, home: &Directory, user: &User, client_id: &str) -> Result<(), OAuthError> {
        match self {
            Authority::Tenant(dir) if dir.tenant.id != home.tenant.id => {
                Err(user_not_in_tenant(user, home, dir, client_id))
            }
            _ => match home.client(client_id) {
                Some(_) => Ok(()),
                None => Err(app_not_found(client_id, home)),
            },
        }
    }

    /// The tenant path this authority names, for messages.
    pub fn is_multi(self) -> bool {
        matches!(self, Authority::Multi)
    }
}

/// Whether `app` has a service principal in `dir`: its own apps always;
/// another tenant's multi-tenant app when the tenant file installs it or
/// a consent did.
pub async fn installed(
    p: &Provider,
    dir: &Directory,
    app: &Application,
) -> Result<bool, OAuthError> {
    if app.provisioned {
        return Ok(true);
    }
    p.store
        .service_principal_installed(&dir.tenant.id, &app.app_id)
        .await
        .map_err(server_error)
}

/// Creates `app`'s service principal in `dir` (a consent there), if it is
/// another tenant's app not installed yet.
pub async fn install(p: &Provider, dir: &Directory, app: &Application) -> Result<(), OAuthError> {
    if app.provisioned {
        return Ok(());
    }
    tracing::info!(tenant = %dir.tenant.id, app = %app.app_id, "service principal created on consent");
    p.store
        .install_service_principal(&dir.tenant.id, &app.app_id, p.now())
        .await
        .map_err(server_error)
}

/// AADSTS700016.
pub fn app_not_found(client_id: &str, dir: &Directory) -> OAuthError {
    OAuthError::unauthorized_client(
        aadsts::APP_NOT_FOUND,
        format!(
            "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
            dir.tenant.domain
        ),
    )
}

/// AADSTS50194.
pub fn single_tenant_on_common(app: &Application) -> OAuthError {
    OAuthError::invalid_request(
        aadsts::NOT_MULTI_TENANT,
        format!(
            "Application '{}'({}) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant (sign_in_audience = \"AzureADMultipleOrgs\").",
            app.app_id, app.display_name
        ),
    )
}

/// AADSTS50020.
pub fn user_not_in_tenant(
    user: &User,
    home: &Directory,
    dir: &Directory,
    client_id: &str,
) -> OAuthError {
    OAuthError::invalid_grant(
        aadsts::USER_NOT_IN_TENANT,
        format!(
            "User account '{}' from identity provider 'https://sts.windows.net/{}/' does not exist in tenant '{}' and cannot access the application '{client_id}' in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different account, or use the 'organizations' authority with a multi-tenant application.",
            user.user_principal_name, home.tenant.id, dir.tenant.domain
        ),
    )
}

/// AADSTS500011 for another tenant's API that has no service principal here.
pub fn resource_not_installed(resource: &str, dir: &Directory) -> OAuthError {
    OAuthError::new(
        "invalid_resource",
        aadsts::RESOURCE_NOT_FOUND,
        format!(
            "The resource principal named {resource} was not found in the tenant named {}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
            dir.tenant.domain
        ),
    )
}
