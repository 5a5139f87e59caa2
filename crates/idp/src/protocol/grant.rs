//! The old path of the token endpoint's items, kept only until `web/` moves
//! to [`super::token`], [`super::userinfo`] and [`super::errors`]; new code
//! uses those paths. Remove this module then.

#[doc(no_inline)]
pub use super::errors::server_error;
#[doc(no_inline)]
pub use super::token::issue::{assignment_required, granted_scopes};
#[doc(no_inline)]
pub use super::token::password::sign_in_with_password;
#[doc(no_inline)]
pub use super::token::{TokenRequest, token};
#[doc(no_inline)]
pub use super::userinfo::userinfo;
