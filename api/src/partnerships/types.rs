//! GraphQL shapes of partnerships.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Union};
use chrono::{DateTime, Utc};
use entities::partnership;

use crate::balances::types::{Balance, CurrencyBalance};
use crate::contacts::types::Contact;
use crate::error::{ApiError, ApiResult};
use crate::graphql::context::loaders;
use crate::graphql::scalars::Date;
use crate::members::types::Member;
use domain::balances::service::PairStats;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::PartnershipStage")]
pub enum PartnershipStage {
    Visibility,
    Credibility,
    Profitability,
}

/// Exactly one of memberId / contactId.
#[derive(InputObject)]
pub struct PartnershipInput {
    pub member_id: Option<ID>,
    pub contact_id: Option<ID>,
    pub since: Option<Date>,
    pub stage: Option<PartnershipStage>,
}

/// Only the fields given change. The stage moves in any direction; endedOn
/// (not in the future, not before since) ends the partnership.
#[derive(InputObject)]
pub struct PartnershipUpdateInput {
    pub partnership_id: ID,
    pub stage: Option<PartnershipStage>,
    pub ended_on: Option<Date>,
}

/// A stage the partnership was set to, and the day.
#[derive(SimpleObject)]
pub struct StageChange {
    pub stage: PartnershipStage,
    pub on: Date,
}

#[derive(Union, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Partner {
    Member(Member),
    Contact(Contact),
}

pub struct Partnership {
    pub model: partnership::Model,
    pub stats: PairStats,
}

#[Object]
impl Partnership {
    pub async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }

    async fn since(&self) -> Date {
        Date(self.model.since)
    }

    async fn stage(&self) -> PartnershipStage {
        PartnershipStage::from(self.model.stage)
    }

    /// The day the owner ended it (null while it lasts).
    async fn ended_on(&self) -> Option<Date> {
        self.model.ended_on.map(Date)
    }

    /// Days from the start to the end, or to today while it lasts.
    async fn tenure_days(&self) -> i32 {
        domain::partnerships::service::tenure_days(&self.model, Utc::now().date_naive()) as i32
    }

    /// Every stage it was set to, with the day, oldest first.
    async fn stage_history(&self, ctx: &Context<'_>) -> ApiResult<Vec<StageChange>> {
        Ok(loaders(ctx)?
            .stage_histories
            .load_one(self.model.id.clone())
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|s| StageChange {
                stage: s.stage.into(),
                on: Date(s.changed_on),
            })
            .collect())
    }

    /// In the last 12 months one side gave 3 or more and the other none.
    async fn one_way(&self) -> bool {
        self.stats.one_way()
    }

    /// When the two last passed a referral either way.
    async fn last_exchange_at(&self) -> Option<DateTime<Utc>> {
        self.stats.last_exchange_at
    }

    async fn partner(&self, ctx: &Context<'_>) -> ApiResult<Partner> {
        let loaders = loaders(ctx)?;
        if let Some(m) = &self.model.partner_member_id {
            return Ok(Partner::Member(Member::from(loaders.member(m).await?)));
        }
        if let Some(c) = &self.model.partner_contact_id {
            return loaders
                .contacts
                .load_one(c.clone())
                .await?
                .map(|c| Partner::Contact(Contact(c)))
                .ok_or_else(|| {
                    ApiError::internal(anyhow::anyhow!("partnership without its contact"))
                });
        }
        Err(ApiError::internal(anyhow::anyhow!(
            "partnership without a partner"
        )))
    }

    /// Given: from the member to the partner; received: the other way. All
    /// time, or made between `from` and `to` inclusive. Counts include every
    /// referral; values (WON closed business) only those in `currency` — by
    /// default the one currency the pair's referrals are in, else the owner's
    /// home currency. `balances` has each currency's figures.
    async fn balance(
        &self,
        ctx: &Context<'_>,
        from: Option<Date>,
        to: Option<Date>,
        currency: Option<String>,
    ) -> ApiResult<Balance> {
        let currency = crate::balances::types::currency(currency)?;
        let stats = self.stats_for(ctx, from, to).await?;
        let home = self.home(ctx, &stats, currency.is_some()).await?;
        Ok(stats.balance_in(currency, home.as_deref()).balance.into())
    }

    /// The pair's figures in each currency their referrals are in (a
    /// referral's currency is its group's), by currency code.
    async fn balances(
        &self,
        ctx: &Context<'_>,
        from: Option<Date>,
        to: Option<Date>,
    ) -> ApiResult<Vec<CurrencyBalance>> {
        let stats = self.stats_for(ctx, from, to).await?;
        let home = self.home(ctx, &stats, false).await?;
        Ok(stats
            .balance_in(None, home.as_deref())
            .by_currency
            .into_iter()
            .map(|(c, b)| CurrencyBalance::new(c, b))
            .collect())
    }
}

impl Partnership {
    /// The owner's home currency, when the figures need it (one batched
    /// query for a whole page of partnerships).
    async fn home(
        &self,
        ctx: &Context<'_>,
        stats: &PairStats,
        currency_given: bool,
    ) -> ApiResult<Option<String>> {
        if !stats.needs_home(currency_given) {
            return Ok(None);
        }
        Ok(Some(
            loaders(ctx)?
                .home_currencies
                .load_one(self.model.member_id.clone())
                .await?
                .unwrap_or_else(|| domain::balances::service::NO_CURRENCY.to_string()),
        ))
    }

    /// All-time figures come with the list; a period is asked for one
    /// partnership at a time, with its own query.
    async fn stats_for(
        &self,
        ctx: &Context<'_>,
        from: Option<Date>,
        to: Option<Date>,
    ) -> ApiResult<std::borrow::Cow<'_, PairStats>> {
        let Some(period) = crate::balances::types::period(from, to)? else {
            return Ok(std::borrow::Cow::Borrowed(&self.stats));
        };
        let Some(counterpart) = domain::partnerships::service::counterpart(&self.model) else {
            return Ok(std::borrow::Cow::Borrowed(&self.stats));
        };
        let db = &crate::graphql::context::state(ctx)?.db;
        let mut stats = domain::balances::service::pair_stats(
            db,
            &self.model.member_id,
            std::slice::from_ref(&counterpart),
            Utc::now(),
            Some(period),
        )
        .await?;
        Ok(std::borrow::Cow::Owned(
            stats.remove(&counterpart).unwrap_or_default(),
        ))
    }
}

crate::connection_type!(PartnershipConnection, PartnershipEdge, Partnership);
