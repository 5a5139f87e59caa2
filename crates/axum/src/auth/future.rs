//! The response futures.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Request};
use pin_project_lite::pin_project;
use rolegate_token::{Principal, ValidationError};
use tower_service::Service;

use super::layer::Settings;
use crate::response::{self, AuthError, Stage};

/// The validation running for one request.
type Check = Pin<Box<dyn Future<Output = Result<Principal, ValidationError>> + Send>>;

pin_project! {
    /// Response future of [`AuthService`](super::AuthService).
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S, B>,
        settings: Arc<Settings>,
        caller_request_id: Option<HeaderValue>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<S, B>
    where
        S: Service<Request<B>>,
    {
        // Validating the token; then the request goes to `service`.
        Validating {
            check: Check,
            request: Option<Request<B>>,
            service: S,
        },
        // The inner service is handling the request.
        Calling {
            #[pin]
            future: S::Future,
        },
        // Refused before any await.
        Refused {
            error: Option<AuthError>,
        },
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    pub(crate) fn validating(
        check: Check,
        request: Request<B>,
        service: S,
        settings: Arc<Settings>,
        caller_request_id: Option<HeaderValue>,
    ) -> Self {
        let state = State::Validating {
            check,
            request: Some(request),
            service,
        };
        ResponseFuture {
            state,
            settings,
            caller_request_id,
        }
    }

    pub(crate) fn calling(
        future: S::Future,
        settings: Arc<Settings>,
        caller_request_id: Option<HeaderValue>,
    ) -> Self {
        ResponseFuture {
            state: State::Calling { future },
            settings,
            caller_request_id,
        }
    }

    pub(crate) fn refused(
        error: AuthError,
        settings: Arc<Settings>,
        caller_request_id: Option<HeaderValue>,
    ) -> Self {
        ResponseFuture {
            state: State::Refused { error: Some(error) },
            settings,
            caller_request_id,
        }
    }
}

impl<S, B> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>>,
    S::Response: IntoResponse,
{
    type Output = Result<Response, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProjection::Validating {
                    check,
                    request,
                    service,
                } => {
                    let outcome = ready!(check.as_mut().poll(cx));
                    let Some(mut request) = request.take() else {
                        return Poll::Ready(Ok(response::internal_error()));
                    };
                    let authorized = outcome.map_err(AuthError::from).and_then(|principal| {
                        if let Some(requirement) = &this.settings.requirement {
                            requirement.check(&principal)?;
                        }
                        Ok(principal)
                    });
                    match authorized {
                        Ok(principal) => {
                            request.extensions_mut().insert(principal);
                            let future = service.call(request);
                            this.state.set(State::Calling { future });
                        }
                        Err(error) => {
                            let error = error.with_request_id_from(request.headers());
                            let responder = &*this.settings.responder;
                            return Poll::Ready(Ok(response::render(
                                error,
                                responder,
                                Stage::Final,
                            )));
                        }
                    }
                }
                StateProjection::Calling { future } => {
                    let response = ready!(future.poll(cx))?.into_response();
                    let caller_request_id = this
                        .caller_request_id
                        .take()
                        .and_then(|v| v.to_str().ok().map(str::to_owned));
                    let responder = &*this.settings.responder;
                    return Poll::Ready(Ok(response::finish(
                        response,
                        responder,
                        caller_request_id,
                    )));
                }
                StateProjection::Refused { error } => {
                    let response = match error.take() {
                        Some(error) => {
                            response::render(error, &*this.settings.responder, Stage::Final)
                        }
                        None => response::internal_error(),
                    };
                    return Poll::Ready(Ok(response));
                }
            }
        }
    }
}

pin_project! {
    /// Response future of [`RequireService`](super::RequireService).
    pub struct RequireFuture<F> {
        #[pin]
        state: RequireState<F>,
    }
}

pin_project! {
    #[project = RequireStateProjection]
    enum RequireState<F> {
        Calling {
            #[pin]
            future: F,
        },
        Refused {
            response: Option<Response>,
        },
    }
}

impl<F> RequireFuture<F> {
    pub(crate) fn calling(future: F) -> Self {
        RequireFuture {
            state: RequireState::Calling { future },
        }
    }

    pub(crate) fn refused(response: Response) -> Self {
        RequireFuture {
            state: RequireState::Refused {
                response: Some(response),
            },
        }
    }
}

impl<F, R, E> Future for RequireFuture<F>
where
    F: Future<Output = Result<R, E>>,
    R: IntoResponse,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            RequireStateProjection::Calling { future } => {
                Poll::Ready(ready!(future.poll(cx)).map(IntoResponse::into_response))
            }
            RequireStateProjection::Refused { response } => {
                Poll::Ready(Ok(response.take().unwrap_or_else(response::internal_error)))
            }
        }
    }
}
