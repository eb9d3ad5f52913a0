//! The one error type of the API. Each variant maps to exactly one
//! `extensions.code`; internal failures are logged here and reach clients
//! only as a generic `INTERNAL`.

use std::sync::Arc;

use async_graphql::ErrorExtensions;

#[derive(Debug, Clone)]
pub enum ApiError {
    Unauthenticated(String),
    Forbidden(String),
    NotFound(String),
    /// Something an input names does not exist (or is not the caller's to name).
    NotFoundAt {
        field: String,
        message: String,
    },
    BadUserInput {
        field: String,
        message: String,
    },
    InvalidTransition(String),
    Conflict(String),
    RateLimited,
    /// The cause is kept for the log only; clients see "internal error".
    Internal(Arc<anyhow::Error>),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn forbidden() -> Self {
        ApiError::Forbidden("you may not do this".into())
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }

    /// `NOT_FOUND` for an ID given in `field` of the input.
    pub fn not_found_at(field: impl Into<String>, what: &str) -> Self {
        ApiError::NotFoundAt {
            field: field.into(),
            message: format!("{what} not found"),
        }
    }

    pub fn unauthenticated() -> Self {
        ApiError::Unauthenticated("sign in first".into())
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(Arc::new(err.into()))
    }

    /// The client-facing message. Deliberately not `Display`: that would make
    /// async-graphql's blanket conversion drop the error code.
    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthenticated(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::InvalidTransition(m)
            | ApiError::Conflict(m) => m.clone(),
            ApiError::BadUserInput { message, .. } | ApiError::NotFoundAt { message, .. } => {
                message.clone()
            }
            ApiError::RateLimited => "rate limit exceeded; retry later".into(),
            ApiError::Internal(_) => "internal error".into(),
        }
    }

    /// The input field at fault, for `extensions.field`.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::BadUserInput { field, .. } | ApiError::NotFoundAt { field, .. } => {
                Some(field)
            }
            _ => None,
        }
    }

    /// Logs the cause of an internal error; clients only ever see "internal error".
    pub fn log_if_internal(&self) {
        if let ApiError::Internal(cause) = self {
            tracing::error!(error = ?cause, "internal error while serving a request");
        }
    }

    /// A GraphQL-style `{"errors": [...]}` body for errors answered outside
    /// GraphQL execution (HTTP-level refusals, the CSV report).
    pub fn response_body(&self) -> serde_json::Value {
        self.log_if_internal();
        let mut extensions = serde_json::json!({ "code": self.code() });
        if let Some(field) = self.field() {
            extensions["field"] = serde_json::json!(field);
        }
        serde_json::json!({ "errors": [{ "message": self.message(), "extensions": extensions }] })
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::NotFound(_) | ApiError::NotFoundAt { .. } => "NOT_FOUND",
            ApiError::BadUserInput { .. } => "BAD_USER_INPUT",
            ApiError::InvalidTransition(_) => "INVALID_TRANSITION",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::RateLimited => "RATE_LIMITED",
            ApiError::Internal(_) => "INTERNAL",
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        ApiError::internal(err)
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        self.log_if_internal();
        async_graphql::Error::new(self.message()).extend_with(|_, ext| {
            ext.set("code", self.code());
            if let Some(field) = self.field() {
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
