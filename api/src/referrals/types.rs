//! GraphQL shapes of referrals. Prospect contact details reach only the
//! giver, receiver and active delegate, because a `Referral` object is only
//! ever built for them (see `service::find_visible` and the list queries).

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Union};
use chrono::{DateTime, Utc};
use entities::{referral, referral_event};

use crate::contacts::types::Contact;
use crate::error::{ApiError, ApiResult};
use crate::graphql::connection::IntoConnection;
use crate::graphql::connection::page_of;
use crate::graphql::context::{loaders, state};
use crate::graphql::enums::{AbsenceReason, Channel, ReferralStatus};
use crate::graphql::scalars::{Date, Decimal};
use crate::members::types::Member;
use crate::partners::types::PartnerFirm;
use domain::money::Money;
use domain::referrals::{self as service, ProspectInputData};

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ReferralRole {
    Given,
    Received,
    /// Received by someone the caller covers for while they are away.
    Delegated,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::referrals::FollowUpOutcome")]
pub enum FollowUpOutcome {
    NoAnswer,
    Responded,
}

/// The contract's event kinds are fixed: a presence re-decided when
/// attendance is recorded shows as STATUS_CHANGED with no status moved
/// (fromStatus and toStatus null) and a note saying what changed.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum EventKind {
    Created,
    StatusChanged,
    FollowUp,
    Thanked,
    Delegated,
}

impl From<entities::EventKind> for EventKind {
    fn from(k: entities::EventKind) -> EventKind {
        use entities::EventKind as Stored;
        match k {
            Stored::Created => EventKind::Created,
            Stored::StatusChanged | Stored::PresenceChanged => EventKind::StatusChanged,
            Stored::FollowUp => EventKind::FollowUp,
            Stored::Thanked => EventKind::Thanked,
            Stored::Delegated => EventKind::Delegated,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::BusinessKind")]
pub enum BusinessKind {
    New,
    Repeat,
}

#[derive(InputObject)]
pub struct ProspectInput {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub need: Option<String>,
}

impl From<ProspectInput> for ProspectInputData {
    fn from(p: ProspectInput) -> Self {
        ProspectInputData {
            name: p.name,
            email: p.email,
            phone: p.phone,
            company: p.company,
            need: p.need,
        }
    }
}

/// receiverId: a member or a partner firm. meetingId: the meeting where it was passed (channel MEETING).
#[derive(InputObject)]
pub struct GiveReferralInput {
    pub receiver_id: ID,
    pub prospect: ProspectInput,
    pub temperature: i32,
    pub channel: Channel,
    pub meeting_id: Option<ID>,
    pub ask_id: Option<ID>,
    pub note: Option<String>,
}

#[derive(InputObject)]
pub struct OutsideReferralInput {
    pub contact_id: ID,
    pub prospect: ProspectInput,
    pub temperature: i32,
    pub note: Option<String>,
}

impl From<OutsideReferralInput> for service::OutsideInput {
    fn from(input: OutsideReferralInput) -> service::OutsideInput {
        service::OutsideInput {
            contact_id: input.contact_id.0,
            prospect: input.prospect.into(),
            temperature: input.temperature,
            note: input.note,
        }
    }
}

/// A referral the caller passes to one of their own outside contacts (the
/// same fields as `OutsideReferralInput`: the contract names both).
#[derive(InputObject)]
pub struct ContactReferralInput {
    pub contact_id: ID,
    pub prospect: ProspectInput,
    pub temperature: i32,
    pub note: Option<String>,
}

/// closedValue and businessKind (default NEW) go with WON.
#[derive(InputObject)]
pub struct AdvanceReferralInput {
    pub referral_id: ID,
    pub status: ReferralStatus,
    pub expected_version: Option<i32>,
    pub closed_value: Option<Decimal>,
    pub business_kind: Option<BusinessKind>,
    pub note: Option<String>,
}

#[derive(InputObject)]
pub struct FollowUpInput {
    pub referral_id: ID,
    pub outcome: FollowUpOutcome,
    pub note: Option<String>,
}

#[derive(Union, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Party {
    Member(Member),
    PartnerFirm(PartnerFirm),
    Contact(Contact),
}

#[derive(SimpleObject)]
pub struct Prospect {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub need: Option<String>,
}

pub struct ReferralEvent(pub referral_event::Model);

#[Object]
impl ReferralEvent {
    async fn kind(&self) -> EventKind {
        self.0.kind.into()
    }

    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }

    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// For status changes: the status moved from.
    async fn from_status(&self) -> Option<ReferralStatus> {
        self.0.from_status.map(Into::into)
    }

    /// For status changes (and creation): the status moved to.
    async fn to_status(&self) -> Option<ReferralStatus> {
        self.0.to_status.map(Into::into)
    }

    /// Who acted: a member (the receiver, their delegate, the giver) or a partner firm.
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<Party>> {
        party(
            ctx,
            self.0.actor_member_id.as_deref(),
            self.0.actor_firm_id.as_deref(),
            None,
        )
        .await
    }
}

async fn party(
    ctx: &Context<'_>,
    member: Option<&str>,
    firm: Option<&str>,
    contact: Option<&str>,
) -> ApiResult<Option<Party>> {
    let loaders = loaders(ctx)?;
    if let Some(id) = member {
        return Ok(loaders
            .members
            .load_one(id.to_string())
            .await?
            .map(|m| Party::Member(Member::from(m))));
    }
    if let Some(id) = firm {
        return Ok(loaders
            .firms
            .load_one(id.to_string())
            .await?
            .map(|f| Party::PartnerFirm(PartnerFirm(f))));
    }
    if let Some(id) = contact {
        return Ok(loaders
            .contacts
            .load_one(id.to_string())
            .await?
            .map(|c| Party::Contact(Contact(c))));
    }
    Ok(None)
}

fn missing(what: &str) -> ApiError {
    ApiError::internal(anyhow::anyhow!("referral without its {what}"))
}

/// A referral as its giver, receiver or delegate sees it, or — in a
/// leader's report — with the prospect's contact details and the history
/// left out (leaders see figures, not other members' prospects).
#[derive(Clone)]
pub struct Referral {
    pub model: referral::Model,
    redacted: bool,
    /// Giver and receiver when they were read with the referral.
    parties: Option<Box<(Party, Party)>>,
}

impl From<service::PartyRow> for Party {
    fn from(row: service::PartyRow) -> Party {
        match row {
            service::PartyRow::Member(m) => Party::Member(Member::from(m)),
            service::PartyRow::Firm(f) => Party::PartnerFirm(PartnerFirm(f)),
            service::PartyRow::Contact(c) => Party::Contact(Contact(c)),
        }
    }
}

impl Referral {
    pub fn party(model: referral::Model) -> Referral {
        Referral {
            model,
            redacted: false,
            parties: None,
        }
    }

