//! Group and membership rules. Each mutation checks the caller, validates
//! everything, then writes in one transaction.

use chrono::{NaiveDate, Utc};
use entities::{group, member, membership};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, SqlErr, TransactionTrait,
};

use crate::access::{self, require_admin, require_group_leader};
use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::paging::Page;
use crate::validation::{id, new_id, required_text};

use entities::Role;

pub struct NewGroup {
    pub name: String,
    pub currency: String,
    pub classification_exclusive: Option<bool>,
}

pub const DEFAULT_CADENCE_DAYS: i32 = 7;

pub async fn create_group(
    state: &Ctx,
    caller: &Caller,
    input: NewGroup,
) -> DomainResult<group::Model> {
    require_admin(caller)?;
    let name = required_text("input.name", &input.name, 200)?;
    let currency = super::currency::parse(&input.currency).ok_or_else(|| {
        DomainError::bad_input(
            "input.currency",
            "currency must be an ISO 4217 code such as EUR",
        )
    })?;
    let group = group::ActiveModel {
        id: Set(new_id()),
        name: Set(name),
        currency: Set(currency),
        classification_exclusive: Set(input.classification_exclusive.unwrap_or(false)),
        meeting_cadence_days: Set(DEFAULT_CADENCE_DAYS),
        follow_up_interval_days: Set(super::settings::DEFAULT_FOLLOW_UP_DAYS),
        follow_up_max_unanswered: Set(super::settings::DEFAULT_UNANSWERED_LIMIT),
        revisit_after_months: Set(super::settings::DEFAULT_REVISIT_MONTHS as i32),
        revisit_after_days: Set(None),
        reask_after_days: Set(super::settings::DEFAULT_REASK_DAYS),
        created_at: Set(Utc::now()),
    }
    .insert(&state.db)
    .await?;
    tracing::info!(group_id = %group.id, "group created");
    Ok(group)
}

/// A group the caller may read: its active members and admins.
pub async fn visible_group(
    state: &Ctx,
    caller: &Caller,
    group_id: &str,
) -> DomainResult<group::Model> {
    let group_id = id("id", group_id)?;
    caller.member()?;
    let group = find_group(&state.db, &group_id).await?;
    access::require_group_member(&state.db, caller, &group.id).await?;
    Ok(group)
}

pub async fn find_group(db: &impl ConnectionTrait, group_id: &str) -> DomainResult<group::Model> {
    group::Entity::find_by_id(group_id.to_string())
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("group"))
}

pub async fn find_member(
    db: &impl ConnectionTrait,
    member_id: &str,
) -> DomainResult<member::Model> {
    member::Entity::find_by_id(member_id.to_string())
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("member"))
}

pub struct NewMembership {
    pub group_id: String,
    pub member_id: String,
    pub role: Role,
    pub joined_on: Option<NaiveDate>,
}

/// Seats a member. Leaders add members to their own groups; appointing a
/// LEADER is for admins (SPEC.md: admins appoint leaders).
pub async fn add_membership(
    state: &Ctx,
    caller: &Caller,
    input: NewMembership,
) -> DomainResult<membership::Model> {
    let group_id = id("input.groupId", &input.group_id)?;
    let member_id = id("input.memberId", &input.member_id)?;
    caller.member()?;
    let group = find_group(&state.db, &group_id).await?;
    require_group_leader(&state.db, caller, &group.id).await?;
    if input.role == Role::Leader && !caller.is_admin() {
        return Err(DomainError::Forbidden(
            "only an administrator may appoint a leader".into(),
        ));
    }
    let today = Utc::now().date_naive();
    let joined_on = input.joined_on.unwrap_or(today);
    if joined_on > today {
        return Err(DomainError::bad_input(
            "input.joinedOn",
            "joinedOn cannot be in the future",
        ));
    }

    let txn = state.db.begin().await?;
    // Serialises concurrent seatings in one group (PostgreSQL; SQLite runs
    // writers one at a time anyway), so exclusivity cannot be raced past.
    group::Entity::find_by_id(group.id.clone())
        .lock_exclusive()
        .one(&txn)
        .await?;
    let member = find_member(&txn, &member_id).await?;
    if access::active_seat(&txn, &member.id, &group.id)
        .await?
        .is_some()
    {
        return Err(DomainError::Conflict(
            "this member already has an active seat in the group".into(),
        ));
    }
    let overlapping = membership::Entity::find()
        .filter(membership::Column::MemberId.eq(member.id.clone()))
        .filter(membership::Column::GroupId.eq(group.id.clone()))
        .filter(membership::Column::LeftOn.gt(joined_on))
        .count(&txn)
        .await?;
    if overlapping > 0 {
        return Err(DomainError::bad_input(
            "input.joinedOn",
            "joinedOn falls inside an earlier seat of this member in the group",
        ));
    }
    if group.classification_exclusive
        && profession_taken(&txn, &group.id, &member.id, &member.profession).await?
    {
        return Err(DomainError::Conflict(format!(
            "the group is classification-exclusive and already has an active {}",
            member.profession
        )));
    }
    let seat = membership::ActiveModel {
        id: Set(new_id()),
        group_id: Set(group.id.clone()),
        member_id: Set(member.id.clone()),
        role: Set(input.role),
        joined_on: Set(joined_on),
        left_on: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            DomainError::Conflict("this member already has an active seat in the group".into())
        }
        _ => e.into(),
    })?;
    txn.commit().await?;
    Ok(seat)
}

