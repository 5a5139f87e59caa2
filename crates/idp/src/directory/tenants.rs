//! Several tenants served at once (one tenant file each): which directory
//! a request, a user or an application belongs to.

use super::{Application, Directory, User};

/// Every tenant the provider serves; the first is the default (printed by
/// `rolegate idp`, named by instance discovery). Tenant ids, domains,
/// user object ids and app ids are unique across them (the loader checks).
#[derive(Debug)]
pub struct Tenants {
    default: Directory,
    others: Vec<Directory>,
}

impl Tenants {
    /// The tenants, default first.
    ///
    /// # Panics
    ///
    /// Never for a list from [`super::config::load_all`], which is never
    /// empty; an empty list is a programming error.
    #[allow(clippy::expect_used)]
    pub fn new(list: Vec<Directory>) -> Self {
        let mut list = list.into_iter();
        let default = list.next().expect("at least one tenant");
        Self {
            default,
            others: list.collect(),
        }
    }

    /// One tenant.
    pub fn single(directory: Directory) -> Self {
        Self {
            default: directory,
            others: Vec::new(),
        }
    }

    /// The default tenant.
    pub fn default_tenant(&self) -> &Directory {
        &self.default
    }

    /// All tenants, default first.
    pub fn iter(&self) -> impl Iterator<Item = &Directory> {
        std::iter::once(&self.default).chain(self.others.iter())
    }

    /// The tenant a URL path segment names (id or domain).
    pub fn by_segment(&self, segment: &str) -> Option<&Directory> {
        self.iter().find(|d| d.is_tenant(segment))
    }

    /// The tenant whose domain a sign-in name uses (home-realm discovery).
    pub fn by_upn(&self, upn: &str) -> Option<&Directory> {
        let domain = upn.rsplit_once('@')?.1;
        self.iter()
            .find(|d| d.tenant.domain.eq_ignore_ascii_case(domain))
    }

    /// A user and their home tenant, by object id.
    pub fn user(&self, object_id: &str) -> Option<(&Directory, &User)> {
        self.iter().find_map(|d| d.user(object_id).map(|u| (d, u)))
    }

    /// An application where it is registered (its home tenant).
    pub fn registered(&self, app_id: &str) -> Option<(&Directory, &Application)> {
        self.iter().find_map(|d| {
            d.application(app_id)
                .filter(|a| !a.is_foreign(&d.tenant.id))
                .map(|a| (d, a))
        })
    }
}
