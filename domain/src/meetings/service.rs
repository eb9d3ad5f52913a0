//! Meeting, attendance and one-to-one rules. Each mutation checks the caller,
//! validates everything, then writes in one transaction. The look-ups at the
//! end are what the referral core and the reports ask about presence.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use entities::{attendance, meeting, member, membership, one_to_one, visitor};
use sea_orm::sea_query::{LockType, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, SqlErr, TransactionTrait,
};

use crate::access::{self, require_group_leader, require_group_member};
use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::groups::service::find_group;
use crate::paging::Page;
use crate::validation::{id, new_id, optional_long_text, optional_text};
use entities::AttendanceStatus;

/// The most entries one `recordAttendance` call takes (far above any chapter's size).
pub const MAX_ATTENDANCE_ENTRIES: usize = 500;
pub const MAX_SUBSTITUTE_NAME: usize = 200;
pub const MAX_ONE_TO_ONE_NOTE: usize = 2000;

/// Schedules a group's meeting. Leaders of the group and admins; one per day.
/// Past dates are allowed so a chapter can record its history.
pub async fn schedule_meeting(
    state: &Ctx,
    caller: &Caller,
    group_id: &str,
    held_on: NaiveDate,
) -> DomainResult<meeting::Model> {
    caller.member()?;
    let group_id = id("groupId", group_id)?;
    let txn = state.db.begin().await?;
    let group = find_group(&txn, &group_id).await?;
    require_group_leader(&txn, caller, &group.id).await?;
    let meeting = meeting::ActiveModel {
        id: Set(new_id()),
        group_id: Set(group.id.clone()),
        held_on: Set(held_on),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await
    // The unique (group_id, held_on) index is the guard, also against a
    // concurrent request for the same day.
    .map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            DomainError::Conflict("the group already has a meeting on that day".into())
        }
        _ => e.into(),
    })?;
    txn.commit().await?;
    tracing::info!(meeting_id = %meeting.id, group_id = %group.id, "meeting scheduled");
    Ok(meeting)
}

/// One page of a group's meetings, latest first. Members of the group and admins.
pub async fn group_meetings(
    state: &Ctx,
    caller: &Caller,
    group_id: &str,
    page: Page,
) -> DomainResult<(Vec<meeting::Model>, u64)> {
    caller.member()?;
    let group_id = id("groupId", group_id)?;
    let group = find_group(&state.db, &group_id).await?;
    require_group_member(&state.db, caller, &group.id).await?;
    let base = meeting::Entity::find().filter(meeting::Column::GroupId.eq(group.id.clone()));
    let latest_first = |q: sea_orm::Select<meeting::Entity>| {
        q.order_by_desc(meeting::Column::HeldOn)
            .order_by_asc(meeting::Column::Id)
    };
    crate::paging::read(&state.db, base, latest_first, page).await
}

pub struct AttendanceEntry {
    pub member_id: String,
    pub status: AttendanceStatus,
    pub substitute_name: Option<String>,
}

/// A validated entry: its position in the request (for error fields) and values.
struct CheckedEntry {
    index: usize,
    member_id: String,
    status: AttendanceStatus,
    substitute_name: Option<String>,
}

fn check_entries(entries: Vec<AttendanceEntry>) -> DomainResult<Vec<CheckedEntry>> {
    if entries.is_empty() {
        return Err(DomainError::bad_input(
            "entries",
            "entries must name at least one member",
        ));
    }
    if entries.len() > MAX_ATTENDANCE_ENTRIES {
        return Err(DomainError::bad_input(
            "entries",
            format!("at most {MAX_ATTENDANCE_ENTRIES} entries per call"),
        ));
    }
    let mut seen = HashSet::new();
    let mut checked = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        let member_field = format!("entries.{index}.memberId");
        let member_id = id(&member_field, &entry.member_id)?;
        if !seen.insert(member_id.clone()) {
            return Err(DomainError::bad_input(
                member_field,
                "the same member appears twice in one call",
            ));
        }
        let name_field = format!("entries.{index}.substituteName");
        let substitute_name = optional_text(
            &name_field,
            entry.substitute_name.as_deref(),
            MAX_SUBSTITUTE_NAME,
        )?;
        if substitute_name.is_some() && entry.status != AttendanceStatus::Substitute {
            return Err(DomainError::bad_input(
                name_field,
                "substituteName goes only with status SUBSTITUTE",
            ));
        }
        checked.push(CheckedEntry {
            index,
            member_id,
            status: entry.status,
            substitute_name,
        });
    }
    Ok(checked)
}

