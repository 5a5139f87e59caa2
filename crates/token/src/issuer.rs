//! Issuer policy: which `iss` values are accepted, and Entra's tenant rules.
//!
//! Entra issues two token versions, chosen by the *resource* (the API's
//! `requestedAccessTokenVersion`), with different issuers:
//!
//! | version | `iss` |
//! |---|---|
//! | v1.0 | `https://sts.windows.net/{tid}/` |
//! | v2.0 | `https://login.microsoftonline.com/{tid}/v2.0` |
//!
//! Multi-tenant issuers are written with the literal template `{tenantid}`
//! and checked by substituting the token's `tid` (as IdentityModel's
//! `AadIssuerValidator` does). Issuers are compared as exact strings.

use std::fmt;

use crate::claims::{Claim, ClaimSet};
use crate::error::ValidationError;
use crate::id::{Issuer, TenantId};

/// An Entra token version (the `ver` claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenVersion {
    /// `ver: "1.0"`, issuer `https://sts.windows.net/{tid}/`.
    V1,
    /// `ver: "2.0"`, issuer `https://{host}/{tid}/v2.0`.
    V2,
}

impl TokenVersion {
    /// The version named by `ver`, or inferred from the shape of `iss`.
    pub fn from_claims(ver: Option<&str>, iss: Option<&str>) -> Option<TokenVersion> {
        match ver {
            Some("1.0") => Some(TokenVersion::V1),
            Some("2.0") => Some(TokenVersion::V2),
            Some(_) => None,
            None => iss.and_then(|iss| {
                if iss.starts_with(V1_ISSUER_PREFIX) {
                    Some(TokenVersion::V1)
                } else if iss.ends_with("/v2.0") {
                    Some(TokenVersion::V2)
                } else {
                    None
                }
            }),
        }
    }

    /// The `ver` claim value.
    pub fn claim_value(self) -> &'static str {
        match self {
            TokenVersion::V1 => "1.0",
            TokenVersion::V2 => "2.0",
        }
    }
}

impl fmt::Display for TokenVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenVersion::V1 => "v1.0",
            TokenVersion::V2 => "v2.0",
        })
    }
}

/// Which tenants may call the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantRule {
    /// Any tenant whose issuer matches.
    Any,
    /// Only these tenants (`tid`).
    Only(Vec<TenantId>),
}

/// The accepted issuers and, for Entra, the tenant and version rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerPolicy {
    issuers: Vec<Issuer>,
    tenants: TenantRule,
    versions: Vec<TokenVersion>,
    entra: bool,
}

impl IssuerPolicy {
    /// Entra rules (a `tid` claim is required and must agree with `iss`);
    /// the accepted issuers are the configured ones plus those named by the
    /// authority's discovery documents.
    pub fn entra(issuers: impl IntoIterator<Item = Issuer>) -> Self {
        Self {
            issuers: issuers.into_iter().collect(),
            tenants: TenantRule::Any,
            versions: vec![TokenVersion::V1, TokenVersion::V2],
            entra: true,
        }
    }

    /// Generic OpenID Connect: `iss` must equal one of `issuers` exactly.
    pub fn exact(issuers: impl IntoIterator<Item = Issuer>) -> Self {
        Self {
            issuers: issuers.into_iter().collect(),
            tenants: TenantRule::Any,
            versions: vec![TokenVersion::V1, TokenVersion::V2],
            entra: false,
        }
    }

    /// Restricts the accepted tenants.
    pub fn with_tenants(mut self, tenants: TenantRule) -> Self {
        self.tenants = tenants;
        self
    }

    /// Restricts the accepted Entra token versions.
    pub fn with_versions(mut self, versions: impl IntoIterator<Item = TokenVersion>) -> Self {
        self.versions = versions.into_iter().collect();
        self
    }

    /// Adds an accepted issuer (exact or `{tenantid}` template).
    pub fn add_issuer(&mut self, issuer: Issuer) {
        if !self.issuers.contains(&issuer) {
            self.issuers.push(issuer);
        }
    }

    /// Whether Entra tenant rules apply.
    pub fn is_entra(&self) -> bool {
        self.entra
    }

    /// The configured issuers.
    pub fn issuers(&self) -> &[Issuer] {
        &self.issuers
    }

    /// The tenant rule.
    pub fn tenants(&self) -> &TenantRule {
        &self.tenants
    }

