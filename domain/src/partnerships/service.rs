//! Partnership rules: declare one, move it through the VCP stages (each
//! change kept with its day), end it, list them with their figures.

use chrono::{Duration, NaiveDate, Utc};
use entities::{PartnershipStage, member, partnership, partnership_stage};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    SqlErr, TransactionTrait,
};

use crate::balances::service::{Counterpart, PairStats, pair_stats};
use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::paging::Page;
use crate::validation::{id, new_id};

/// The one-way flag looks at this many days back.
pub const ONE_WAY_WINDOW_DAYS: i64 = 365;

pub struct NewPartnership {
    pub member_id: Option<String>,
    pub contact_id: Option<String>,
    pub since: Option<NaiveDate>,
    pub stage: Option<PartnershipStage>,
}

pub async fn add(
    state: &Ctx,
    caller: &Caller,
    input: NewPartnership,
) -> DomainResult<partnership::Model> {
    let me = caller.member()?;
    let db = &state.db;
    let today = Utc::now().date_naive();
    let since = input.since.unwrap_or(today);
    if since > today {
        return Err(DomainError::bad_input(
            "input.since",
            "since cannot be in the future",
        ));
    }
    let (partner_member_id, partner_contact_id) = match (input.member_id, input.contact_id) {
        (Some(m), None) => {
            let m = id("input.memberId", &m)?;
            if m == me.id {
                return Err(DomainError::bad_input(
                    "input.memberId",
                    "a partnership is with someone else",
                ));
            }
            let found = crate::members::rows::find()
                .filter(member::Column::Id.eq(m.as_str()))
                .one(db)
                .await?;
            if found.is_none() {
                return Err(DomainError::not_found_at("input.memberId", "member"));
            }
            let mine = crate::access::active_group_ids(db, &me.id).await?;
            let theirs = crate::access::active_group_ids(db, &m).await?;
            if !mine.iter().any(|g| theirs.contains(g)) {
                return Err(DomainError::Forbidden(
                    "you can partner only with members of a group you share".into(),
                ));
            }
            (Some(m), None)
        }
        (None, Some(c)) => {
            let c = id("input.contactId", &c)?;
            let contact = crate::contacts::service::find_owned_contact(db, &me.id, &c)
                .await?
                .ok_or_else(|| DomainError::not_found_at("input.contactId", "contact"))?;
            (None, Some(contact.id))
        }
        _ => {
            return Err(DomainError::bad_input(
                "input",
                "give exactly one of memberId and contactId",
            ));
        }
    };
    let stage = input.stage.unwrap_or(PartnershipStage::Visibility);
    let now = Utc::now();
    let txn = db.begin().await?;
    let row = partnership::ActiveModel {
        id: Set(new_id()),
        member_id: Set(me.id.clone()),
        partner_member_id: Set(partner_member_id),
        partner_contact_id: Set(partner_contact_id),
        since: Set(since),
        stage: Set(stage),
        ended_on: Set(None),
        created_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            DomainError::Conflict("you already have this partnership".into())
        }
        _ => e.into(),
    })?;
    record_stage(&txn, &row.id, stage, since, now).await?;
    txn.commit().await?;
    Ok(row)
}

