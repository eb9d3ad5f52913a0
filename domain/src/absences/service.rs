//! Absence rules, and the look-ups the referral core makes: is a member away
//! on a day, and who covers for them.

use chrono::{NaiveDate, Utc};
use entities::{absence, member};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Select,
    Set, TransactionTrait,
};

use crate::access;
use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::validation::{id, new_id, optional_long_text};

/// The longest absence, in days counted inclusively (a leap year).
pub const MAX_ABSENCE_DAYS: i64 = 366;
pub const MAX_NOTE: usize = 2000;

pub struct NewAbsence {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub delegate_id: Option<String>,
    pub note: Option<String>,
}

/// Declares the caller away. Overlapping absences are allowed; the most
/// recently declared one is the one in force (see `active_absence`).
pub async fn declare_absence(
    state: &Ctx,
    caller: &Caller,
    input: NewAbsence,
) -> DomainResult<absence::Model> {
    let me = caller.member()?;
    if input.to < input.from {
        return Err(DomainError::bad_input("input.to", "to is before from"));
    }
    if (input.to - input.from).num_days() + 1 > MAX_ABSENCE_DAYS {
        return Err(DomainError::bad_input(
            "input.to",
            format!("an absence lasts at most {MAX_ABSENCE_DAYS} days"),
        ));
    }
    // A period already over changes nothing: referrals made then are judged
    // as they were made. Starting in the past is fine (declared late).
    if input.to < Utc::now().date_naive() {
        return Err(DomainError::bad_input("input.to", "to is in the past"));
    }
    let note = optional_long_text("input.note", input.note.as_deref(), MAX_NOTE)?;
    let delegate_id = match input.delegate_id.as_deref() {
        None => None,
        Some(raw) => {
            let delegate_id = id("input.delegateId", raw)?;
            if delegate_id == me.id {
                return Err(DomainError::bad_input(
                    "input.delegateId",
                    "a delegate is another member",
                ));
            }
            Some(delegate_id)
        }
    };

    let txn = state.db.begin().await?;
    if let Some(delegate_id) = &delegate_id {
        crate::members::rows::find()
            .filter(member::Column::Id.eq(delegate_id.as_str()))
            .one(&txn)
            .await?
            .ok_or_else(|| DomainError::not_found_at("input.delegateId", "member"))?;
        let (mine, theirs) = access::active_seats_of_pair(&txn, &me.id, delegate_id).await?;
        if access::shared_active_groups(&mine, &theirs).is_empty() {
            return Err(DomainError::bad_input(
                "input.delegateId",
                "the delegate must be a member of a group you share",
            ));
        }
    }
    let row = absence::ActiveModel {
        id: Set(new_id()),
        member_id: Set(me.id.clone()),
        from_on: Set(input.from),
        to_on: Set(input.to),
        delegate_id: Set(delegate_id),
        note: Set(note),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// The member ends their own absence at once: one that started before
/// today now ends yesterday; one starting today or later is removed and
/// returned as it was. An absence already over is `BAD_USER_INPUT`;
/// someone else's (or an unknown one) is `NOT_FOUND`. Referrals already
/// made keep their recorded presence and routing; delegates act only under
/// the absence in force today, so the delegate loses them from now on.
pub async fn cancel_absence(
    state: &Ctx,
    caller: &Caller,
    absence_id: &str,
) -> DomainResult<absence::Model> {
    let me = caller.member()?;
    let Ok(absence_id) = id("id", absence_id) else {
        return Err(DomainError::not_found("absence"));
    };
    let today = Utc::now().date_naive();
    let txn = state.db.begin().await?;
    let current = absence::Entity::find_by_id(absence_id)
        .filter(absence::Column::MemberId.eq(me.id.clone()))
        .one(&txn)
        .await?
        .ok_or_else(|| DomainError::not_found("absence"))?;
    if current.to_on < today {
        return Err(DomainError::bad_input("id", "this absence is already over"));
    }
    let result = if current.from_on < today {
        let mut active: absence::ActiveModel = current.into();
        active.to_on = Set(today - chrono::Duration::days(1));
        active.update(&txn).await?
    } else {
        absence::Entity::delete_by_id(current.id.clone())
            .exec(&txn)
            .await?;
        current
    };
    txn.commit().await?;
    Ok(result)
}

/// The caller's absences, latest start first.
pub async fn my_absences(state: &Ctx, caller: &Caller) -> DomainResult<Vec<absence::Model>> {
    let me = caller.member()?;
    Ok(absence::Entity::find()
        .filter(absence::Column::MemberId.eq(me.id.clone()))
        .order_by_desc(absence::Column::FromOn)
        .order_by_desc(absence::Column::CreatedAt)
        .order_by_desc(absence::Column::Id)
        .all(&state.db)
        .await?)
}

/// The absence in force for the member on `on` (from_on <= on <= to_on);
/// when several overlap, the most recently declared.
pub async fn active_absence(
    db: &impl ConnectionTrait,
    member_id: &str,
    on: NaiveDate,
) -> DomainResult<Option<absence::Model>> {
    Ok(active_absence_query(member_id, on).one(db).await?)
}

/// The query `active_absence` runs (its first row is the answer), for a
/// statement that reads it along with other things.
pub fn active_absence_query(member_id: &str, on: NaiveDate) -> Select<absence::Entity> {
    absence::Entity::find()
        .filter(absence::Column::MemberId.eq(member_id))
        .filter(absence::Column::FromOn.lte(on))
        .filter(absence::Column::ToOn.gte(on))
        .order_by_desc(absence::Column::CreatedAt)
        // Ids are UUIDv7 (time-ordered): a stable tie-break for equal timestamps.
        .order_by_desc(absence::Column::Id)
}

/// Whether `delegate_id` is the delegate of the absence in force for
/// `member_id` on `on`.
pub async fn is_active_delegate_for(
    db: &impl ConnectionTrait,
    delegate_id: &str,
    member_id: &str,
    on: NaiveDate,
) -> DomainResult<bool> {
    Ok(active_absence(db, member_id, on)
        .await?
        .is_some_and(|a| a.delegate_id.as_deref() == Some(delegate_id)))
}