    /// Checks `iss`/`tid`/`ver`, appending every problem to `errors`.
    /// `discovered` are issuers learned from the authority's metadata.
    pub fn check(
        &self,
        claims: &ClaimSet<'_>,
        discovered: &[Issuer],
        errors: &mut Vec<ValidationError>,
    ) {
        let iss = match claims.string(Claim::Iss) {
            Ok(Some(iss)) => iss,
            Ok(None) => return errors.push(ValidationError::MissingClaim { claim: "iss" }),
            Err(e) => return errors.push(e),
        };
        let tid = match claims.string(Claim::Tid) {
            Ok(tid) => tid,
            Err(e) => {
                errors.push(e);
                None
            }
        };
        if self.entra && !claims.contains(Claim::Tid) {
            errors.push(ValidationError::MissingClaim { claim: "tid" });
        }
        if self.entra {
            let ver = claims.str(Claim::Ver);
            if let Some(version) = TokenVersion::from_claims(ver, Some(iss))
                && !self.versions.contains(&version)
            {
                errors.push(ValidationError::VersionNotAccepted {
                    found: version,
                    accepted: self.versions.clone(),
                });
            }
        }
        let accepted = self
            .issuers
            .iter()
            .chain(discovered)
            .any(|candidate| issuer_matches(candidate, iss, tid));
        if !accepted {
            errors.push(ValidationError::InvalidIssuer {
                found: iss.to_owned(),
                expected: self.expected(discovered),
            });
        }
        if let (true, Some(tid)) = (self.entra, tid) {
            if !issuer_names_tenant(iss, tid) {
                errors.push(ValidationError::TenantMismatch {
                    tid: tid.to_owned(),
                    issuer: iss.to_owned(),
                });
            }
            if let TenantRule::Only(allowed) = &self.tenants
                && !allowed.iter().any(|t| t == tid)
            {
                errors.push(ValidationError::TenantNotAllowed {
                    tid: tid.to_owned(),
                    allowed: allowed.iter().map(ToString::to_string).collect(),
                });
            }
        }
    }

    /// Every accepted issuer, for messages.
    pub fn expected(&self, discovered: &[Issuer]) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for issuer in self.issuers.iter().chain(discovered) {
            if !all.iter().any(|i| i == issuer.as_str()) {
                all.push(issuer.to_string());
            }
        }
        all
    }
}

/// Whether `candidate` (exact or template) accepts `iss` for tenant `tid`.
pub fn issuer_matches(candidate: &Issuer, iss: &str, tid: Option<&str>) -> bool {
    if candidate == iss {
        return !candidate.is_template();
    }
    // `prefix{tenantid}suffix` against `iss`, without building the string.
    let Some((prefix, suffix)) = split_template(candidate.as_str()) else {
        return false;
    };
    let Some(tid) = tid.filter(|t| !t.is_empty()) else {
        return false;
    };
    if split_template(suffix).is_some() {
        return candidate.for_tenant(tid) == iss;
    }
    iss.len() == prefix.len() + tid.len() + suffix.len()
        && iss.starts_with(prefix)
        && iss.ends_with(suffix)
        && iss.get(prefix.len()..prefix.len() + tid.len()) == Some(tid)
}

/// The parts of a template issuer around its first `{tenantid}`.
fn split_template(template: &str) -> Option<(&str, &str)> {
    memchr::memchr_iter(b'{', template.as_bytes()).find_map(|at| {
        let rest = template.get(at..)?;
        rest.starts_with(Issuer::TENANT_TEMPLATE).then(|| {
            (
                template.get(..at).unwrap_or_default(),
                rest.get(Issuer::TENANT_TEMPLATE.len()..)
                    .unwrap_or_default(),
            )
        })
    })
}

/// Whether the Entra issuer `iss` names tenant `tid` as a path segment.
pub fn issuer_names_tenant(iss: &str, tid: &str) -> bool {
    if tid.is_empty() || tid.bytes().any(|b| b == b'/') {
        return false;
    }
    let (iss, tid) = (iss.as_bytes(), tid.as_bytes());
    // Each segment starts at the beginning or after a slash.
    std::iter::once(0)
        .chain(memchr::memchr_iter(b'/', iss).map(|slash| slash + 1))
        .any(|start| {
            iss.get(start..start + tid.len()) == Some(tid)
                && matches!(iss.get(start + tid.len()), None | Some(b'/'))
        })
}

/// The v1 Entra issuer for a tenant.
pub fn v1_issuer(tenant: &str) -> Issuer {
    Issuer::new(format!("{V1_ISSUER_PREFIX}{tenant}/"))
}

const V1_ISSUER_PREFIX: &str = "https://sts.windows.net/";

