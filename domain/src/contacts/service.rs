//! Contact rules: a member's own address book, validated on the way in and
//! only ever read back by its owner.

use chrono::Utc;
use entities::contact;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
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
    if let Some(score) = input.nps_score
        && !NPS_RANGE.contains(&score)
    {
        return Err(DomainError::bad_input(
            "input.npsScore",
            "npsScore must be between 0 and 10",
        ));
    }
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
    txn.commit().await?;
    Ok(row)
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
    let total = base.clone().count(&state.db).await?;
    let rows = base
        .order_by(
            Expr::expr(Func::lower(Expr::col(contact::Column::Name))),
            Order::Asc,
        )
        .order_by_asc(contact::Column::Name)
        .order_by_asc(contact::Column::Id)
        .offset(page.offset)
        .limit(page.limit)
        .all(&state.db)
        .await?;
    Ok((rows, total))
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