    /// As [`Referral::party`], with the giver and receiver read with it.
    pub fn party_with(row: service::ReferralWithParties) -> Referral {
        let parties = match (row.giver, row.receiver) {
            (Some(g), Some(r)) => Some(Box::new((g.into(), r.into()))),
            _ => None,
        };
        Referral {
            model: row.referral,
            redacted: false,
            parties,
        }
    }

    pub fn for_report(model: referral::Model) -> Referral {
        Referral {
            model,
            redacted: true,
            parties: None,
        }
    }
}

#[Object]
impl Referral {
    pub async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }

    async fn status(&self) -> ReferralStatus {
        ReferralStatus::from(self.model.status)
    }

    /// 1 contact details shared … 5 introduced in person.
    async fn temperature(&self) -> i32 {
        self.model.temperature
    }

    async fn channel(&self) -> Channel {
        Channel::from(self.model.channel)
    }

    /// Decided by the server: the receiver took no part in making it.
    async fn made_in_absence(&self) -> bool {
        self.model.made_in_absence
    }

    async fn absence_reason(&self) -> Option<AbsenceReason> {
        self.model.absence_reason.map(Into::into)
    }

    /// Giver and receiver share an active group.
    async fn inside_group(&self) -> bool {
        self.model.inside_group
    }

    /// Closed business value (WON only), in the group's currency.
    async fn closed_value(&self) -> Option<Decimal> {
        self.model
            .closed_value_e4
            .map(|v| Decimal(Money::from_stored(v)))
    }

