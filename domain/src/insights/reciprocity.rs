//! Givers gain: the parties who gave a member more referrals than the member
//! gave them over the last year. Two grouped statements (received by giver,
//! given by receiver) whatever the number of parties.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entities::{ReferralStatus, referral};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::caller::Caller;
use crate::error::{DomainError, DomainResult};
use crate::sql::count_all;

/// The window the figures cover.
pub const WINDOW_DAYS: i64 = 365;
pub const DEFAULT_FIRST: i32 = 10;
pub const MAX_FIRST: i32 = 100;

/// Someone a member exchanges referrals with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Party {
    Member(String),
    Firm(String),
    Contact(String),
}

impl Party {
    fn from_columns(
        member: Option<String>,
        firm: Option<String>,
        contact: Option<String>,
    ) -> Option<Party> {
        member
            .map(Party::Member)
            .or(firm.map(Party::Firm))
            .or(contact.map(Party::Contact))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exchange {
    pub received_from: i64,
    pub given_to: i64,
    pub last_received_at: Option<DateTime<Utc>>,
}

impl Exchange {
    /// How many more referrals the party gave than it received.
    pub fn owed(&self) -> i64 {
        self.received_from - self.given_to
    }
}

/// `first` for the intelligence lists: 0..=100, default 10.
pub fn first_arg(first: Option<i32>) -> DomainResult<u64> {
    let first = first.unwrap_or(DEFAULT_FIRST);
    if !(0..=MAX_FIRST).contains(&first) {
        return Err(DomainError::bad_input(
            "first",
            format!("first must be between 0 and {MAX_FIRST}"),
        ));
    }
    Ok(first as u64)
}

/// A giver's columns, count and latest referral.
type ReceivedRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<DateTime<Utc>>,
);
/// A receiver's columns and count.
type GivenRow = (Option<String>, Option<String>, Option<String>, i64);

/// Each party the member exchanged referrals with since `since` (withdrawn
/// ones excluded), both ways.
pub async fn exchanges(
    db: &impl ConnectionTrait,
    member_id: &str,
    since: DateTime<Utc>,
) -> DomainResult<HashMap<Party, Exchange>> {
    let received: Vec<ReceivedRow> = referral::Entity::find()
        .select_only()
        .column(referral::Column::GiverMemberId)
        .column(referral::Column::GiverFirmId)
        .column(referral::Column::GiverContactId)
        .column_as(count_all(), "n")
        .column_as(referral::Column::CreatedAt.max(), "last")
        .filter(referral::Column::ReceiverMemberId.eq(member_id))
        .filter(referral::Column::Status.ne(ReferralStatus::Withdrawn))
        .filter(referral::Column::CreatedAt.gte(since))
        .group_by(referral::Column::GiverMemberId)
        .group_by(referral::Column::GiverFirmId)
        .group_by(referral::Column::GiverContactId)
        .into_tuple()
        .all(db)
        .await?;
    let given: Vec<GivenRow> = referral::Entity::find()
        .select_only()
        .column(referral::Column::ReceiverMemberId)
        .column(referral::Column::ReceiverFirmId)
        .column(referral::Column::ReceiverContactId)
        .column_as(count_all(), "n")
        .filter(referral::Column::GiverMemberId.eq(member_id))
        .filter(referral::Column::Status.ne(ReferralStatus::Withdrawn))
        .filter(referral::Column::CreatedAt.gte(since))
        .group_by(referral::Column::ReceiverMemberId)
        .group_by(referral::Column::ReceiverFirmId)
        .group_by(referral::Column::ReceiverContactId)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<Party, Exchange> = HashMap::new();
    for (m, f, c, n, last) in received {
        if let Some(p) = Party::from_columns(m, f, c) {
            let e = out.entry(p).or_default();
            e.received_from += n;
            e.last_received_at = e.last_received_at.max(last);
        }
    }
    for (m, f, c, n) in given {
        if let Some(p) = Party::from_columns(m, f, c) {
            out.entry(p).or_default().given_to += n;
        }
    }
    Ok(out)
}

/// The parties the caller owes, largest difference first (then the most
/// recent giver first, then a stable order).
pub async fn reciprocity(
    db: &impl ConnectionTrait,
    caller: &Caller,
    first: Option<i32>,
) -> DomainResult<Vec<(Party, Exchange)>> {
    let me = caller.member()?;
    let first = first_arg(first)?;
    let since = Utc::now() - Duration::days(WINDOW_DAYS);
    let mut rows: Vec<(Party, Exchange)> = exchanges(db, &me.id, since)
        .await?
        .into_iter()
        .filter(|(_, e)| e.owed() > 0)
        .collect();
    rows.sort_by(|(pa, a), (pb, b)| {
        b.owed()
            .cmp(&a.owed())
            .then(b.last_received_at.cmp(&a.last_received_at))
            .then(pa.cmp(pb))
    });
    rows.truncate(first as usize);
    Ok(rows)
}