async fn record_stage(
    db: &impl ConnectionTrait,
    partnership_id: &str,
    stage: PartnershipStage,
    on: NaiveDate,
    now: chrono::DateTime<Utc>,
) -> DomainResult<()> {
    partnership_stage::ActiveModel {
        id: Set(new_id()),
        partnership_id: Set(partnership_id.to_string()),
        stage: Set(stage),
        changed_on: Set(on),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

pub struct PartnershipUpdate {
    pub partnership_id: String,
    pub stage: Option<PartnershipStage>,
    pub ended_on: Option<NaiveDate>,
}

/// The owner moves the stage (any direction; a change to the stage it
/// already has records nothing) and may end the partnership (`endedOn` not
/// in the future, not before `since`). Someone else's partnership is
/// `NOT_FOUND`, as is an unknown one.
pub async fn update(
    state: &Ctx,
    caller: &Caller,
    input: PartnershipUpdate,
) -> DomainResult<partnership::Model> {
    let me = caller.member()?;
    let not_found = || DomainError::not_found_at("input.partnershipId", "partnership");
    let Ok(partnership_id) = id("input.partnershipId", &input.partnership_id) else {
        return Err(not_found());
    };
    let today = Utc::now().date_naive();
    if input.ended_on.is_some_and(|d| d > today) {
        return Err(DomainError::bad_input(
            "input.endedOn",
            "endedOn cannot be in the future",
        ));
    }
    let txn = state.db.begin().await?;
    let current = partnership::Entity::find_by_id(partnership_id)
        .filter(partnership::Column::MemberId.eq(me.id.clone()))
        .one(&txn)
        .await?
        .ok_or_else(not_found)?;
    if let Some(ended_on) = input.ended_on
        && ended_on < current.since
    {
        return Err(DomainError::bad_input(
            "input.endedOn",
            "endedOn is before the partnership began",
        ));
    }
    let mut active: partnership::ActiveModel = current.clone().into();
    let now = Utc::now();
    if let Some(stage) = input.stage
        && stage != current.stage
    {
        active.stage = Set(stage);
        record_stage(&txn, &current.id, stage, today, now).await?;
    }
    if let Some(ended_on) = input.ended_on {
        active.ended_on = Set(Some(ended_on));
    }
    let updated = if active.is_changed() {
        active.update(&txn).await?
    } else {
        current
    };
    txn.commit().await?;
    Ok(updated)
}

/// Each partnership's stages, oldest first (one query for any number).
pub async fn stage_histories(
    db: &impl ConnectionTrait,
    partnership_ids: &[String],
) -> DomainResult<std::collections::HashMap<String, Vec<partnership_stage::Model>>> {
    let rows = partnership_stage::Entity::find()
        .filter(partnership_stage::Column::PartnershipId.is_in(partnership_ids.iter().cloned()))
        .order_by_asc(partnership_stage::Column::CreatedAt)
        .order_by_asc(partnership_stage::Column::Id)
        .all(db)
        .await?;
    let mut out: std::collections::HashMap<String, Vec<_>> = std::collections::HashMap::new();
    for row in rows {
        out.entry(row.partnership_id.clone()).or_default().push(row);
    }
    Ok(out)
}

/// Days the partnership has lasted: from `since` to its end, or to today.
pub fn tenure_days(p: &partnership::Model, today: NaiveDate) -> i64 {
    (p.ended_on.unwrap_or(today).min(today) - p.since)
        .num_days()
        .max(0)
}

pub fn counterpart(p: &partnership::Model) -> Option<Counterpart> {
    match (&p.partner_member_id, &p.partner_contact_id) {
        (Some(m), _) => Some(Counterpart::Member(m.clone())),
        (None, Some(c)) => Some(Counterpart::Contact(c.clone())),
        _ => None,
    }
}

/// A page of the member's partnerships, each with its figures (two grouped
/// queries for the whole page). Ended ones only when `include_ended`.
pub async fn list(
    db: &impl ConnectionTrait,
    member_id: &str,
    include_ended: bool,
    page: Page,
) -> DomainResult<(Vec<(partnership::Model, PairStats)>, u64)> {
    let mut q = partnership::Entity::find().filter(partnership::Column::MemberId.eq(member_id));
    if !include_ended {
        q = q.filter(partnership::Column::EndedOn.is_null());
    }
    let oldest_first = |q: sea_orm::Select<partnership::Entity>| {
        q.order_by_asc(partnership::Column::Since)
            .order_by_asc(partnership::Column::Id)
    };
    let (rows, total) = crate::paging::read(db, q, oldest_first, page).await?;
    let with = with_stats(db, member_id, rows).await?;
    Ok((with, total))
}

pub async fn with_stats(
    db: &impl ConnectionTrait,
    member_id: &str,
    rows: Vec<partnership::Model>,
) -> DomainResult<Vec<(partnership::Model, PairStats)>> {
    let counterparts: Vec<Counterpart> = rows.iter().filter_map(counterpart).collect();
    let window_start = Utc::now() - Duration::days(ONE_WAY_WINDOW_DAYS);
    let stats = pair_stats(db, member_id, &counterparts, window_start, None).await?;
    Ok(rows
        .into_iter()
        .map(|p| {
            let s = counterpart(&p)
                .and_then(|c| stats.get(&c).cloned())
                .unwrap_or_default();
            (p, s)
        })
        .collect())
}
