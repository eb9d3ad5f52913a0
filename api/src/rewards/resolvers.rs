use async_graphql::{Context, ID, Object};

use super::types::{RewardTier, RewardTierInput};
use crate::error::ApiResult;
use crate::graphql::context::{caller, state};
use domain::rewards::service::{self, NewTier};

#[derive(Default)]
pub struct RewardsQuery;

#[Object]
impl RewardsQuery {
    /// The group's reward ladder by threshold. Members of the group and admins.
    async fn reward_tiers(&self, ctx: &Context<'_>, group_id: ID) -> ApiResult<Vec<RewardTier>> {
        let rows = service::reward_tiers(state(ctx)?, caller(ctx), &group_id).await?;
        Ok(rows
            .into_iter()
            .map(|t| service::RewardTier::from(t).into())
            .collect())
    }
}

#[derive(Default)]
pub struct RewardsMutation;

#[Object]
impl RewardsMutation {
    /// Replaces the group's ladder (an empty list clears it). Leaders of the
    /// group and admins. Thresholds distinct and positive.
    async fn set_reward_tiers(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        tiers: Vec<RewardTierInput>,
    ) -> ApiResult<Vec<RewardTier>> {
        let tiers = tiers
            .into_iter()
            .map(|t| NewTier {
                threshold: t.threshold,
                reward: t.reward,
            })
            .collect();
        let rows = service::set_reward_tiers(state(ctx)?, caller(ctx), &group_id, tiers).await?;
        Ok(rows
            .into_iter()
            .map(|t| service::RewardTier::from(t).into())
            .collect())
    }
}
