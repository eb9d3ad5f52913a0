use async_graphql::{Context, Object};

use super::types::{Partnership, PartnershipInput, PartnershipUpdateInput};
use crate::error::{ApiError, ApiResult};
use crate::graphql::context::{caller, state};
use domain::partnerships::service::{self, NewPartnership, PartnershipUpdate};

#[derive(Default)]
pub struct PartnershipsMutation;

#[Object]
impl PartnershipsMutation {
    /// Declares a partnership with a fellow member or an outside contact (exactly one).
    async fn add_partnership(
        &self,
        ctx: &Context<'_>,
        input: PartnershipInput,
    ) -> ApiResult<Partnership> {
        let state = state(ctx)?;
        let caller = caller(ctx);
        let new = NewPartnership {
            member_id: input.member_id.map(|m| m.0),
            contact_id: input.contact_id.map(|c| c.0),
            since: input.since.map(|d| d.0),
            stage: input.stage.map(Into::into),
        };
        let row = service::add(state, caller, new).await?;
        let me = caller.member()?;
        let (model, stats) = service::with_stats(&state.db, &me.id, vec![row])
            .await?
            .pop()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("new partnership missing")))?;
        Ok(Partnership { model, stats })
    }

    /// The owner moves the VCP stage (any direction; each change is kept with
    /// its day) or ends the partnership. Someone else's is NOT_FOUND.
    async fn update_partnership(
        &self,
        ctx: &Context<'_>,
        input: PartnershipUpdateInput,
    ) -> ApiResult<Partnership> {
        let state = state(ctx)?;
        let caller = caller(ctx);
        let update = PartnershipUpdate {
            partnership_id: input.partnership_id.0,
            stage: input.stage.map(Into::into),
            ended_on: input.ended_on.map(|d| d.0),
        };
        let row = service::update(state, caller, update).await?;
        let owner = row.member_id.clone();
        let (model, stats) = service::with_stats(&state.db, &owner, vec![row])
            .await?
            .pop()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("updated partnership missing")))?;
        Ok(Partnership { model, stats })
    }
}