/// Whether another active member of the group holds `profession` (compared
/// without case or extra spaces).
pub(crate) async fn profession_taken(
    db: &impl ConnectionTrait,
    group_id: &str,
    member_id: &str,
    profession: &str,
) -> DomainResult<bool> {
    let professions: Vec<String> = membership::Entity::find()
        .select_only()
        .column(member::Column::Profession)
        .inner_join(member::Entity)
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::LeftOn.is_null())
        .filter(membership::Column::MemberId.ne(member_id))
        .into_tuple()
        .all(db)
        .await?;
    let wanted = normalize_profession(profession);
    Ok(professions
        .iter()
        .any(|p| normalize_profession(p) == wanted))
}

/// A profession two active members of the group share, if any.
pub(crate) async fn shared_profession(
    db: &impl ConnectionTrait,
    group_id: &str,
) -> DomainResult<Option<String>> {
    let professions: Vec<String> = membership::Entity::find()
        .select_only()
        .column(member::Column::Profession)
        .inner_join(member::Entity)
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::LeftOn.is_null())
        .into_tuple()
        .all(db)
        .await?;
    let mut seen = std::collections::HashSet::new();
    Ok(professions
        .into_iter()
        .find(|p| !seen.insert(normalize_profession(p))))
}

pub(crate) fn normalize_profession(p: &str) -> String {
    p.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Ends an active seat. Leaders (of the group) and admins may end anyone's;
/// a member may end their own (leaving a group).
pub async fn end_membership(
    state: &Ctx,
    caller: &Caller,
    group_id: &str,
    member_id: &str,
    left_on: NaiveDate,
) -> DomainResult<membership::Model> {
    let group_id = id("groupId", group_id)?;
    let member_id = id("memberId", member_id)?;
    let me = caller.member()?;
    let group = find_group(&state.db, &group_id).await?;
    if me.id != member_id {
        require_group_leader(&state.db, caller, &group.id).await?;
    }
    let seat = access::active_seat(&state.db, &member_id, &group.id)
        .await?
        .ok_or_else(|| {
            DomainError::NotFound("no active seat for this member in the group".into())
        })?;
    if left_on < seat.joined_on {
        return Err(DomainError::bad_input(
            "leftOn",
            "leftOn is before the seat's joinedOn",
        ));
    }
    if left_on > Utc::now().date_naive() {
        return Err(DomainError::bad_input(
            "leftOn",
            "leftOn cannot be in the future",
        ));
    }
    let mut active: membership::ActiveModel = seat.into();
    active.left_on = Set(Some(left_on));
    Ok(active.update(&state.db).await?)
}

/// One page of a group's active seats, longest-standing first, and the total.
pub async fn roster(
    db: &impl ConnectionTrait,
    group_id: &str,
    page: Page,
) -> DomainResult<(Vec<membership::Model>, u64)> {
    let base = membership::Entity::find()
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::LeftOn.is_null());
    let longest_standing_first = |q: sea_orm::Select<membership::Entity>| {
        q.order_by_asc(membership::Column::JoinedOn)
            .order_by_asc(membership::Column::CreatedAt)
            .order_by_asc(membership::Column::Id)
    };
    crate::paging::read(db, base, longest_standing_first, page).await
}
