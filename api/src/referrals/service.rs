//! The referral rules. Every mutation: check who is asking, validate all
//! input, then write the referral, its events and any rewards in one
//! transaction; notify subscribers only after the commit.

use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use entities::{absence, group, member, partner_firm, referral, referral_event};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};

use super::lifecycle::{Mover, ReferralStatus, Refusal, check_move};
use super::presence::{AbsenceReason, Channel, Circumstances, absence_reason};
use super::types::{EventKind, FollowUpOutcome};
use crate::auth::{ApiScope, MemberViewer, Viewer};
use crate::error::{ApiError, ApiResult};
use crate::graphql::connection::Page;
use crate::money::Money;
use crate::notifications::{NoticeKind, ReferralNotice};
use crate::state::AppState;
use crate::validation::{
    id, new_id, optional_email, optional_long_text, optional_phone, optional_text, required_text,
};
use crate::webhooks::service::WebhookEvent;

pub const NOTE_MAX: usize = 2000;
/// How long after a meeting its referrals may still be recorded.
pub const MEETING_RECORDING_DAYS: i64 = 30;

#[derive(Debug, Clone)]
pub struct ProspectData {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub need: Option<String>,
}

pub struct ProspectInputData {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub need: Option<String>,
}

/// Validates a prospect; `prefix` is the argument path, e.g. "input.prospect".
pub fn validate_prospect(prefix: &str, p: &ProspectInputData) -> ApiResult<ProspectData> {
    Ok(ProspectData {
        name: required_text(&format!("{prefix}.name"), &p.name, 200)?,
        email: optional_email(&format!("{prefix}.email"), p.email.as_deref())?
            .map(|e| e.as_str().to_string()),
        phone: optional_phone(&format!("{prefix}.phone"), p.phone.as_deref())?,
        company: optional_text(&format!("{prefix}.company"), p.company.as_deref(), 200)?,
        need: optional_long_text(&format!("{prefix}.need"), p.need.as_deref(), NOTE_MAX)?,
    })
}

/// What every way of passing a referral shares: the prospect, the
/// temperature and a note, checked under `input.*`.
pub fn validate_passed(
    prospect: &ProspectInputData,
    temperature: i32,
    note: Option<&str>,
) -> ApiResult<(ProspectData, i32, Option<String>)> {
    Ok((
        validate_prospect("input.prospect", prospect)?,
        validate_temperature("input.temperature", temperature)?,
        optional_long_text("input.note", note, NOTE_MAX)?,
    ))
}

pub fn validate_temperature(field: &str, t: i32) -> ApiResult<i32> {
    if (1..=5).contains(&t) {
        Ok(t)
    } else {
        Err(ApiError::bad_input(
            field,
            "temperature must be between 1 and 5",
        ))
    }
}

/// Who gives and who receives a new referral.
pub enum Giver {
    Member(String),
    Firm(String),
    Contact(String),
}

pub enum Receiver {
    Member(Box<member::Model>),
    Firm(partner_firm::Model),
}

/// A validated, decided referral ready to be written.
pub struct Draft {
    pub giver: Giver,
    pub receiver: Receiver,
    pub group_id: Option<String>,
    pub prospect: ProspectData,
    pub temperature: i32,
    pub channel: Channel,
    pub meeting_id: Option<String>,
    pub ask_id: Option<String>,
    pub note: Option<String>,
    pub inside_group: bool,
    pub actor_member: Option<String>,
    pub actor_firm: Option<String>,
}

