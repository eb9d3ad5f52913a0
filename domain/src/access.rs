//! Authorization questions every domain asks: is this caller a leader of
//! that group, do two members share a group. Answers come from active seats.

use entities::{Role, membership};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::caller::{Caller, MemberCaller};
use crate::error::{DomainError, DomainResult};

pub async fn active_seat(
    db: &impl ConnectionTrait,
    member_id: &str,
    group_id: &str,
) -> DomainResult<Option<membership::Model>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::MemberId.eq(member_id))
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::LeftOn.is_null())
        .one(db)
        .await?)
}

pub async fn is_active_member(
    db: &impl ConnectionTrait,
    member_id: &str,
    group_id: &str,
) -> DomainResult<bool> {
    Ok(active_seat(db, member_id, group_id).await?.is_some())
}

/// Whether the member holds or ever held a seat in the group.
pub async fn ever_sat_in(
    db: &impl ConnectionTrait,
    member_id: &str,
    group_id: &str,
) -> DomainResult<bool> {
    Ok(membership::Entity::find()
        .filter(membership::Column::MemberId.eq(member_id))
        .filter(membership::Column::GroupId.eq(group_id))
        .count(db)
        .await?
        > 0)
}

pub async fn leads_group(
    db: &impl ConnectionTrait,
    member_id: &str,
    group_id: &str,
) -> DomainResult<bool> {
    Ok(active_seat(db, member_id, group_id)
        .await?
        .is_some_and(|s| is_leader_seat(&s)))
}

/// An active seat with the leader's role: what "leads a group" means.
fn is_leader_seat(seat: &membership::Model) -> bool {
    seat.left_on.is_none() && seat.role == Role::Leader
}

/// Whether a caller holding `seats` may act as a leader of `group_id`:
/// admins always; members through an active leader's seat there. The same
/// rule as [`require_group_leader`], for seats already loaded (the GraphQL
/// field guards batch them through a loader).
pub fn leads_with_seats(
    caller: &MemberCaller,
    seats: &[membership::Model],
    group_id: &str,
) -> bool {
    caller.is_admin
        || seats
            .iter()
            .any(|s| s.group_id == group_id && is_leader_seat(s))
}

/// Whether a caller holding `seats` may see what only members of `group_id`
/// see: admins always; members through an active seat there. The same rule
/// as [`require_group_member`], for seats already loaded.
pub fn sits_with_seats(caller: &MemberCaller, seats: &[membership::Model], group_id: &str) -> bool {
    caller.is_admin
        || seats
            .iter()
            .any(|s| s.group_id == group_id && s.left_on.is_none())
}

/// Whether a caller holding `seats` leads a group in which the member with
/// `their_seats` sits: admins always. Leaders see their members' contact
/// details, balances and tenure.
pub fn leads_member_with_seats(
    caller: &MemberCaller,
    seats: &[membership::Model],
    their_seats: &[membership::Model],
) -> bool {
    caller.is_admin
        || seats.iter().filter(|s| is_leader_seat(s)).any(|s| {
            their_seats
                .iter()
                .any(|t| t.left_on.is_none() && t.group_id == s.group_id)
        })
}

/// Whether the caller may read a member's own figures as their leader:
/// admins always; members through an active leader's seat in a group where
/// the member sits. Two queries, whatever the number of groups.
pub async fn leads_member(
    db: &impl ConnectionTrait,
    caller: &MemberCaller,
    member_id: &str,
) -> DomainResult<bool> {
    if caller.is_admin {
        return Ok(true);
    }
    let seats = |id: &str| {
        membership::Entity::find()
            .filter(membership::Column::MemberId.eq(id))
            .filter(membership::Column::LeftOn.is_null())
            .all(db)
    };
    let mine = seats(&caller.id).await?;
    let theirs = seats(member_id).await?;
    Ok(leads_member_with_seats(caller, &mine, &theirs))
}

/// Admins, or active leaders of `group_id`; everyone else is `FORBIDDEN`.
pub async fn require_group_leader(
    db: &impl ConnectionTrait,
    caller: &Caller,
    group_id: &str,
) -> DomainResult<()> {
    let me = caller.member()?;
    if me.is_admin || leads_group(db, &me.id, group_id).await? {
        Ok(())
    } else {
        Err(DomainError::Forbidden(
            "only a leader of this group may do this".into(),
        ))
    }
}

/// Admins, or active members of `group_id`.
pub async fn require_group_member(
    db: &impl ConnectionTrait,
    caller: &Caller,
    group_id: &str,
) -> DomainResult<()> {
    let me = caller.member()?;
    if me.is_admin || is_active_member(db, &me.id, group_id).await? {
        Ok(())
    } else {
        Err(DomainError::Forbidden(
            "you are not a member of this group".into(),
        ))
    }
}

pub fn require_admin(caller: &Caller) -> DomainResult<()> {
    if caller.member()?.is_admin {
        Ok(())
    } else {
        Err(DomainError::Forbidden(
            "only an administrator may do this".into(),
        ))
    }
}

pub async fn count_active_members(db: &impl ConnectionTrait, group_id: &str) -> DomainResult<u64> {
    Ok(membership::Entity::find()
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::LeftOn.is_null())
        .count(db)
        .await?)
}

/// Groups in which both seat lists hold an active seat.
pub fn shared_active_groups<'a>(
    a: &'a [membership::Model],
    b: &'a [membership::Model],
) -> Vec<&'a str> {
    a.iter()
        .filter(|s| s.left_on.is_none())
        .filter(|s| {
            b.iter()
                .any(|t| t.left_on.is_none() && t.group_id == s.group_id)
        })
        .map(|s| s.group_id.as_str())
        .collect()
}

/// Both members' active seats, each longest-held first, from one statement:
/// for [`shared_active_groups`].
pub async fn active_seats_of_pair(
    db: &impl ConnectionTrait,
    a: &str,
    b: &str,
) -> DomainResult<(Vec<membership::Model>, Vec<membership::Model>)> {
    let seats = membership::Entity::find()
        .filter(membership::Column::MemberId.is_in([a, b]))
        .filter(membership::Column::LeftOn.is_null())
        .order_by_asc(membership::Column::JoinedOn)
        .all(db)
        .await?;
    Ok(seats.into_iter().partition(|s| s.member_id == a))
}

/// The groups in which the member holds an active seat, longest-held first.
pub async fn active_group_ids(
    db: &impl ConnectionTrait,
    member_id: &str,
) -> DomainResult<Vec<String>> {
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
