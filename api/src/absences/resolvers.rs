use async_graphql::{Context, Object};

use super::types::{Absence, AbsenceInput};
use crate::error::ApiResult;
use crate::graphql::context::{caller, state};
use domain::absences::service::{self, NewAbsence};

#[derive(Default)]
pub struct AbsencesQuery;

#[Object]
impl AbsencesQuery {
    /// The caller's absences, latest start first.
    async fn my_absences(&self, ctx: &Context<'_>) -> ApiResult<Vec<Absence>> {
        let rows = service::my_absences(state(ctx)?, caller(ctx)).await?;
        Ok(rows.into_iter().map(Absence).collect())
    }
}

#[derive(Default)]
pub struct AbsencesMutation;

#[Object]
impl AbsencesMutation {
    /// Declares the caller away from `from` to `to` (both inclusive),
    /// optionally naming a delegate from a group they share.
    async fn declare_absence(&self, ctx: &Context<'_>, input: AbsenceInput) -> ApiResult<Absence> {
        let new = NewAbsence {
            from: input.from.0,
            to: input.to.0,
            delegate_id: input.delegate_id.map(|d| d.0),
            note: input.note,
        };
        Ok(Absence(
            service::declare_absence(state(ctx)?, caller(ctx), new).await?,
        ))
    }

    /// Ends the caller's absence at once: one that started before today now
    /// ends yesterday; one starting today or later is removed (returned as
    /// it was). Referrals already made keep their presence and routing; the
    /// delegate no longer sees or advances them. An absence already over is
    /// BAD_USER_INPUT; someone else's is NOT_FOUND.
    async fn cancel_absence(&self, ctx: &Context<'_>, id: async_graphql::ID) -> ApiResult<Absence> {
        Ok(Absence(
            service::cancel_absence(state(ctx)?, caller(ctx), &id).await?,
        ))
    }
}
