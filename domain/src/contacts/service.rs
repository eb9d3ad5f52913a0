//! Contact rules: a member's own address book, validated on the way in and
//! only ever read back by its owner.

use chrono::{NaiveDate, Utc};
use entities::{contact, contact_nps_score};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder,
    Set, TransactionTrait,
};

use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::paging::Page;
use crate::validation::{id, new_id, optional_email, optional_phone, optional_text, required_text};
use entities::ContactKind;

pub const MAX_NAME: usize = 200;
pub const MAX_COMPANY: usize = 200;
pub const NPS_RANGE: std::ops::RangeInclusive<i32> = 0..=10;

pub struct NewContact {
    pub name: String,
    pub kind: ContactKind,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub nps_score: Option<i32>,
}

pub async fn add_contact(
    state: &Ctx,
    caller: &Caller,
    input: NewContact,
) -> DomainResult<contact::Model> {
    let me = caller.member()?;
    let name = required_text("input.name", &input.name, MAX_NAME)?;
    let email = optional_email("input.email", input.email.as_deref())?;
    let phone = optional_phone("input.phone", input.phone.as_deref())?;
    let company = optional_text("input.company", input.company.as_deref(), MAX_COMPANY)?;
    check_nps(input.nps_score)?;
    let txn = state.db.begin().await?;
    let row = contact::ActiveModel {
        id: Set(new_id()),
        owner_id: Set(me.id.clone()),
        name: Set(name),
        kind: Set(input.kind),
        email: Set(email.map(|e| e.as_str().to_string())),
        phone: Set(phone),
        company: Set(company),
        nps_score: Set(input.nps_score),
        // The score is as of the day it is given.
        nps_on: Set(input.nps_score.map(|_| Utc::now().date_naive())),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    if let Some(score) = input.nps_score {
        record_nps(&txn, &row.id, score, row.created_at).await?;
    }
    txn.commit().await?;
    Ok(row)
}

fn check_nps(score: Option<i32>) -> DomainResult<()> {
    match score {
        Some(s) if !NPS_RANGE.contains(&s) => Err(DomainError::bad_input(
            "input.npsScore",
            "npsScore must be between 0 and 10",
        )),
        _ => Ok(()),
    }
}

async fn record_nps(
    db: &impl ConnectionTrait,
    contact_id: &str,
    score: i32,
    now: chrono::DateTime<Utc>,
) -> DomainResult<()> {
    contact_nps_score::ActiveModel {
        id: Set(new_id()),
        contact_id: Set(contact_id.to_string()),
        score: Set(score),
        scored_on: Set(now.date_naive()),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// How a latest NPS score classes its giver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpsClass {
    Promoter,
    Passive,
    Detractor,
}

impl NpsClass {
    /// PROMOTER 9-10, PASSIVE 7-8, DETRACTOR 0-6.
    pub fn of(score: i32) -> NpsClass {
        match score {
            9.. => NpsClass::Promoter,
            7..=8 => NpsClass::Passive,
            _ => NpsClass::Detractor,
        }
    }
}

pub struct ContactUpdate {
    pub contact_id: String,
    pub name: Option<String>,
    pub kind: Option<ContactKind>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub nps_score: Option<i32>,
}

/// The owner edits a contact: only the fields given change (an empty
/// email, phone or company clears it; an empty name is refused). A new NPS
/// score is appended to the history with today's date and becomes the
/// contact's latest. Someone else's contact is `NOT_FOUND`.
pub async fn update_contact(
    state: &Ctx,
    caller: &Caller,
    input: ContactUpdate,
) -> DomainResult<contact::Model> {
    let me = caller.member()?;
    let name = input
        .name
        .as_deref()
        .map(|n| required_text("input.name", n, MAX_NAME))
        .transpose()?;
    let email = input
        .email
        .as_deref()
        .map(|e| optional_email("input.email", Some(e)))
        .transpose()?;
    let phone = input
        .phone
        .as_deref()
        .map(|p| optional_phone("input.phone", Some(p)))
        .transpose()?;
    let company = input
        .company
        .as_deref()
        .map(|c| optional_text("input.company", Some(c), MAX_COMPANY))
        .transpose()?;
    check_nps(input.nps_score)?;
    let txn = state.db.begin().await?;
    let current = find_owned_contact(&txn, &me.id, &input.contact_id)
        .await?
        .ok_or_else(|| DomainError::not_found_at("input.contactId", "contact"))?;
    let now = Utc::now();
    let mut active: contact::ActiveModel = current.clone().into();
    if let Some(v) = name {
        active.name = Set(v);
    }
    if let Some(v) = input.kind {
        active.kind = Set(v);
    }
    if let Some(v) = email {
        active.email = Set(v.map(|e| e.as_str().to_string()));
    }
    if let Some(v) = phone {
        active.phone = Set(v);
    }
    if let Some(v) = company {
        active.company = Set(v);
    }
    if let Some(score) = input.nps_score {
        active.nps_score = Set(Some(score));
        active.nps_on = Set(Some(now.date_naive()));
        record_nps(&txn, &current.id, score, now).await?;
    }
    let updated = if active.is_changed() {
        active.update(&txn).await?
    } else {
        current
    };
    txn.commit().await?;
    Ok(updated)
}

/// Each contact's NPS scores, oldest first (one query for any number).
pub async fn nps_histories(
    db: &impl ConnectionTrait,
    contact_ids: &[String],
) -> DomainResult<std::collections::HashMap<String, Vec<(i32, NaiveDate)>>> {
    let rows = contact_nps_score::Entity::find()
        .filter(contact_nps_score::Column::ContactId.is_in(contact_ids.iter().cloned()))
        .order_by_asc(contact_nps_score::Column::CreatedAt)
        .order_by_asc(contact_nps_score::Column::Id)
        .all(db)
        .await?;
    let mut out: std::collections::HashMap<String, Vec<_>> = std::collections::HashMap::new();
    for row in rows {
        out.entry(row.contact_id)
            .or_default()
            .push((row.score, row.scored_on));
    }
    Ok(out)
}

/// One page of the caller's contacts by name, and the total. Sorted on
/// `LOWER(name)` so "anna" and "Bo" sort alike on both databases (SQLite's
/// default collation is case-sensitive, PostgreSQL's usually is not).
pub async fn my_contacts(
    state: &Ctx,
    caller: &Caller,
    page: Page,
) -> DomainResult<(Vec<contact::Model>, u64)> {
    let me = caller.member()?;
    let base = contact::Entity::find().filter(contact::Column::OwnerId.eq(me.id.clone()));
    let by_name = |q: sea_orm::Select<contact::Entity>| {
        q.order_by(
            Expr::expr(Func::lower(Expr::col(contact::Column::Name))),
            Order::Asc,
        )
        .order_by_asc(contact::Column::Name)
        .order_by_asc(contact::Column::Id)
    };
    crate::paging::read(&state.db, base, by_name, page).await
}

/// A contact of `owner_id`'s; `None` if unknown, malformed or someone else's
/// (callers cannot tell which, so contacts do not leak).
pub async fn find_owned_contact(
    db: &impl ConnectionTrait,
    owner_id: &str,
    contact_id: &str,
) -> DomainResult<Option<contact::Model>> {
    let Ok(contact_id) = id("contactId", contact_id) else {
        return Ok(None);
    };
    Ok(contact::Entity::find_by_id(contact_id)
        .filter(contact::Column::OwnerId.eq(owner_id))
        .one(db)
        .await?)
}
