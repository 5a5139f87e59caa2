//! Microsoft Graph as a built-in resource of every tenant, as in Entra: its
//! application permissions are app roles that `[[app_role_assignments]]`
//! grant to client apps, its delegated permissions are scopes that
//! `[[admin_consents]]` grant, and client credentials with
//! `https://graph.microsoft.com/.default` yield a Graph token carrying the
//! roles the client holds (none: a token without `roles`).
//!
//! The ids are Microsoft's own (the same in every tenant), so manifests and
//! tools that name permissions by id (`requiredResourceAccess`, Terraform,
//! `az ad app permission add`) mean the same thing here.

use super::{AppRoleDefinition, Application, PermissionScope, Tenant};

/// Microsoft Graph's application (client) id.
pub const APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Microsoft Graph's identifier URI: `aud` of its (v1.0) tokens when a
/// client names it so.
pub const IDENTIFIER_URI: &str = "https://graph.microsoft.com";

/// Graph's application permissions this provider knows (value, id, display
/// name), all `allowedMemberTypes: ["Application"]`.
pub const APPLICATION_PERMISSIONS: [(&str, &str, &str); 11] = [
    (
        "Application.Read.All",
        "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
        "Read all applications",
    ),
    (
        "Application.ReadWrite.All",
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
        "Read and write all applications",
    ),
    (
        "AppRoleAssignment.ReadWrite.All",
        "06b708a9-e830-4db3-a914-8e69da51d44f",
        "Manage app permission grants and app role assignments",
    ),
    (
        "DelegatedPermissionGrant.ReadWrite.All",
        "8e8e4742-1d95-4f68-9d56-6ee75648c72a",
        "Manage all delegated permission grants",
    ),
    (
        "Directory.Read.All",
        "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
        "Read directory data",
    ),
    (
        "Directory.ReadWrite.All",
        "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
        "Read and write directory data",
    ),
    (
        "Group.Read.All",
        "5b567255-7703-4780-807c-7be8301ae99b",
        "Read all groups",
    ),
    (
        "Group.ReadWrite.All",
        "62a82d76-70ea-41e2-9197-370581804d09",
        "Read and write all groups",
    ),
    (
        "GroupMember.ReadWrite.All",
        "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
        "Read and write all group memberships",
    ),
    (
        "User.Read.All",
        "df021288-bdef-4463-88db-98f22de89214",
        "Read all users' full profiles",
    ),
    (
        "User.ReadWrite.All",
        "741f803b-c850-494e-b5df-cde7c675a1ca",
        "Read and write all users' full profiles",
    ),
];

/// Graph's delegated permissions this provider knows (value, id, consent
/// display name, admin consent required).
pub const DELEGATED_PERMISSIONS: [(&str, &str, &str, bool); 16] = [
    (
        "openid",
        "37f7f235-527c-4136-accd-4a02d197296e",
        "Sign users in",
        false,
    ),
    (
        "profile",
        "14dad69e-099b-42c9-810b-d002981feec1",
        "View users' basic profile",
        false,
    ),
    (
        "email",
        "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
        "View users' email address",
        false,
    ),
    (
        "offline_access",
        "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
        "Maintain access to data you have given it access to",
        false,
    ),
    (
        "User.Read",
        "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
        "Sign in and read user profile",
        false,
    ),
    (
        "User.ReadBasic.All",
        "b340eb25-3456-403f-be2f-af7a0d370277",
        "Read all users' basic profiles",
        false,
    ),
    (
        "User.Read.All",
        "a154be20-db9c-4678-8ab7-66f6cc099a59",
        "Read all users' full profiles",
        true,
    ),
    (
        "User.ReadWrite.All",
        "204e0828-b5ca-4ad8-b9f3-f32a958e7cc4",
        "Read and write all users' full profiles",
        true,
    ),
    (
        "Group.Read.All",
        "5f8c59db-677d-491f-a6b8-5f174b11ec1d",
        "Read all groups",
        true,
    ),
    (
        "Group.ReadWrite.All",
        "4e46008b-f24c-477d-8fff-7bb4ec7aafe0",
        "Read and write all groups",
        true,
    ),
    (
        "Application.Read.All",
        "c79f8feb-a9db-4090-85f9-90d820caa0eb",
        "Read applications",
        true,
    ),
    (
        "Application.ReadWrite.All",
        "bdfbf15f-ee85-4955-8675-146e8e5296b5",
        "Read and write all applications",
        true,
    ),
    (
        "AppRoleAssignment.ReadWrite.All",
        "84bccea3-f856-4a8a-967b-dbe0a3d53a64",
        "Manage app permission grants and app role assignments",
        true,
    ),
    (
        "DelegatedPermissionGrant.ReadWrite.All",
        "41ce6ca6-6826-4807-84f1-1c82854f7ee5",
        "Manage all delegated permission grants",
        true,
    ),
    (
        "Directory.Read.All",
        "06da0dbc-49e2-44d2-8312-53f166ab848a",
        "Read directory data",
        true,
    ),
    (
        "Directory.AccessAsUser.All",
        "0e263e50-5827-48a4-b97c-d940288653c7",
        "Access directory as the signed in user",
        true,
    ),
];

/// Whether `reference` (an app id or identifier URI) names Microsoft Graph.
pub fn is_graph(reference: &str) -> bool {
    reference.eq_ignore_ascii_case(APP_ID)
        || reference
            .trim_end_matches('/')
            .eq_ignore_ascii_case(IDENTIFIER_URI)
}

/// Microsoft Graph's registration as `tenant` sees it: a resource only
/// (never a client), v1.0 tokens, provisioned, with the tenant's own
/// service principal id.
pub fn application(tenant: &Tenant) -> Application {
    Application {
        identifier_uris: vec![IDENTIFIER_URI.to_owned()],
        app_roles: APPLICATION_PERMISSIONS
            .iter()
            .map(|(value, id, display_name)| AppRoleDefinition {
                id: (*id).to_owned(),
                value: (*value).to_owned(),
                display_name: (*display_name).to_owned(),
                allowed_for_users: false,
                allowed_for_applications: true,
            })
            .collect(),
        scopes: DELEGATED_PERMISSIONS
            .iter()
            .map(|(value, id, display_name, admin_only)| PermissionScope {
                id: (*id).to_owned(),
                value: (*value).to_owned(),
                admin_consent_display_name: (*display_name).to_owned(),
                admin_only: *admin_only,
            })
            .collect(),
        ..Application::built_in(tenant, APP_ID, "Microsoft Graph")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_guids() {
        let mut ids: Vec<&str> = APPLICATION_PERMISSIONS
            .iter()
            .map(|(_, id, _)| *id)
            .chain(DELEGATED_PERMISSIONS.iter().map(|(_, id, _, _)| *id))
            .collect();
        for id in &ids {
            assert!(uuid_shaped(id), "{id}");
        }
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before);
    }

    #[test]
    fn graph_is_named_by_id_or_uri() {
        assert!(is_graph(APP_ID));
        assert!(is_graph("https://graph.microsoft.com/"));
        assert!(is_graph("HTTPS://GRAPH.MICROSOFT.COM"));
        assert!(!is_graph("https://graph.microsoft.com/v1.0"));
        assert!(!is_graph("api://00000003-0000-0000-c000-000000000000"));
    }

    fn uuid_shaped(id: &str) -> bool {
        let parts: Vec<&str> = id.split('-').collect();
        parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
            && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
    }
}
