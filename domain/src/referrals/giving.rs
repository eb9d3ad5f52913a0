//! Giving a referral: a member to a member or partner firm of a group they
//! share, a member recording what an outside contact gave them, and the one
//! writer every way of giving ends in (`create_in`), which decides presence,
//! routes to a delegate and writes the referral, its events and its webhook
//! deliveries in one transaction (on PostgreSQL a member's give with no
//! partner firm writes them in one statement instead: `write_at_once`).

use chrono::{DateTime, Duration, SubsecRound, Utc};
use entities::{
    AttendanceStatus, Channel, EventKind, ReferralStatus, member, membership, partner_firm,
    referral, referral_event,
};
use sea_orm::sea_query::{
    Alias, CommonTableExpression, Expr, ExprTrait, IntoCondition, SubQueryStatement, WithClause,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    JoinType, QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait, Set,
    TransactionTrait, TryIntoModel,
};

use super::events::{EventActor, event_row};
use super::prospect::{ProspectData, ProspectInputData, validate_passed};
use super::queries::{PartyRow, ReferralWithParties};
use super::routing::{
    Presence, ReceiverToday, decide_presence, receiver_today, receiver_today_columns,
    receiver_today_of,
};
use super::today;
use crate::access::active_group_ids;
use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::notifications::{NoticeKind, ReferralNotice};
use crate::requests::service::Asked;
use crate::validation::{id, new_id};
use crate::webhooks::outbox::{self, WebhookEvent};

/// How long after a meeting its referrals may still be recorded.
pub const MEETING_RECORDING_DAYS: i64 = 30;

/// Who gives and who receives a new referral.
pub enum Giver {
    Member(String),
    Firm(String),
    Contact(String),
}

