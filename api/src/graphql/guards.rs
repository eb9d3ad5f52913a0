//! Field-level guards: the domain's access decisions applied to seats the
//! request's loader has already batched, so a page of objects costs one seat
//! look-up, not one per object. The rules themselves live in
//! `domain::access`; nothing here re-derives them.

use async_graphql::Context;
use domain::MemberCaller;
use entities::membership;

use super::context::loaders;
use crate::error::ApiResult;

async fn seats_of(ctx: &Context<'_>, member_id: &str) -> ApiResult<Vec<membership::Model>> {
    Ok(loaders(ctx)?
        .memberships
        .load_one(member_id.to_string())
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(|(seat, _)| seat)
        .collect())
}

/// Whether `me` may act as a leader of `group_id` (admins always).
pub async fn leads_group(ctx: &Context<'_>, me: &MemberCaller, group_id: &str) -> ApiResult<bool> {
    if me.is_admin {
        return Ok(true);
    }
    let mine = seats_of(ctx, &me.id).await?;
    Ok(domain::access::leads_with_seats(me, &mine, group_id))
}

/// Whether `me` sits in `group_id` (admins always).
pub async fn sits_in_group(
    ctx: &Context<'_>,
    me: &MemberCaller,
    group_id: &str,
) -> ApiResult<bool> {
    if me.is_admin {
        return Ok(true);
    }
    let mine = seats_of(ctx, &me.id).await?;
    Ok(domain::access::sits_with_seats(me, &mine, group_id))
}

/// Whether `me` leads a group member `member_id` sits in (admins always).
pub async fn leads_member(
    ctx: &Context<'_>,
    me: &MemberCaller,
    member_id: &str,
) -> ApiResult<bool> {
    if me.is_admin {
        return Ok(true);
    }
    let mine = seats_of(ctx, &me.id).await?;
    let theirs = seats_of(ctx, member_id).await?;
    Ok(domain::access::leads_member_with_seats(me, &mine, &theirs))
}
