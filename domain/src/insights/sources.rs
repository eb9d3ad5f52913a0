//! The sources report: conversion of received referrals by the kind of
//! source, channel, temperature and presence. Counts and values come from
//! one grouped statement; medians from one statement listing the period's
//! wins (a median is not an aggregate SQLite has). Every breakdown is folded
//! from the same grouped rows, so each sums to the total.

use std::collections::BTreeMap;

use chrono::{NaiveDate, Utc};
use entities::{Channel, ContactKind, ReferralStatus, contact, group, referral};
use sea_orm::sea_query::{Alias, CaseStatement, Expr, ExprTrait, SimpleExpr};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::access::require_group_leader;
use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::money::Money;
use crate::reports::group_report::check_period;
use crate::sql::{count_all, day_range, sum_if};
use crate::validation::id;

/// Where a referral came from, in the contract's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceKind {
    Member,
    PartnerFirm,
    Client,
    Professional,
    OtherContact,
}

impl SourceKind {
    fn of(giver: i32, contact_kind: Option<ContactKind>) -> SourceKind {
        match (giver, contact_kind) {
            (GIVER_MEMBER, _) => SourceKind::Member,
            (GIVER_FIRM, _) => SourceKind::PartnerFirm,
            (_, Some(ContactKind::Client)) => SourceKind::Client,
            (_, Some(ContactKind::Professional)) => SourceKind::Professional,
            _ => SourceKind::OtherContact,
        }
    }
}

const GIVER_MEMBER: i32 = 0;
const GIVER_FIRM: i32 = 1;
const GIVER_CONTACT: i32 = 2;

/// Received, won, lost (LOST and DECLINED), open (the rest), WON value and
/// the median whole days from creation to win.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversion {
    pub received: i64,
    pub won: i64,
    pub lost: i64,
    pub open: i64,
    pub won_value: Money,
    pub median_days_to_win: Option<f64>,
    days_to_win: Vec<i64>,
}

impl Conversion {
    /// won / received, 0 when nothing was received.
    pub fn conversion_rate(&self) -> f64 {
        if self.received == 0 {
            0.0
        } else {
            self.won as f64 / self.received as f64
        }
    }

    fn add(&mut self, status: ReferralStatus, n: i64, value: i64) {
        self.received += n;
        match status {
            ReferralStatus::Won => {
                self.won += n;
                self.won_value = Money::from_stored(self.won_value.stored() + value);
            }
            ReferralStatus::Lost | ReferralStatus::Declined => self.lost += n,
            _ => self.open += n,
        }
    }

    fn finish(&mut self) {
        self.median_days_to_win = median(&mut self.days_to_win);
    }
}

/// The middle value, or the mean of the two middle values.
pub fn median(values: &mut [i64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid] as f64
    } else {
        (values[mid - 1] + values[mid]) as f64 / 2.0
    })
}

#[derive(Debug, Clone)]
pub struct SourcesReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The currency `won_value` figures are in.
    pub currency: String,
    pub total: Conversion,
    pub by_source: Vec<(SourceKind, Conversion)>,
    pub by_channel: Vec<(Channel, Conversion)>,
    pub by_temperature: Vec<(i32, Conversion)>,
    pub by_presence: Vec<(bool, Conversion)>,
}

/// Whose received referrals the report covers.
#[derive(Debug, Clone)]
pub enum Scope {
    /// The member's received referrals; values only in `currency`.
    Member {
        id: String,
        currency: String,
        home: String,
    },
    /// Referrals received by members within the group.
    Group { id: String, currency: String },
}

