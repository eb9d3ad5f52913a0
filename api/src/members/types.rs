//! GraphQL shapes of a member. Contact details and private figures are
//! resolved only for the member, admins and leaders of a group they sit in.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::Utc;
use entities::member;

use crate::balances::types::{Balance, CurrencyBalance};
use crate::error::{ApiError, ApiResult};
use crate::graphql::connection::IntoConnection;
use crate::graphql::connection::page_of;
use crate::graphql::context::{caller, loaders, state};
use crate::graphql::enums::ReferralStatus;
use crate::graphql::guards;
use crate::graphql::scalars::Date;
use crate::groups::types::Membership;
use crate::partnerships::types::{Partnership, PartnershipConnection};
use crate::referrals::types::{Referral, ReferralConnection, ReferralRole};
use crate::rewards::types::RewardProgress;
use domain::members::tenure::{Seat, tenure};
use domain::referrals::ListRole;

#[derive(Clone)]
pub struct Member(pub member::Model, pub Access);

/// Whether the holder is known to be this member (a fresh session has no
/// signed-in caller yet, but is the member's own).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub enum Access {
    #[default]
    AsViewer,
    Own,
}

impl From<member::Model> for Member {
    fn from(m: member::Model) -> Self {
        Member(m, Access::AsViewer)
    }
}

#[derive(SimpleObject, Clone)]
pub struct ReferralBrief {
    pub ideal_referral: Option<String>,
    pub target_market: Option<String>,
    pub talking_points: Option<String>,
    pub intro_template: Option<String>,
}

impl From<&member::Model> for ReferralBrief {
    fn from(m: &member::Model) -> Self {
        ReferralBrief {
            ideal_referral: m.brief_ideal_referral.clone(),
            target_market: m.brief_target_market.clone(),
            talking_points: m.brief_talking_points.clone(),
            intro_template: m.brief_intro_template.clone(),
        }
    }
}

#[derive(InputObject)]
pub struct ReferralBriefInput {
    pub ideal_referral: Option<String>,
    pub target_market: Option<String>,
    pub talking_points: Option<String>,
    pub intro_template: Option<String>,
}

#[derive(SimpleObject)]
pub struct Tenure {
    pub current_days: i32,
    pub total_days: i32,
    pub group_hopping: bool,
}

impl Member {
    /// Self, admin, or an active leader of a group this member is active in.
    async fn is_privileged_viewer(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        if self.1 == Access::Own {
            return Ok(true);
        }
        let Ok(me) = caller(ctx).member() else {
            return Ok(false);
        };
        if me.id == self.0.id {
            return Ok(true);
        }
        guards::leads_member(ctx, me, &self.0.id).await
    }

    fn require_self_or_admin(&self, ctx: &Context<'_>) -> ApiResult<()> {
        if caller(ctx).is_admin() {
            return Ok(());
        }
        self.require_self(ctx)
    }

    fn require_self(&self, ctx: &Context<'_>) -> ApiResult<()> {
        let me = caller(ctx).member()?;
        if self.1 == Access::Own || me.id == self.0.id {
            Ok(())
        } else {
            Err(ApiError::forbidden("only this member may read this"))
        }
    }

    async fn require_privileged(&self, ctx: &Context<'_>) -> ApiResult<()> {
        if self.is_privileged_viewer(ctx).await? {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "only this member and their group leaders may see this",
            ))
        }
    }

    /// The home currency, from the seats the request reads anyway.
    async fn home_currency(&self, ctx: &Context<'_>) -> ApiResult<String> {
        let seats = self.seats(ctx).await?;
        Ok(domain::balances::service::home_of(
            seats.iter().map(|(s, g)| (s, g.currency.as_str())),
        ))
    }

    async fn seats(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::loaders::SeatInGroup>> {
        let loaders = loaders(ctx)?;
        let memberships = match crate::graphql::loaders::alone_at_its_level(ctx) {
            true => &loaders.memberships_alone,
            false => &loaders.memberships,
        };
        Ok(memberships
            .load_one(self.0.id.clone())
            .await?
            .unwrap_or_default())
    }
}

#[Object]
impl Member {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Null unless the caller is this member, an admin or one of their group leaders.
    async fn email(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        Ok(self
            .is_privileged_viewer(ctx)
            .await?
            .then(|| self.0.email.clone()))
    }

    /// Null unless the caller is this member, an admin or one of their group leaders.
    async fn phone(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        Ok(if self.is_privileged_viewer(ctx).await? {
            self.0.phone.clone()
        } else {
            None
        })
    }

    async fn profession(&self) -> &str {
        &self.0.profession
    }

    async fn business_name(&self) -> Option<&str> {
        self.0.business_name.as_deref()
    }

    async fn brief(&self) -> ReferralBrief {
        ReferralBrief::from(&self.0)
    }

    async fn created_at(&self) -> chrono::DateTime<Utc> {
        self.0.created_at
    }