pub enum Receiver {
    Member(Box<member::Model>),
    Firm(partner_firm::Model),
    /// One of the giver's own outside contacts (no account: the giver
    /// records the outcome).
    Contact(String),
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

impl Draft {
    /// Whether a partner firm gives or receives it (it then queues webhook
    /// deliveries).
    fn involves_firm(&self) -> bool {
        matches!(self.giver, Giver::Firm(_)) || matches!(self.receiver, Receiver::Firm(_))
    }
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

/// A member gives a referral to a member (or partner firm) of a group they
/// share: validate the input, resolve the receiver, choose the group, check
/// the channel, then write it (`create` decides presence).
/// The new referral comes back with both parties as read on the way (the
/// giver's row from the session check), so answering costs no more reads.
pub async fn give(
    state: &Ctx,
    caller: &Caller,
    input: GiveInput,
) -> DomainResult<ReferralWithParties> {
    let me = caller.member()?;
    let valid = validate_give(input)?;
    let db = &state.db;
    // One clock for the receiver's day as read and the referral's time, to
    // the microsecond the databases keep (the referral answered is the one
    // written, not read back).
    let now = Utc::now().trunc_subsecs(6);
    let (receiver, shared, today) = resolve_receiver(db, &me.id, &valid.receiver_id, now).await?;
    let receiver_row = match &receiver {
        Receiver::Member(m) => Some(PartyRow::Member((**m).clone())),
        Receiver::Firm(f) => Some(PartyRow::Firm(f.clone())),
        Receiver::Contact(_) => None,
    };
    let place = choose_group(
        db,
        &receiver,
        &shared,
        valid.meeting_id.as_deref(),
        valid.ask_id.as_deref(),
    )
    .await?;
    check_channel(db, &me.id, &receiver, valid.channel).await?;
    let inside_group = matches!(receiver, Receiver::Member(_));
    let draft = Draft {
        giver: Giver::Member(me.id.clone()),
        receiver,
        group_id: Some(place.group_id),
        prospect: valid.prospect,
        temperature: valid.temperature,
        channel: valid.channel,
        meeting_id: valid.meeting_id,
        ask_id: valid.ask_id,
        note: valid.note,
        inside_group,
        actor_member: Some(me.id.clone()),
        actor_firm: None,
    };
    let row = create_knowing(state, draft, place.meeting_attendance, Some((today, now))).await?;
    let giver = me.profile.as_deref().cloned().map(PartyRow::Member);
    Ok(ReferralWithParties::new(row, giver, receiver_row))
}

/// A `GiveInput` with every field checked.
struct ValidGive {
    receiver_id: String,
    prospect: ProspectData,
    temperature: i32,
    note: Option<String>,
    channel: Channel,
    meeting_id: Option<String>,
    ask_id: Option<String>,
}

/// Step 1: the input alone, before any database read.
fn validate_give(input: GiveInput) -> DomainResult<ValidGive> {
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
        return Err(DomainError::bad_input(
            "input.channel",
            "PARTNER_API is for partner firms' API tokens",
        ));
    }
    if input.channel == Channel::Meeting && meeting_id.is_none() {
        return Err(DomainError::bad_input(
            "input.meetingId",
            "a MEETING referral names its meeting",
        ));
    }
    if input.channel != Channel::Meeting && meeting_id.is_some() {
        return Err(DomainError::bad_input(
            "input.meetingId",
            "meetingId goes with channel MEETING",
        ));
    }
    Ok(ValidGive {
        receiver_id,
        prospect,
        temperature,
        note,
        channel: input.channel,
        meeting_id,
        ask_id,
    })
}

/// Step 2: the receiver (a member or a partner firm) and the groups the
/// giver shares with them (none shared is `FORBIDDEN`), and a member
/// receiver's day as of now.
async fn resolve_receiver(
    db: &impl ConnectionTrait,
    my_id: &str,
    receiver_id: &str,
    now: DateTime<Utc>,
) -> DomainResult<(Receiver, Vec<String>, ReceiverToday)> {
    if receiver_id == my_id {
        return Err(DomainError::bad_input(
            "input.receiverId",
            "you cannot refer business to yourself",
        ));
    }
    let (mine, theirs, seated, mut today) =
        seats_of_pair_and_receiver(db, my_id, receiver_id, now).await?;
    // A member with no seat comes without their row: read it to tell
    // FORBIDDEN (a member) from NOT_FOUND.
    let member = match seated {
        Some(m) => Some(m),
        None => {
            crate::members::rows::find()
                .filter(member::Column::Id.eq(receiver_id))
                .one(db)
                .await?
        }
    };
    let (receiver, shared): (Receiver, Vec<String>) = if let Some(m) = member {
        let shared = crate::access::shared_active_groups(&mine, &theirs)
            .into_iter()
            .map(str::to_string)
            .collect();
        (Receiver::Member(Box::new(m)), shared)
    } else if let Some(f) = partner_firm::Entity::find_by_id(receiver_id.to_string())
        .one(db)
        .await?
    {
        let shared = mine
            .iter()
            .filter(|s| s.group_id == f.group_id)
            .map(|s| s.group_id.clone())
            .collect();
        // A firm is never away and asks nothing of members.
        today = ReceiverToday::default();
        (Receiver::Firm(f), shared)
    } else {
        return Err(DomainError::not_found_at("input.receiverId", "receiver"));
    };
    if shared.is_empty() {
        return Err(DomainError::Forbidden(
            "you can refer only to members and partner firms of a group you share".into(),
        ));
    }

    Ok((receiver, shared, today))
}

/// Both members' active seats, longest-held first (as
/// `access::active_seats_of_pair` reads them), and the receiver's member
/// row, read with the receiver's seats in the same statement (`None` when
/// the receiver holds no active seat, or is no member); and, in that
/// statement too, the receiver's day as of `now`, for when they are a
/// member: the giving transaction then writes without reading first (but
/// for a meeting referral's meeting).
async fn seats_of_pair_and_receiver(
    db: &impl ConnectionTrait,
    my_id: &str,
    receiver_id: &str,
    now: DateTime<Utc>,
) -> DomainResult<(
    Vec<membership::Model>,
    Vec<membership::Model>,
    Option<member::Model>,
    ReceiverToday,
)> {
    let receiver = receiver_id.to_string();
    let mut q = crate::members::rows::with_member_columns(
        membership::Entity::find().join(
            JoinType::LeftJoin,
            membership::Relation::Member
                .def()
                .on_condition(move |seat, _| {
                    Expr::col((seat, membership::Column::MemberId))
                        .eq(receiver.clone())
                        .into_condition()
                }),
        ),
        RECEIVER,
    );
    let asked = Asked::Member(my_id.to_string());
    for (alias, column) in receiver_today_columns(receiver_id, Some(&asked), now, false) {
        q = q.column_as(column, alias);
    }
    let rows = q
        .filter(membership::Column::MemberId.is_in([my_id, receiver_id]))
        .filter(membership::Column::LeftOn.is_null())
        .order_by_asc(membership::Column::JoinedOn)
        .into_model::<SeatAndMember>()
        .all(db)
        .await?;
    let mut receiver = None;
    let mut today = None;
    let (mut mine, mut theirs) = (Vec::new(), Vec::new());
    for row in rows {
        today = today.or(Some(row.today));
        if row.seat.member_id == my_id {
            mine.push(row.seat);
        } else {
            receiver = receiver.or(row.member);
            theirs.push(row.seat);
        }
    }
    Ok((mine, theirs, receiver, today.unwrap_or_default()))
}

/// The prefix of the receiver's member columns in `seats_of_pair_and_receiver`.
const RECEIVER: &str = "receiver_";

/// A seat, its member's row when the statement joined it, and the
/// receiver's day (the same on every row).
struct SeatAndMember {
    seat: membership::Model,
    member: Option<member::Model>,
    today: ReceiverToday,
}

impl sea_orm::FromQueryResult for SeatAndMember {
    fn from_query_result(row: &sea_orm::QueryResult, pre: &str) -> Result<Self, sea_orm::DbErr> {
        let seat = membership::Model::from_query_result(row, pre)?;
        let joined: Option<String> = row.try_get(RECEIVER, "id")?;
        let member = match joined {
            Some(_) => Some(member::Model::from_query_result(row, RECEIVER)?),
            None => None,
        };
        Ok(SeatAndMember {
            seat,
            member,
            today: receiver_today_of(row)?,
        })
    }
}

/// Where a referral belongs, and the receiver's attendance if it was passed
/// at a meeting.
struct Place {
    group_id: String,
    meeting_attendance: Option<AttendanceStatus>,
}

/// Step 3: the group the referral belongs to — the meeting's, else the
/// ask's, else the first shared — after checking the meeting and the ask.
async fn choose_group(
    db: &impl ConnectionTrait,
    receiver: &Receiver,
    shared: &[String],
    meeting_id: Option<&str>,
    ask_id: Option<&str>,
) -> DomainResult<Place> {
    let mut group_id = shared[0].clone();
    let mut meeting_attendance = None;
    if let Some(meeting_id) = meeting_id {
        let meeting = crate::meetings::service::find_meeting(db, meeting_id)
            .await?
            .filter(|m| shared.contains(&m.group_id))
            .ok_or_else(|| {
                DomainError::bad_input(
                    "input.meetingId",
                    "not a meeting of a group you share with the receiver",
                )
            })?;
        if meeting.held_on > today() {
            return Err(DomainError::bad_input(
                "input.meetingId",
                "that meeting has not been held yet",
            ));
        }
        // Referrals are recorded from a recent meeting, not backdated to any.
        if meeting.held_on < today() - Duration::days(MEETING_RECORDING_DAYS) {
            return Err(DomainError::bad_input(
                "input.meetingId",
                format!(
                    "referrals from a meeting are recorded within {MEETING_RECORDING_DAYS} days of it"
                ),
            ));
        }
        group_id = meeting.group_id.clone();
        if let Receiver::Member(m) = receiver {
            meeting_attendance =
                crate::meetings::service::attendance_status(db, meeting_id, &m.id).await?;
        }
    }
    if let Some(ask_id) = ask_id {
        let ask = crate::asks::service::find_ask(db, ask_id)
            .await?
            .filter(|a| shared.contains(&a.group_id))
            .ok_or_else(|| {
                DomainError::bad_input(
                    "input.askId",
                    "not an ask of a group you share with the receiver",
                )
            })?;
        let asked_by_receiver = matches!(receiver, Receiver::Member(m) if m.id == ask.member_id);
        if !asked_by_receiver {
            return Err(DomainError::bad_input(
                "input.askId",
                "a referral answers an ask of its receiver",
            ));
        }
        if ask.expires_on.is_some_and(|d| d < today()) {
            return Err(DomainError::bad_input(
                "input.askId",
                "that ask has expired",
            ));
        }
        if meeting_id.is_none() {
            group_id = ask.group_id.clone();
        }
    }
    Ok(Place {
        group_id,
        meeting_attendance,
    })
}

/// Step 4: a one-to-one referral is made in a recorded one-to-one between
/// the two members, today or yesterday.
async fn check_channel(
    db: &impl ConnectionTrait,
    my_id: &str,
    receiver: &Receiver,
    channel: Channel,
) -> DomainResult<()> {
    if channel == Channel::OneToOne {
        let Receiver::Member(m) = receiver else {
            return Err(DomainError::bad_input(
                "input.channel",
                "one-to-ones are between members",
            ));
        };
        let met = crate::meetings::service::had_one_to_one(
            db,
            my_id,
            &m.id,
            today() - Duration::days(1),
            today(),
        )
        .await?;
        if !met {
            return Err(DomainError::bad_input(
                "input.channel",
                "record the one-to-one with this member before passing a referral in it",
            ));
        }
    }
    Ok(())
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
    state: &Ctx,
    caller: &Caller,
    input: OutsideInput,
) -> DomainResult<referral::Model> {
    outside(state, caller, input, Outside::FromContact).await
}

/// The caller refers business to one of their own outside contacts. It is
/// an outside referral made with the giver's own hands (not in anyone's
/// absence); the giver records its outcome under the usual lifecycle.
pub async fn give_to_contact(
    state: &Ctx,
    caller: &Caller,
    input: OutsideInput,
) -> DomainResult<referral::Model> {
    outside(state, caller, input, Outside::ToContact).await
}

/// Which way business passes between a member and their own contact.
enum Outside {
    FromContact,
    ToContact,
}

/// An outside referral between the caller and one of their contacts, in
/// the caller's first active group (none when they have no seat).
async fn outside(
    state: &Ctx,
    caller: &Caller,
    input: OutsideInput,
    way: Outside,
) -> DomainResult<referral::Model> {
    let me = caller.member()?;
    let contact_id = id("input.contactId", &input.contact_id)?;
    let (prospect, temperature, note) =
        validate_passed(&input.prospect, input.temperature, input.note.as_deref())?;
    let contact = crate::contacts::service::find_owned_contact(&state.db, &me.id, &contact_id)
        .await?
        .ok_or_else(|| DomainError::not_found_at("input.contactId", "contact"))?;
    let (giver, receiver) = match way {
        Outside::FromContact => {
            let member = crate::members::rows::find()
                .filter(member::Column::Id.eq(me.id.as_str()))
                .one(&state.db)
                .await?
                .ok_or_else(DomainError::unauthenticated)?;
            (
                Giver::Contact(contact.id),
                Receiver::Member(Box::new(member)),
            )
        }
        Outside::ToContact => (Giver::Member(me.id.clone()), Receiver::Contact(contact.id)),
    };
    let group_id = active_group_ids(&state.db, &me.id)
        .await?
        .into_iter()
        .next();
    let draft = Draft {
        giver,
        receiver,
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
    state: &Ctx,
    draft: Draft,
    meeting_attendance: Option<AttendanceStatus>,
) -> DomainResult<referral::Model> {
    create_knowing(state, draft, meeting_attendance, None).await
}

/// `create`, given the receiver's day when it was read already, with the
/// time it was read as of. Given it (as `give` is, for a member's
/// referral), on PostgreSQL a referral with no partner firm (no webhook
/// deliveries to look up) is written in one statement, with no
/// transaction around it: see `write_at_once`.
async fn create_knowing(
    state: &Ctx,
    draft: Draft,
    meeting_attendance: Option<AttendanceStatus>,
    today: Option<(ReceiverToday, DateTime<Utc>)>,
) -> DomainResult<referral::Model> {
    let db = &state.db;
    let at_once = db.get_database_backend() == DbBackend::Postgres && !draft.involves_firm();
    let today = match today {
        Some(known) if at_once => {
            let planned = plan(db, draft, meeting_attendance, Some(known)).await?;
            return write_at_once(db, planned).await;
        }
        today => today,
    };
    let txn = db.begin().await?;
    let row = create_in_knowing(&txn, draft, meeting_attendance, today).await?;
    let staged = notify_received(&txn, &row).await?;
    txn.commit().await?;
    staged.after_commit(&state.notifier);
    Ok(row)
}

/// `create` inside the caller's transaction, for callers that write more
/// in the same transaction (a partner's idempotency key). Reads go through
/// `txn` too: on SQLite the pool has one connection, which `txn` holds.
/// The caller stages `notify_received` in the transaction, commits, then
/// delivers it.
pub async fn create_in(
    txn: &DatabaseTransaction,
    draft: Draft,
    meeting_attendance: Option<AttendanceStatus>,
) -> DomainResult<referral::Model> {
    create_in_knowing(txn, draft, meeting_attendance, None).await
}

/// `create_in`, given the receiver's day when it was read already and the
/// time it was read as of, which is then the referral's (`None`: read it
/// here, in the transaction, the request locked). A request read before
/// the transaction is locked by its update here, which checks its answer
/// again.
async fn create_in_knowing(
    txn: &DatabaseTransaction,
    draft: Draft,
    meeting_attendance: Option<AttendanceStatus>,
    known: Option<(ReceiverToday, DateTime<Utc>)>,
) -> DomainResult<referral::Model> {
    let planned = plan(txn, draft, meeting_attendance, known).await?;
    if let Some(request) = &planned.answers {
        crate::requests::service::mark_answered(txn, request, planned.now).await?;
    }
    let row = planned.row.insert(txn).await?;
    for event in planned.events {
        event.insert(txn).await?;
    }
    outbox::enqueue(txn, &row, WebhookEvent::Created, planned.now).await?;
    Ok(row)
}

/// A referral decided and ready to write: its row, its events, and the
/// request it answers (marked answered as it is written).
struct Planned {
    row: referral::ActiveModel,
    events: Vec<referral_event::ActiveModel>,
    answers: Option<String>,
    now: DateTime<Utc>,
}

/// Decides presence and routing and builds the rows `draft` writes, reading
/// through `db` (the receiver's day too, its request locked, when `known`
/// is `None`: `db` is then the writing transaction).
async fn plan(
    db: &impl ConnectionTrait,
    draft: Draft,
    meeting_attendance: Option<AttendanceStatus>,
    known: Option<(ReceiverToday, DateTime<Utc>)>,
) -> DomainResult<Planned> {
    let (known, now) = match known {
        Some((today, at)) => (Some(today), at),
        None => (None, Utc::now()),
    };
    let (giver_member, giver_firm, giver_contact) = match &draft.giver {
        Giver::Member(m) => (Some(m.clone()), None, None),
        Giver::Firm(f) => (None, Some(f.clone()), None),
        Giver::Contact(c) => (None, None, Some(c.clone())),
    };
    let (receiver_member, receiver_firm, receiver_contact) = match &draft.receiver {
        Receiver::Member(m) => (Some(m.id.clone()), None, None),
        Receiver::Firm(f) => (None, Some(f.id.clone()), None),
        Receiver::Contact(c) => (None, None, Some(c.clone())),
    };
    // A referral from someone the receiver asked answers that request.
    let asked = match (&draft.giver, &draft.receiver) {
        (Giver::Member(g), Receiver::Member(_)) => Some(Asked::Member(g.clone())),
        (Giver::Contact(c), Receiver::Member(_)) => Some(Asked::Contact(c.clone())),
        _ => None,
    };
    let today = match known {
        Some(today) => today,
        None => receiver_today(db, receiver_member.as_deref(), asked.as_ref(), now).await?,
    };
    let Presence {
        reason,
        delegate_id,
    } = decide_presence(db, &draft, meeting_attendance, now, &today).await?;
    let request_id = today.request_id;
    let id = new_id();
    let actor = EventActor {
        member: draft.actor_member.clone(),
        firm: draft.actor_firm.clone(),
    };
    let mut events = vec![event_row(
        &id,
        EventKind::Created,
        &actor,
        None,
        Some(ReferralStatus::Submitted),
        None,
        now,
    )];
    if let Some(delegate) = &delegate_id {
        let note = format!("routed to delegate {delegate} while the receiver is away");
        events.push(event_row(
            &id,
            EventKind::Delegated,
            &actor,
            None,
            None,
            Some(note),
            now,
        ));
    }
    let row = referral::ActiveModel {
        id: Set(id),
        group_id: Set(draft.group_id.clone()),
        giver_member_id: Set(giver_member),
        giver_firm_id: Set(giver_firm),
        giver_contact_id: Set(giver_contact),
        receiver_member_id: Set(receiver_member.clone()),
        receiver_firm_id: Set(receiver_firm),
        receiver_contact_id: Set(receiver_contact),
        prospect_name: Set(draft.prospect.name),
        prospect_email: Set(draft.prospect.email),
        prospect_phone: Set(draft.prospect.phone),
        prospect_company: Set(draft.prospect.company),
        prospect_need: Set(draft.prospect.need),
        temperature: Set(draft.temperature),
        channel: Set(draft.channel),
        meeting_id: Set(draft.meeting_id),
        ask_id: Set(draft.ask_id),
        request_id: Set(request_id.clone()),
        note: Set(draft.note),
        made_in_absence: Set(reason.is_some()),
        absence_reason: Set(reason),
        inside_group: Set(draft.inside_group),
        delegate_id: Set(delegate_id),
        status: Set(ReferralStatus::Submitted),
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
    };
    Ok(Planned {
        row,
        events,
        answers: request_id,
        now,
    })
}

/// Writes a planned referral on PostgreSQL in one statement: the request's
/// update, the referral and its events as data-modifying `WITH` parts,
/// and the receiver's `pg_notify`. One statement is its own transaction
/// (all of it or none; the events' foreign key to the referral is checked
/// at its end), so a give costs one round trip where BEGIN, each write and
/// COMMIT cost five. Only for referrals with no partner firm: those look
/// up webhook endpoints first (`create_in_knowing`).
async fn write_at_once(
    db: &impl ConnectionTrait,
    planned: Planned,
) -> DomainResult<referral::Model> {
    let row: referral::Model = planned.row.clone().try_into_model()?;
    let mut writes: Vec<SubQueryStatement> = Vec::with_capacity(4);
    if let Some(request) = &planned.answers {
        writes.push(crate::requests::service::answered_update(request, planned.now).into());
    }
    writes.push(referral::Entity::insert(planned.row).into_query().into());
    for event in planned.events {
        writes.push(referral_event::Entity::insert(event).into_query().into());
    }
    let mut with = WithClause::new();
    for (i, write) in writes.into_iter().enumerate() {
        with.cte(
            CommonTableExpression::new()
                .query(write)
                .table_name(Alias::new(format!("write_{i}")))
                .to_owned(),
        );
    }
    let statement = with.query(crate::notifications::notify_select(&received_notice(&row))?);
    db.execute(&statement).await?;
    Ok(row)
}

/// Tells the receiver (and the delegate it was routed to) of a new referral;
/// the notice goes out with the transaction.
pub async fn notify_received(
    txn: &impl ConnectionTrait,
    row: &referral::Model,
) -> DomainResult<crate::notifications::Staged> {
    crate::notifications::stage(txn, received_notice(row)).await
}

/// The notice of `row`'s arrival: to its receiver and delegate.
fn received_notice(row: &referral::Model) -> ReferralNotice {
    let members: Vec<String> = row
        .receiver_member_id
        .iter()
        .chain(row.delegate_id.iter())
        .cloned()
        .collect();
    ReferralNotice {
        referral_id: row.id.clone(),
        kind: NoticeKind::Received,
        members,
        webhooks: crate::notifications::involves_firm(row),
    }
}
