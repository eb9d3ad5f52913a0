//! Who is calling, decided in one place for every route: `/graphql` (POST
//! and GET), `/graphql/ws` and the report downloads. The per-IP limit comes
//! first, then the bearer token becomes a [`Caller`] (the domain checks its
//! signature, session, revocation and expiry), then the per-token limit —
//! so rate limits, token checks and error codes are the same everywhere.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use domain::Caller;

use crate::error::ApiError;
use crate::rate_limit::RetryAfter;
use crate::state::AppState;

/// Why a request was turned away before any resolver ran.
#[derive(Debug, Clone)]
pub enum Refused {
    /// Over a rate limit: HTTP 429 with `Retry-After`, whatever else.
    RateLimited(RetryAfter),
    /// The credentials are wrong (or the lookup failed).
    Denied(ApiError),
}

impl Refused {
    pub fn error(&self) -> ApiError {
        match self {
            Refused::RateLimited(_) => ApiError::rate_limited(),
            Refused::Denied(err) => err.clone(),
        }
    }

    /// An HTTP response with `status` for a denial; 429 for a rate limit.
    pub fn response(&self, status: StatusCode) -> HttpResponse {
        let err = self.error();
        let status = match self {
            Refused::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Refused::Denied(e) if e.is_internal() => StatusCode::INTERNAL_SERVER_ERROR,
            Refused::Denied(_) => status,
        };
        let mut resp = HttpResponse::build(status)
            .content_type("application/json")
            .json(err.response_body());
        if let Refused::RateLimited(retry) = self
            && let Ok(value) = HeaderValue::from_str(&retry.seconds().to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, value);
        }
        resp
    }
}

/// The per-IP limit. The peer address is the socket's: behind a proxy,
/// limit at the proxy as well.
pub fn admit(state: &AppState, peer: Option<IpAddr>) -> Result<(), Refused> {
    match peer {
        Some(ip) => state.rate_limits.check_ip(ip).map_err(|retry| {
            state.metrics.rate_limited("ip");
            Refused::RateLimited(retry)
        }),
        None => Ok(()),
    }
}

/// The caller named by an `Authorization` value (`Bearer <token>`), with the
/// per-token limit applied to partner firms' API tokens.
pub async fn identify(state: &AppState, authorization: Option<&str>) -> Result<Caller, Refused> {
    let caller = Caller::from_authorization(state, authorization)
        .await
        .map_err(|e| Refused::Denied(e.into()))?;
    if let Caller::Partner(partner) = &caller {
        state
            .rate_limits
            .check_token(&partner.token_id)
            .map_err(|retry| {
                state.metrics.rate_limited("token");
                Refused::RateLimited(retry)
            })?;
    }
    Ok(caller)
}

/// Extracts the caller of an HTTP request: the per-IP limit, then the
/// `Authorization` header. Handlers take `Result<Identified, Refused>` to
/// choose how a refusal is answered (GraphQL-over-HTTP or plain HTTP).
/// With the caller comes the state the request reads with
/// (`AppState::for_request`), whose connection the token's check used.
pub struct Identified(pub Caller, pub AppState);

impl FromRequest for Identified {
    type Error = Refused;
    type Future = Pin<Box<dyn Future<Output = Result<Identified, Refused>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let peer = req.peer_addr().map(|a| a.ip());
        let authorization = authorization(req);
        Box::pin(async move {
            let Some(state) = state else {
                return Err(Refused::Denied(ApiError::internal(anyhow::anyhow!(
                    "application state missing"
                ))));
            };
            admit(&state, peer)?;
            identified(&state, authorization).await
        })
    }
}

/// The `Authorization` header as text (an error if it is not).
pub fn authorization(req: &HttpRequest) -> Option<Result<String, ()>> {
    req.headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().map(str::to_string).map_err(|_| ()))
}

/// The caller named by an `Authorization` header, checked on the connection
/// the request will hold (`AppState::for_request`). A handler that reads a
/// body calls this after reading it (`graphql_post`): the connection is
/// checked out by the token's check, and a client slow to send its body
/// must not keep one.
pub async fn identified(
    state: &AppState,
    authorization: Option<Result<String, ()>>,
) -> Result<Identified, Refused> {
    let authorization = match authorization {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(())) => {
            return Err(Refused::Denied(ApiError::unauthenticated(
                "expected 'Authorization: Bearer <token>'",
            )));
        }
    };
    let state = state.for_request();
    let caller = identify(&state, authorization.as_deref()).await?;
    Ok(Identified(caller, state))
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error().message())
    }
}

impl actix_web::ResponseError for Refused {
    fn error_response(&self) -> HttpResponse {
        self.response(StatusCode::UNAUTHORIZED)
    }
}
