//! Referral requests. A request names one person: a member sharing an
//! active group with the requester, or one of the requester's contacts.
//! Referrals that person then gives the requester (until the requester's
//! next request to them) answer it: `referrals.request_id` is set when the
//! referral is written, and the request counts as answered YES from then on.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entities::{RequestResponse, contact, group, referral, referral_request};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select, Set, TransactionTrait,
};

use crate::access::active_group_ids;
use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::groups::settings::DEFAULT_REASK_DAYS;
use crate::paging::Page;
use crate::validation::{id, new_id, optional_long_text};

pub const MAX_TEXT: usize = 2000;
pub const MAX_REASON: usize = 2000;
/// An unanswered request comes back this many days after it was made.
pub const UNANSWERED_CIRCLE_BACK_DAYS: i64 = 14;
/// A contact whose latest NPS is below this is never asked.
pub const MIN_NPS_TO_ASK: i32 = 5;

/// The person a request is addressed to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Asked {
    Member(String),
    Contact(String),
}

impl Asked {
    pub fn of(r: &referral_request::Model) -> Option<Asked> {
        match (&r.to_member_id, &r.to_contact_id) {
            (Some(m), _) => Some(Asked::Member(m.clone())),
            (None, Some(c)) => Some(Asked::Contact(c.clone())),
            _ => None,
        }
    }

    fn filter(&self) -> sea_orm::Condition {
        match self {
            Asked::Member(m) => {
                sea_orm::Condition::all().add(referral_request::Column::ToMemberId.eq(m.clone()))
            }
            Asked::Contact(c) => {
                sea_orm::Condition::all().add(referral_request::Column::ToContactId.eq(c.clone()))
            }
        }
    }
}

pub struct NewRequest {
    pub member_id: Option<String>,
    pub contact_id: Option<String>,
    pub text: String,
}

/// The re-ask delay between the requester and a member: the smallest
/// `reaskAfterDays` among the active groups they share (`None`: they share
/// none, so the member cannot be asked).
pub async fn reask_days_with_member(
    db: &impl ConnectionTrait,
    me: &str,
    them: &str,
) -> DomainResult<Option<i64>> {
    let mine = active_group_ids(db, me).await?;
    let theirs = active_group_ids(db, them).await?;
    let shared: Vec<String> = mine.into_iter().filter(|g| theirs.contains(g)).collect();
    if shared.is_empty() {
        return Ok(None);
    }
    min_reask(db, shared).await
}

/// The re-ask delay for the requester's contacts: the smallest among the
/// requester's active groups, 90 days when they have none.
pub async fn reask_days_for_contacts(db: &impl ConnectionTrait, me: &str) -> DomainResult<i64> {
    let mine = active_group_ids(db, me).await?;
    Ok(min_reask(db, mine)
        .await?
        .unwrap_or(i64::from(DEFAULT_REASK_DAYS)))
}

async fn min_reask(db: &impl ConnectionTrait, groups: Vec<String>) -> DomainResult<Option<i64>> {
    if groups.is_empty() {
        return Ok(None);
    }
    let days: Vec<i32> = group::Entity::find()
        .select_only()
        .column(group::Column::ReaskAfterDays)
        .filter(group::Column::Id.is_in(groups))
        .into_tuple()
        .all(db)
        .await?;
    Ok(days.into_iter().min().map(|d| i64::from(d.max(1))))
}

/// The requester's latest request to `asked`, if any.
pub async fn latest_to(
    db: &impl ConnectionTrait,
    requester: &str,
    asked: &Asked,
    at_or_before: Option<DateTime<Utc>>,
) -> DomainResult<Option<referral_request::Model>> {
    Ok(latest_to_query(requester, asked, at_or_before)
        .one(db)
        .await?)
}

/// The query `latest_to` runs (its first row is the answer), up to
/// `at_or_before` when given.
fn latest_to_query(
    requester: &str,
    asked: &Asked,
    at_or_before: Option<DateTime<Utc>>,
) -> Select<referral_request::Entity> {
    let mut q = referral_request::Entity::find()
        .filter(referral_request::Column::RequesterId.eq(requester))
        .filter(asked.filter());
    if let Some(at) = at_or_before {
        q = q.filter(referral_request::Column::CreatedAt.lte(at));
    }
    q.order_by_desc(referral_request::Column::CreatedAt)
        .order_by_desc(referral_request::Column::Id)
}

/// The first day `requester` may ask `asked` again, given the delay.
fn next_ask_on(latest: &referral_request::Model, reask_days: i64) -> NaiveDate {
    latest.asked_on + Duration::days(reask_days)
}

/// A contact's latest NPS score is below the floor: never asked.
pub fn too_unhappy_to_ask(c: &contact::Model) -> bool {
    c.nps_score.is_some_and(|s| s < MIN_NPS_TO_ASK)
}

