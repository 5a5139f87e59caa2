//! Audience policy (`aud`, RFC 7519 §4.1.3).
//!
//! Entra v2 access tokens always carry the API's client id GUID; v1 tokens
//! carry the App ID URI exactly as the client asked for it (`api://{id}`, a
//! custom URI) or the GUID. A configured GUID therefore also accepts
//! `api://{guid}`; every other value must match exactly.

use std::borrow::Cow;

use crate::claims::ClaimSet;
use crate::error::ValidationError;
use crate::id::Audience;

/// The audiences a validator accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudiencePolicy {
    accepted: Vec<Audience>,
}

impl AudiencePolicy {
    /// Accepts each audience; a client id GUID also accepts `api://{guid}`.
    pub fn new<A: Into<Audience>>(audiences: impl IntoIterator<Item = A>) -> Self {
        let mut accepted: Vec<Audience> = Vec::new();
        for audience in audiences {
            let audience: Audience = audience.into();
            let uri = audience
                .is_guid()
                .then(|| Audience::new(format!("api://{audience}")));
            for a in std::iter::once(audience).chain(uri) {
                if !accepted.contains(&a) {
                    accepted.push(a);
                }
            }
        }
        Self { accepted }
    }

    /// Accepts exactly these audiences, with no `api://` expansion.
    pub fn exact<A: Into<Audience>>(audiences: impl IntoIterator<Item = A>) -> Self {
        Self {
            accepted: audiences.into_iter().map(Into::into).collect(),
        }
    }

    /// The accepted audiences.
    pub fn accepted(&self) -> &[Audience] {
        &self.accepted
    }

    /// Whether no audience is configured (a configuration error).
    pub fn is_empty(&self) -> bool {
        self.accepted.is_empty()
    }

    /// Checks `aud`; any one accepted audience in the claim suffices.
    pub fn check(&self, claims: &ClaimSet<'_>, errors: &mut Vec<ValidationError>) {
        match claims.audiences() {
            Ok(Some(found)) => {
                if !found
                    .clone()
                    .any(|aud| self.accepted.iter().any(|a| a == aud.as_ref()))
                {
                    errors.push(ValidationError::InvalidAudience {
                        found: found.map(Cow::into_owned).collect(),
                        expected: self.accepted.iter().map(ToString::to_string).collect(),
                    });
                }
            }
            Ok(None) => errors.push(ValidationError::MissingClaim { claim: "aud" }),
            Err(e) => errors.push(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const API: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";

    fn errors(p: &AudiencePolicy, v: Value) -> Vec<ValidationError> {
        let mut e = Vec::new();
        p.check(&ClaimSet::from_map(v.as_object().unwrap()), &mut e);
        e
    }

    #[test]
    fn guid_accepts_app_id_uri() {
        let p = AudiencePolicy::new([API]);
        assert!(errors(&p, json!({"aud": API})).is_empty());
        assert!(errors(&p, json!({"aud": format!("api://{API}")})).is_empty());
        assert!(!errors(&p, json!({"aud": format!("api://{API}/")})).is_empty());
        assert!(!errors(&p, json!({"aud": "00000003-0000-0000-c000-000000000000"})).is_empty());
        assert!(matches!(
            errors(&p, json!({}))[0],
            ValidationError::MissingClaim { claim: "aud" }
        ));
    }

    #[test]
    fn array_audience() {
        let p = AudiencePolicy::exact(["https://api.contoso.test"]);
        assert!(errors(&p, json!({"aud": ["x", "https://api.contoso.test"]})).is_empty());
        assert!(!errors(&p, json!({"aud": ["x"]})).is_empty());
    }
}
