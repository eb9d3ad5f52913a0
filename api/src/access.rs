//! Authorization questions every domain asks: is this caller a leader of
//! that group, do two members share a group. Answers come from active seats.

use entities::membership;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult};

pub const ROLE_LEADER: &str = "LEADER";
pub const ROLE_MEMBER: &str = "MEMBER";

pub async fn active_seat(
    db: &impl ConnectionTrait,
    member_id: &str,
    group_id: &str,
) -> ApiResult<Option<membership::Model>> {
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
) -> ApiResult<bool> {
    Ok(active_seat(db, member_id, group_id).await?.is_some())
}

pub async fn leads_group(
    db: &impl ConnectionTrait,
    member_id: &str,
    group_id: &str,
) -> ApiResult<bool> {
    Ok(active_seat(db, member_id, group_id)
        .await?
        .is_some_and(|s| s.role == ROLE_LEADER))
}

/// Admins, or active leaders of `group_id`; everyone else is `FORBIDDEN`.
pub async fn require_group_leader(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    group_id: &str,
) -> ApiResult<()> {
    let me = viewer.member()?;
    if me.is_admin || leads_group(db, &me.id, group_id).await? {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only a leader of this group may do this".into(),
        ))
    }
}

/// Admins, or active members of `group_id`.
pub async fn require_group_member(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    group_id: &str,
) -> ApiResult<()> {
    let me = viewer.member()?;
    if me.is_admin || is_active_member(db, &me.id, group_id).await? {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "you are not a member of this group".into(),
        ))
    }
}

pub fn require_admin(viewer: &Viewer) -> ApiResult<()> {
    if viewer.member()?.is_admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only an administrator may do this".into(),
        ))
    }
}

pub async fn count_active_members(db: &impl ConnectionTrait, group_id: &str) -> ApiResult<u64> {
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
