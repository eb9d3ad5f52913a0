//! Member profile rules: reading one's own record, editing the profile and
//! the brief.

use entities::{group, member, membership};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set, TransactionTrait,
};

use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::validation::{optional_long_text, optional_phone, optional_text, required_text};

pub const BRIEF_FIELD_MAX: usize = 4000;

pub async fn me(state: &Ctx, caller: &Caller) -> DomainResult<member::Model> {
    let me = caller.member()?;
    if let Some(profile) = &me.profile {
        return Ok(profile.as_ref().clone());
    }
    crate::members::rows::find()
        .filter(member::Column::Id.eq(me.id.as_str()))
        .one(&state.db)
        .await?
        .ok_or_else(DomainError::unauthenticated)
}

pub struct ProfileUpdate {
    pub name: Option<String>,
    pub profession: Option<String>,
    pub business_name: Option<String>,
    pub phone: Option<String>,
}

/// Only the fields given change; an empty name or profession is refused, an
/// empty business name or phone clears it. A new profession already held by
/// another active member of one of the caller's classification-exclusive
/// groups is `CONFLICT` (checked with those groups locked, as seating is).
pub async fn update_profile(
    state: &Ctx,
    caller: &Caller,
    update: ProfileUpdate,
) -> DomainResult<member::Model> {
    let me = caller.member()?;
    let name = update
        .name
        .as_deref()
        .map(|n| required_text("input.name", n, 200))
        .transpose()?;
    let profession = update
        .profession
        .as_deref()
        .map(|p| required_text("input.profession", p, 120))
        .transpose()?;
    let business_name = update
        .business_name
        .as_deref()
        .map(|b| optional_text("input.businessName", Some(b), 200))
        .transpose()?;
    let phone = update
        .phone
        .as_deref()
        .map(|p| optional_phone("input.phone", Some(p)))
        .transpose()?;

    let txn = state.db.begin().await?;
    let current = member::Entity::find_by_id(me.id.clone())
        .one(&txn)
        .await?
        .ok_or_else(DomainError::unauthenticated)?;
    if let Some(profession) = &profession
        && crate::groups::service::normalize_profession(profession)
            != crate::groups::service::normalize_profession(&current.profession)
    {
        let exclusive: Vec<String> = membership::Entity::find()
            .select_only()
            .column(membership::Column::GroupId)
            .inner_join(group::Entity)
            .filter(membership::Column::MemberId.eq(me.id.clone()))
            .filter(membership::Column::LeftOn.is_null())
            .filter(group::Column::ClassificationExclusive.eq(true))
            .into_tuple()
            .all(&txn)
            .await?;
        for group_id in exclusive {
            // Serialises with seatings in that group (PostgreSQL).
            group::Entity::find_by_id(group_id.clone())
                .lock_exclusive()
                .one(&txn)
                .await?;
            if crate::groups::service::profession_taken(&txn, &group_id, &me.id, profession).await?
            {
                return Err(DomainError::Conflict(format!(
                    "another active member of a classification-exclusive group of yours is a {profession}"
                )));
            }
        }
    }
    let mut active: member::ActiveModel = current.clone().into();
    if let Some(v) = name {
        active.name = Set(v);
    }
    if let Some(v) = profession {
        active.profession = Set(v);
    }
    if let Some(v) = business_name {
        active.business_name = Set(v);
    }
    if let Some(v) = phone {
        active.phone = Set(v);
    }
    if !active.is_changed() {
        return Ok(current);
    }
    let updated = active.update(&txn).await?;
    txn.commit().await?;
    // The caller's own next request shows the change (`me` is the row the
    // session view remembered).
    state.sessions.forget(&me.id);
    Ok(updated)
}

pub struct BriefUpdate {
    pub ideal_referral: Option<String>,
    pub target_market: Option<String>,
    pub talking_points: Option<String>,
    pub intro_template: Option<String>,
}

/// Fields left out keep their value; an empty string clears one.
pub async fn update_brief(
    state: &Ctx,
    caller: &Caller,
    update: BriefUpdate,
) -> DomainResult<member::Model> {
    let current = me(state, caller).await?;
    let check = |field: &str, v: &Option<String>| -> DomainResult<Option<Option<String>>> {
        match v {
            None => Ok(None),
            Some(text) => optional_long_text(field, Some(text), BRIEF_FIELD_MAX).map(Some),
        }
    };
    let ideal = check("input.idealReferral", &update.ideal_referral)?;
    let market = check("input.targetMarket", &update.target_market)?;
    let points = check("input.talkingPoints", &update.talking_points)?;
    let intro = check("input.introTemplate", &update.intro_template)?;

    let mut active: member::ActiveModel = current.into();
    if let Some(v) = ideal {
        active.brief_ideal_referral = Set(v);
    }
    if let Some(v) = market {
        active.brief_target_market = Set(v);
    }
    if let Some(v) = points {
        active.brief_talking_points = Set(v);
    }
    if let Some(v) = intro {
        active.brief_intro_template = Set(v);
    }
    let updated = active.update(&state.db).await?;
    state.sessions.forget(&updated.id);
    Ok(updated)
}

/// A member the caller may look up: themself, or someone sharing an active
/// group with them (admins: anyone). `None` otherwise, without saying why.
pub async fn visible_member(
    state: &Ctx,
    caller: &Caller,
    member_id: &str,
) -> DomainResult<Option<member::Model>> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let me = caller.member()?;
    let Some(found) = crate::members::rows::find()
        .filter(member::Column::Id.eq(member_id))
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    if me.is_admin || me.id == found.id {
        return Ok(Some(found));
    }
    let (mine, theirs) = crate::access::active_seats_of_pair(&state.db, &me.id, &found.id).await?;
    Ok((!crate::access::shared_active_groups(&mine, &theirs).is_empty()).then_some(found))
}