/// Checks the caller, the scope and the period, then builds the report.
pub async fn sources_report(
    state: &Ctx,
    caller: &Caller,
    member_id: Option<&str>,
    group_id: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
    currency: Option<String>,
) -> DomainResult<SourcesReport> {
    let me = caller.member()?;
    let db = &state.db;
    let scope = match (member_id, group_id) {
        (Some(m), None) => {
            let m = id("memberId", m)?;
            let exists = entities::member::Entity::find_by_id(m.clone())
                .one(db)
                .await?
                .is_some();
            let allowed = exists && (m == me.id || crate::access::leads_member(db, me, &m).await?);
            if !allowed {
                return Err(DomainError::not_found_at("memberId", "member"));
            }
            let home = crate::balances::service::home_currency(db, &m).await?;
            Scope::Member {
                id: m,
                currency: currency.unwrap_or_else(|| home.clone()),
                home,
            }
        }
        (None, Some(g)) => {
            let g = id("groupId", g)?;
            let group = crate::groups::service::find_group(db, &g).await?;
            require_group_leader(db, caller, &group.id).await?;
            Scope::Group {
                id: group.id,
                currency: group.currency,
            }
        }
        _ => {
            return Err(DomainError::bad_input(
                "memberId",
                "give exactly one of memberId or groupId",
            ));
        }
    };
    check_period(from, to)?;
    build(db, &scope, from, to).await
}

/// 0 for a member giver, 1 for a firm, 2 for a contact.
fn giver_kind() -> SimpleExpr {
    CaseStatement::new()
        .case(
            Expr::col((referral::Entity, referral::Column::GiverMemberId)).is_not_null(),
            Expr::val(GIVER_MEMBER),
        )
        .case(
            Expr::col((referral::Entity, referral::Column::GiverFirmId)).is_not_null(),
            Expr::val(GIVER_FIRM),
        )
        .finally(Expr::val(GIVER_CONTACT))
        .into()
}

/// The referrals the scope covers in the period, withdrawn ones excluded.
fn covered(scope: &Scope, from: NaiveDate, to: NaiveDate) -> Condition {
    let (start, end) = day_range(from, to);
    let who = match scope {
        Scope::Member { id, .. } => Condition::all().add(referral::Column::ReceiverMemberId.eq(id)),
        Scope::Group { id, .. } => Condition::all()
            .add(referral::Column::GroupId.eq(id))
            .add(referral::Column::ReceiverMemberId.is_not_null()),
    };
    who.add(referral::Column::Status.ne(ReferralStatus::Withdrawn))
        .add(referral::Column::CreatedAt.gte(start))
        .add(referral::Column::CreatedAt.lt(end))
}

/// Which referrals' values count: those in the report's currency (a
/// referral with no group is in the member's home currency). `None`: all
/// (a group's referrals are all in its currency).
fn in_currency(scope: &Scope) -> Option<SimpleExpr> {
    match scope {
        Scope::Group { .. } => None,
        Scope::Member { currency, home, .. } => {
            let same = group::Column::Currency.eq(currency.clone());
            Some(if currency == home {
                same.or(referral::Column::GroupId.is_null())
            } else {
                same
            })
        }
    }
}

/// The covered referrals with the columns every breakdown is keyed by:
/// giver kind, contact kind, channel, temperature, presence.
fn keyed(scope: &Scope, from: NaiveDate, to: NaiveDate) -> sea_orm::Select<referral::Entity> {
    referral::Entity::find()
        .select_only()
        .column_as(giver_kind(), "giver_kind")
        .column(contact::Column::Kind)
        .column(referral::Column::Channel)
        .column(referral::Column::Temperature)
        .column(referral::Column::MadeInAbsence)
        .left_join(contact::Entity)
        .filter(covered(scope, from, to))
}

type AggRow = (
    i32,
    Option<ContactKind>,
    Channel,
    i32,
    bool,
    ReferralStatus,
    i64,
    i64,
);
type WinRow = (
    i32,
    Option<ContactKind>,
    Channel,
    i32,
    bool,
    chrono::DateTime<Utc>,
    Option<chrono::DateTime<Utc>>,
);