    async fn business_kind(&self) -> Option<BusinessKind> {
        self.model.business_kind.map(Into::into)
    }

    /// Increments on every change; send it back as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.model.version
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.model.updated_at
    }

    async fn note(&self) -> Option<&str> {
        if self.redacted {
            return None;
        }
        self.model.note.as_deref()
    }

    async fn giver(&self, ctx: &Context<'_>) -> ApiResult<Party> {
        if let Some(parties) = &self.parties {
            return Ok(parties.0.clone());
        }
        let r = &self.model;
        party(
            ctx,
            r.giver_member_id.as_deref(),
            r.giver_firm_id.as_deref(),
            r.giver_contact_id.as_deref(),
        )
        .await?
        .ok_or_else(|| missing("giver"))
    }

    async fn receiver(&self, ctx: &Context<'_>) -> ApiResult<Party> {
        if let Some(parties) = &self.parties {
            return Ok(parties.1.clone());
        }
        let r = &self.model;
        party(
            ctx,
            r.receiver_member_id.as_deref(),
            r.receiver_firm_id.as_deref(),
            r.receiver_contact_id.as_deref(),
        )
        .await?
        .ok_or_else(|| missing("receiver"))
    }

    /// The member covering for an away receiver when the referral arrived.
    async fn delegate(&self, ctx: &Context<'_>) -> ApiResult<Option<Member>> {
        match &self.model.delegate_id {
            Some(id) => Ok(loaders(ctx)?
                .members
                .load_one(id.clone())
                .await?
                .map(Member::from)),
            None => Ok(None),
        }
    }

    async fn prospect(&self) -> Prospect {
        let r = &self.model;
        if self.redacted {
            return Prospect {
                name: r.prospect_name.clone(),
                email: None,
                phone: None,
                company: None,
                need: None,
            };
        }
        Prospect {
            name: r.prospect_name.clone(),
            email: r.prospect_email.clone(),
            phone: r.prospect_phone.clone(),
            company: r.prospect_company.clone(),
            need: r.prospect_need.clone(),
        }
    }

    /// Follow-ups logged so far.
    async fn follow_up_count(&self) -> i32 {
        self.model.follow_up_count
    }

    /// NO_ANSWER follow-ups in a row.
    async fn unanswered_follow_ups(&self) -> i32 {
        self.model.unanswered_follow_ups
    }

    async fn next_follow_up_on(&self) -> Option<Date> {
        self.model.next_follow_up_on.map(Date)
    }

    /// For PARKED referrals: when it comes back among due follow-ups.
    async fn revisit_on(&self) -> Option<Date> {
        self.model.revisit_on.map(Date)
    }

    async fn thanked(&self) -> bool {
        self.model.thanked_at.is_some()
    }

    /// Append-only history, oldest first.
    async fn events(&self, ctx: &Context<'_>) -> ApiResult<Vec<ReferralEvent>> {
        if self.redacted {
            return Ok(Vec::new());
        }
        Ok(loaders(ctx)?
            .events
            .load_one(self.model.id.clone())
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(ReferralEvent)
            .collect())
    }
}

crate::connection_type!(ReferralConnection, ReferralEdge, Referral);

/// The columns a connection of referrals needs for what the document
/// selects under `edges { node }` (see `columns_read` and `party_columns_read`).
pub fn page_columns_asked(ctx: &Context<'_>) -> service::PageColumns {
    let nodes = ctx
        .look_ahead()
        .field("edges")
        .field("node")
        .selection_fields();
    service::PageColumns {
        referral: columns_read(&nodes),
        parties: party_columns_read(&nodes),
    }
}