pub struct GiveInput {
    pub receiver_id: String,
    pub prospect: ProspectInputData,
    pub temperature: i32,
    pub channel: Channel,
    pub meeting_id: Option<String>,
    pub ask_id: Option<String>,
    pub note: Option<String>,
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// A member gives a referral to a member (or partner firm) of a group they share.
pub async fn give(
    state: &AppState,
    viewer: &Viewer,
    input: GiveInput,
) -> ApiResult<referral::Model> {
    let me = viewer.member()?;
    let receiver_id = id("input.receiverId", &input.receiver_id)?;
    let (prospect, temperature, note) =
        validate_passed(&input.prospect, input.temperature, input.note.as_deref())?;
    let meeting_id = input
        .meeting_id
        .as_deref()
        .map(|m| id("input.meetingId", m))
        .transpose()?;
    let ask_id = input
        .ask_id
        .as_deref()
        .map(|a| id("input.askId", a))
        .transpose()?;
    if input.channel == Channel::PartnerApi {
        return Err(ApiError::bad_input(
            "input.channel",
            "PARTNER_API is for partner firms' API tokens",
        ));
    }
    if input.channel == Channel::Meeting && meeting_id.is_none() {
        return Err(ApiError::bad_input(
            "input.meetingId",
            "a MEETING referral names its meeting",
        ));
    }
    if input.channel != Channel::Meeting && meeting_id.is_some() {
        return Err(ApiError::bad_input(
            "input.meetingId",
            "meetingId goes with channel MEETING",
        ));
    }
    let db = &state.db;
    let my_groups = active_group_ids(db, &me.id).await?;

    let (receiver, shared): (Receiver, Vec<String>) = if let Some(m) =
        member::Entity::find_by_id(receiver_id.clone())
            .one(db)
            .await?
    {
        if m.id == me.id {
            return Err(ApiError::bad_input(
                "input.receiverId",
                "you cannot refer business to yourself",
            ));
        }
        let theirs = active_group_ids(db, &m.id).await?;
        let shared: Vec<String> = my_groups
            .iter()
            .filter(|g| theirs.contains(g))
            .cloned()
            .collect();
        (Receiver::Member(Box::new(m)), shared)
    } else if let Some(f) = partner_firm::Entity::find_by_id(receiver_id.clone())
        .one(db)
        .await?
    {
        let shared = my_groups
            .iter()
            .filter(|g| **g == f.group_id)
            .cloned()
            .collect();
        (Receiver::Firm(f), shared)
    } else {
        return Err(ApiError::not_found_at("input.receiverId", "receiver"));
    };
    if shared.is_empty() {
        return Err(ApiError::Forbidden(
            "you can refer only to members and partner firms of a group you share".into(),
        ));
    }

    // The group the referral belongs to: the meeting's, else the ask's, else the first shared.
    let mut group_id = shared[0].clone();
    let mut meeting_attendance = None;
    if let Some(meeting_id) = &meeting_id {
        let meeting = crate::meetings::service::find_meeting(db, meeting_id)
            .await?
            .filter(|m| shared.contains(&m.group_id))
            .ok_or_else(|| {
                ApiError::bad_input(
                    "input.meetingId",
                    "not a meeting of a group you share with the receiver",
                )
            })?;
        if meeting.held_on > today() {
            return Err(ApiError::bad_input(
                "input.meetingId",
                "that meeting has not been held yet",
            ));
        }
        // Referrals are recorded from a recent meeting, not backdated to any.
        if meeting.held_on < today() - Duration::days(MEETING_RECORDING_DAYS) {
            return Err(ApiError::bad_input(
                "input.meetingId",
                format!(
                    "referrals from a meeting are recorded within {MEETING_RECORDING_DAYS} days of it"
                ),
            ));
        }
        group_id = meeting.group_id.clone();
        if let Receiver::Member(m) = &receiver {
            meeting_attendance = crate::meetings::service::attendance_status(db, meeting_id, &m.id)
                .await?
                .and_then(|s| stored_attendance(&s));
        }
    }
    if let Some(ask_id) = &ask_id {
        let ask = crate::asks::service::find_ask(db, ask_id)
            .await?
            .filter(|a| shared.contains(&a.group_id))
            .ok_or_else(|| {
                ApiError::bad_input(
                    "input.askId",
                    "not an ask of a group you share with the receiver",
                )
            })?;
        let asked_by_receiver = matches!(&receiver, Receiver::Member(m) if m.id == ask.member_id);
        if !asked_by_receiver {
            return Err(ApiError::bad_input(
                "input.askId",
                "a referral answers an ask of its receiver",
            ));
        }
        if ask.expires_on.is_some_and(|d| d < today()) {
            return Err(ApiError::bad_input("input.askId", "that ask has expired"));
        }
        if meeting_id.is_none() {
            group_id = ask.group_id.clone();
        }
    }
    if input.channel == Channel::OneToOne {
        let Receiver::Member(m) = &receiver else {
            return Err(ApiError::bad_input(
                "input.channel",
                "one-to-ones are between members",
            ));
        };
        // A one-to-one referral is made in a recorded one-to-one, today or yesterday.
        let met = crate::meetings::service::had_one_to_one(
            db,
            &me.id,
            &m.id,
            today() - Duration::days(1),
            today(),
        )
        .await?;
        if !met {
            return Err(ApiError::bad_input(
                "input.channel",
                "record the one-to-one with this member before passing a referral in it",
            ));
        }
    }
    let inside_group = matches!(receiver, Receiver::Member(_));
    let draft = Draft {
        giver: Giver::Member(me.id.clone()),
        receiver,
        group_id: Some(group_id),
        prospect,
        temperature,
        channel: input.channel,
        meeting_id,
        ask_id,
        note,
        inside_group,
        actor_member: Some(me.id.clone()),
        actor_firm: None,
    };
    let attendance = meeting_attendance;
    create(state, draft, attendance).await
}

fn stored_attendance(s: &str) -> Option<&'static str> {
    ["PRESENT", "ABSENT", "LATE", "MEDICAL", "SUBSTITUTE"]
        .into_iter()
        .find(|a| *a == s)
}

pub struct OutsideInput {
    pub contact_id: String,
    pub prospect: ProspectInputData,
    pub temperature: i32,
    pub note: Option<String>,
}

