//! GraphQL over HTTP: `POST /graphql` (JSON body), `GET /graphql` (queries
//! only, or GraphiQL for browsers). Follows the GraphQL-over-HTTP
//! specification's media types and status codes. Requests past the per-IP
//! or per-API-token rate limit get HTTP 429 and `RATE_LIMITED`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use tracing::Instrument;

use super::caller::{Identified, Refused};
use crate::error::ApiError;
use crate::graphql::Served;
use crate::graphql::limits::{Refusal, Transport};
use crate::graphql::loaders::Loaders;
use crate::state::AppState;
use async_graphql::parser::types::{ExecutableDocument, OperationType};

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

/// HTTP 406: the client accepts neither response media type.
fn not_acceptable() -> HttpResponse {
    request_error(
        StatusCode::NOT_ACCEPTABLE,
        &ApiError::bad_input(
            "accept",
            "accept application/graphql-response+json or application/json",
        ),
    )
}

/// An error response for a request that never reached execution.
fn request_error(status: StatusCode, err: &ApiError) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(JSON)
        .json(err.response_body())
}

pub async fn graphql_post(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
    schema: web::Data<Served>,
) -> HttpResponse {
    // The per-IP limit first; the token is checked once the body is in
    // (below), so that no connection waits on a client sending it.
    if let Err(limited) = super::caller::admit(&state, req.peer_addr().map(|a| a.ip())) {
        return limited.response(StatusCode::TOO_MANY_REQUESTS);
    }
    let Some(media) = negotiate(&req) else {
        return not_acceptable();
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
    let caller = super::caller::identified(&state, super::caller::authorization(&req)).await;
    execute(caller, request, Transport::Post, media, &state, &schema).await
}

pub async fn graphql_get(
    req: HttpRequest,
    caller: Result<Identified, Refused>,
    state: web::Data<AppState>,
    schema: web::Data<Served>,
) -> HttpResponse {
    if let Err(limited @ Refused::RateLimited(_)) = &caller {
        return limited.response(StatusCode::TOO_MANY_REQUESTS);
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
        return super::graphiql::page();
    }
    let Some(media) = negotiate(&req) else {
        return not_acceptable();
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
    execute(caller, request, Transport::Get, media, &state, &schema).await
}

/// HTTP 405: a mutation sent with GET.
fn mutation_over_get() -> HttpResponse {
    let mut resp = request_error(
        StatusCode::METHOD_NOT_ALLOWED,
        &ApiError::bad_input("query", "mutations must be sent with POST"),
    );
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    resp
}

async fn execute(
    caller: Result<Identified, Refused>,
    request: async_graphql::Request,
    transport: Transport,
    media: Media,
    state: &AppState,
    schema: &Served,
) -> HttpResponse {
    let (caller, reading) = match caller {
        Ok(Identified(caller, reading)) => (caller, reading),
        // GraphQL-over-HTTP: a credential error is 401 for the GraphQL media
        // type, and 200 with the error in the body for plain JSON.
        Err(refused) => {
            return refused.response(match media {
                Media::GraphQLResponse => StatusCode::UNAUTHORIZED,
                Media::Json => StatusCode::OK,
            });
        }
    };
    let operation = crate::metrics::operation_label(
        request
            .operation_name
            .as_deref()
            .or_else(|| crate::metrics::leading_operation_name(&request.query)),
    );
    let span = tracing::info_span!(
        "graphql",
        operation,
        caller = caller_kind(&caller),
        outcome = tracing::field::Empty
    );
    let mut prepared = match schema.prepare(request, transport) {
        Ok(request) => Ok(request),
        Err(Refusal::MutationOverGet) => return mutation_over_get(),
        Err(Refusal::Invalid(refused)) => Err(refused),
    };
    // Queries read on the connection the caller was checked on (on SQLite
    // one of the readers'); anything that may write gives it back first.
    // Decided on the document that runs, so a persisted query sent by its
    // hash alone reads beside the writer too.
    let reads = match &mut prepared {
        Ok(request) => request.parsed_query().is_ok_and(reads_only),
        Err(_) => false,
    };
    // On PostgreSQL a mutation keeps that connection too: its statements
    // run on it, and a transaction gives it back before taking one of its
    // own (one connection at a time). On SQLite it is a reader's, so a
    // mutation's statements take the writer's connection as they come.
    let state = if reads || reading.db.writes_in_place() {
        reading
    } else {
        reading.db.release().await;
        state.clone()
    };
    let started = std::time::Instant::now();
    // An overall deadline: a request stopped here drops its future, so an
    // open transaction rolls back and nothing it was writing is kept.
    let deadline = std::time::Duration::from_millis(state.settings.request_timeout_ms);
    let executed = match prepared {
        Ok(request) => {
            let request = request
                .data(state.clone())
                .data(caller)
                .data(Loaders::new(&state.ctx.db, state.settings.loader_delay()));
            tokio::time::timeout(deadline, schema.execute_prepared(request))
                .instrument(span.clone())
                .await
        }
        Err(refused) => Ok(async_graphql::Response::from_errors(vec![refused])),
    };
    let (outcome, response) = match executed {
        Ok(response) => respond(response, media),
        Err(_) => {
            span.in_scope(|| {
                tracing::warn!(
                    timeout_ms = state.settings.request_timeout_ms,
                    "GraphQL request stopped at its deadline"
                )
            });
            // INTERNAL (the spec's code for the server's own failures), with
            // a message that says what happened and nothing more.
            let mut extensions = serde_json::json!({ "code": "INTERNAL" });
            if let Some(id) = super::observe::request_id() {
                extensions["requestId"] = serde_json::json!(id);
            }
            let response = HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE)
                .content_type(JSON)
                .json(serde_json::json!({ "errors": [{
                    "message": format!(
                        "the request took longer than {} ms and was stopped; a change it had not yet sent to the database was not made, and one already sent may have been: check before retrying",
                        state.settings.request_timeout_ms
                    ),
                    "extensions": extensions,
                }] }));
            ("INTERNAL", response)
        }
    };
    span.record("outcome", outcome);
    state
        .metrics
        .operation(operation, outcome, started.elapsed());
    response
}

/// Whether a document can only read: every operation in it is a query
/// (whichever the request selects).
fn reads_only(document: &ExecutableDocument) -> bool {
    document
        .operations
        .iter()
        .all(|(_, op)| op.node.ty == OperationType::Query)
}

/// Who called, for logs and spans: a kind, never an identity or a token.
fn caller_kind(caller: &domain::Caller) -> &'static str {
    match caller {
        domain::Caller::Anonymous => "anonymous",
        domain::Caller::Member(m) if m.is_admin => "admin",
        domain::Caller::Member(_) => "member",
        domain::Caller::Partner(_) => "partner",
    }
}