/// Ask one person for introductions (see the contract's RequestReferrals).
pub async fn request_referrals(
    state: &Ctx,
    caller: &Caller,
    input: NewRequest,
) -> DomainResult<referral_request::Model> {
    let me = caller.member()?;
    let asked = match (input.member_id.as_deref(), input.contact_id.as_deref()) {
        (Some(m), None) => Asked::Member(id("input.memberId", m)?),
        (None, Some(c)) => Asked::Contact(id("input.contactId", c)?),
        _ => {
            return Err(DomainError::bad_input(
                "input.memberId",
                "give exactly one of memberId or contactId",
            ));
        }
    };
    // Free text like a note (line breaks allowed), but required.
    let text = optional_long_text("input.text", Some(&input.text), MAX_TEXT)?
        .ok_or_else(|| DomainError::bad_input("input.text", "text must not be empty"))?;
    let now = Utc::now();
    let today = now.date_naive();
    let txn = state.db.begin().await?;
    // One request at a time per requester (PostgreSQL row lock; SQLite
    // writes one at a time anyway), so two concurrent asks cannot both pass
    // the re-ask check.
    entities::member::Entity::find()
        .select_only()
        .column(entities::member::Column::Id)
        .filter(entities::member::Column::Id.eq(me.id.as_str()))
        .lock_exclusive()
        .into_tuple::<String>()
        .one(&txn)
        .await?;
    let reask_days = match &asked {
        Asked::Member(m) => {
            if *m == me.id {
                return Err(DomainError::bad_input(
                    "input.memberId",
                    "ask someone other than yourself",
                ));
            }
            reask_days_with_member(&txn, &me.id, m)
                .await?
                .ok_or_else(|| DomainError::not_found_at("input.memberId", "member"))?
        }
        Asked::Contact(c) => {
            let contact = crate::contacts::service::find_owned_contact(&txn, &me.id, c)
                .await?
                .ok_or_else(|| DomainError::not_found_at("input.contactId", "contact"))?;
            if too_unhappy_to_ask(&contact) {
                return Err(DomainError::Conflict(format!(
                    "{}'s latest NPS score is below {MIN_NPS_TO_ASK}: do not ask a detractor for referrals",
                    contact.name
                )));
            }
            reask_days_for_contacts(&txn, &me.id).await?
        }
    };
    if let Some(latest) = latest_to(&txn, &me.id, &asked, None).await? {
        let again = next_ask_on(&latest, reask_days);
        if today < again {
            return Err(DomainError::Conflict(format!(
                "you asked them on {}; ask again from {again}",
                latest.asked_on
            )));
        }
    }
    // The new request replaces any earlier one still waiting: that one is
    // no longer circled back to (and new referrals answer the new one).
    referral_request::Entity::update_many()
        .col_expr(
            referral_request::Column::CircleBackOn,
            sea_orm::sea_query::Expr::value(Option::<NaiveDate>::None),
        )
        .filter(referral_request::Column::RequesterId.eq(&me.id))
        .filter(asked.filter())
        .filter(referral_request::Column::CircleBackOn.is_not_null())
        .exec(&txn)
        .await?;
    let (to_member_id, to_contact_id) = match asked {
        Asked::Member(m) => (Some(m), None),
        Asked::Contact(c) => (None, Some(c)),
    };
    let row = referral_request::ActiveModel {
        id: Set(new_id()),
        requester_id: Set(me.id.clone()),
        to_member_id: Set(to_member_id),
        to_contact_id: Set(to_contact_id),
        text: Set(text),
        asked_on: Set(today),
        response: Set(None),
        reason: Set(None),
        answered_on: Set(None),
        circle_back_on: Set(Some(today + Duration::days(UNANSWERED_CIRCLE_BACK_DAYS))),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(row)
}

pub struct Response {
    pub request_id: String,
    pub response: RequestResponse,
    pub reason: Option<String>,
}

/// The requester records the answer. NOT_NOW circles back after the
/// re-ask delay in force today; YES and NO close the request.
pub async fn record_response(
    state: &Ctx,
    caller: &Caller,
    input: Response,
) -> DomainResult<referral_request::Model> {
    let me = caller.member()?;
    let request_id = id("input.requestId", &input.request_id)?;
    let reason = optional_long_text("input.reason", input.reason.as_deref(), MAX_REASON)?;
    let today = Utc::now().date_naive();
    let txn = state.db.begin().await?;
    let current = referral_request::Entity::find_by_id(request_id)
        .filter(referral_request::Column::RequesterId.eq(&me.id))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| DomainError::not_found_at("input.requestId", "referral request"))?;
    // A referral answered it: that is a YES, whatever is recorded later
    // (the reason may still be added).
    let answered_by_referral = referral::Entity::find()
        .filter(referral::Column::RequestId.eq(current.id.clone()))
        .filter(referral::Column::Status.ne(entities::ReferralStatus::Withdrawn))
        .count(&txn)
        .await?
        > 0;
    if answered_by_referral && input.response != RequestResponse::Yes {
        return Err(DomainError::Conflict(
            "a referral already answered this request: it stands as YES".into(),
        ));
    }
    let circle_back_on = match input.response {
        RequestResponse::NotNow => {
            let days = match Asked::of(&current) {
                Some(Asked::Member(m)) => reask_days_with_member(&txn, &me.id, &m)
                    .await?
                    .unwrap_or(i64::from(DEFAULT_REASK_DAYS)),
                _ => reask_days_for_contacts(&txn, &me.id).await?,
            };
            Some(today + Duration::days(days))
        }
        RequestResponse::Yes | RequestResponse::No => None,
    };
    let first_answer = current.answered_on.filter(|_| answered_by_referral);
    let mut active: referral_request::ActiveModel = current.into();
    active.response = Set(Some(input.response));
    active.reason = Set(reason);
    active.answered_on = Set(Some(first_answer.unwrap_or(today)));
    active.circle_back_on = Set(circle_back_on);
    active.updated_at = Set(Utc::now());
    let row = active.update(&txn).await?;
    txn.commit().await?;
    Ok(row)
}

