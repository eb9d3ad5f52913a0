use async_graphql::{Context, Object};

use super::types::{Access, Member, ReferralBrief, ReferralBriefInput};
use crate::error::ApiResult;
use crate::graphql::context::{caller, state};
use domain::members::service::{self, BriefUpdate};

#[derive(Default)]
pub struct MembersQuery;

#[Object]
impl MembersQuery {
    /// The signed-in member.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<Member> {
        Ok(Member(
            service::me(state(ctx)?, caller(ctx)).await?,
            Access::Own,
        ))
    }
}

#[derive(Default)]
pub struct MembersMutation;

#[Object]
impl MembersMutation {
    /// Updates the caller's referral brief; omitted fields are kept, empty strings clear.
    async fn update_brief(
        &self,
        ctx: &Context<'_>,
        input: ReferralBriefInput,
    ) -> ApiResult<ReferralBrief> {
        let update = BriefUpdate {
            ideal_referral: input.ideal_referral,
            target_market: input.target_market,
            talking_points: input.talking_points,
            intro_template: input.intro_template,
        };
        let member = service::update_brief(state(ctx)?, caller(ctx), update).await?;
        Ok(ReferralBrief::from(&member))
    }
}
