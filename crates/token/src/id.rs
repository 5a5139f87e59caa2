//! Identifier newtypes.
//!
//! Every protocol identifier gets its own type so that a tenant id can never
//! be passed where a client id is expected. Issuers are compared as exact
//! strings, never as normalised URLs: `https://sts.windows.net/{tid}/` and
//! `https://sts.windows.net/{tid}` are different issuers.

use std::fmt;

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Wraps a string.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The string form.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

string_newtype!(
    /// An application role value (`roles` claim), e.g. `Orders.Admin`.
    AppRole
);
string_newtype!(
    /// An accepted audience (`aud`): a client id GUID or an App ID URI.
    Audience
);
string_newtype!(
    /// An application (client) id, from `azp` (v2) or `appid` (v1).
    ClientId
);
string_newtype!(
    /// A directory role's template id (one entry of `wids`), e.g.
    /// `62e90394-69f5-4237-9190-012177145e10` for Global Administrator.
    ///
    /// Template ids are the same in every tenant; they are not the object
    /// ids of the roles activated in a tenant.
    DirectoryRoleTemplateId
);
string_newtype!(
    /// A group (one entry of `groups`): in Entra the group's object id, a
    /// GUID, unless the app registration asks for on-premises names
    /// (`sAMAccountName` or `dnsDomainName\sAMAccountName`) for groups
    /// synchronized from Active Directory.
    GroupId
);
string_newtype!(
    /// An issuer identifier (`iss`), compared as an exact string.
    ///
    /// May contain the literal template `{tenantid}` when it describes a
    /// multi-tenant issuer pattern.
    Issuer
);
string_newtype!(
    /// A key id (`kid`).
    KeyId
);
string_newtype!(
    /// A delegated permission (one entry of the space-separated `scp` claim),
    /// e.g. `access_as_user`.
    Scope
);
string_newtype!(
    /// A directory tenant id (`tid`), normally a GUID.
    TenantId
);

impl Issuer {
    /// The template placeholder Entra uses in multi-tenant issuers.
    pub const TENANT_TEMPLATE: &'static str = "{tenantid}";

    /// Whether this issuer is a `{tenantid}` template.
    pub fn is_template(&self) -> bool {
        self.0.contains(Self::TENANT_TEMPLATE)
    }

    /// Substitutes `{tenantid}` with a tenant id.
    pub fn for_tenant(&self, tenant: &str) -> Issuer {
        Issuer(self.0.replace(Self::TENANT_TEMPLATE, tenant))
    }
}

impl Audience {
    /// Whether the value looks like a GUID (`8-4-4-4-12` hex digits).
    pub fn is_guid(&self) -> bool {
        is_guid(&self.0)
    }
}

/// Whether `s` has the `8-4-4-4-12` hexadecimal GUID shape.
pub fn is_guid(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_shape() {
        assert!(is_guid("0b1a2c3d-4e5f-6789-abcd-ef0123456789"));
        assert!(!is_guid("api://0b1a2c3d-4e5f-6789-abcd-ef0123456789"));
        assert!(!is_guid("0b1a2c3d-4e5f-6789-abcd-ef012345678"));
        assert!(!is_guid("0b1a2c3dx4e5f-6789-abcd-ef0123456789"));
    }

    #[test]
    fn issuer_template() {
        let t = Issuer::new("https://login.microsoftonline.com/{tenantid}/v2.0");
        assert!(t.is_template());
        assert_eq!(
            t.for_tenant("abc").as_str(),
            "https://login.microsoftonline.com/abc/v2.0"
        );
    }
}
