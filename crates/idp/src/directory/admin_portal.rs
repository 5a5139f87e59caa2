//! The admin portal's client registration, built into every tenant like
//! Microsoft Graph ([`super::microsoft_graph`]) and like the Azure portal in
//! Entra: a first-party single-page application that signs in
//! administrators (users holding a directory role) and calls the Graph
//! subset for them.
//!
//! Its one redirect URI is the portal page itself on the provider's own
//! origin, `{origin}/{tenant}/portal/`, which depends on the origin a
//! browser reached the provider at; so instead of a list of registered URIs
//! the authorize and token endpoints ask [`is_redirect_uri`] with the origin
//! they derived themselves (never one the request names).

use super::{Application, Directory, GroupMembershipClaims, Tenant};

/// The portal's application (client) id: the Azure portal's own, as Entra
/// shows it in sign-in logs.
pub const APP_ID: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";

/// The Graph permission the portal asks for: act as the signed-in user in
/// the directory (Graph then checks the user's directory roles).
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/Directory.AccessAsUser.All";

/// Whether `app_id` is the portal's.
pub fn is_portal(app_id: &str) -> bool {
    app_id.eq_ignore_ascii_case(APP_ID)
}

/// Whether `uri` is the portal page of `dir` at `origin` (the provider's
/// own origin as the server derived it), the tenant named by id or domain.
pub fn is_redirect_uri(dir: &Directory, origin: &str, uri: &str) -> bool {
    let Some(segment) = uri
        .strip_prefix(origin.trim_end_matches('/'))
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.strip_suffix("/portal/"))
    else {
        return false;
    };
    segment.eq_ignore_ascii_case(&dir.tenant.id) || segment.eq_ignore_ascii_case(&dir.tenant.domain)
}

/// The portal's registration as `tenant` sees it: a client only (no
/// scopes, no roles), `wids` in its ID tokens so the page knows the
/// signed-in user's directory roles.
pub fn application(tenant: &Tenant) -> Application {
    Application {
        requested_access_token_version: 2,
        group_membership_claims: GroupMembershipClaims::DirectoryRole,
        ..Application::built_in(tenant, APP_ID, "rolegate admin portal")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> Directory {
        crate::directory::config::from_toml(
            "[tenant]\nid = \"0b6e1f4e-2f4e-4c36-9a0e-3f1c2a7d9b10\"\ndomain = \"contoso.test\"\n",
            std::path::Path::new("."),
        )
        .unwrap()
    }

    #[test]
    fn a_tenant_file_cannot_take_the_portals_app_id() {
        let problems = crate::directory::config::from_toml(
            &format!(
                "[tenant]\nid = \"0b6e1f4e-2f4e-4c36-9a0e-3f1c2a7d9b10\"\ndomain = \"contoso.test\"\n\n[[applications]]\ndisplay_name = \"Impostor\"\napp_id = \"{APP_ID}\"\n"
            ),
            std::path::Path::new("."),
        )
        .unwrap_err()
        .problems;
        assert!(
            problems.iter().any(|p| p.contains("the admin portal's")),
            "{problems:?}"
        );
    }

    #[test]
    fn only_the_portal_page_on_our_origin_is_a_redirect_uri() {
        let dir = dir();
        let ours = "https://localhost:8443";
        for good in [
            "https://localhost:8443/0b6e1f4e-2f4e-4c36-9a0e-3f1c2a7d9b10/portal/",
            "https://localhost:8443/contoso.test/portal/",
            "https://localhost:8443/CONTOSO.TEST/portal/",
        ] {
            assert!(is_redirect_uri(&dir, ours, good), "{good}");
        }
        for bad in [
            "https://evil.test/contoso.test/portal/",
            "https://localhost:8443.evil.test/contoso.test/portal/",
            "https://localhost:8443/contoso.test/portal/x",
            "https://localhost:8443/contoso.test/portal",
            "https://localhost:8443/fabrikam.test/portal/",
            "https://localhost:8443/organizations/portal/",
            "https://localhost:8443/a/contoso.test/portal/",
            "http://localhost:8443/contoso.test/portal/",
        ] {
            assert!(!is_redirect_uri(&dir, ours, bad), "{bad}");
        }
    }
}
