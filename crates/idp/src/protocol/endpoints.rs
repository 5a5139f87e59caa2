//! The endpoint table: every path the provider serves, defined once.
//!
//! The router (`crate::web`) registers these paths, and the discovery
//! documents ([`super::discovery`]) take their endpoint members (`token_endpoint`,
//! `jwks_uri`, …) from [`ALL`], so discovery can only advertise what is
//! routed. The web layer's tests walk [`ALL`] and check that each endpoint
//! answers exactly the [`Method`]s listed here.
//!
//! Plain data: no HTTP types (the protocol layer has none).

/// An HTTP method an endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET` (axum answers `HEAD` wherever `GET` is routed).
    Get,
    /// `OPTIONS`: a CORS preflight.
    Options,
    /// `POST`.
    Post,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

/// A discovery document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// `/{tenant}/.well-known/openid-configuration`.
    V1,
    /// `/{tenant}/v2.0/.well-known/openid-configuration`.
    V2,
}

/// How an advertised URL fills the path's `{tenant}` segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// Always `common`, whatever tenant the document is for (the v1
    /// document's `jwks_uri`, as Entra publishes it).
    Common,
    /// The document's own segment: the tenant's GUID, or the `common` /
    /// `organizations` alias it was requested under.
    Document,
}

/// A discovery document member whose value is an endpoint's URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advertised {
    /// The document.
    pub document: Document,
    /// The member's name (`token_endpoint`, `jwks_uri`, …).
    pub member: &'static str,
    /// How the URL fills `{tenant}`.
    pub segment: Segment,
}

/// One endpoint the provider serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// The path as the router matches it (`{tenant}`, `{user}` are
    /// captures).
    pub path: &'static str,
    /// The methods it answers; any other gets 405.
    pub methods: &'static [Method],
    /// The discovery members that name it.
    pub advertised: &'static [Advertised],
}

impl Endpoint {
    /// The path with its `{tenant}` segment filled in.
    pub fn in_tenant(&self, tenant: &str) -> String {
        self.path.replace("{tenant}", tenant)
    }

    /// The endpoint's URL at `origin` for `tenant`.
    pub fn url(&self, origin: &str, tenant: &str) -> String {
        format!("{origin}{}", self.in_tenant(tenant))
    }
}

/// The members of `document` that name endpoints, with their URLs at
/// `origin`; `segment` is the document's own tenant segment.
pub fn advertised(
    document: Document,
    origin: &str,
    segment: &str,
) -> impl Iterator<Item = (&'static str, String)> {
    ALL.iter().flat_map(move |endpoint| {
        endpoint
            .advertised
            .iter()
            .filter(move |a| a.document == document)
            .map(move |a| {
                let tenant = match a.segment {
                    Segment::Common => "common",
                    Segment::Document => segment,
                };
                (a.member, endpoint.url(origin, tenant))
            })
    })
}

/// Every endpoint, in the order the router lists them.
pub const ALL: &[Endpoint] = &[
    AUTHORITY,
    V2_DISCOVERY,
    V1_DISCOVERY,
    V2_KEYS,
    V1_KEYS,
    V2_AUTHORIZE,
    V2_TOKEN,
    V1_AUTHORIZE,
    V1_TOKEN,
    V2_LOGOUT,
    V2_DEVICECODE,
    DEVICE_LOGIN,
    USERINFO,
    GRAPH,
    LOGIN,
    CONSENT,
    INSTANCE_DISCOVERY,
    USER_REALM,
    ERROR_PAGE,
    READY,
    FAVICON,
    PORTAL,
    PORTAL_ASSET,
];

/// The authority itself: a page listing the tenant's endpoints.
pub const AUTHORITY: Endpoint = Endpoint {
    path: "/{tenant}",
    methods: &[Method::Get],
    advertised: &[],
};

/// v2.0 OpenID configuration.
pub const V2_DISCOVERY: Endpoint = Endpoint {
    path: "/{tenant}/v2.0/.well-known/openid-configuration",
    methods: &[Method::Get],
    advertised: &[],
};

/// v1.0 OpenID configuration.
pub const V1_DISCOVERY: Endpoint = Endpoint {
    path: "/{tenant}/.well-known/openid-configuration",
    methods: &[Method::Get],
    advertised: &[],
};

/// v2.0 JWKS (keys carry `issuer`).
pub const V2_KEYS: Endpoint = Endpoint {
    path: "/{tenant}/discovery/v2.0/keys",
    methods: &[Method::Get],
    advertised: &[v2("jwks_uri")],
};

/// v1.0 JWKS. The v1 document names it under `common`.
pub const V1_KEYS: Endpoint = Endpoint {
    path: "/{tenant}/discovery/keys",
    methods: &[Method::Get],
    advertised: &[Advertised {
        document: Document::V1,
        member: "jwks_uri",
        segment: Segment::Common,
    }],
};

/// v2.0 authorize.
pub const V2_AUTHORIZE: Endpoint = Endpoint {
    path: "/{tenant}/oauth2/v2.0/authorize",
    methods: &[Method::Get, Method::Post],
    advertised: &[v2("authorization_endpoint")],
};

/// v2.0 token (with CORS preflight for SPAs).
pub const V2_TOKEN: Endpoint = Endpoint {
    path: "/{tenant}/oauth2/v2.0/token",
    methods: &[Method::Options, Method::Post],
    advertised: &[v2("token_endpoint")],
};

