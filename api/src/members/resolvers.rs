use async_graphql::{Context, Object};

use async_graphql::InputObject;

use super::types::{Access, Member, ReferralBrief, ReferralBriefInput};
use crate::error::ApiResult;
use crate::graphql::context::{caller, state};
use domain::members::service::{self, BriefUpdate, ProfileUpdate};

/// Only the fields given change; an empty business name or phone clears it.
#[derive(InputObject)]
pub struct ProfileInput {
    pub name: Option<String>,
    pub profession: Option<String>,
    pub business_name: Option<String>,
    pub phone: Option<String>,
}

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

    /// Edits the caller's name, profession, business name or phone. An
    /// empty name or profession is BAD_USER_INPUT; a profession another
    /// active member of one of the caller's classification-exclusive groups
    /// holds is CONFLICT.
    async fn update_profile(&self, ctx: &Context<'_>, input: ProfileInput) -> ApiResult<Member> {
        let update = ProfileUpdate {
            name: input.name,
            profession: input.profession,
            business_name: input.business_name,
            phone: input.phone,
        };
        Ok(Member(
            service::update_profile(state(ctx)?, caller(ctx), update).await?,
            Access::Own,
        ))
    }
}
