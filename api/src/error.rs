//! The API's error: a domain error on its way to a client. Each domain
//! variant maps to exactly one `extensions.code` here (and, for requests
//! answered outside GraphQL, one HTTP status); internal failures are logged
//! and reach clients only as a generic `INTERNAL`.

use async_graphql::ErrorExtensions;
use domain::DomainError;

/// Deliberately not `Display`: async-graphql converts any `Display` error
/// into a GraphQL error without its code, so this one must go through
/// [`ErrorExtensions`].
#[derive(Debug, Clone)]
pub struct ApiError(pub DomainError);

pub type ApiResult<T> = Result<T, ApiError>;

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        ApiError(err)
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        ApiError(DomainError::internal(err))
    }
}

impl ApiError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError(DomainError::bad_input(field, message))
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError(DomainError::Forbidden(message.into()))
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        ApiError(DomainError::Unauthenticated(message.into()))
    }

    pub fn not_found(what: &str) -> Self {
        ApiError(DomainError::not_found(what))
    }

    pub fn not_found_at(field: impl Into<String>, what: &str) -> Self {
        ApiError(DomainError::not_found_at(field, what))
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ApiError(DomainError::internal(err))
    }

    pub fn rate_limited() -> Self {
        ApiError(DomainError::RateLimited)
    }

    pub fn is_internal(&self) -> bool {
        matches!(self.0, DomainError::Internal(_))
    }

    pub fn message(&self) -> String {
        self.0.message()
    }

    /// The `extensions.code` of SPEC.md.
    pub fn code(&self) -> &'static str {
        match &self.0 {
            DomainError::Unauthenticated(_) => "UNAUTHENTICATED",
            DomainError::Forbidden(_) => "FORBIDDEN",
            DomainError::NotFound(_) | DomainError::NotFoundAt { .. } => "NOT_FOUND",
            DomainError::BadUserInput { .. } => "BAD_USER_INPUT",
            DomainError::InvalidTransition(_) => "INVALID_TRANSITION",
            DomainError::Conflict(_) => "CONFLICT",
            DomainError::RateLimited => "RATE_LIMITED",
            DomainError::Internal(_) => "INTERNAL",
        }
    }

    /// A GraphQL-style `{"errors": [...]}` body for errors answered outside
    /// GraphQL execution (HTTP-level refusals, the CSV report).
    pub fn response_body(&self) -> serde_json::Value {
        self.0.log_if_internal();
        let mut extensions = serde_json::json!({ "code": self.code() });
        if let Some(field) = self.0.field() {
            extensions["field"] = serde_json::json!(field);
        }
        if let Some(id) = crate::http::observe::request_id() {
            extensions["requestId"] = serde_json::json!(id);
        }
        serde_json::json!({ "errors": [{ "message": self.message(), "extensions": extensions }] })
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        self.0.log_if_internal();
        async_graphql::Error::new(self.message()).extend_with(|_, ext| {
            ext.set("code", self.code());
            if let Some(field) = self.0.field() {
                ext.set("field", field);
            }
        })
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        err.extend()
    }
}
