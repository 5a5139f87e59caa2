//! The demo tenant: the Orders scenario of `examples/tenant.toml` plus the
//! single-registration variant (one app registration for the SPA and the
//! API), in the tenant-file format `rolegate idp --config` reads.
//!
//! ```
//! use rolegate_demo::tenant;
//!
//! assert!(tenant::TOML.contains(tenant::TENANT_ID));
//! let scope = format!("api://{}/access_as_user", tenant::API);
//! # let _ = scope;
//! ```
//!
//! The constants name what the file declares; a test checks that they
//! agree with it.

/// The tenant file. `rolegate demo` writes it to its data folder on first
/// start, where it may be edited.
pub const TOML: &str = include_str!("../tenant.toml");

/// The tenant id (`tid`; the authority's path segment).
pub const TENANT_ID: &str = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b";
/// The Orders API registration's client id (its `aud` in v2.0 tokens).
pub const API: &str = "8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c";
/// The Orders SPA's client id: the app signs users in with it, in the
/// two-registration setup.
pub const SPA: &str = "2732dc92-37da-4c7f-a87a-1900d556a951";
/// The client id of the registration that is both the SPA and the API.
pub const SINGLE: &str = "4f6a8c2e-1b3d-4e5f-9a7b-8c9d0e1f2a3b";
/// The Orders daemon's client id (application permission `Orders.Read`).
pub const DAEMON: &str = "7fbf04bb-64db-4661-a8cd-d2d07d250ad8";
/// The Orders daemon's client secret.
///
/// # Security
///
/// A published test secret, like the users' passwords in the file: the
/// demo tenant is for a local provider only.
pub const DAEMON_SECRET: &str = "daemon-secret-8Qx3vT7pLm2Zr9Wc";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::store::SEED_CUSTOMERS;

    #[test]
    fn the_constants_are_the_files() {
        assert!(TOML.contains(&format!("id = \"{TENANT_ID}\"")));
        for app in [API, SPA, SINGLE, DAEMON] {
            assert!(TOML.contains(&format!("app_id = \"{app}\"")), "{app}");
        }
        assert!(TOML.contains(&format!("secret = \"{DAEMON_SECRET}\"")));
    }

    #[test]
    fn the_users_own_the_seeded_orders() {
        for customer in SEED_CUSTOMERS {
            assert!(
                TOML.contains(&format!("object_id = \"{customer}\"")),
                "{customer}"
            );
        }
    }
}
