//! GraphQL shapes of partner firms and their API tokens. What a field
//! shows depends on who asks: leaders of the firm's group (and admins) see
//! tokens, webhooks and the balance; the firm's own token sees its balance
//! and referrals (REFERRALS_READ); anyone else who can reach a firm (a
//! member of its group, through a referral) sees its name and group only.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{api_token, partner_firm};

use crate::balances::types::Balance;
use crate::error::{ApiError, ApiResult};
use crate::graphql::connection::IntoConnection;
use crate::graphql::connection::page_of;
use crate::graphql::context::{caller, loaders, state};
use crate::graphql::enums::ApiScope;
use crate::graphql::guards;
use crate::graphql::scalars::Date;
use crate::groups::types::Group;
use crate::members::types::Member;
use crate::referrals::types::{ProspectInput, Referral, ReferralConnection};
use crate::webhooks::types::Webhook;
use domain::Caller;
use domain::partners::service::{self, Direction};
use entities::ApiScope as StoredScope;

#[derive(InputObject)]
pub struct PartnerFirmInput {
    pub group_id: ID,
    pub name: String,
    pub contact_email: Option<String>,
}

#[derive(InputObject)]
pub struct ApiTokenInput {
    pub partner_firm_id: ID,
    pub scopes: Vec<ApiScope>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A referral from the firm to an active member of its group.
#[derive(InputObject)]
pub struct SubmitReferralInput {
    pub receiver_id: ID,
    pub prospect: ProspectInput,
    pub temperature: i32,
    pub note: Option<String>,
    /// 1–255 characters, unique per firm: a retry with the same key and
    /// input returns the first result; with other input, CONFLICT.
    pub idempotency_key: String,
}

pub struct ApiToken(pub api_token::Model);

#[Object]
impl ApiToken {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The token's first characters ("rx_" and 6 more), to tell tokens apart.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }

    async fn scopes(&self) -> ApiResult<Vec<ApiScope>> {
        Ok(StoredScope::parse_list(&self.0.scopes)?
            .into_iter()
            .map(ApiScope::from)
            .collect())
    }

    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }

    /// Updated at most once a minute.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }

    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(SimpleObject)]
pub struct IssuedApiToken {
    /// The whole token, shown only here: store it now. Starts with "rx_".
    pub secret: String,
    pub token: ApiToken,
}

#[derive(Clone)]
pub struct PartnerFirm(pub partner_firm::Model);

impl PartnerFirm {
    /// An admin, or an active leader of the firm's group.
    async fn viewer_leads(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        let Caller::Member(me) = caller(ctx) else {
            return Ok(false);
        };
        guards::leads_group(ctx, me, &self.0.group_id).await
    }

    /// The firm's own token, holding `scope`.
    fn viewer_is_firm(&self, ctx: &Context<'_>, scope: StoredScope) -> bool {
        matches!(caller(ctx), Caller::Partner(p) if p.firm_id == self.0.id && p.scopes.contains(&scope))
    }

    fn denied(ctx: &Context<'_>, what: &str) -> ApiError {
        match caller(ctx) {
            Caller::Anonymous => ApiError(domain::DomainError::unauthenticated()),
            _ => ApiError::forbidden(format!("only leaders of the firm's group may see {what}")),
        }
    }

    async fn require_leader(&self, ctx: &Context<'_>, what: &str) -> ApiResult<()> {
        if self.viewer_leads(ctx).await? {
            Ok(())
        } else {
            Err(Self::denied(ctx, what))
        }
    }

    fn require_own_read(&self, ctx: &Context<'_>) -> ApiResult<()> {
        if self.viewer_is_firm(ctx, StoredScope::ReferralsRead) {
            return Ok(());
        }
        match caller(ctx) {
            Caller::Anonymous => Err(ApiError(domain::DomainError::unauthenticated())),
            _ => Err(ApiError::forbidden(
                "a firm's referrals are read with its own API token (REFERRALS_READ)",
            )),
        }
    }

    async fn referrals(
        &self,
        ctx: &Context<'_>,
        direction: Direction,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<ReferralConnection> {
        self.require_own_read(ctx)?;
        let page = page_of(ctx, first, after.as_deref())?;
        let (rows, total) =
            service::referrals_of_firm(&state(ctx)?.db, &self.0.id, direction, page).await?;
        Ok(page.connection(rows.into_iter().map(Referral::party).collect(), total))
    }
}

#[Object]
impl PartnerFirm {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn group(&self, ctx: &Context<'_>) -> ApiResult<Group> {
        Ok(Group(loaders(ctx)?.group(&self.0.group_id).await?))
    }

    /// Null unless the caller leads the firm's group or is the firm.
    async fn contact_email(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let own = matches!(caller(ctx), Caller::Partner(p) if p.firm_id == self.0.id);
        Ok((own || self.viewer_leads(ctx).await?)
            .then(|| self.0.contact_email.clone())
            .flatten())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Referrals between the firm and its group, both ways: `given` by the
    /// firm to members, `received` by the firm from members (values: WON
    /// only, in the group's currency), all time or made between `from` and
    /// `to` inclusive. Leaders of the group, admins, and the firm's token
    /// with REFERRALS_READ.
    async fn balance(
        &self,
        ctx: &Context<'_>,
        from: Option<Date>,
        to: Option<Date>,
    ) -> ApiResult<Balance> {
        if !(self.viewer_is_firm(ctx, StoredScope::ReferralsRead) || self.viewer_leads(ctx).await?)
        {
            return Err(Self::denied(ctx, "a firm's balance"));
        }
        if let Some(period) = crate::balances::types::period(from, to)? {
            // A period is asked for one firm at a time: its own query.
            let ids = std::slice::from_ref(&self.0.id);
            let mut all =
                domain::balances::service::for_firms(&state(ctx)?.db, ids, Some(period)).await?;
            return all.remove(&self.0.id).map(Balance::from).ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("no balance computed for a firm"))
            });
        }
        loaders(ctx)?
            .firm_balances
            .load_one(self.0.id.clone())
            .await?
            .map(Balance::from)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no balance computed for a firm")))
    }

    /// Every token ever issued, newest first. Leaders of the group and admins.
    async fn tokens(&self, ctx: &Context<'_>) -> ApiResult<Vec<ApiToken>> {
        self.require_leader(ctx, "API tokens").await?;
        Ok(loaders(ctx)?
            .firm_tokens
            .load_one(self.0.id.clone())
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(ApiToken)
            .collect())
    }

    /// Live webhook endpoints. Leaders of the group and admins.
    async fn webhooks(&self, ctx: &Context<'_>) -> ApiResult<Vec<Webhook>> {
        self.require_leader(ctx, "webhooks").await?;
        let rows =
            domain::webhooks::service::endpoints_of_firm(&state(ctx)?.db, &self.0.id).await?;
        Ok(rows.into_iter().map(Webhook).collect())
    }

    /// Referrals the firm gave, newest first. The firm's own token (REFERRALS_READ).
    async fn referrals_given(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<ReferralConnection> {
        self.referrals(ctx, Direction::Given, first, after).await
    }

    /// Referrals the firm received, newest first. The firm's own token (REFERRALS_READ).
    async fn referrals_received(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<ReferralConnection> {
        self.referrals(ctx, Direction::Received, first, after).await
    }
}

crate::connection_type!(MemberConnection, MemberEdge, Member);
