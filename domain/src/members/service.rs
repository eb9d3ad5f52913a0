//! Member profile rules: reading one's own record and editing the brief.

use entities::member;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};

use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::validation::optional_long_text;

pub const BRIEF_FIELD_MAX: usize = 4000;

pub async fn me(state: &Ctx, caller: &Caller) -> DomainResult<member::Model> {
    let me = caller.member()?;
    member::Entity::find_by_id(me.id.clone())
        .one(&state.db)
        .await?
        .ok_or_else(DomainError::unauthenticated)
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
    Ok(active.update(&state.db).await?)
}

/// A member the caller may look up: themself, or someone sharing an active
/// group with them (admins: anyone). `None` otherwise, without saying why.
pub async fn visible_member(
    state: &Ctx,
    caller: &Caller,
    member_id: &str,
) -> DomainResult<Option<member::Model>> {
    use entities::membership;
    use sea_orm::{ColumnTrait, QueryFilter};
    let me = caller.member()?;
    let Some(found) = member::Entity::find_by_id(member_id.to_string())
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    if me.is_admin || me.id == found.id {
        return Ok(Some(found));
    }
    let seats = membership::Entity::find()
        .filter(membership::Column::MemberId.is_in([me.id.clone(), found.id.clone()]))
        .filter(membership::Column::LeftOn.is_null())
        .all(&state.db)
        .await?;
    let (mine, theirs): (Vec<_>, Vec<_>) = seats.into_iter().partition(|s| s.member_id == me.id);
    Ok((!crate::access::shared_active_groups(&mine, &theirs).is_empty()).then_some(found))
}