/// The parties' columns a page of referrals needs: only their names when
/// every field selected under `giver` and `receiver` (in any fragment, on
/// any kind of party) is one the names carry; the whole rows otherwise.
fn party_columns_read(nodes: &[async_graphql::SelectionField<'_>]) -> service::PartyColumns {
    const CARRIED: [&str; 4] = ["__typename", "id", "name", "kind"];
    let names_only = nodes.iter().all(|node| {
        node.selection_set()
            .filter(|f| matches!(f.name(), "giver" | "receiver"))
            .all(|party| crate::graphql::context::selects_only(&party, &CARRIED))
    });
    if names_only {
        service::PartyColumns::Names
    } else {
        service::PartyColumns::All
    }
}

/// The referral columns the `Referral` fields selected under `nodes` read
/// (in any fragment, each occurrence): what a page of referrals may
/// narrow its statement to. Keep it in step with the resolvers above; a
/// field not listed here reads every column, and the API tests compare
/// each field read through a narrowed page with the same field read whole.
pub fn columns_read(nodes: &[async_graphql::SelectionField<'_>]) -> service::ReferralColumns {
    use referral::Column as C;
    let mut read = Vec::new();
    for node in nodes {
        for field in node.selection_set() {
            let columns: &[C] = match field.name() {
                // The id, and the parties' columns, every page reads.
                "__typename" | "id" | "giver" | "receiver" | "events" => &[],
                "status" => &[C::Status],
                "temperature" => &[C::Temperature],
                "channel" => &[C::Channel],
                "madeInAbsence" => &[C::MadeInAbsence],
                "absenceReason" => &[C::AbsenceReason],
                "insideGroup" => &[C::InsideGroup],
                "closedValue" => &[C::ClosedValueE4],
                "businessKind" => &[C::BusinessKind],
                "version" => &[C::Version],
                "createdAt" => &[C::CreatedAt],
                "updatedAt" => &[C::UpdatedAt],
                "note" => &[C::Note],
                "delegate" => &[C::DelegateId],
                "followUpCount" => &[C::FollowUpCount],
                "unansweredFollowUps" => &[C::UnansweredFollowUps],
                "nextFollowUpOn" => &[C::NextFollowUpOn],
                "revisitOn" => &[C::RevisitOn],
                "thanked" => &[C::ThankedAt],
                "prospect" => {
                    for part in field.selection_set() {
                        read.push(match part.name() {
                            "__typename" => continue,
                            "name" => C::ProspectName,
                            "email" => C::ProspectEmail,
                            "phone" => C::ProspectPhone,
                            "company" => C::ProspectCompany,
                            "need" => C::ProspectNeed,
                            _ => return service::ReferralColumns::ALL,
                        });
                    }
                    continue;
                }
                _ => return service::ReferralColumns::ALL,
            };
            read.extend_from_slice(columns);
        }
    }
    service::ReferralColumns::only(read)
}

#[derive(SimpleObject)]
pub struct ReasonCount {
    pub reason: AbsenceReason,
    pub count: i32,
}

/// The while-you-were-away inbox.
pub struct AwayDigest {
    pub member_id: String,
    pub since: DateTime<Utc>,
    /// `total` and `byReason`, counted together by whichever runs first.
    pub counts: tokio::sync::OnceCell<service::AwayCounts>,
}

impl AwayDigest {
    async fn counts(&self, ctx: &Context<'_>) -> ApiResult<&service::AwayCounts> {
        self.counts
            .get_or_try_init(|| async {
                let db = &state(ctx)?.db;
                Ok::<_, ApiError>(service::away_counts(db, &self.member_id, self.since).await?)
            })
            .await
    }
}

#[Object]
impl AwayDigest {
    async fn since(&self) -> DateTime<Utc> {
        self.since
    }

    /// Referrals received since then.
    async fn total(&self, ctx: &Context<'_>) -> ApiResult<i32> {
        let total = self.counts(ctx).await?.total;
        Ok(i32::try_from(total).unwrap_or(i32::MAX))
    }

    /// Of those, how many were made in absence, by reason.
    async fn by_reason(&self, ctx: &Context<'_>) -> ApiResult<Vec<ReasonCount>> {
        Ok(self
            .counts(ctx)
            .await?
            .by_reason
            .iter()
            .map(|&(reason, count)| ReasonCount {
                reason: reason.into(),
                count: count as i32,
            })
            .collect())
    }

    /// Newest first.
    async fn referrals(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<ReferralConnection> {
        let page = page_of(ctx, first, after.as_deref())?;
        let (rows, total) = service::away_page(
            &state(ctx)?.db,
            &self.member_id,
            self.since,
            page,
            page_columns_asked(ctx),
        )
        .await?;
        Ok(page.connection(rows.into_iter().map(Referral::party_with).collect(), total))
    }
}
