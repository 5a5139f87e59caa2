//! The services the layers build.

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::IntoResponse;
use http::Request;
use rolegate_token::Principal;
use rolegate_token::requirement::Requirement;
use tower_service::Service;

use super::future::{RequireFuture, ResponseFuture};
use super::layer::{Mode, Settings};
use crate::bearer;
use crate::request_id;
use crate::response::AuthError;

/// The service an [`AuthLayer`](super::AuthLayer) wraps around `S`.
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S> AuthService<S> {
    pub(crate) fn new(inner: S, settings: Arc<Settings>) -> AuthService<S> {
        AuthService { inner, settings }
    }
}

impl<S, B> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>> + Clone,
    S::Response: IntoResponse,
{
    type Response = axum::response::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let settings = Arc::clone(&self.settings);
        let caller_request_id = request_id::caller_value(request.headers());
        match bearer::token(request.headers()) {
            Ok(Some(token)) => {
                // The inner service runs only after validation: take the
                // clone that `poll_ready` prepared and leave a fresh clone
                // behind (tower-http's async_require_authorization).
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                let validator = settings.validator.clone();
                let token = token.to_owned();
                let check = Box::pin(async move { validator.validate(&token).await });
                ResponseFuture::validating(check, request, ready, settings, caller_request_id)
            }
            Ok(None) if settings.mode == Mode::Optional && settings.requirement.is_none() => {
                let future = self.inner.call(request);
                ResponseFuture::calling(future, settings, caller_request_id)
            }
            Ok(None) => {
                let error = AuthError::missing_token().with_request_id_from(request.headers());
                ResponseFuture::refused(error, settings, caller_request_id)
            }
            Err(malformed) => {
                let error = AuthError::from(malformed).with_request_id_from(request.headers());
                ResponseFuture::refused(error, settings, caller_request_id)
            }
        }
    }
}

/// The service a [`RequireLayer`](super::RequireLayer) wraps around `S`.
#[derive(Debug, Clone)]
pub struct RequireService<S> {
    inner: S,
    requirement: Arc<Requirement>,
}

impl<S> RequireService<S> {
    pub(crate) fn new(inner: S, requirement: Arc<Requirement>) -> RequireService<S> {
        RequireService { inner, requirement }
    }
}

impl<S, B> Service<Request<B>> for RequireService<S>
where
    S: Service<Request<B>>,
    S::Response: IntoResponse,
{
    type Response = axum::response::Response;
    type Error = S::Error;
    type Future = RequireFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let verdict = match request.extensions().get::<Principal>() {
            Some(principal) => self.requirement.check(principal).map_err(AuthError::from),
            None => Err(AuthError::missing_token()),
        };
        match verdict {
            // The inner service is called right here, so the instance that
            // `poll_ready` prepared is the one used: no clone needed.
            Ok(()) => RequireFuture::calling(self.inner.call(request)),
            Err(error) => RequireFuture::refused(
                error
                    .with_request_id_from(request.headers())
                    .into_response(),
            ),
        }
    }
}
