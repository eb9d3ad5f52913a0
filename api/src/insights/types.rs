//! GraphQL shapes of referral requests and the intelligence reports.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use entities::referral_request;

use crate::contacts::types::Contact;
use crate::error::{ApiError, ApiResult};
use crate::graphql::context::loaders;
use crate::graphql::enums::Channel;
use crate::graphql::scalars::{Date, Decimal};
use crate::members::types::Member;
use crate::partnerships::types::Partner;
use crate::referrals::types::Referral;
use domain::insights::sources;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::RequestResponse")]
pub enum RequestResponse {
    Yes,
    NotNow,
    No,
}

/// Where a referral came from: a fellow member, a partner firm, or the
/// kind of the outside contact who gave it (PROSPECT and OTHER contacts as
/// OTHER_CONTACT).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::insights::sources::SourceKind")]
pub enum SourceKind {
    Member,
    PartnerFirm,
    Client,
    Professional,
    OtherContact,
}

/// Exactly one of memberId (a member sharing an active group with the
/// caller) or contactId (the caller's contact). Text 1-2000 characters.
#[derive(InputObject)]
pub struct ReferralRequestInput {
    pub member_id: Option<ID>,
    pub contact_id: Option<ID>,
    pub text: String,
}

#[derive(InputObject)]
pub struct RequestResponseInput {
    pub request_id: ID,
    pub response: RequestResponse,
    pub reason: Option<String>,
}

pub struct ReferralRequest(pub referral_request::Model);

#[Object]
impl ReferralRequest {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn text(&self) -> &str {
        &self.0.text
    }

    async fn asked_on(&self) -> Date {
        Date(self.0.asked_on)
    }

    /// The person asked.
    async fn to(&self, ctx: &Context<'_>) -> ApiResult<Partner> {
        let loaders = loaders(ctx)?;
        if let Some(m) = &self.0.to_member_id {
            return Ok(Partner::Member(Member::from(loaders.member(m).await?)));
        }
        let c = self.0.to_contact_id.as_deref().unwrap_or_default();
        loaders
            .contacts
            .load_one(c.to_string())
            .await?
            .map(|c| Partner::Contact(Contact(c)))
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("request without its contact")))
    }

    /// The answer recorded, or YES once a referral answered the request.
    async fn response(&self) -> Option<RequestResponse> {
        self.0.response.map(Into::into)
    }

    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }

    async fn answered_on(&self) -> Option<Date> {
        self.0.answered_on.map(Date)
    }

    /// When to ask again: 14 days after asking while unanswered; after the
    /// group's reaskAfterDays following NOT_NOW; none once YES or NO.
    async fn circle_back_on(&self) -> Option<Date> {
        self.0.circle_back_on.map(Date)
    }

    /// Referrals the person gave the caller after this request (until the
    /// caller's next request to them), oldest first.
    async fn referrals(&self, ctx: &Context<'_>) -> ApiResult<Vec<Referral>> {
        Ok(loaders(ctx)?
            .request_referrals
            .load_one(self.0.id.clone())
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Referral::party)
            .collect())
    }
}

crate::connection_type!(
    ReferralRequestConnection,
    ReferralRequestEdge,
    ReferralRequest
);

/// Conversion of received referrals: won = WON; lost = LOST + DECLINED;
/// open = the rest.
#[derive(SimpleObject)]
pub struct Conversion {
    pub received: i32,
    pub won: i32,
    pub lost: i32,
    pub open: i32,
    /// won / received (0 when none were received).
    pub conversion_rate: f64,
    /// Sum of WON closed values, in the report's currency.
    pub won_value: Decimal,
    /// Median whole days from creation to win (null without a win).
    pub median_days_to_win: Option<f64>,
}

impl From<sources::Conversion> for Conversion {
    fn from(c: sources::Conversion) -> Conversion {
        Conversion {
            received: c.received as i32,
            won: c.won as i32,
            lost: c.lost as i32,
            open: c.open as i32,
            conversion_rate: c.conversion_rate(),
            won_value: Decimal(c.won_value),
            median_days_to_win: c.median_days_to_win,
        }
    }
}

#[derive(SimpleObject)]
pub struct SourceRow {
    pub source: SourceKind,
    pub conversion: Conversion,
}

#[derive(SimpleObject)]
pub struct ChannelRow {
    pub channel: Channel,
    pub conversion: Conversion,
}

#[derive(SimpleObject)]
pub struct TemperatureRow {
    pub temperature: i32,
    pub conversion: Conversion,
}

#[derive(SimpleObject)]
pub struct PresenceRow {
    pub made_in_absence: bool,
    pub conversion: Conversion,
}

/// Where received business comes from, and how much of it closes. Each
/// breakdown sums to `total`; rows only for keys with referrals.
#[derive(SimpleObject)]
pub struct SourcesReport {
    pub from: Date,
    pub to: Date,
    /// ISO 4217 code of the `wonValue` figures (a member's report counts
    /// every referral but values only those in this currency).
    pub currency: String,
    pub total: Conversion,
    pub by_source: Vec<SourceRow>,
    pub by_channel: Vec<ChannelRow>,
    pub by_temperature: Vec<TemperatureRow>,
    pub by_presence: Vec<PresenceRow>,
}

impl From<sources::SourcesReport> for SourcesReport {
    fn from(r: sources::SourcesReport) -> SourcesReport {
        SourcesReport {
            from: Date(r.from),
            to: Date(r.to),
            currency: r.currency,
            total: r.total.into(),
            by_source: r
                .by_source
                .into_iter()
                .map(|(source, c)| SourceRow {
                    source: source.into(),
                    conversion: c.into(),
                })
                .collect(),
            by_channel: r
                .by_channel
                .into_iter()
                .map(|(channel, c)| ChannelRow {
                    channel: channel.into(),
                    conversion: c.into(),
                })
                .collect(),
            by_temperature: r
                .by_temperature
                .into_iter()
                .map(|(temperature, c)| TemperatureRow {
                    temperature,
                    conversion: c.into(),
                })
                .collect(),
            by_presence: r
                .by_presence
                .into_iter()
                .map(|(made_in_absence, c)| PresenceRow {
                    made_in_absence,
                    conversion: c.into(),
                })
                .collect(),
        }
    }
}

/// Someone to ask for referrals, and why in plain words.
#[derive(SimpleObject)]
pub struct AskSuggestion {
    pub partner: Partner,
    pub reason: String,
}

/// A party who gave the caller more than the caller gave them (last 365 days).
#[derive(SimpleObject)]
pub struct ReciprocityRow {
    pub partner: crate::referrals::types::Party,
    pub received_from: i32,
    pub given_to: i32,
    pub last_received_at: Option<chrono::DateTime<chrono::Utc>>,
}
