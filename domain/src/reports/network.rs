//! The network-effect report: how a member's referrals arrive (in presence
//! or in absence, month by month), how far their partnerships reach, and
//! the generations that grow when referred prospects become members.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate};
use entities::{ReferralStatus, member, partnership, referral};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QuerySelect,
};

use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::money::Money;
use crate::sql::{count_all, day_range, sum_if};
use crate::validation::id;

/// Generations followed at most (a safety bound on the walk).
pub const MAX_GENERATIONS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthFlow {
    pub month: String,
    pub received_in_presence: i64,
    pub received_in_absence: i64,
    pub distinct_absent_givers: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    pub generation: i32,
    pub referrals: i64,
    pub won_value: Money,
}

pub struct NetworkReport {
    pub direct_partners: i64,
    pub second_degree_reach: i64,
    pub absence_share: f64,
    pub months: Vec<MonthFlow>,
    pub generations: Vec<Generation>,
}

/// The member themself, an admin, or a leader of a group the member is active in.
pub async fn network_report(
    state: &Ctx,
    caller: &Caller,
    member_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<NetworkReport> {
    let member_id = id("memberId", member_id)?;
    let me = caller.member()?;
    let db = &state.db;
    let subject = member::Entity::find_by_id(member_id.clone())
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("member"))?;
    if me.id != subject.id && !crate::access::leads_member(db, me, &subject.id).await? {
        return Err(DomainError::Forbidden(
            "only the member and the leaders of their groups may read this report".into(),
        ));
    }
    if from > to {
        return Err(DomainError::bad_input("to", "to is before from"));
    }
    if (to - from).num_days() > super::group_report::MAX_PERIOD_DAYS {
        return Err(DomainError::bad_input("to", "the period is too long"));
    }
    build(db, &subject, from, to).await
}

fn month_key(backend: DatabaseBackend) -> Expr {
    match backend {
        DatabaseBackend::Postgres => {
            Expr::cust("to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM')")
        }
        // Timestamps are stored as text starting "YYYY-MM-DD" on SQLite.
        _ => Expr::cust("substr(created_at, 1, 7)"),
    }
}

