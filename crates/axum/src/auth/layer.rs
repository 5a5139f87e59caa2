//! The layers: configuration shared by every service they build.

use std::fmt;
use std::sync::Arc;

use rolegate_token::Validator;
use rolegate_token::requirement::Requirement;
use tower_layer::Layer;

use super::service::{AuthService, RequireService};
use crate::response::{ErrorResponder, ProblemDetails};

/// Validates the bearer token of every request and makes the caller's
/// [`Principal`](rolegate_token::Principal) available to handlers.
///
/// Cheap to clone: the configuration is shared.
#[derive(Clone)]
pub struct AuthLayer {
    settings: Arc<Settings>,
}

impl AuthLayer {
    /// Every request needs a valid access token: without an `Authorization`
    /// header the answer is 401 with `WWW-Authenticate: Bearer`.
    pub fn new(validator: Validator) -> AuthLayer {
        AuthLayer::with_mode(validator, Mode::Required)
    }

    /// Requests without an `Authorization` header pass through with no
    /// principal (use [`MaybeAuth`](crate::extract::MaybeAuth)). A header
    /// that is present but malformed or carries an invalid token is still
    /// refused.
    ///
    /// With [`require`](Self::require), a token becomes mandatory again.
    pub fn optional(validator: Validator) -> AuthLayer {
        AuthLayer::with_mode(validator, Mode::Optional)
    }

    /// Also authorizes: a validated caller who does not meet `requirement`
    /// gets 403 with `error="insufficient_scope"`. Calling it again
    /// replaces the requirement; combine them with
    /// [`Requirement::and`].
    pub fn require(mut self, requirement: Requirement) -> AuthLayer {
        Arc::make_mut(&mut self.settings).requirement = Some(requirement);
        self
    }

    /// Chooses the response bodies for refusals (default:
    /// [`ProblemDetails`]). The status, `WWW-Authenticate`, `Retry-After`
    /// and `x-request-id` headers are always set by the layer.
    pub fn error_responder(mut self, responder: impl ErrorResponder) -> AuthLayer {
        Arc::make_mut(&mut self.settings).responder = Arc::new(responder);
        self
    }

    fn with_mode(validator: Validator, mode: Mode) -> AuthLayer {
        AuthLayer {
            settings: Arc::new(Settings {
                validator,
                mode,
                requirement: None,
                responder: Arc::new(ProblemDetails),
            }),
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService::new(inner, Arc::clone(&self.settings))
    }
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.settings.fmt(f)
    }
}

/// Authorizes requests that an [`AuthLayer`] further out has
/// authenticated: 403 `insufficient_scope` when the principal does not meet
/// the requirement, 401 when there is no principal at all (no `AuthLayer`,
/// or an optional one and no token).
///
/// Refusals are rendered with [`ProblemDetails`]; an enclosing `AuthLayer`
/// renders them again with its own responder.
#[derive(Debug, Clone)]
pub struct RequireLayer {
    requirement: Arc<Requirement>,
}

impl RequireLayer {
    /// Requires `requirement` of the authenticated caller.
    pub fn new(requirement: Requirement) -> RequireLayer {
        RequireLayer {
            requirement: Arc::new(requirement),
        }
    }
}

impl<S> Layer<S> for RequireLayer {
    type Service = RequireService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireService::new(inner, Arc::clone(&self.requirement))
    }
}

/// What an [`AuthLayer`] was configured with.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) validator: Validator,
    pub(crate) mode: Mode,
    pub(crate) requirement: Option<Requirement>,
    pub(crate) responder: Arc<dyn ErrorResponder>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("audiences", &self.validator.audiences())
            .field("mode", &self.mode)
            .field("requirement", &self.requirement)
            .finish_non_exhaustive()
    }
}

/// Whether a request needs a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Requests without an `Authorization` header pass through.
    Optional,
    /// Every request needs a token.
    Required,
}
