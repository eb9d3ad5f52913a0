//! GraphQL over HTTP: `POST /graphql` (JSON body), `GET /graphql` (queries
//! only, or GraphiQL for browsers). Follows the GraphQL-over-HTTP
//! specification's media types and status codes. Requests past the per-IP
//! or per-API-token rate limit get HTTP 429 and `RATE_LIMITED`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::OperationType;
use futures_util::StreamExt;

use super::AppSchema;
use super::loaders::Loaders;
use crate::auth::{Viewer, viewer};
use crate::error::ApiError;
use crate::rate_limit::RetryAfter;
use crate::state::AppState;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// Which media type the client accepts for the response.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Media {
    GraphQLResponse,
    Json,
}

fn negotiate(req: &HttpRequest) -> Option<Media> {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.trim().is_empty() {
        return Some(Media::Json);
    }
    let types: Vec<&str> = accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .collect();
    if types.contains(&GRAPHQL_RESPONSE) {
        Some(Media::GraphQLResponse)
    } else if types
        .iter()
        .any(|t| *t == JSON || *t == "*/*" || *t == "application/*")
    {
        Some(Media::Json)
    } else {
        None
    }
}

/// An error response for a request that never reached execution.
fn request_error(status: StatusCode, err: &ApiError) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(JSON)
        .json(err.response_body())
}

/// HTTP 429 with `RATE_LIMITED` and a `Retry-After` in seconds, whatever
/// media type was asked for: the status is the signal clients back off on.
fn rate_limited(retry: RetryAfter) -> HttpResponse {
    let mut resp = request_error(StatusCode::TOO_MANY_REQUESTS, &ApiError::RateLimited);
    if let Ok(value) = HeaderValue::from_str(&retry.seconds().to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, value);
    }
    resp
}

/// The per-IP limit, checked before anything else is read. The peer
/// address is the socket's: behind a proxy, limit at the proxy as well.
fn ip_limited(req: &HttpRequest, state: &AppState) -> Option<HttpResponse> {
    let ip = req.peer_addr()?.ip();
    state.rate_limits.check_ip(ip).err().map(rate_limited)
}

pub async fn graphql_post(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
    schema: web::Data<AppSchema>,
) -> HttpResponse {
    if let Some(limited) = ip_limited(&req, &state) {
        return limited;
    }
    let Some(media) = negotiate(&req) else {
        return request_error(
            StatusCode::NOT_ACCEPTABLE,
            &ApiError::bad_input(
                "accept",
                "accept application/graphql-response+json or application/json",
            ),
        );
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case(JSON)
    {
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &ApiError::bad_input("content-type", "send the request as application/json"),
        );
    }
    let limit = state.settings.max_body_bytes;
    let too_large = || {
        request_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &ApiError::bad_input("body", format!("request body is larger than {limit} bytes")),
        )
    };
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > limit
    {
        return too_large();
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return request_error(
                StatusCode::BAD_REQUEST,
                &ApiError::bad_input("body", "could not read the request body"),
            );
        };
        if body.len() + chunk.len() > limit {
            return too_large();
        }
        body.extend_from_slice(&chunk);
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                &ApiError::bad_input(
                    "body",
                    format!("the body is not a GraphQL request in JSON: {e}"),
                ),
            );
        }
    };
    execute(&req, request, media, &state, &schema).await
}

pub async fn graphql_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    schema: web::Data<AppSchema>,
) -> HttpResponse {
    if let Some(limited) = ip_limited(&req, &state) {
        return limited;
    }
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html && req.query_string().is_empty() {
        if state.settings.is_production() {
            return HttpResponse::NotFound().finish();
        }
        let page = GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("referral-exchange")
            .finish();
        return HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(page);
    }
    let Some(media) = negotiate(&req) else {
        return request_error(
            StatusCode::NOT_ACCEPTABLE,
            &ApiError::bad_input(
                "accept",
                "accept application/graphql-response+json or application/json",
            ),
        );
    };
    let request = match async_graphql::http::parse_query_string(req.query_string()) {
        Ok(r) => r,
        Err(e) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                &ApiError::bad_input("query", format!("not a GraphQL request: {e}")),
            );
        }
    };
    if is_mutation(&request) {
        let mut resp = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            &ApiError::bad_input("query", "mutations must be sent with POST"),
        );
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return resp;
    }
    execute(&req, request, media, &state, &schema).await
}

fn is_mutation(request: &async_graphql::Request) -> bool {
    let Ok(doc) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    doc.operations.iter().any(|(name, op)| {
        let selected = match (&request.operation_name, name) {
            (Some(wanted), Some(name)) => wanted.as_str() == name.as_str(),
            (None, _) => true,
            (Some(_), None) => false,
        };
        selected && op.node.ty == OperationType::Mutation
    })
}

async fn execute(
    req: &HttpRequest,
    request: async_graphql::Request,
    media: Media,
    state: &AppState,
    schema: &AppSchema,
) -> HttpResponse {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let viewer = match viewer::resolve(state, authorization).await {
        Ok(v) => v,
        Err(err) => {
            let status = match (media, &err) {
                (_, ApiError::Internal(_)) => StatusCode::INTERNAL_SERVER_ERROR,
                (Media::GraphQLResponse, _) => StatusCode::UNAUTHORIZED,
                (Media::Json, _) => StatusCode::OK,
            };
            return request_error(status, &err);
        }
    };
    if let Viewer::Partner(partner) = &viewer
        && let Err(retry) = state.rate_limits.check_token(&partner.token_id)
    {
        return rate_limited(retry);
    }
    let request = request
        .data(state.clone())
        .data(viewer)
        .data(Loaders::new(&state.db));
    let response = schema.execute(request).await;
    respond(response, media)
}

/// Adds a code to errors raised before our resolvers ran (parsing,
/// validation, variable coercion), and applies the status-code rules.
fn respond(mut response: async_graphql::Response, media: Media) -> HttpResponse {
    for err in &mut response.errors {
        let has_code = err
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some());
        if !has_code {
            let mut ext = err.extensions.take().unwrap_or_default();
            ext.set("code", "BAD_USER_INPUT");
            err.extensions = Some(ext);
        }
    }
    // A request error: nothing executed, so the response has no `data`.
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let mut body = match serde_json::to_value(&response) {
        Ok(v) => v,
        Err(_) => return HttpResponse::InternalServerError().finish(),
    };
    if request_error && let Some(obj) = body.as_object_mut() {
        obj.remove("data");
    }
    let (status, content_type) = match media {
        Media::GraphQLResponse if request_error => (StatusCode::BAD_REQUEST, GRAPHQL_RESPONSE),
        Media::GraphQLResponse => (StatusCode::OK, GRAPHQL_RESPONSE),
        Media::Json => (StatusCode::OK, JSON),
    };
    HttpResponse::build(status)
        .content_type(content_type)
        .json(body)
}
