//! A local Entra ID-compatible identity provider.
//!
//! `rolegate-idp` serves the Microsoft identity platform's endpoints (same
//! paths, token claims and AADSTS errors) for a tenant described in a TOML
//! file: app registrations with app roles and exposed scopes, users and
//! groups, role assignments and consent. MSAL clients work against it
//! unchanged but for configuration.
//!
//! Modules: [`directory`] (the tenant model and its file format),
//! [`store`] (runtime state: codes, refresh tokens, sessions, keys; in
//! SQLite or in PostgreSQL shared by replicas),
//! [`keys`] (signing keys and JWKS), [`tls`] (the local CA),
//! [`protocol`] (the OAuth 2.0 / OIDC logic), [`graph`] (a Microsoft Graph
//! subset over the directory) and [`web`] (HTTP routes).

pub mod directory;
pub mod graph;
pub mod keys;
pub mod protocol;
pub mod secret;
pub mod server;
pub mod store;
pub mod tls;
pub mod web;