/// The outcome label of a response: `ok`, or its first error's code.
fn outcome_of(response: &async_graphql::Response) -> &'static str {
    const CODES: &[&str] = &[
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "BAD_USER_INPUT",
        "INVALID_TRANSITION",
        "CONFLICT",
        "RATE_LIMITED",
        "INTERNAL",
    ];
    let Some(first) = response.errors.first() else {
        return "ok";
    };
    let code = first
        .extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .and_then(|v| match v {
            async_graphql::Value::String(s) => Some(s.as_str()),
            _ => None,
        });
    code.and_then(|c| CODES.iter().find(|k| **k == c).copied())
        .unwrap_or("BAD_USER_INPUT")
}

/// Adds a code to errors raised before our resolvers ran (parsing,
/// validation, variable coercion), and applies the status-code rules.
fn respond(mut response: async_graphql::Response, media: Media) -> (&'static str, HttpResponse) {
    let request_id = super::observe::request_id();
    for err in &mut response.errors {
        let mut ext = err.extensions.take().unwrap_or_default();
        if ext.get("code").is_none() {
            ext.set("code", "BAD_USER_INPUT");
        }
        if let Some(id) = &request_id {
            ext.set("requestId", id.as_str());
        }
        err.extensions = Some(ext);
    }
    let outcome = outcome_of(&response);
    // A request error: nothing executed, so the response has no `data`.
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    // Written straight to bytes: an answer is not built as a JSON tree
    // first, except a request error's, whose `data` is left out.
    let body = if request_error {
        serde_json::to_value(&response).and_then(|mut body| {
            if let Some(obj) = body.as_object_mut() {
                obj.remove("data");
            }
            serde_json::to_vec(&body)
        })
    } else {
        serde_json::to_vec(&response)
    };
    let Ok(body) = body else {
        return ("INTERNAL", HttpResponse::InternalServerError().finish());
    };
    let (status, content_type) = match media {
        Media::GraphQLResponse if request_error => (StatusCode::BAD_REQUEST, GRAPHQL_RESPONSE),
        Media::GraphQLResponse => (StatusCode::OK, GRAPHQL_RESPONSE),
        Media::Json => (StatusCode::OK, JSON),
    };
    let response = HttpResponse::build(status)
        .content_type(content_type)
        .body(body);
    (outcome, response)
}

#[cfg(test)]
mod reads_only_tests {
    use super::reads_only;

    fn reads(text: &str) -> bool {
        reads_only(&async_graphql::parser::parse_query(text).unwrap())
    }

    #[test]
    fn only_documents_without_writes_go_to_the_readers() {
        assert!(reads("query Me { me { id } }"));
        assert!(reads("{ me { mutations: id } }"));
        // A field named like an operation type is a field.
        assert!(reads("{ me { mutation: id subscription: name } }"));
        assert!(!reads("mutation { signOut }"));
        assert!(!reads("query A { me { id } } mutation B { signOut }"));
        assert!(!reads("subscription { referralReceived { id } }"));
    }
}
