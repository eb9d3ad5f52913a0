use async_graphql::{Context, ID, Object};

use super::types::{Group, GroupInput, GroupSettingsInput, Membership, MembershipInput};
use crate::error::ApiResult;
use crate::graphql::context::{caller, state};
use crate::graphql::scalars::Date;
use domain::groups::service::{self, NewGroup, NewMembership};

#[derive(Default)]
pub struct GroupsQuery;

#[Object]
impl GroupsQuery {
    /// A group the caller belongs to (admins: any). FORBIDDEN otherwise.
    async fn group(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Group> {
        Ok(Group(
            service::visible_group(state(ctx)?, caller(ctx), &id).await?,
        ))
    }
}

#[derive(Default)]
pub struct GroupsMutation;

#[Object]
impl GroupsMutation {
    /// Admins only.
    async fn create_group(&self, ctx: &Context<'_>, input: GroupInput) -> ApiResult<Group> {
        let new = NewGroup {
            name: input.name,
            currency: input.currency,
            classification_exclusive: input.classification_exclusive,
        };
        Ok(Group(
            service::create_group(state(ctx)?, caller(ctx), new).await?,
        ))
    }

    /// Leaders of the group (and admins) change its cadence settings and
    /// classification exclusivity. New values apply to what is scheduled
    /// from now on. Turning exclusivity on while two active members share a
    /// profession is CONFLICT.
    async fn set_group_settings(
        &self,
        ctx: &Context<'_>,
        input: GroupSettingsInput,
    ) -> ApiResult<Group> {
        let update = domain::groups::settings::SettingsUpdate {
            group_id: input.group_id.0,
            follow_up_interval_days: input.follow_up_interval_days,
            unanswered_limit: input.unanswered_limit,
            revisit_after_days: input.revisit_after_days,
            reask_after_days: input.reask_after_days,
            classification_exclusive: input.classification_exclusive,
        };
        Ok(Group(
            domain::groups::settings::set_settings(state(ctx)?, caller(ctx), update).await?,
        ))
    }

    /// Leaders of the group and admins; only admins appoint LEADERs.
    async fn add_membership(
        &self,
        ctx: &Context<'_>,
        input: MembershipInput,
    ) -> ApiResult<Membership> {
        let new = NewMembership {
            group_id: input.group_id.0,
            member_id: input.member_id.0,
            role: input.role.into(),
            joined_on: input.joined_on.map(|d| d.0),
        };
        Ok(service::add_membership(state(ctx)?, caller(ctx), new)
            .await?
            .into())
    }

    /// Ends the member's active seat (history is kept).
    async fn end_membership(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        member_id: ID,
        left_on: Date,
    ) -> ApiResult<Membership> {
        let seat =
            service::end_membership(state(ctx)?, caller(ctx), &group_id, &member_id, left_on.0)
                .await?;
        Ok(seat.into())
    }
}
