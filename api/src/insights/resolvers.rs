use async_graphql::{Context, ID, Object};
use chrono::Utc;

use super::types::{
    AskSuggestion, ReciprocityRow, ReferralRequest, ReferralRequestConnection,
    ReferralRequestInput, RequestResponseInput, SourcesReport,
};
use crate::contacts::types::Contact;
use crate::error::{ApiError, ApiResult};
use crate::graphql::connection::{IntoConnection, page_of};
use crate::graphql::context::{caller, loaders, state};
use crate::graphql::scalars::Date;
use crate::members::types::Member;
use crate::partners::types::PartnerFirm;
use crate::partnerships::types::Partner;
use crate::referrals::types::Party;
use domain::insights::reciprocity::Party as DomainParty;
use domain::requests::service::{self, Asked, NewRequest, Response};

#[derive(Default)]
pub struct InsightsQuery;

#[Object]
impl InsightsQuery {
    /// Conversion of received referrals by source, channel, temperature and
    /// presence. Exactly one of memberId (the member themself, or a leader
    /// of a group they sit in) or groupId (its leaders). Values are in
    /// `currency` (a member's report; default their home currency) or the
    /// group's currency.
    async fn sources_report(
        &self,
        ctx: &Context<'_>,
        member_id: Option<ID>,
        group_id: Option<ID>,
        from: Date,
        to: Date,
        currency: Option<String>,
    ) -> ApiResult<SourcesReport> {
        let currency = crate::balances::types::currency(currency)?;
        let report = domain::insights::sources::sources_report(
            &state(ctx)?.reading().await,
            caller(ctx),
            member_id.as_ref().map(|i| i.0.as_str()),
            group_id.as_ref().map(|i| i.0.as_str()),
            from.0,
            to.0,
            currency,
        )
        .await?;
        Ok(report.into())
    }

    /// Whom to ask for referrals next, best first, each with a reason.
    /// `first` 0-100, default 10.
    async fn who_to_ask(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> ApiResult<Vec<AskSuggestion>> {
        let db = &state(ctx)?.db;
        let suggestions = domain::insights::who_to_ask::who_to_ask(db, caller(ctx), first).await?;
        let parties: Vec<DomainParty> = suggestions
            .iter()
            .map(|s| match &s.partner {
                Asked::Member(m) => DomainParty::Member(m.clone()),
                Asked::Contact(c) => DomainParty::Contact(c.clone()),
            })
            .collect();
        let mut loaded = parties_of(ctx, &parties).await?.into_iter();
        let mut out = Vec::with_capacity(suggestions.len());
        for s in suggestions {
            let partner = match loaded.next() {
                Some(Party::Member(m)) => Partner::Member(m),
                Some(Party::Contact(c)) => Partner::Contact(c),
                _ => {
                    return Err(ApiError::internal(anyhow::anyhow!(
                        "suggestion without its partner"
                    )));
                }
            };
            out.push(AskSuggestion {
                partner,
                reason: s.reason,
            });
        }
        Ok(out)
    }

    /// Parties who gave the caller more referrals than the caller gave them
    /// in the last 365 days, largest difference first. `first` 0-100,
    /// default 10.
    async fn reciprocity(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> ApiResult<Vec<ReciprocityRow>> {
        let db = &state(ctx)?.db;
        let rows = domain::insights::reciprocity::reciprocity(db, caller(ctx), first).await?;
        let parties: Vec<DomainParty> = rows.iter().map(|(p, _)| p.clone()).collect();
        let loaded = parties_of(ctx, &parties).await?;
        Ok(rows
            .into_iter()
            .zip(loaded)
            .map(|((_, e), partner)| ReciprocityRow {
                partner,
                received_from: e.received_from as i32,
                given_to: e.given_to as i32,
                last_received_at: e.last_received_at,
            })
            .collect())
    }

    /// The caller's requests to circle back to on or before `on` (default
    /// today), oldest circle-back date first.
    async fn due_requests(
        &self,
        ctx: &Context<'_>,
        on: Option<Date>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<ReferralRequestConnection> {
        let page = page_of(ctx, first, after.as_deref())?;
        let on = on.map_or_else(|| Utc::now().date_naive(), |d| d.0);
        let (rows, total) = service::due(&state(ctx)?.db, caller(ctx), on, page).await?;
        Ok(page.connection(rows.into_iter().map(ReferralRequest).collect(), total))
    }
}

/// The GraphQL objects for `parties`, in order, with one batched load per
/// kind (members, firms, contacts) whatever their number.
async fn parties_of(ctx: &Context<'_>, parties: &[DomainParty]) -> ApiResult<Vec<Party>> {
    let loaders = loaders(ctx)?;
    let ids = |pick: fn(&DomainParty) -> Option<&String>| -> Vec<String> {
        parties.iter().filter_map(pick).cloned().collect()
    };
    let members = loaders
        .members
        .load_many(ids(|p| match p {
            DomainParty::Member(m) => Some(m),
            _ => None,
        }))
        .await?;
    let firms = loaders
        .firms
        .load_many(ids(|p| match p {
            DomainParty::Firm(f) => Some(f),
            _ => None,
        }))
        .await?;
    let contacts = loaders
        .contacts
        .load_many(ids(|p| match p {
            DomainParty::Contact(c) => Some(c),
            _ => None,
        }))
        .await?;
    let missing = || ApiError::internal(anyhow::anyhow!("party missing behind a foreign key"));
    parties
        .iter()
        .map(|p| {
            Ok(match p {
                DomainParty::Member(m) => {
                    Party::Member(Member::from(members.get(m).cloned().ok_or_else(missing)?))
                }
                DomainParty::Firm(f) => {
                    Party::PartnerFirm(PartnerFirm(firms.get(f).cloned().ok_or_else(missing)?))
                }
                DomainParty::Contact(c) => {
                    Party::Contact(Contact(contacts.get(c).cloned().ok_or_else(missing)?))
                }
            })
        })
        .collect()
}

#[derive(Default)]
pub struct InsightsMutation;

#[Object]
impl InsightsMutation {
    /// Ask one person for introductions. Asking someone asked within the
    /// re-ask delay, or a contact whose latest NPS is below 5, is CONFLICT.
    async fn request_referrals(
        &self,
        ctx: &Context<'_>,
        input: ReferralRequestInput,
    ) -> ApiResult<ReferralRequest> {
        let new = NewRequest {
            member_id: input.member_id.map(|i| i.0),
            contact_id: input.contact_id.map(|i| i.0),
            text: input.text,
        };
        Ok(ReferralRequest(
            service::request_referrals(state(ctx)?, caller(ctx), new).await?,
        ))
    }

    /// The requester records the answer: NOT_NOW circles back after the
    /// re-ask delay; YES and NO close the request.
    async fn record_request_response(
        &self,
        ctx: &Context<'_>,
        input: RequestResponseInput,
    ) -> ApiResult<ReferralRequest> {
        let response = Response {
            request_id: input.request_id.0,
            response: input.response.into(),
            reason: input.reason,
        };
        Ok(ReferralRequest(
            service::record_response(state(ctx)?, caller(ctx), response).await?,
        ))
    }
}