/// The caller's requests due on or before `on`, oldest circle-back first.
pub async fn due(
    db: &impl ConnectionTrait,
    caller: &Caller,
    on: NaiveDate,
    page: Page,
) -> DomainResult<(Vec<referral_request::Model>, u64)> {
    let me = caller.member()?;
    let q = referral_request::Entity::find()
        .filter(referral_request::Column::RequesterId.eq(&me.id))
        .filter(referral_request::Column::CircleBackOn.lte(on));
    let oldest_first = |q: sea_orm::Select<referral_request::Entity>| {
        q.order_by_asc(referral_request::Column::CircleBackOn)
            .order_by_asc(referral_request::Column::CreatedAt)
            .order_by_asc(referral_request::Column::Id)
    };
    crate::paging::read(db, q, oldest_first, page).await
}

/// The request a new referral answers: the receiver's latest request to
/// the giver (a member, or one of the receiver's contacts), made before it;
/// the query, unlocked, for the read of the receiver's day.
pub fn answered_by(
    giver: &Asked,
    receiver_member: &str,
    now: DateTime<Utc>,
) -> Select<referral_request::Entity> {
    latest_to_query(receiver_member, giver, Some(now))
}

/// A referral answered the request `request_id`: it counts as YES from the
/// referral's day (an earlier recorded YES keeps its day, and its row its
/// `updated_at`), and nothing is due. One statement, in the giving
/// transaction. It updates the row whatever its answer, so the row stays
/// locked until the referral commits: `record_response`, which locks it
/// and then counts the referrals that answer it, waits for this one.
pub async fn mark_answered(
    db: &impl ConnectionTrait,
    request_id: &str,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    db.execute(&answered_update(request_id, now)).await?;
    Ok(())
}

/// The statement `mark_answered` runs, for a caller that runs it with its
/// referral's writes.
pub fn answered_update(
    request_id: &str,
    now: DateTime<Utc>,
) -> sea_orm::sea_query::UpdateStatement {
    use sea_orm::QueryTrait;
    use sea_orm::sea_query::Expr;
    // With no response yet `response = 'YES'` is NULL, which CASE takes as
    // false: such a request is answered today.
    let stands = || {
        Condition::all()
            .add(referral_request::Column::Response.eq(RequestResponse::Yes))
            .add(referral_request::Column::CircleBackOn.is_null())
    };
    let kept = |column: referral_request::Column, new: Expr| -> Expr {
        Expr::case(stands(), Expr::col(column)).finally(new).into()
    };
    referral_request::Entity::update_many()
        .col_expr(
            referral_request::Column::Response,
            Expr::value(RequestResponse::Yes),
        )
        .col_expr(
            referral_request::Column::AnsweredOn,
            kept(
                referral_request::Column::AnsweredOn,
                Expr::value(now.date_naive()),
            ),
        )
        .col_expr(
            referral_request::Column::CircleBackOn,
            Expr::value(Option::<NaiveDate>::None),
        )
        .col_expr(
            referral_request::Column::UpdatedAt,
            kept(referral_request::Column::UpdatedAt, Expr::value(now)),
        )
        .filter(referral_request::Column::Id.eq(request_id))
        .into_query()
}

/// The referrals that answered each request (withdrawn ones left out),
/// oldest first, in one query.
pub async fn answering_referrals(
    db: &impl ConnectionTrait,
    request_ids: &[String],
) -> DomainResult<std::collections::HashMap<String, Vec<referral::Model>>> {
    let mut out: std::collections::HashMap<String, Vec<referral::Model>> =
        std::collections::HashMap::new();
    if request_ids.is_empty() {
        return Ok(out);
    }
    let rows = referral::Entity::find()
        .filter(referral::Column::RequestId.is_in(request_ids.iter().cloned()))
        .filter(referral::Column::Status.ne(entities::ReferralStatus::Withdrawn))
        .order_by_asc(referral::Column::CreatedAt)
        .order_by_asc(referral::Column::Id)
        .all(db)
        .await?;
    for r in rows {
        if let Some(req) = r.request_id.clone() {
            out.entry(req).or_default().push(r);
        }
    }
    Ok(out)
}
