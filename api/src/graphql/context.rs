//! What a resolver gets from the request context: the state, the caller,
//! the per-request loaders, and what the document selects. Missing data is
//! an `INTERNAL` error, not a panic.

use async_graphql::Context;

use super::loaders::Loaders;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use domain::Caller;

pub fn state<'a>(ctx: &Context<'a>) -> ApiResult<&'a AppState> {
    ctx.data::<AppState>().map_err(|_| {
        ApiError::internal(anyhow::anyhow!("AppState missing from the GraphQL context"))
    })
}

pub fn caller<'a>(ctx: &Context<'a>) -> &'a Caller {
    static ANONYMOUS: Caller = Caller::Anonymous;
    ctx.data::<Caller>().unwrap_or(&ANONYMOUS)
}

pub fn loaders<'a>(ctx: &Context<'a>) -> ApiResult<&'a Loaders> {
    ctx.data::<Loaders>().map_err(|_| {
        ApiError::internal(anyhow::anyhow!("loaders missing from the GraphQL context"))
    })
}

/// Whether every field the document selects on `object` (in any fragment)
/// is one of `fields`: how a resolver learns it may read less of a row.
pub fn selects_only(object: &async_graphql::SelectionField<'_>, fields: &[&str]) -> bool {
    object.selection_set().all(|f| fields.contains(&f.name()))
}