/// Records (or re-records) attendance at a meeting. Leaders of the group and
/// admins. Every member must have held a seat in the group on the meeting's
/// day; re-recording a member replaces their entry. All or nothing.
pub async fn record_attendance(
    state: &Ctx,
    caller: &Caller,
    meeting_id: &str,
    entries: Vec<AttendanceEntry>,
) -> DomainResult<Vec<attendance::Model>> {
    let me = caller.member()?;
    let meeting_id = id("meetingId", meeting_id)?;
    let entries = check_entries(entries)?;

    let txn = state.db.begin().await?;
    let meeting = find_meeting(&txn, &meeting_id)
        .await?
        .ok_or_else(|| DomainError::not_found("meeting"))?;
    require_group_leader(&txn, caller, &meeting.group_id).await?;

    let ids: Vec<String> = entries.iter().map(|e| e.member_id.clone()).collect();
    let seated: HashSet<String> = membership::Entity::find()
        .select_only()
        .column(membership::Column::MemberId)
        .filter(membership::Column::GroupId.eq(meeting.group_id.clone()))
        .filter(membership::Column::MemberId.is_in(ids.clone()))
        .filter(membership::Column::JoinedOn.lte(meeting.held_on))
        .filter(
            Condition::any()
                .add(membership::Column::LeftOn.is_null())
                .add(membership::Column::LeftOn.gte(meeting.held_on)),
        )
        .into_tuple::<String>()
        .all(&txn)
        .await?
        .into_iter()
        .collect();
    if let Some(e) = entries.iter().find(|e| !seated.contains(&e.member_id)) {
        return Err(DomainError::bad_input(
            format!("entries.{}.memberId", e.index),
            "this member held no seat in the group on the meeting's day",
        ));
    }

    let now = Utc::now();
    let rows = entries.iter().map(|e| attendance::ActiveModel {
        id: Set(new_id()),
        meeting_id: Set(meeting.id.clone()),
        member_id: Set(e.member_id.clone()),
        status: Set(e.status),
        substitute_name: Set(e.substitute_name.clone()),
        recorded_at: Set(now),
    });
    // An upsert on the unique (meeting_id, member_id) index: re-recording
    // updates the existing row, and two leaders recording at once cannot
    // collide.
    attendance::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([attendance::Column::MeetingId, attendance::Column::MemberId])
                .update_columns([
                    attendance::Column::Status,
                    attendance::Column::SubstituteName,
                    attendance::Column::RecordedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    let mut stored: HashMap<String, attendance::Model> = attendance::Entity::find()
        .filter(attendance::Column::MeetingId.eq(meeting.id.clone()))
        .filter(attendance::Column::MemberId.is_in(ids))
        .all(&txn)
        .await?
        .into_iter()
        .map(|a| (a.member_id.clone(), a))
        .collect();
    let statuses: Vec<(String, AttendanceStatus)> = stored
        .values()
        .map(|a| (a.member_id.clone(), a.status))
        .collect();
    let changed =
        crate::referrals::redecide::after_attendance(&txn, &meeting, &statuses, &me.id, now)
            .await?;
    let mut staged = Vec::with_capacity(changed.len());
    for r in &changed {
        let notice = crate::notifications::ReferralNotice {
            referral_id: r.id.clone(),
            kind: crate::notifications::NoticeKind::Updated,
            members: r
                .giver_member_id
                .iter()
                .chain(r.receiver_member_id.iter())
                .cloned()
                .collect(),
            webhooks: crate::notifications::involves_firm(r),
        };
        staged.push(crate::notifications::stage(&txn, notice).await?);
    }
    txn.commit().await?;
    for notice in staged {
        notice.after_commit(&state.notifier);
    }
    // In the order the entries were sent.
    entries
        .iter()
        .map(|e| {
            stored.remove(&e.member_id).ok_or_else(|| {
                DomainError::internal(anyhow::anyhow!("attendance row missing after upsert"))
            })
        })
        .collect()
}

pub struct NewOneToOne {
    pub with_member_id: String,
    pub held_on: NaiveDate,
    pub note: Option<String>,
}

/// Records a one-to-one of the caller with a member they share an active
/// group with. One record per pair and day, whoever of the two records it,
/// so reports never count the same meeting twice.
pub async fn record_one_to_one(
    state: &Ctx,
    caller: &Caller,
    input: NewOneToOne,
) -> DomainResult<one_to_one::Model> {
    let me = caller.member()?;
    let with_id = id("input.withMemberId", &input.with_member_id)?;
    if with_id == me.id {
        return Err(DomainError::bad_input(
            "input.withMemberId",
            "a one-to-one is with another member",
        ));
    }
    if input.held_on > Utc::now().date_naive() {
        return Err(DomainError::bad_input(
            "input.heldOn",
            "heldOn cannot be in the future",
        ));
    }
    let note = optional_long_text("input.note", input.note.as_deref(), MAX_ONE_TO_ONE_NOTE)?;

    let txn = state.db.begin().await?;
    // Both member rows, locked in id order: two concurrent records of the same
    // pair queue here (PostgreSQL; SQLite has one writer), so the same-day
    // check below cannot be raced past, and no two requests deadlock. NO KEY
    // UPDATE leaves foreign-key checks of other writers unblocked.
    let mut pair = [me.id.clone(), with_id.clone()];
    pair.sort();
    let locked: Vec<String> = member::Entity::find()
        .select_only()
        .column(member::Column::Id)
        .filter(member::Column::Id.is_in(pair))
        .order_by_asc(member::Column::Id)
        .lock(LockType::NoKeyUpdate)
        .into_tuple()
        .all(&txn)
        .await?;
    if !locked.contains(&with_id) {
        return Err(DomainError::not_found_at("input.withMemberId", "member"));
    }
    let (mine, theirs) = access::active_seats_of_pair(&txn, &me.id, &with_id).await?;
    if access::shared_active_groups(&mine, &theirs).is_empty() {
        return Err(DomainError::Forbidden(
            "one-to-ones are recorded with members of a group you share".into(),
        ));
    }
    if had_one_to_one(&txn, &me.id, &with_id, input.held_on, input.held_on).await? {
        return Err(DomainError::Conflict(
            "a one-to-one between you two on that day is already recorded".into(),
        ));
    }
    let row = one_to_one::ActiveModel {
        id: Set(new_id()),
        member_id: Set(me.id.clone()),
        with_member_id: Set(with_id),
        held_on: Set(input.held_on),
        note: Set(note),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(row)
}

// ---- look-ups for the referral core and the reports ----

pub async fn find_meeting(
    db: &impl ConnectionTrait,
    meeting_id: &str,
) -> DomainResult<Option<meeting::Model>> {
    Ok(meeting::Entity::find_by_id(meeting_id.to_string())
        .one(db)
        .await?)
}

/// The stored status string (an `AttendanceStatus` name), `None` if the
/// member's attendance at the meeting was not recorded.
pub async fn attendance_status(
    db: &impl ConnectionTrait,
    meeting_id: &str,
    member_id: &str,
) -> DomainResult<Option<AttendanceStatus>> {
    Ok(attendance::Entity::find()
        .select_only()
        .column(attendance::Column::Status)
        .filter(attendance::Column::MeetingId.eq(meeting_id))
        .filter(attendance::Column::MemberId.eq(member_id))
        .into_tuple::<AttendanceStatus>()
        .one(db)
        .await?)
}

/// One-to-ones between `a` and `b` (recorded by either) on either side.
fn between(a: &str, b: &str) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(one_to_one::Column::MemberId.eq(a))
                .add(one_to_one::Column::WithMemberId.eq(b)),
        )
        .add(
            Condition::all()
                .add(one_to_one::Column::MemberId.eq(b))
                .add(one_to_one::Column::WithMemberId.eq(a)),
        )
}

/// Whether `a` and `b` had a one-to-one (recorded by either) held within
/// `from..=to`.
pub async fn had_one_to_one(
    db: &impl ConnectionTrait,
    a: &str,
    b: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<bool> {
    let n = one_to_one::Entity::find()
        .filter(between(a, b))
        .filter(one_to_one::Column::HeldOn.between(from, to))
        .count(db)
        .await?;
    Ok(n > 0)
}

/// One-to-ones the member took part in (recorded by them or by the other
/// member) held within `from..=to`.
pub async fn count_one_to_ones(
    db: &impl ConnectionTrait,
    member_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<i64> {
    let n = one_to_one::Entity::find()
        .filter(
            Condition::any()
                .add(one_to_one::Column::MemberId.eq(member_id))
                .add(one_to_one::Column::WithMemberId.eq(member_id)),
        )
        .filter(one_to_one::Column::HeldOn.between(from, to))
        .count(db)
        .await?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

pub struct NewVisitor {
    pub meeting_id: String,
    pub invited_by_id: String,
    pub name: String,
    pub email: Option<String>,
}

/// Records a visitor at a meeting, invited by a member who held a seat in
/// the group that day. Leaders of the group and admins.
pub async fn record_visitor(
    state: &Ctx,
    caller: &Caller,
    input: NewVisitor,
) -> DomainResult<visitor::Model> {
    caller.member()?;
    let meeting_id = id("input.meetingId", &input.meeting_id)?;
    let invited_by = id("input.invitedById", &input.invited_by_id)?;
    let name = crate::validation::required_text("input.name", &input.name, 200)?;
    let email = crate::validation::optional_email("input.email", input.email.as_deref())?;
    let meeting = find_meeting(&state.db, &meeting_id)
        .await?
        .ok_or_else(|| DomainError::not_found("meeting"))?;
    require_group_leader(&state.db, caller, &meeting.group_id).await?;
    let seated = membership::Entity::find()
        .filter(membership::Column::GroupId.eq(meeting.group_id.clone()))
        .filter(membership::Column::MemberId.eq(invited_by.clone()))
        .filter(membership::Column::JoinedOn.lte(meeting.held_on))
        .filter(
            Condition::any()
                .add(membership::Column::LeftOn.is_null())
                .add(membership::Column::LeftOn.gte(meeting.held_on)),
        )
        .one(&state.db)
        .await?;
    if seated.is_none() {
        return Err(DomainError::bad_input(
            "input.invitedById",
            "the inviter held no seat in the group on the meeting's day",
        ));
    }
    Ok(visitor::ActiveModel {
        id: Set(new_id()),
        meeting_id: Set(meeting.id),
        invited_by_id: Set(invited_by),
        name: Set(name),
        email: Set(email.map(|e| e.as_str().to_string())),
        created_at: Set(Utc::now()),
    }
    .insert(&state.db)
    .await?)
}
