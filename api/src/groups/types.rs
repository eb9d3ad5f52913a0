//! GraphQL shapes of groups and memberships.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use entities::{group, membership};

use crate::error::{ApiError, ApiResult};
use crate::graphql::connection::IntoConnection;
use crate::graphql::connection::page_of;
use crate::graphql::context::{caller, loaders, state};
use crate::graphql::guards;
use crate::graphql::scalars::Date;
use crate::members::types::Member;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::Role")]
pub enum Role {
    Member,
    Leader,
}

#[derive(InputObject)]
pub struct GroupInput {
    pub name: String,
    pub currency: String,
    pub classification_exclusive: Option<bool>,
}

#[derive(InputObject)]
pub struct MembershipInput {
    pub group_id: ID,
    pub member_id: ID,
    pub role: Role,
    pub joined_on: Option<Date>,
}

/// Only the fields given change. followUpIntervalDays 1-90,
/// unansweredLimit 1-20, revisitAfterDays 1-730, reaskAfterDays 7-365.
#[derive(InputObject)]
pub struct GroupSettingsInput {
    pub group_id: ID,
    pub follow_up_interval_days: Option<i32>,
    pub unanswered_limit: Option<i32>,
    pub revisit_after_days: Option<i32>,
    pub reask_after_days: Option<i32>,
    pub classification_exclusive: Option<bool>,
}

/// The cadence the group's follow-ups and referral requests are scheduled by.
#[derive(SimpleObject)]
pub struct GroupSettings {
    /// Days between follow-ups of a referral in progress.
    pub follow_up_interval_days: i32,
    /// Unanswered follow-ups in a row that park a referral.
    pub unanswered_limit: i32,
    /// Days until a parked referral comes back. Until a leader sets it, the
    /// default of six calendar months, counted from today.
    pub revisit_after_days: i32,
    /// Days before the same person is asked for referrals again.
    pub reask_after_days: i32,
}

#[derive(Clone)]
pub struct Group(pub group::Model);

#[Object]
impl Group {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// ISO 4217 code; every money figure of the group is in it.
    async fn currency(&self) -> &str {
        &self.0.currency
    }

    /// One active member per profession when true.
    async fn classification_exclusive(&self) -> bool {
        self.0.classification_exclusive
    }

    /// The cadence settings. Active members of the group and admins.
    async fn settings(&self, ctx: &Context<'_>) -> ApiResult<GroupSettings> {
        let me = caller(ctx).member()?;
        if !guards::sits_in_group(ctx, me, &self.0.id).await? {
            return Err(ApiError::forbidden("you are not a member of this group"));
        }
        let c = domain::groups::settings::Cadence::of(&self.0);
        let today = chrono::Utc::now().date_naive();
        Ok(GroupSettings {
            follow_up_interval_days: c.interval_days as i32,
            unanswered_limit: c.max_unanswered,
            revisit_after_days: c.revisit.days_from(today) as i32,
            reask_after_days: c.reask_days as i32,
        })
    }

    /// Days between regular meetings.
    async fn meeting_cadence_days(&self) -> i32 {
        self.0.meeting_cadence_days
    }

    /// Active members, longest-standing first. Members of the group and admins only.
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<MembershipConnection> {
        let page = page_of(ctx, first, after.as_deref())?;
        let state = state(ctx)?;
        let caller = caller(ctx);
        let me = caller.member()?;
        if !guards::sits_in_group(ctx, me, &self.0.id).await? {
            return Err(ApiError::forbidden("you are not a member of this group"));
        }
        let (rows, total) = domain::groups::service::roster(&state.db, &self.0.id, page).await?;
        Ok(page.connection(rows.into_iter().map(Membership::from).collect(), total))
    }

    /// The group's partner firms, by name. Active members of the group and
    /// admins; each firm's balance and tokens are for leaders only.
    async fn partner_firms(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::partners::types::PartnerFirm>> {
        let me = caller(ctx).member()?;
        if !guards::sits_in_group(ctx, me, &self.0.id).await? {
            return Err(ApiError::forbidden("you are not a member of this group"));
        }
        let firms = domain::partners::service::firms_of_group(&state(ctx)?.db, &self.0.id).await?;
        Ok(firms
            .into_iter()
            .map(crate::partners::types::PartnerFirm)
            .collect())
    }
}

#[derive(Clone)]
/// A seat, with its group when it was read together with it.
pub struct Membership(pub membership::Model, pub Option<entities::group::Model>);

impl From<membership::Model> for Membership {
    fn from(seat: membership::Model) -> Self {
        Membership(seat, None)
    }
}

#[Object]
impl Membership {
    async fn group(&self, ctx: &Context<'_>) -> ApiResult<Group> {
        if let Some(group) = &self.1 {
            return Ok(Group(group.clone()));
        }
        Ok(Group(loaders(ctx)?.group(&self.0.group_id).await?))
    }

    async fn member(&self, ctx: &Context<'_>) -> ApiResult<Member> {
        Ok(Member::from(loaders(ctx)?.member(&self.0.member_id).await?))
    }

    async fn role(&self) -> Role {
        Role::from(self.0.role)
    }

    async fn joined_on(&self) -> Date {
        Date(self.0.joined_on)
    }

    /// Null while the seat is active.
    async fn left_on(&self) -> Option<Date> {
        self.0.left_on.map(Date)
    }
}

crate::connection_type!(MembershipConnection, MembershipEdge, Membership);