/// v1.0 authorize (`resource=`).
pub const V1_AUTHORIZE: Endpoint = Endpoint {
    path: "/{tenant}/oauth2/authorize",
    methods: &[Method::Get, Method::Post],
    advertised: &[v1("authorization_endpoint")],
};

/// v1.0 token (`resource=`, v1 answer shape).
pub const V1_TOKEN: Endpoint = Endpoint {
    path: "/{tenant}/oauth2/token",
    methods: &[Method::Options, Method::Post],
    advertised: &[v1("token_endpoint")],
};

/// v2.0 logout. The v1 document names no logout endpoint.
pub const V2_LOGOUT: Endpoint = Endpoint {
    path: "/{tenant}/oauth2/v2.0/logout",
    methods: &[Method::Get, Method::Post],
    advertised: &[v2("end_session_endpoint")],
};

/// v2.0 device authorization (RFC 8628 §3.1). The v1 document names no
/// device endpoint.
pub const V2_DEVICECODE: Endpoint = Endpoint {
    path: "/{tenant}/oauth2/v2.0/devicecode",
    methods: &[Method::Post],
    advertised: &[v2("device_authorization_endpoint")],
};

/// The device-code verification page (`verification_uri`).
pub const DEVICE_LOGIN: Endpoint = Endpoint {
    path: "/devicelogin",
    methods: &[Method::Get, Method::Post],
    advertised: &[],
};

/// UserInfo (Graph-hosted in Entra; served locally here), named by both
/// documents.
pub const USERINFO: Endpoint = Endpoint {
    path: "/oidc/userinfo",
    methods: &[Method::Get, Method::Post],
    advertised: &[v1("userinfo_endpoint"), v2("userinfo_endpoint")],
};

/// The Microsoft Graph subset (`crate::graph`): `/v1.0/applications`,
/// `/v1.0/users/{id}`, …
pub const GRAPH: Endpoint = Endpoint {
    path: "/v1.0/{*rest}",
    methods: &[Method::Get, Method::Post, Method::Patch, Method::Delete],
    advertised: &[],
};

/// The sign-in form target.
pub const LOGIN: Endpoint = Endpoint {
    path: "/{tenant}/rolegate/login",
    methods: &[Method::Post],
    advertised: &[],
};

/// The consent form target.
pub const CONSENT: Endpoint = Endpoint {
    path: "/{tenant}/rolegate/consent",
    methods: &[Method::Post],
    advertised: &[],
};

/// Instance discovery.
pub const INSTANCE_DISCOVERY: Endpoint = Endpoint {
    path: "/common/discovery/instance",
    methods: &[Method::Get],
    advertised: &[],
};

/// User realm discovery.
pub const USER_REALM: Endpoint = Endpoint {
    path: "/common/userrealm/{user}",
    methods: &[Method::Get],
    advertised: &[],
};

/// The `error_uri` target.
pub const ERROR_PAGE: Endpoint = Endpoint {
    path: "/error",
    methods: &[Method::Get],
    advertised: &[],
};

/// Readiness for orchestrators and balancers: 200 when the store answers
/// and a key signs, 503 (saying which) otherwise.
pub const READY: Endpoint = Endpoint {
    path: "/rolegate/ready",
    methods: &[Method::Get],
    advertised: &[],
};

/// The admin portal's page (a Graph client; see `crate::directory::admin_portal`).
pub const PORTAL: Endpoint = Endpoint {
    path: "/{tenant}/portal/",
    methods: &[Method::Get],
    advertised: &[],
};

/// The admin portal's script and style sheet.
pub const PORTAL_ASSET: Endpoint = Endpoint {
    path: "/{tenant}/portal/{asset}",
    methods: &[Method::Get],
    advertised: &[],
};

/// Browsers ask for it on every page; answered with 204.
pub const FAVICON: Endpoint = Endpoint {
    path: "/favicon.ico",
    methods: &[Method::Get],
    advertised: &[],
};

/// A v1 document member naming the endpoint in the document's segment.
const fn v1(member: &'static str) -> Advertised {
    Advertised {
        document: Document::V1,
        member,
        segment: Segment::Document,
    }
}

/// A v2 document member naming the endpoint in the document's segment.
const fn v2(member: &'static str) -> Advertised {
    Advertised {
        document: Document::V2,
        member,
        segment: Segment::Document,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_defined_once() {
        let mut paths: Vec<&str> = ALL.iter().map(|e| e.path).collect();
        paths.sort_unstable();
        let before = paths.len();
        paths.dedup();
        assert_eq!(paths.len(), before);
    }

    #[test]
    fn each_document_names_each_member_once() {
        for document in [Document::V1, Document::V2] {
            let mut members: Vec<&str> = advertised(document, "https://o", "t")
                .map(|(member, _)| member)
                .collect();
            members.sort_unstable();
            let before = members.len();
            members.dedup();
            assert_eq!(members.len(), before, "{document:?}");
        }
    }

    #[test]
    fn advertised_urls_fill_the_segment() {
        let v1: Vec<_> = advertised(Document::V1, "https://o", "tid").collect();
        assert!(v1.contains(&("jwks_uri", "https://o/common/discovery/keys".to_owned())));
        assert!(v1.contains(&("token_endpoint", "https://o/tid/oauth2/token".to_owned())));
        assert!(v1.contains(&("userinfo_endpoint", "https://o/oidc/userinfo".to_owned())));
    }
}