/// The caller records a referral an outside contact gave them directly, so
/// it is made in the member's presence.
pub async fn record_outside(
    state: &AppState,
    viewer: &Viewer,
    input: OutsideInput,
) -> ApiResult<referral::Model> {
    let me = viewer.member()?;
    let contact_id = id("input.contactId", &input.contact_id)?;
    let (prospect, temperature, note) =
        validate_passed(&input.prospect, input.temperature, input.note.as_deref())?;
    let contact = crate::contacts::service::find_owned_contact(&state.db, &me.id, &contact_id)
        .await?
        .ok_or_else(|| ApiError::not_found_at("input.contactId", "contact"))?;
    let receiver = member::Entity::find_by_id(me.id.clone())
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    let group_id = active_group_ids(&state.db, &me.id)
        .await?
        .into_iter()
        .next();
    let draft = Draft {
        giver: Giver::Contact(contact.id),
        receiver: Receiver::Member(Box::new(receiver)),
        group_id,
        prospect,
        temperature,
        channel: Channel::Portal,
        meeting_id: None,
        ask_id: None,
        note,
        inside_group: false,
        actor_member: Some(me.id.clone()),
        actor_firm: None,
    };
    create(state, draft, None).await
}

/// Decides presence, routes to a delegate, writes the referral and its
/// events, and notifies the receiver (and delegate).
pub async fn create(
    state: &AppState,
    draft: Draft,
    meeting_attendance: Option<&'static str>,
) -> ApiResult<referral::Model> {
    let txn = state.db.begin().await?;
    let row = create_in(&txn, draft, meeting_attendance).await?;
    txn.commit().await?;
    notify_received(state, &row);
    Ok(row)
}