#[cfg(test)]
mod tests {
    #[test]
    fn issuer_matching_without_allocation_agrees_with_substitution() {
        let template = Issuer::new("https://login.microsoftonline.com/{tenantid}/v2.0");
        let iss = format!("https://login.microsoftonline.com/{TID}/v2.0");
        for (candidate, iss, tid) in [
            (&template, iss.as_str(), Some(TID)),
            (&template, iss.as_str(), Some("other")),
            (&template, iss.as_str(), None),
            (&template, iss.as_str(), Some("")),
            (&template, template.as_str(), Some(TID)),
            (
                &template,
                "https://login.microsoftonline.com//v2.0",
                Some(""),
            ),
        ] {
            let substituted = tid.is_some_and(|t| !t.is_empty() && template.for_tenant(t) == iss);
            assert_eq!(
                issuer_matches(candidate, iss, tid),
                substituted,
                "{iss} {tid:?}"
            );
        }
        let twice = Issuer::new("https://{tenantid}.example/{tenantid}/");
        assert!(issuer_matches(&twice, "https://t.example/t/", Some("t")));
        assert!(!issuer_matches(&twice, "https://t.example/u/", Some("t")));
        for (iss, tid, named) in [
            ("https://sts.windows.net/t1/", "t1", true),
            ("https://sts.windows.net/t1x/", "t1", false),
            ("https://x/t1", "t1", true),
            ("t1/x", "t1", true),
            ("https://x/a/b/", "a/b", false),
            ("https://x/aaa/", "aa", false),
        ] {
            let by_segments = iss.split('/').any(|s| s == tid);
            assert_eq!(issuer_names_tenant(iss, tid), named, "{iss} {tid}");
            assert_eq!(named, by_segments, "{iss} {tid}");
        }
    }

    use serde_json::{Value, json};

    use super::*;

    const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    fn check(policy: &IssuerPolicy, claims: Value) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        policy.check(
            &ClaimSet::from_map(claims.as_object().unwrap()),
            &[],
            &mut errors,
        );
        errors
    }

    #[test]
    fn single_tenant_exact() {
        let p = IssuerPolicy::entra([
            Issuer::new(format!("https://login.microsoftonline.com/{TID}/v2.0")),
            v1_issuer(TID),
        ]);
        let v2 = format!("https://login.microsoftonline.com/{TID}/v2.0");
        assert!(check(&p, json!({"iss": v2, "tid": TID, "ver": "2.0"})).is_empty());
        assert!(
            check(
                &p,
                json!({"iss": format!("https://sts.windows.net/{TID}/"), "tid": TID, "ver": "1.0"})
            )
            .is_empty()
        );
        // Trailing-slash variant is a different issuer.
        let errs = check(
            &p,
            json!({"iss": format!("https://sts.windows.net/{TID}"), "tid": TID}),
        );
        assert!(
            matches!(errs[0], ValidationError::InvalidIssuer { .. }),
            "{errs:?}"
        );
        // tid must agree.
        let errs = check(
            &p,
            json!({"iss": v2, "tid": "00000000-0000-0000-0000-000000000001"}),
        );
        assert!(
            errs.iter()
                .any(|e| matches!(e, ValidationError::TenantMismatch { .. })),
            "{errs:?}"
        );
        // tid required.
        let errs = check(&p, json!({"iss": v2}));
        assert!(
            errs.iter()
                .any(|e| matches!(e, ValidationError::MissingClaim { claim: "tid" }))
        );
    }

    #[test]
    fn multi_tenant_template_and_allow_list() {
        let p = IssuerPolicy::entra([Issuer::new(
            "https://login.microsoftonline.com/{tenantid}/v2.0",
        )])
        .with_tenants(TenantRule::Only(vec![TenantId::new(TID)]));
        let ok =
            json!({"iss": format!("https://login.microsoftonline.com/{TID}/v2.0"), "tid": TID});
        assert!(check(&p, ok).is_empty());
        let other = "11111111-1111-1111-1111-111111111111";
        let errs = check(
            &p,
            json!({"iss": format!("https://login.microsoftonline.com/{other}/v2.0"), "tid": other}),
        );
        assert_eq!(errs.len(), 1);
        assert!(matches!(errs[0], ValidationError::TenantNotAllowed { .. }));
        // Template with a tid that does not match the iss.
        let errs = check(
            &p,
            json!({"iss": format!("https://login.microsoftonline.com/{other}/v2.0"), "tid": TID}),
        );
        assert!(
            errs.iter()
                .any(|e| matches!(e, ValidationError::InvalidIssuer { .. }))
        );
    }

    #[test]
    fn version_restriction() {
        let p = IssuerPolicy::entra([v1_issuer(TID)]).with_versions([TokenVersion::V2]);
        let errs = check(
            &p,
            json!({"iss": format!("https://sts.windows.net/{TID}/"), "tid": TID, "ver": "1.0"}),
        );
        assert!(matches!(
            errs[0],
            ValidationError::VersionNotAccepted { .. }
        ));
    }
}