    async fn tenure(&self, ctx: &Context<'_>) -> ApiResult<Tenure> {
        self.require_privileged(ctx).await?;
        let seats = self.seats(ctx).await?;
        let keys: Vec<&str> = seats.iter().map(|(s, _)| s.group_id.as_str()).collect();
        let seats: Vec<Seat> = seats
            .iter()
            .map(|(s, _)| Seat {
                group_key: keys.iter().position(|k| *k == s.group_id).unwrap_or(0),
                joined_on: s.joined_on,
                left_on: s.left_on,
            })
            .collect();
        let t = tenure(&seats, Utc::now().date_naive());
        Ok(Tenure {
            current_days: t.current_days as i32,
            total_days: t.total_days as i32,
            group_hopping: t.group_hopping,
        })
    }

    /// Every seat, active and ended, oldest first.
    async fn memberships(&self, ctx: &Context<'_>) -> ApiResult<Vec<Membership>> {
        self.require_privileged(ctx).await?;
        Ok(self
            .seats(ctx)
            .await?
            .into_iter()
            .map(|(seat, group)| Membership(seat, Some(group)))
            .collect())
    }

    /// The member's referrals in one role, newest first. Only the member themself.
    async fn referrals(
        &self,
        ctx: &Context<'_>,
        role: ReferralRole,
        status: Option<Vec<ReferralStatus>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<ReferralConnection> {
        self.require_self(ctx)?;
        let page = page_of(ctx, first, after.as_deref())?;
        let role = match role {
            ReferralRole::Given => ListRole::Given,
            ReferralRole::Received => ListRole::Received,
            ReferralRole::Delegated => ListRole::Delegated,
        };
        // `page` says whether `totalCount` was asked for (`page_of`); only then
        // is the list counted, in the page's own statement.
        let (rows, total) = domain::referrals::list_for_member_with_parties(
            &state(ctx)?.db,
            &self.0.id,
            role,
            status.map(|s| s.into_iter().map(Into::into).collect()),
            page,
            crate::referrals::types::page_columns_asked(ctx),
        )
        .await?;
        let nodes = rows.into_iter().map(Referral::party_with).collect();
        Ok(page.connection(nodes, total))
    }

    /// The member's declared partnerships with their figures. Only the member themself.
    /// Ended ones only with `includeEnded: true`.
    async fn partnerships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default_with = "Some(false)")] include_ended: Option<bool>,
    ) -> ApiResult<PartnershipConnection> {
        self.require_self(ctx)?;
        let page = page_of(ctx, first, after.as_deref())?;
        let (rows, total) = domain::partnerships::service::list(
            &state(ctx)?.db,
            &self.0.id,
            include_ended.unwrap_or(false),
            page,
        )
        .await?;
        let nodes = rows
            .into_iter()
            .map(|(model, stats)| Partnership { model, stats })
            .collect();
        Ok(page.connection(nodes, total))
    }

    /// Won referrals given in the group, the next reward tier, and awards reached.
    async fn reward_progress(&self, ctx: &Context<'_>, group_id: ID) -> ApiResult<RewardProgress> {
        // Who may read it is decided once, in `progress_seen_by`.
        let group_id = domain::validation::id("groupId", &group_id)?;
        let db = &state(ctx)?.db;
        domain::groups::service::find_group(db, &group_id).await?;
        Ok(
            domain::rewards::service::progress_seen_by(db, caller(ctx), &self.0.id, &group_id)
                .await?
                .into(),
        )
    }

    /// Referrals given and received, all time or made between `from` and
    /// `to` inclusive. Counts take every referral; givenValue/receivedValue
    /// (closed business, WON only) only those in `currency` — by default the
    /// currency of the member's longest-held active seat. Money is never
    /// added across currencies: `balances` has each currency's figures.
    async fn balance(
        &self,
        ctx: &Context<'_>,
        from: Option<Date>,
        to: Option<Date>,
        currency: Option<String>,
    ) -> ApiResult<Balance> {
        // The member's own figures (leaders read their group's in the group report).
        self.require_self_or_admin(ctx)?;
        let period = crate::balances::types::period(from, to)?;
        let currency = crate::balances::types::currency(currency)?;
        let home = self.home_currency(ctx).await?;
        let b = domain::balances::service::for_member(
            &state(ctx)?.db,
            &self.0.id,
            period,
            currency,
            Some(home),
        )
        .await?;
        Ok(b.balance.into())
    }

    /// The member's figures in each currency their referrals are in (a
    /// referral's currency is its group's), by currency code.
    async fn balances(
        &self,
        ctx: &Context<'_>,
        from: Option<Date>,
        to: Option<Date>,
    ) -> ApiResult<Vec<CurrencyBalance>> {
        self.require_self_or_admin(ctx)?;
        let period = crate::balances::types::period(from, to)?;
        let home = self.home_currency(ctx).await?;
        let b = domain::balances::service::for_member(
            &state(ctx)?.db,
            &self.0.id,
            period,
            None,
            Some(home),
        )
        .await?;
        Ok(b.by_currency
            .into_iter()
            .map(|(c, b)| CurrencyBalance::new(c, b))
            .collect())
    }
}