pub async fn build(
    db: &impl ConnectionTrait,
    scope: &Scope,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<SourcesReport> {
    let won = referral::Column::Status.eq(ReferralStatus::Won);
    let won_value = sum_if(
        match in_currency(scope) {
            Some(c) => won.and(c),
            None => won,
        },
        Expr::col((referral::Entity, referral::Column::ClosedValueE4)),
    );
    let rows: Vec<AggRow> = keyed(scope, from, to)
        .column(referral::Column::Status)
        .column_as(count_all(), "n")
        .column_as(won_value, "value")
        .left_join(group::Entity)
        // By the output column's name: PostgreSQL does not match a repeated
        // CASE whose literals are bound as different parameters.
        .group_by(Expr::col(Alias::new("giver_kind")))
        .group_by(contact::Column::Kind)
        .group_by(referral::Column::Channel)
        .group_by(referral::Column::Temperature)
        .group_by(referral::Column::MadeInAbsence)
        .group_by(referral::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let wins: Vec<WinRow> = keyed(scope, from, to)
        .column(referral::Column::CreatedAt)
        .column(referral::Column::WonAt)
        .filter(referral::Column::Status.eq(ReferralStatus::Won))
        .into_tuple()
        .all(db)
        .await?;

    let mut total = Conversion::default();
    let mut by_source: BTreeMap<SourceKind, Conversion> = BTreeMap::new();
    let mut by_channel: BTreeMap<usize, (Channel, Conversion)> = BTreeMap::new();
    let mut by_temperature: BTreeMap<i32, Conversion> = BTreeMap::new();
    let mut by_presence: BTreeMap<bool, Conversion> = BTreeMap::new();
    for (giver, kind, channel, temperature, absent, status, n, value) in rows {
        let source = SourceKind::of(giver, kind);
        total.add(status, n, value);
        by_source.entry(source).or_default().add(status, n, value);
        by_channel
            .entry(channel_rank(channel))
            .or_insert_with(|| (channel, Conversion::default()))
            .1
            .add(status, n, value);
        by_temperature
            .entry(temperature)
            .or_default()
            .add(status, n, value);
        by_presence.entry(absent).or_default().add(status, n, value);
    }
    for (giver, kind, channel, temperature, absent, created, won) in wins {
        // Whole days, rounded down; a win stamped before its creation
        // (clock skew) counts as day 0, one without a date not at all.
        let Some(won) = won else { continue };
        let days = Ord::max((won - created).num_days(), 0);
        total.days_to_win.push(days);
        let source = SourceKind::of(giver, kind);
        for c in [
            by_source.get_mut(&source),
            by_channel.get_mut(&channel_rank(channel)).map(|(_, c)| c),
            by_temperature.get_mut(&temperature),
            by_presence.get_mut(&absent),
        ]
        .into_iter()
        .flatten()
        {
            c.days_to_win.push(days);
        }
    }
    total.finish();
    let finish = |mut c: Conversion| {
        c.finish();
        c
    };
    let currency = match scope {
        Scope::Member { currency, .. } | Scope::Group { currency, .. } => currency.clone(),
    };
    Ok(SourcesReport {
        from,
        to,
        currency,
        total,
        by_source: by_source.into_iter().map(|(k, c)| (k, finish(c))).collect(),
        by_channel: by_channel
            .into_values()
            .map(|(k, c)| (k, finish(c)))
            .collect(),
        by_temperature: by_temperature
            .into_iter()
            .map(|(k, c)| (k, finish(c)))
            .collect(),
        by_presence: by_presence
            .into_iter()
            .map(|(k, c)| (k, finish(c)))
            .collect(),
    })
}

/// The channel's place in the contract's enum order.
fn channel_rank(c: Channel) -> usize {
    match c {
        Channel::Meeting => 0,
        Channel::OneToOne => 1,
        Channel::Portal => 2,
        Channel::PartnerApi => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [7]), Some(7.0));
        assert_eq!(median(&mut [9, 1, 4]), Some(4.0));
        assert_eq!(median(&mut [10, 1, 4, 3]), Some(3.5));
    }
}