/// Referrals received (withdrawn excluded) by whoever `receivers` selects,
/// month by month over the period, in presence and in absence; and the
/// share made in absence.
pub async fn monthly(
    db: &impl ConnectionTrait,
    receivers: Condition,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<(Vec<MonthFlow>, f64)> {
    let (start, end) = day_range(from, to);
    let received = || {
        referral::Entity::find()
            .select_only()
            .filter(receivers.clone())
            .filter(referral::Column::Status.ne(ReferralStatus::Withdrawn))
            .filter(referral::Column::CreatedAt.gte(start))
            .filter(referral::Column::CreatedAt.lt(end))
    };
    let giver_key = Func::coalesce([
        Expr::col(referral::Column::GiverMemberId),
        Expr::col(referral::Column::GiverFirmId),
        Expr::col(referral::Column::GiverContactId),
    ]);
    let givers: Expr = Func::cast_as(
        Func::count_distinct(giver_key),
        sea_orm::sea_query::Alias::new("BIGINT"),
    )
    .into();
    let rows: Vec<(String, bool, i64, i64)> = received()
        .column_as(month_key(db.get_database_backend()), "month")
        .column(referral::Column::MadeInAbsence)
        .column_as(count_all(), "n")
        .column_as(givers, "givers")
        .group_by(month_key(db.get_database_backend()))
        .group_by(referral::Column::MadeInAbsence)
        .into_tuple()
        .all(db)
        .await?;
    let mut months: Vec<MonthFlow> = months_between(from, to)
        .into_iter()
        .map(|month| MonthFlow {
            month,
            received_in_presence: 0,
            received_in_absence: 0,
            distinct_absent_givers: 0,
        })
        .collect();
    let (mut present, mut absent) = (0, 0);
    for (month, in_absence, n, givers) in rows {
        let Some(flow) = months.iter_mut().find(|f| f.month == month) else {
            continue;
        };
        if in_absence {
            flow.received_in_absence += n;
            flow.distinct_absent_givers += givers;
            absent += n;
        } else {
            flow.received_in_presence += n;
            present += n;
        }
    }
    let absence_share = if present + absent == 0 {
        0.0
    } else {
        absent as f64 / (present + absent) as f64
    };

    Ok((months, absence_share))
}

fn months_between(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    let (mut y, mut m) = (from.year(), from.month());
    while (y, m) <= (to.year(), to.month()) {
        out.push(format!("{y:04}-{m:02}"));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

pub async fn build(
    db: &impl ConnectionTrait,
    subject: &member::Model,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<NetworkReport> {
    let (start, end) = day_range(from, to);
    let (months, absence_share) = monthly(
        db,
        Condition::all().add(referral::Column::ReceiverMemberId.eq(subject.id.clone())),
        from,
        to,
    )
    .await?;
    let (direct, direct_members) = direct_partners(db, &subject.id).await?;
    let second = second_degree(db, &subject.id, &direct_members).await?;
    let generations = generations(db, subject, start, end).await?;
    Ok(NetworkReport {
        direct_partners: direct as i64,
        second_degree_reach: second as i64,
        absence_share,
        months,
        generations,
    })
}

/// Partners on either side of a declared partnership: (count of distinct
/// partners, members among them).
async fn direct_partners(
    db: &impl ConnectionTrait,
    member_id: &str,
) -> DomainResult<(usize, HashSet<String>)> {
    let declared: Vec<(String, Option<String>, Option<String>)> = partnership::Entity::find()
        .select_only()
        .column(partnership::Column::MemberId)
        .column(partnership::Column::PartnerMemberId)
        .column(partnership::Column::PartnerContactId)
        .filter(
            sea_orm::Condition::any()
                .add(partnership::Column::MemberId.eq(member_id))
                .add(partnership::Column::PartnerMemberId.eq(member_id)),
        )
        .into_tuple()
        .all(db)
        .await?;
    let mut members = HashSet::new();
    let mut contacts = HashSet::new();
    for (owner, partner_member, partner_contact) in declared {
        if owner == member_id {
            if let Some(m) = partner_member {
                members.insert(m);
            }
            if let Some(c) = partner_contact {
                contacts.insert(c);
            }
        } else {
            members.insert(owner);
        }
    }
    members.remove(member_id);
    Ok((members.len() + contacts.len(), members))
}

/// Members who are partners of the member's partners, beyond the member and
/// their direct partners.
async fn second_degree(
    db: &impl ConnectionTrait,
    member_id: &str,
    direct: &HashSet<String>,
) -> DomainResult<usize> {
    if direct.is_empty() {
        return Ok(0);
    }
    let ids: Vec<String> = direct.iter().cloned().collect();
    let pairs: Vec<(String, Option<String>)> = partnership::Entity::find()
        .select_only()
        .column(partnership::Column::MemberId)
        .column(partnership::Column::PartnerMemberId)
        .filter(
            sea_orm::Condition::any()
                .add(partnership::Column::MemberId.is_in(ids.clone()))
                .add(partnership::Column::PartnerMemberId.is_in(ids)),
        )
        .into_tuple()
        .all(db)
        .await?;
    let mut reach = HashSet::new();
    for (a, b) in pairs {
        let Some(b) = b else { continue };
        for (x, y) in [(&a, &b), (&b, &a)] {
            if direct.contains(x) && y != member_id && !direct.contains(y) {
                reach.insert(y.clone());
            }
        }
    }
    Ok(reach.len())
}

/// Generation 1: referrals the member received in the period. A prospect
/// who later registered (same email) is a member whose referrals given in
/// the period are the next generation, and so on.
async fn generations(
    db: &impl ConnectionTrait,
    subject: &member::Model,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
) -> DomainResult<Vec<Generation>> {
    let mut out = Vec::new();
    let mut seen: HashSet<String> = HashSet::from([subject.id.clone()]);
    let mut current = referral::Column::ReceiverMemberId.is_in([subject.id.clone()]);
    for generation in 1..=MAX_GENERATIONS {
        let scope = || {
            referral::Entity::find()
                .select_only()
                .filter(current.clone())
                .filter(referral::Column::Status.ne(ReferralStatus::Withdrawn))
                .filter(referral::Column::CreatedAt.gte(start))
                .filter(referral::Column::CreatedAt.lt(end))
        };
        let (count, won): (i64, i64) = scope()
            .column_as(count_all(), "n")
            .column_as(
                sum_if(
                    referral::Column::Status.eq(ReferralStatus::Won),
                    Expr::col(referral::Column::ClosedValueE4),
                ),
                "won",
            )
            .into_tuple()
            .one(db)
            .await?
            .unwrap_or((0, 0));
        if count == 0 && generation > 1 {
            break;
        }
        out.push(Generation {
            generation: generation as i32,
            referrals: count,
            won_value: Money::from_stored(won),
        });
        let emails: Vec<Option<String>> = scope()
            .column(referral::Column::ProspectEmail)
            .distinct()
            .filter(referral::Column::ProspectEmail.is_not_null())
            .into_tuple()
            .all(db)
            .await?;
        let emails: HashSet<String> = emails
            .into_iter()
            .flatten()
            .map(|e| e.to_lowercase())
            .collect();
        if emails.is_empty() {
            break;
        }
        let joined: Vec<String> = member::Entity::find()
            .select_only()
            .column(member::Column::Id)
            .filter(member::Column::EmailLower.is_in(emails))
            .into_tuple()
            .all(db)
            .await?;
        let next: Vec<String> = joined
            .into_iter()
            .filter(|m| seen.insert(m.clone()))
            .collect();
        if next.is_empty() {
            break;
        }
        current = referral::Column::GiverMemberId.is_in(next);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn months() {
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            super::months_between(d("2025-11-15"), d("2026-02-01")),
            ["2025-11", "2025-12", "2026-01", "2026-02"]
        );
        assert_eq!(
            super::months_between(d("2026-03-01"), d("2026-03-31")),
            ["2026-03"]
        );
    }
}
