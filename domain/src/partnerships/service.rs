//! Partnership rules: declare one, list them with their figures.

use chrono::{Duration, NaiveDate, Utc};
use entities::{PartnershipStage, member, partnership};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, SqlErr,
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
            let found = member::Entity::find_by_id(m.clone()).one(db).await?;
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
    let row = partnership::ActiveModel {
        id: Set(new_id()),
        member_id: Set(me.id.clone()),
        partner_member_id: Set(partner_member_id),
        partner_contact_id: Set(partner_contact_id),
        since: Set(since),
        stage: Set(input.stage.unwrap_or(PartnershipStage::Visibility)),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            DomainError::Conflict("you already have this partnership".into())
        }
        _ => e.into(),
    })?;
    Ok(row)
}

pub fn counterpart(p: &partnership::Model) -> Option<Counterpart> {
    match (&p.partner_member_id, &p.partner_contact_id) {
        (Some(m), _) => Some(Counterpart::Member(m.clone())),
        (None, Some(c)) => Some(Counterpart::Contact(c.clone())),
        _ => None,
    }
}

/// A page of the member's partnerships, each with its figures (two grouped
/// queries for the whole page).
pub async fn list(
    db: &DatabaseConnection,
    member_id: &str,
    page: Page,
) -> DomainResult<(Vec<(partnership::Model, PairStats)>, u64)> {
    let q = partnership::Entity::find().filter(partnership::Column::MemberId.eq(member_id));
    let total = q.clone().count(db).await?;
    let rows = q
        .order_by_asc(partnership::Column::Since)
        .order_by_asc(partnership::Column::Id)
        .offset(page.offset)
        .limit(page.limit)
        .all(db)
        .await?;
    let with = with_stats(db, member_id, rows).await?;
    Ok((with, total))
}

pub async fn with_stats(
    db: &DatabaseConnection,
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
