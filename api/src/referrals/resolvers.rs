use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use super::types::{
    AdvanceReferralInput, AwayDigest, ContactReferralInput, FollowUpInput, GiveReferralInput,
    OutsideReferralInput, Referral, ReferralConnection,
};
use crate::error::{ApiError, ApiResult};
use crate::graphql::connection::IntoConnection;
use crate::graphql::connection::page_of;
use crate::graphql::context::{caller, state};
use crate::graphql::scalars::Date;
use domain::referrals::{self as service, AdvanceInput, GiveInput};
use entities::ApiScope;

#[derive(Default)]
pub struct ReferralsQuery;

#[Object]
impl ReferralsQuery {
    /// NOT_FOUND unless the caller is its giver, receiver or active delegate
    /// (or a partner firm's token with REFERRALS_READ, for the firm's own referrals).
    async fn referral(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Referral> {
        let actor = service::actor_with_scope(caller(ctx), ApiScope::ReferralsRead)?;
        let (r, _) = service::find_visible(&state(ctx)?.db, &actor, &id).await?;
        Ok(Referral::party(r))
    }

    /// Follow-ups due on `on` (default today) for the caller as receiver or delegate, oldest first.
    async fn due_follow_ups(
        &self,
        ctx: &Context<'_>,
        on: Option<Date>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<ReferralConnection> {
        let me = caller(ctx).member()?;
        let page = page_of(ctx, first, after.as_deref())?;
        let on = on.map(|d| d.0).unwrap_or_else(|| Utc::now().date_naive());
        let (rows, total) = service::due_follow_ups(&state(ctx)?.db, &me.id, on, page).await?;
        Ok(page.connection(rows.into_iter().map(Referral::party).collect(), total))
    }

    /// Referrals received since `since` (default: the caller's previous sign-in).
    async fn while_you_were_away(
        &self,
        ctx: &Context<'_>,
        since: Option<DateTime<Utc>>,
    ) -> ApiResult<AwayDigest> {
        let me = caller(ctx).member()?;
        // By default, from the previous sign-in: in the row the session
        // was checked with, when the caller carries it.
        let since = match (since, &me.profile) {
            (Some(s), _) => s,
            (None, Some(m)) => m.previous_sign_in_at.unwrap_or(m.created_at),
            (None, None) => service::default_since(&state(ctx)?.db, &me.id).await?,
        };
        Ok(AwayDigest {
            member_id: me.id.clone(),
            since,
            counts: Default::default(),
        })
    }
}

#[derive(Default)]
pub struct ReferralsMutation;

#[Object]
impl ReferralsMutation {
    /// Gives a referral to a member (or partner firm) of a group the caller shares.
    /// madeInAbsence/absenceReason are decided by the server.
    async fn give_referral(
        &self,
        ctx: &Context<'_>,
        input: GiveReferralInput,
    ) -> ApiResult<Referral> {
        let give = GiveInput {
            receiver_id: input.receiver_id.0,
            prospect: input.prospect.into(),
            temperature: input.temperature,
            channel: input.channel.into(),
            meeting_id: input.meeting_id.map(|m| m.0),
            ask_id: input.ask_id.map(|a| a.0),
            note: input.note,
        };
        Ok(Referral::party_with(
            service::give(state(ctx)?, caller(ctx), give).await?,
        ))
    }

    /// Records a referral the caller received from one of their outside contacts.
    async fn record_outside_referral(
        &self,
        ctx: &Context<'_>,
        input: OutsideReferralInput,
    ) -> ApiResult<Referral> {
        Ok(Referral::party(
            service::record_outside(state(ctx)?, caller(ctx), input.into()).await?,
        ))
    }

    /// Refers business to one of the caller's own outside contacts: an
    /// outside referral, not made in anyone's absence. The contact has no
    /// account, so the giver records its outcome with advanceReferral. It
    /// counts in the partnership with that contact as given by the member.
    async fn give_referral_to_contact(
        &self,
        ctx: &Context<'_>,
        input: ContactReferralInput,
    ) -> ApiResult<Referral> {
        let outside = OutsideReferralInput {
            contact_id: input.contact_id,
            prospect: input.prospect,
            temperature: input.temperature,
            note: input.note,
        };
        Ok(Referral::party(
            service::give_to_contact(state(ctx)?, caller(ctx), outside.into()).await?,
        ))
    }

    /// Moves a referral along its lifecycle. WON needs closedValue > 0. A partner
    /// firm's token with REFERRALS_WRITE advances referrals the firm received.
    async fn advance_referral(
        &self,
        ctx: &Context<'_>,
        input: AdvanceReferralInput,
    ) -> ApiResult<Referral> {
        let actor = service::actor_with_scope(caller(ctx), ApiScope::ReferralsWrite)?;
        let advance = AdvanceInput {
            referral_id: input.referral_id.0,
            status: input.status.into(),
            expected_version: input.expected_version,
            closed_value: input.closed_value.map(|d| d.0),
            business_kind: input.business_kind.map(Into::into),
            note: input.note,
        };
        Ok(Referral::party(
            service::advance(state(ctx)?, &actor, advance).await?,
        ))
    }

    /// NO_ANSWER schedules the next follow-up; the 4th in a row parks the referral.
    async fn log_follow_up(&self, ctx: &Context<'_>, input: FollowUpInput) -> ApiResult<Referral> {
        let r = service::log_follow_up(
            state(ctx)?,
            caller(ctx),
            &input.referral_id,
            input.outcome.into(),
            input.note,
        )
        .await?;
        Ok(Referral::party(r))
    }

    /// The receiver (or delegate) thanks the giver.
    async fn thank_giver(
        &self,
        ctx: &Context<'_>,
        referral_id: ID,
        note: String,
    ) -> ApiResult<Referral> {
        if note.len() > 100_000 {
            return Err(ApiError::bad_input("note", "note is too long"));
        }
        Ok(Referral::party(
            service::thank(state(ctx)?, caller(ctx), &referral_id, &note).await?,
        ))
    }
}
