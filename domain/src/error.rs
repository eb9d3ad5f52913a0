//! The one error type of the domain. Each variant is one kind of refusal a
//! client can act on; the `api` crate maps each to exactly one
//! `extensions.code`. Internal failures keep their cause for the log only and
//! reach clients as a generic `INTERNAL`.

use std::sync::Arc;

#[derive(Debug, Clone)]
pub enum DomainError {
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

pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn forbidden() -> Self {
        DomainError::Forbidden("you may not do this".into())
    }

    pub fn not_found(what: &str) -> Self {
        DomainError::NotFound(format!("{what} not found"))
    }

    /// `NOT_FOUND` for an ID given in `field` of the input.
    pub fn not_found_at(field: impl Into<String>, what: &str) -> Self {
        DomainError::NotFoundAt {
            field: field.into(),
            message: format!("{what} not found"),
        }
    }

    pub fn unauthenticated() -> Self {
        DomainError::Unauthenticated("sign in first".into())
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        DomainError::Internal(Arc::new(err.into()))
    }

    /// The client-facing message. Deliberately not `Display`: a `Display`
    /// error converts silently into a GraphQL error without its code.
    pub fn message(&self) -> String {
        match self {
            DomainError::Unauthenticated(m)
            | DomainError::Forbidden(m)
            | DomainError::NotFound(m)
            | DomainError::InvalidTransition(m)
            | DomainError::Conflict(m) => m.clone(),
            DomainError::BadUserInput { message, .. } | DomainError::NotFoundAt { message, .. } => {
                message.clone()
            }
            DomainError::RateLimited => "rate limit exceeded; retry later".into(),
            DomainError::Internal(_) => "internal error".into(),
        }
    }

    /// The input field at fault, for `extensions.field`.
    pub fn field(&self) -> Option<&str> {
        match self {
            DomainError::BadUserInput { field, .. } | DomainError::NotFoundAt { field, .. } => {
                Some(field)
            }
            _ => None,
        }
    }

    /// Logs the cause of an internal error; clients only ever see "internal error".
    pub fn log_if_internal(&self) {
        if let DomainError::Internal(cause) = self {
            tracing::error!(error = ?cause, "internal error while serving a request");
        }
    }
}

impl From<sea_orm::DbErr> for DomainError {
    fn from(err: sea_orm::DbErr) -> Self {
        DomainError::internal(err)
    }
}
