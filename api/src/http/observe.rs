//! Every request gets an ID (a client's `X-Request-Id` if it is a sane one,
//! else a new one), returned in `X-Request-Id`, carried by a span that every
//! log line of the request is written in, and put in `extensions.requestId`
//! of every error the request answers. The request's route, status and
//! latency go to the metrics; its log line names the path, never the query
//! string (report links carry a credential there).

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use tracing::Instrument;

use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static CURRENT: String;
}

/// The ID of the request being served on this task, if any.
pub fn request_id() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// A client's ID is kept when it is 1–64 characters of letters, digits and
/// `-_.:`; anything else (it ends up in logs) is replaced.
fn incoming(req: &ServiceRequest) -> Option<String> {
    let id = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let sane = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    sane.then(|| id.to_string())
}

/// A method as a metrics label: the standard ones, anything else `other`
/// (a client may send any token as a method).
fn method_label(method: &actix_web::http::Method) -> &'static str {
    const KNOWN: &[&str] = &["GET", "POST", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"];
    KNOWN
        .iter()
        .find(|m| **m == method.as_str())
        .copied()
        .unwrap_or("other")
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let id = incoming(&req).unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = method_label(req.method());
    let path = req.path().to_string();
    let span = tracing::info_span!("request", request_id = %id, method);
    let started = Instant::now();
    let result = CURRENT
        .scope(id.clone(), next.call(req))
        .instrument(span.clone())
        .await;
    let took = started.elapsed();
    // Extractor and handler errors arrive as responses; an `Err` here is a
    // service failure, answered by actix itself. (The request cannot be
    // kept aside to answer it: routing needs it unshared.)
    let (status, route) = match &result {
        Ok(res) => (
            res.status().as_u16(),
            res.request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".into()),
        ),
        Err(e) => (
            e.as_response_error().status_code().as_u16(),
            "unmatched".into(),
        ),
    };
    span.in_scope(|| {
        tracing::info!(
            path = %path,
            status,
            ms = took.as_secs_f64() * 1e3,
            "request"
        );
    });
    if let Some(state) = state {
        state.metrics.http(&route, method, status, took);
    }
    let mut res = result?.map_into_boxed_body();
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(res)
}