/// `create` inside the caller's transaction, for callers that write more
/// in the same transaction (a partner's idempotency key). Reads go through
/// `txn` too: on SQLite the pool has one connection, which `txn` holds.
/// The caller commits, then calls `notify_received`.
pub async fn create_in(
    txn: &DatabaseTransaction,
    draft: Draft,
    meeting_attendance: Option<&'static str>,
) -> ApiResult<referral::Model> {
    let now = Utc::now();
    // Presence is judged on the day the referral was made (a meeting's day),
    // routing on today: the delegate covering now is the one to act.
    let made_on = match &draft.meeting_id {
        Some(m) => crate::meetings::service::find_meeting(txn, m)
            .await?
            .map(|m| m.held_on)
            .unwrap_or(now.date_naive()),
        None => now.date_naive(),
    };
    let (away_then, away) = match &draft.receiver {
        Receiver::Member(m) => (
            crate::absences::service::active_absence(txn, &m.id, made_on).await?,
            crate::absences::service::active_absence(txn, &m.id, now.date_naive()).await?,
        ),
        Receiver::Firm(_) => (None, None),
    };
    let reason = match &draft.giver {
        // The member records what an outside contact told them directly:
        // they took part, so it is not a referral made in their absence.
        Giver::Contact(_) => None,
        _ => absence_reason(Circumstances {
            channel: draft.channel,
            meeting_attendance,
            receiver_away: away_then.is_some(),
        }),
    };
    // A giver covering for the receiver must not hold their own referral.
    let delegate_id = away
        .and_then(|a| a.delegate_id)
        .filter(|d| match &draft.giver {
            Giver::Member(g) => g != d,
            _ => true,
        });
    let (giver_member, giver_firm, giver_contact) = match &draft.giver {
        Giver::Member(m) => (Some(m.clone()), None, None),
        Giver::Firm(f) => (None, Some(f.clone()), None),
        Giver::Contact(c) => (None, None, Some(c.clone())),
    };
    let (receiver_member, receiver_firm) = match &draft.receiver {
        Receiver::Member(m) => (Some(m.id.clone()), None),
        Receiver::Firm(f) => (None, Some(f.id.clone())),
    };
    let row = referral::ActiveModel {
        id: Set(new_id()),
        group_id: Set(draft.group_id.clone()),
        giver_member_id: Set(giver_member),
        giver_firm_id: Set(giver_firm),
        giver_contact_id: Set(giver_contact),
        receiver_member_id: Set(receiver_member.clone()),
        receiver_firm_id: Set(receiver_firm),
        prospect_name: Set(draft.prospect.name),
        prospect_email: Set(draft.prospect.email),
        prospect_phone: Set(draft.prospect.phone),
        prospect_company: Set(draft.prospect.company),
        prospect_need: Set(draft.prospect.need),
        temperature: Set(draft.temperature),
        channel: Set(draft.channel.as_str().to_string()),
        meeting_id: Set(draft.meeting_id),
        ask_id: Set(draft.ask_id),
        note: Set(draft.note),
        made_in_absence: Set(reason.is_some()),
        absence_reason: Set(reason.map(|r| r.as_str().to_string())),
        inside_group: Set(draft.inside_group),
        delegate_id: Set(delegate_id.clone()),
        status: Set(ReferralStatus::Submitted.as_str().to_string()),
        closed_value_e4: Set(None),
        business_kind: Set(None),
        version: Set(1),
        follow_up_count: Set(0),
        unanswered_follow_ups: Set(0),
        next_follow_up_on: Set(None),
        revisit_on: Set(None),
        thanked_at: Set(None),
        won_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    let actor = EventActor {
        member: draft.actor_member.clone(),
        firm: draft.actor_firm.clone(),
    };
    record_event(
        txn,
        &row.id,
        EventKind::Created,
        &actor,
        None,
        Some(ReferralStatus::Submitted),
        None,
        now,
    )
    .await?;
    if let Some(delegate) = &delegate_id {
        let note = format!("routed to delegate {delegate} while the receiver is away");
        record_event(
            txn,
            &row.id,
            EventKind::Delegated,
            &actor,
            None,
            None,
            Some(note),
            now,
        )
        .await?;
    }
    crate::webhooks::service::enqueue(txn, &row, WebhookEvent::Created, now).await?;
    Ok(row)
}

/// Tells the receiver (and the delegate it was routed to) of a new referral.
pub fn notify_received(state: &AppState, row: &referral::Model) {
    let members: Vec<String> = row
        .receiver_member_id
        .iter()
        .chain(row.delegate_id.iter())
        .cloned()
        .collect();
    state.notifier.publish(ReferralNotice {
        referral_id: row.id.clone(),
        kind: NoticeKind::Received,
        members,
    });
}

#[derive(Debug, Clone, Default)]
pub struct EventActor {
    pub member: Option<String>,
    pub firm: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn record_event(
    db: &impl ConnectionTrait,
    referral_id: &str,
    kind: EventKind,
    actor: &EventActor,
    from: Option<ReferralStatus>,
    to: Option<ReferralStatus>,
    note: Option<String>,
    at: DateTime<Utc>,
) -> ApiResult<()> {
    referral_event::ActiveModel {
        id: Set(new_id()),
        referral_id: Set(referral_id.to_string()),
        kind: Set(kind.as_str().to_string()),
        from_status: Set(from.map(|s| s.as_str().to_string())),
        to_status: Set(to.map(|s| s.as_str().to_string())),
        actor_member_id: Set(actor.member.clone()),
        actor_firm_id: Set(actor.firm.clone()),
        note: Set(note),
        at: Set(at),
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn active_group_ids(
    db: &impl ConnectionTrait,
    member_id: &str,
) -> ApiResult<Vec<String>> {
    use entities::membership;
    Ok(membership::Entity::find()
        .select_only()
        .column(membership::Column::GroupId)
        .filter(membership::Column::MemberId.eq(member_id))
        .filter(membership::Column::LeftOn.is_null())
        .order_by_asc(membership::Column::JoinedOn)
        .into_tuple::<String>()
        .all(db)
        .await?)
}

/// How the caller stands to a referral.
#[derive(Debug, Default, Clone, Copy)]
pub struct Standing {
    pub giver: bool,
    pub receiver: bool,
    pub delegate: bool,
}

impl Standing {
    pub fn sees(self) -> bool {
        self.giver || self.receiver || self.delegate
    }

    fn movers(self) -> Vec<Mover> {
        let mut m = Vec::new();
        // A giver never moves their own referral forward, whatever else they are.
        if self.receiver || (self.delegate && !self.giver) {
            m.push(Mover::Receiver);
        }
        if self.giver {
            m.push(Mover::Giver);
        }
        m
    }
}

/// Who is acting: a member, or a partner firm through its token.
#[derive(Debug, Clone)]
pub enum Actor {
    Member(MemberViewer),
    Firm(String),
}

impl Actor {
    fn event_actor(&self) -> EventActor {
        match self {
            Actor::Member(m) => EventActor {
                member: Some(m.id.clone()),
                firm: None,
            },
            Actor::Firm(f) => EventActor {
                member: None,
                firm: Some(f.clone()),
            },
        }
    }
}

pub async fn standing(
    db: &impl ConnectionTrait,
    r: &referral::Model,
    actor: &Actor,
) -> ApiResult<Standing> {
    match actor {
        Actor::Firm(firm) => Ok(Standing {
            giver: r.giver_firm_id.as_deref() == Some(firm),
            receiver: r.receiver_firm_id.as_deref() == Some(firm),
            delegate: false,
        }),
        Actor::Member(me) => {
            let delegate = match (&r.delegate_id, &r.receiver_member_id) {
                (Some(d), Some(receiver)) if *d == me.id => {
                    crate::absences::service::is_active_delegate_for(db, &me.id, receiver, today())
                        .await?
                }
                _ => false,
            };
            Ok(Standing {
                giver: r.giver_member_id.as_deref() == Some(me.id.as_str()),
                receiver: r.receiver_member_id.as_deref() == Some(me.id.as_str()),
                delegate,
            })
        }
    }
}

/// The referral if the caller is its giver, receiver or active delegate;
/// `NOT_FOUND` otherwise, so its existence does not leak.
pub async fn find_visible(
    db: &impl ConnectionTrait,
    actor: &Actor,
    referral_id: &str,
) -> ApiResult<(referral::Model, Standing)> {
    let referral_id = uuid::Uuid::parse_str(referral_id)
        .map_err(|_| ApiError::not_found("referral"))?
        .to_string();
    let r = referral::Entity::find_by_id(referral_id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("referral"))?;
    let s = standing(db, &r, actor).await?;
    if s.sees() {
        Ok((r, s))
    } else {
        Err(ApiError::not_found("referral"))
    }
}

pub fn actor_of(viewer: &Viewer) -> ApiResult<Actor> {
    Ok(Actor::Member(viewer.member()?.clone()))
}

/// Like `actor_of`, but a partner firm's token may act too when it has
/// `scope` (FORBIDDEN without it).
pub fn actor_with_scope(viewer: &Viewer, scope: ApiScope) -> ApiResult<Actor> {
    match viewer {
        Viewer::Partner(p) => {
            p.require(scope)?;
            Ok(Actor::Firm(p.firm_id.clone()))
        }
        _ => actor_of(viewer),
    }
}

pub struct AdvanceInput {
    pub referral_id: String,
    pub status: ReferralStatus,
    pub expected_version: Option<i32>,
    pub closed_value: Option<Money>,
    pub business_kind: Option<String>,
    pub note: Option<String>,
}

struct Cadence {
    interval_days: i64,
    max_unanswered: i32,
    revisit_months: u32,
}

async fn cadence(db: &impl ConnectionTrait, group_id: Option<&str>) -> ApiResult<Cadence> {
    let g = match group_id {
        Some(g) => group::Entity::find_by_id(g.to_string()).one(db).await?,
        None => None,
    };
    Ok(match g {
        Some(g) => Cadence {
            interval_days: i64::from(g.follow_up_interval_days.max(1)),
            max_unanswered: g.follow_up_max_unanswered.max(1),
            revisit_months: u32::try_from(g.revisit_after_months.max(1)).unwrap_or(6),
        },
        None => Cadence {
            interval_days: 7,
            max_unanswered: 4,
            revisit_months: 6,
        },
    })
}

fn months_later(day: NaiveDate, months: u32) -> NaiveDate {
    day.checked_add_months(Months::new(months)).unwrap_or(day)
}

/// Moves a referral along its lifecycle under SPEC.md's rules.
pub async fn advance(
    state: &AppState,
    actor: &Actor,
    input: AdvanceInput,
) -> ApiResult<referral::Model> {
    let note = optional_long_text("input.note", input.note.as_deref(), NOTE_MAX)?;
    let db = &state.db;
    let (current, standing) = find_visible(db, actor, &input.referral_id).await?;
    if let Some(expected) = input.expected_version
        && expected != current.version
    {
        return Err(ApiError::Conflict(format!(
            "the referral changed (version {} now, you expected {expected}); reload it",
            current.version
        )));
    }
    let from = ReferralStatus::from_stored(&current.status);
    let to = input.status;
    match check_move(from, to, &standing.movers()) {
        Ok(()) => {}
        Err(Refusal::NotAllowed) => {
            return Err(ApiError::InvalidTransition(format!(
                "a referral cannot move from {} to {}",
                from.as_str(),
                to.as_str()
            )));
        }
        Err(Refusal::WrongMover) => {
            return Err(ApiError::Forbidden(match to {
                ReferralStatus::Withdrawn => "only the giver may withdraw a referral".into(),
                _ => "only the receiver (or their active delegate) moves a referral forward".into(),
            }));
        }
    }
    let closed_value = match (to, input.closed_value) {
        (ReferralStatus::Won, Some(v)) if v.is_positive() => Some(v),
        (ReferralStatus::Won, _) => {
            return Err(ApiError::bad_input(
                "input.closedValue",
                "WON needs a closedValue greater than 0",
            ));
        }
        (_, Some(_)) => {
            return Err(ApiError::bad_input(
                "input.closedValue",
                "closedValue goes with WON",
            ));
        }
        (_, None) => None,
    };
    if to != ReferralStatus::Won && input.business_kind.is_some() {
        return Err(ApiError::bad_input(
            "input.businessKind",
            "businessKind goes with WON",
        ));
    }
    let cadence = cadence(db, current.group_id.as_deref()).await?;
    let now = Utc::now();
    let day = now.date_naive();

    let mut update = referral::ActiveModel {
        status: Set(to.as_str().to_string()),
        version: Set(current.version + 1),
        updated_at: Set(now),
        ..Default::default()
    };
    if to.is_in_progress() {
        update.next_follow_up_on = Set(Some(day + Duration::days(cadence.interval_days)));
        update.unanswered_follow_ups = Set(0);
        update.revisit_on = Set(None);
    } else if to == ReferralStatus::Parked {
        update.next_follow_up_on = Set(None);
        update.revisit_on = Set(Some(months_later(day, cadence.revisit_months)));
    } else {
        update.next_follow_up_on = Set(None);
        update.revisit_on = Set(None);
    }
    if to == ReferralStatus::Won {
        update.closed_value_e4 = Set(closed_value.map(Money::stored));
        update.business_kind = Set(Some(input.business_kind.unwrap_or_else(|| "NEW".into())));
        update.won_at = Set(Some(now));
    }

    let txn = db.begin().await?;
    update_at_version(&txn, &current, update).await?;
    let event_actor = actor.event_actor();
    record_event(
        &txn,
        &current.id,
        EventKind::StatusChanged,
        &event_actor,
        Some(from),
        Some(to),
        note,
        now,
    )
    .await?;
    if to == ReferralStatus::Won
        && let (Some(giver), Some(group)) = (&current.giver_member_id, &current.group_id)
    {
        crate::rewards::service::award_tiers(&txn, giver, group, &current.id, now).await?;
    }
    let updated = reload(&txn, &current.id).await?;
    crate::webhooks::service::enqueue(&txn, &updated, WebhookEvent::StatusChanged(from), now)
        .await?;
    txn.commit().await?;
    notify_giver(state, &updated);
    Ok(updated)
}

/// Writes `update` only if the referral is still at the version read
/// earlier: of two concurrent changes from one version exactly one lands.
async fn update_at_version(
    txn: &impl ConnectionTrait,
    current: &referral::Model,
    update: referral::ActiveModel,
) -> ApiResult<()> {
    let result = referral::Entity::update_many()
        .set(update)
        .filter(referral::Column::Id.eq(current.id.clone()))
        .filter(referral::Column::Version.eq(current.version))
        .exec(txn)
        .await?;
    if result.rows_affected == 1 {
        Ok(())
    } else {
        Err(ApiError::Conflict(
            "the referral was changed by someone else; reload it".into(),
        ))
    }
}

async fn reload(txn: &impl ConnectionTrait, referral_id: &str) -> ApiResult<referral::Model> {
    referral::Entity::find_by_id(referral_id.to_string())
        .one(txn)
        .await?
        .ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("referral vanished inside its transaction"))
        })
}

/// The giver always learns what became of their referral.
fn notify_giver(state: &AppState, r: &referral::Model) {
    if let Some(giver) = &r.giver_member_id {
        state.notifier.publish(ReferralNotice {
            referral_id: r.id.clone(),
            kind: NoticeKind::Updated,
            members: vec![giver.clone()],
        });
    }
}

/// Logs a follow-up. NO_ANSWER schedules the next one; the group's limit of
/// unanswered follow-ups in a row parks the referral for a revisit.
pub async fn log_follow_up(
    state: &AppState,
    viewer: &Viewer,
    referral_id: &str,
    outcome: FollowUpOutcome,
    note: Option<String>,
) -> ApiResult<referral::Model> {
    let note = optional_long_text("input.note", note.as_deref(), NOTE_MAX)?;
    let actor = actor_of(viewer)?;
    let db = &state.db;
    let (current, standing) = find_visible(db, &actor, referral_id).await?;
    if !(standing.receiver || standing.delegate) {
        return Err(ApiError::Forbidden(
            "only the receiver (or their active delegate) logs follow-ups".into(),
        ));
    }
    let from = ReferralStatus::from_stored(&current.status);
    if !(from.is_in_progress() || from == ReferralStatus::Parked) {
        return Err(ApiError::InvalidTransition(format!(
            "no follow-ups on a referral that is {}",
            from.as_str()
        )));
    }
    let cadence = cadence(db, current.group_id.as_deref()).await?;
    let now = Utc::now();
    let day = now.date_naive();
    let mut update = referral::ActiveModel {
        version: Set(current.version + 1),
        updated_at: Set(now),
        follow_up_count: Set(current.follow_up_count + 1),
        ..Default::default()
    };
    let mut new_status = None;
    match (outcome, from) {
        (FollowUpOutcome::Responded, ReferralStatus::Parked) => {
            new_status = Some(ReferralStatus::Contacted);
            update.status = Set(ReferralStatus::Contacted.as_str().to_string());
            update.unanswered_follow_ups = Set(0);
            update.revisit_on = Set(None);
            update.next_follow_up_on = Set(Some(day + Duration::days(cadence.interval_days)));
        }
        (FollowUpOutcome::NoAnswer, ReferralStatus::Parked) => {
            update.revisit_on = Set(Some(months_later(day, cadence.revisit_months)));
        }
        (FollowUpOutcome::Responded, _) => {
            update.unanswered_follow_ups = Set(0);
            update.next_follow_up_on = Set(Some(day + Duration::days(cadence.interval_days)));
        }
        (FollowUpOutcome::NoAnswer, _) => {
            let unanswered = current.unanswered_follow_ups + 1;
            update.unanswered_follow_ups = Set(unanswered);
            if unanswered >= cadence.max_unanswered {
                new_status = Some(ReferralStatus::Parked);
                update.status = Set(ReferralStatus::Parked.as_str().to_string());
                update.next_follow_up_on = Set(None);
                update.revisit_on = Set(Some(months_later(day, cadence.revisit_months)));
            } else {
                update.next_follow_up_on = Set(Some(day + Duration::days(cadence.interval_days)));
            }
        }
    }
    let txn = db.begin().await?;
    update_at_version(&txn, &current, update).await?;
    let event_actor = actor.event_actor();
    let label = match outcome {
        FollowUpOutcome::NoAnswer => "NO_ANSWER",
        FollowUpOutcome::Responded => "RESPONDED",
    };
    let text = Some(match &note {
        Some(n) => format!("{label}: {n}"),
        None => label.to_string(),
    });
    record_event(
        &txn,
        &current.id,
        EventKind::FollowUp,
        &event_actor,
        None,
        None,
        text,
        now,
    )
    .await?;
    if let Some(to) = new_status {
        let why = (to == ReferralStatus::Parked)
            .then(|| "parked after unanswered follow-ups".to_string());
        record_event(
            &txn,
            &current.id,
            EventKind::StatusChanged,
            &event_actor,
            Some(from),
            Some(to),
            why,
            now,
        )
        .await?;
    }
    let updated = reload(&txn, &current.id).await?;
    if new_status.is_some() {
        crate::webhooks::service::enqueue(&txn, &updated, WebhookEvent::StatusChanged(from), now)
            .await?;
    }
    txn.commit().await?;
    notify_giver(state, &updated);
    Ok(updated)
}

/// The receiver (or delegate) thanks the giver. Thanks can be repeated; the
/// first one marks the referral thanked.
pub async fn thank(
    state: &AppState,
    viewer: &Viewer,
    referral_id: &str,
    note: &str,
) -> ApiResult<referral::Model> {
    let note = required_text("note", note, NOTE_MAX)?;
    let actor = actor_of(viewer)?;
    let db = &state.db;
    let (current, standing) = find_visible(db, &actor, referral_id).await?;
    if !(standing.receiver || standing.delegate) || standing.giver {
        return Err(ApiError::Forbidden(
            "only the receiver (or their active delegate) thanks the giver".into(),
        ));
    }
    let status = ReferralStatus::from_stored(&current.status);
    if matches!(status, ReferralStatus::Declined | ReferralStatus::Withdrawn) {
        return Err(ApiError::InvalidTransition(format!(
            "a {} referral is not thanked",
            status.as_str()
        )));
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    if current.thanked_at.is_none() {
        referral::Entity::update_many()
            .col_expr(referral::Column::ThankedAt, Expr::value(Some(now)))
            .col_expr(referral::Column::UpdatedAt, Expr::value(now))
            .filter(referral::Column::Id.eq(current.id.clone()))
            .filter(referral::Column::ThankedAt.is_null())
            .exec(&txn)
            .await?;
    }
    record_event(
        &txn,
        &current.id,
        EventKind::Thanked,
        &actor.event_actor(),
        None,
        None,
        Some(note.clone()),
        now,
    )
    .await?;
    let updated = reload(&txn, &current.id).await?;
    crate::webhooks::service::enqueue(&txn, &updated, WebhookEvent::Thanked(&note), now).await?;
    txn.commit().await?;
    notify_giver(state, &updated);
    Ok(updated)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListRole {
    Given,
    Received,
    Delegated,
}

/// Members whose absence in force today names `member_id` as delegate.
/// The same rule as `standing` (the most recently declared covering
/// absence wins), so a replaced delegate loses the lists too.
async fn covered_members(
    db: &impl ConnectionTrait,
    member_id: &str,
    day: NaiveDate,
) -> ApiResult<Vec<String>> {
    let candidates: Vec<String> = absence::Entity::find()
        .select_only()
        .column(absence::Column::MemberId)
        .distinct()
        .filter(absence::Column::DelegateId.eq(member_id))
        .filter(absence::Column::FromOn.lte(day))
        .filter(absence::Column::ToOn.gte(day))
        .into_tuple()
        .all(db)
        .await?;
    let mut covered = Vec::new();
    // One look-up per member covered for: a handful at most.
    for member in candidates {
        if crate::absences::service::is_active_delegate_for(db, member_id, &member, day).await? {
            covered.push(member);
        }
    }
    Ok(covered)
}

/// Referrals the member holds for someone away: routed to them, from a
/// receiver whose absence in force today names them as delegate.
async fn delegated_condition(
    db: &impl ConnectionTrait,
    member_id: &str,
    day: NaiveDate,
) -> ApiResult<Condition> {
    let covered = covered_members(db, member_id, day).await?;
    Ok(Condition::all()
        .add(referral::Column::DelegateId.eq(member_id))
        .add(referral::Column::ReceiverMemberId.is_in(covered)))
}

pub async fn list_for_member(
    db: &DatabaseConnection,
    member_id: &str,
    role: ListRole,
    statuses: Option<Vec<ReferralStatus>>,
    page: Page,
) -> ApiResult<(Vec<referral::Model>, u64)> {
    let mut q = referral::Entity::find();
    q = match role {
        ListRole::Given => q.filter(referral::Column::GiverMemberId.eq(member_id)),
        ListRole::Received => q.filter(referral::Column::ReceiverMemberId.eq(member_id)),
        ListRole::Delegated => q.filter(delegated_condition(db, member_id, today()).await?),
    };
    if let Some(statuses) = statuses {
        q = q.filter(referral::Column::Status.is_in(statuses.iter().map(|s| s.as_str())));
    }
    newest_first(db, q, page).await
}

/// One page of the referrals `q` selects, newest first, and how many it selects.
pub async fn newest_first(
    db: &impl ConnectionTrait,
    q: sea_orm::Select<referral::Entity>,
    page: Page,
) -> ApiResult<(Vec<referral::Model>, u64)> {
    let total = q.clone().count(db).await?;
    let rows = q
        .order_by_desc(referral::Column::CreatedAt)
        .order_by_desc(referral::Column::Id)
        .offset(page.offset)
        .limit(page.limit)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// Follow-ups due on `on` for the receiver and for referrals they hold as
/// delegate: in-progress ones by next date, parked ones by revisit date;
/// the longest overdue first.
pub async fn due_follow_ups(
    db: &DatabaseConnection,
    member_id: &str,
    on: NaiveDate,
    page: Page,
) -> ApiResult<(Vec<referral::Model>, u64)> {
    let mine = Condition::any()
        .add(referral::Column::ReceiverMemberId.eq(member_id))
        .add(delegated_condition(db, member_id, today()).await?);
    let due = Condition::any()
        .add(
            Condition::all()
                .add(referral::Column::Status.is_in(["ACCEPTED", "CONTACTED", "MEETING_SET"]))
                .add(referral::Column::NextFollowUpOn.lte(on)),
        )
        .add(
            Condition::all()
                .add(referral::Column::Status.eq("PARKED"))
                .add(referral::Column::RevisitOn.lte(on)),
        );
    let q = referral::Entity::find().filter(mine).filter(due);
    let total = q.clone().count(db).await?;
    let rows = q
        .order_by_asc(Expr::cust("COALESCE(next_follow_up_on, revisit_on)"))
        .order_by_asc(referral::Column::CreatedAt)
        .order_by_asc(referral::Column::Id)
        .offset(page.offset)
        .limit(page.limit)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// Referrals received since `since`: the while-you-were-away inbox.
pub fn received_since(member_id: &str, since: DateTime<Utc>) -> sea_orm::Select<referral::Entity> {
    referral::Entity::find()
        .filter(referral::Column::ReceiverMemberId.eq(member_id))
        .filter(referral::Column::CreatedAt.gt(since))
}

pub async fn away_counts(
    db: &DatabaseConnection,
    member_id: &str,
    since: DateTime<Utc>,
) -> ApiResult<(u64, Vec<(AbsenceReason, i64)>)> {
    let total = received_since(member_id, since).count(db).await?;
    let rows: Vec<(Option<String>, i64)> = received_since(member_id, since)
        .select_only()
        .column(referral::Column::AbsenceReason)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(referral::Column::MadeInAbsence.eq(true))
        .group_by(referral::Column::AbsenceReason)
        .into_tuple()
        .all(db)
        .await?;
    let mut counts: Vec<(AbsenceReason, i64)> = rows
        .into_iter()
        .filter_map(|(reason, n)| {
            reason
                .as_deref()
                .and_then(AbsenceReason::from_stored)
                .map(|r| (r, n))
        })
        .collect();
    counts.sort_by_key(|(r, _)| AbsenceReason::ALL.iter().position(|x| x == r));
    Ok((total, counts))
}

pub async fn away_page(
    db: &DatabaseConnection,
    member_id: &str,
    since: DateTime<Utc>,
    page: Page,
) -> ApiResult<Vec<referral::Model>> {
    Ok(received_since(member_id, since)
        .order_by_desc(referral::Column::CreatedAt)
        .order_by_desc(referral::Column::Id)
        .offset(page.offset)
        .limit(page.limit)
        .all(db)
        .await?)
}

/// Where the while-you-were-away inbox starts by default: the member's
/// previous sign-in, or their registration if they never signed in again.
pub async fn default_since(db: &DatabaseConnection, member_id: &str) -> ApiResult<DateTime<Utc>> {
    let m = member::Entity::find_by_id(member_id.to_string())
        .one(db)
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    Ok(m.previous_sign_in_at.unwrap_or(m.created_at))
}
