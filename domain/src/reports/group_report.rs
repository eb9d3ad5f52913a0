//! The group report of SPEC.md. Every figure comes from grouped SQL over
//! the period — a fixed number of statements whatever the group's size —
//! and totals are the sums of the rows, so they always agree.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDate, Utc};
use entities::{
    AttendanceStatus, ReferralStatus, attendance, meeting, member, membership, one_to_one,
    partnership, referral, visitor,
};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::score::{Activity, Score, TrafficLight, WINDOW_DAYS, score, window_start};
use crate::access::require_group_leader;
use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::members::tenure::{Seat, tenure};
use crate::money::Money;
use crate::sql::{count_all, count_if, day_range, sum_of};
use crate::validation::id;

/// Longest period one report may cover.
pub const MAX_PERIOD_DAYS: i64 = 3 * 366;
/// The one-way flag looks at this many days before the report's end.
pub const ONE_WAY_DAYS: i64 = 365;
/// A win is unthanked when no thanks came this long after it.
pub const UNTHANKED_AFTER_DAYS: i64 = 7;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Palms {
    pub present: i64,
    pub absent: i64,
    pub late: i64,
    pub medical: i64,
    pub substitute: i64,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub member: member::Model,
    pub given: i64,
    pub given_inside_group: i64,
    pub given_outside: i64,
    pub received: i64,
    pub given_in_absence: i64,
    pub received_in_absence: i64,
    pub closed_value_given: Money,
    pub closed_value_received: Money,
    pub one_to_ones: i64,
    pub visitors: i64,
    pub attendance: Palms,
    pub tenure_days: i64,
    pub score: Score,
    pub traffic_light: TrafficLight,
    pub group_hopping: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub given: i64,
    pub received: i64,
    pub given_in_absence: i64,
    pub closed_value: Money,
    pub one_to_ones: i64,
    pub visitors: i64,
}

#[derive(Debug, Clone)]
pub struct OneWay {
    pub from: member::Model,
    pub to: member::Model,
    pub given: i64,
}

pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub totals: Totals,
    pub rows: Vec<Row>,
    pub one_way: Vec<OneWay>,
    pub unthanked_wins: Vec<referral::Model>,
    pub overdue_follow_ups: Vec<referral::Model>,
}

/// Checks the caller and the period, then builds the report.
pub async fn group_report(
    state: &Ctx,
    caller: &Caller,
    group_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<Report> {
    let group = check(state, caller, group_id, from, to).await?;
    build(&state.db, &group.id, from, to).await
}

/// Who may read a group's report, and for which periods: its leaders (and
/// admins), `from` ≤ `to`, at most `MAX_PERIOD_DAYS` apart. Every way of
/// reading the report (GraphQL, CSV, the leader's page and its link) asks
/// here first.
pub async fn check(
    state: &Ctx,
    caller: &Caller,
    group_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<entities::group::Model> {
    let group_id = id("groupId", group_id)?;
    caller.member()?;
    let group = crate::groups::service::find_group(&state.db, &group_id).await?;
    require_group_leader(&state.db, caller, &group.id).await?;
    check_period(from, to)?;
    Ok(group)
}

/// A report's period: `from` ≤ `to`, at most `MAX_PERIOD_DAYS` apart.
pub fn check_period(from: NaiveDate, to: NaiveDate) -> DomainResult<()> {
    if from > to {
        return Err(DomainError::bad_input("to", "to is before from"));
    }
    if (to - from).num_days() > MAX_PERIOD_DAYS {
        return Err(DomainError::bad_input(
            "to",
            format!("a report covers at most {MAX_PERIOD_DAYS} days"),
        ));
    }
    Ok(())
}

/// Per-member counts of referrals in the group made in a date window.
#[derive(Default, Clone, Copy)]
struct ReferralCounts {
    given: i64,
    inside: i64,
    given_absent: i64,
    won_given: i64,
    received: i64,
    received_absent: i64,
}

async fn referral_counts(
    db: &impl ConnectionTrait,
    group_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<HashMap<String, ReferralCounts>> {
    let (start, end) = day_range(from, to);
    let base = || {
        referral::Entity::find()
            .select_only()
            .filter(referral::Column::GroupId.eq(group_id))
            .filter(referral::Column::Status.ne(ReferralStatus::Withdrawn))
            .filter(referral::Column::CreatedAt.gte(start))
            .filter(referral::Column::CreatedAt.lt(end))
    };
    let given: Vec<(Option<String>, i64, i64, i64, i64)> = base()
        .column(referral::Column::GiverMemberId)
        .column_as(count_all(), "n")
        .column_as(count_if(referral::Column::InsideGroup.eq(true)), "inside")
        .column_as(count_if(referral::Column::MadeInAbsence.eq(true)), "absent")
        .column_as(
            count_if(referral::Column::Status.eq(ReferralStatus::Won)),
            "won",
        )
        .filter(referral::Column::GiverMemberId.is_not_null())
        .group_by(referral::Column::GiverMemberId)
        .into_tuple()
        .all(db)
        .await?;
    let received: Vec<(Option<String>, i64, i64)> = base()
        .column(referral::Column::ReceiverMemberId)
        .column_as(count_all(), "n")
        .column_as(count_if(referral::Column::MadeInAbsence.eq(true)), "absent")
        .filter(referral::Column::ReceiverMemberId.is_not_null())
        .group_by(referral::Column::ReceiverMemberId)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<String, ReferralCounts> = HashMap::new();
    for (m, n, inside, absent, won) in given {
        let c = out.entry(m.unwrap_or_default()).or_default();
        c.given = n;
        c.inside = inside;
        c.given_absent = absent;
        c.won_given = won;
    }
    for (m, n, absent) in received {
        let c = out.entry(m.unwrap_or_default()).or_default();
        c.received = n;
        c.received_absent = absent;
    }
    Ok(out)
}

/// Closed business (WON) in the group with the win dated in the window.
async fn closed_values(
    db: &impl ConnectionTrait,
    group_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<(HashMap<String, Money>, HashMap<String, Money>)> {
    let (start, end) = day_range(from, to);
    let mut sides = Vec::new();
    for column in [
        referral::Column::GiverMemberId,
        referral::Column::ReceiverMemberId,
    ] {
        let rows: Vec<(Option<String>, i64)> = referral::Entity::find()
            .select_only()
            .column(column)
            .column_as(sum_of(Expr::col(referral::Column::ClosedValueE4)), "value")
            .filter(referral::Column::GroupId.eq(group_id))
            .filter(referral::Column::Status.eq(ReferralStatus::Won))
            .filter(referral::Column::WonAt.gte(start))
            .filter(referral::Column::WonAt.lt(end))
            .filter(column.is_not_null())
            .group_by(column)
            .into_tuple()
            .all(db)
            .await?;
        sides.push(
            rows.into_iter()
                .filter_map(|(m, v)| m.map(|m| (m, Money::from_stored(v))))
                .collect::<HashMap<_, _>>(),
        );
    }
    let received = sides.pop().unwrap_or_default();
    let given = sides.pop().unwrap_or_default();
    Ok((given, received))
}

/// One-to-ones per member (either side) held in the window, counting only
/// those on or after the member's seat in this group began.
async fn one_to_one_counts(
    db: &impl ConnectionTrait,
    group_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<HashMap<String, i64>> {
    let mut out: HashMap<String, i64> = HashMap::new();
    for side in [
        one_to_one::Column::MemberId,
        one_to_one::Column::WithMemberId,
    ] {
        let rows: Vec<(String, i64)> = one_to_one::Entity::find()
            .select_only()
            .column_as(
                Expr::col((membership::Entity, membership::Column::MemberId)),
                "member",
            )
            .column_as(count_all(), "n")
            .join(
                sea_orm::JoinType::InnerJoin,
                one_to_one::Entity::belongs_to(membership::Entity)
                    .from(side)
                    .to(membership::Column::MemberId)
                    .into(),
            )
            .filter(membership::Column::GroupId.eq(group_id))
            .filter(membership::Column::JoinedOn.lte(to))
            .filter(
                Condition::any()
                    .add(membership::Column::LeftOn.is_null())
                    .add(membership::Column::LeftOn.gte(from)),
            )
            .filter(sea_orm::sea_query::ExprTrait::gte(
                Expr::col((one_to_one::Entity, one_to_one::Column::HeldOn)),
                Expr::col((membership::Entity, membership::Column::JoinedOn)),
            ))
            .filter(one_to_one::Column::HeldOn.gte(from))
            .filter(one_to_one::Column::HeldOn.lte(to))
            .group_by(Expr::col((
                membership::Entity,
                membership::Column::MemberId,
            )))
            .into_tuple()
            .all(db)
            .await?;
        for (m, n) in rows {
            *out.entry(m).or_default() += n;
        }
    }
    Ok(out)
}

fn meetings_in(
    group_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(meeting::Column::Id)
        .from(meeting::Entity)
        .and_where(meeting::Column::GroupId.eq(group_id))
        .and_where(meeting::Column::HeldOn.gte(from))
        .and_where(meeting::Column::HeldOn.lte(to))
        .to_owned()
}

async fn visitor_counts(
    db: &impl ConnectionTrait,
    group_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = visitor::Entity::find()
        .select_only()
        .column(visitor::Column::InvitedById)
        .column_as(count_all(), "n")
        .filter(visitor::Column::MeetingId.in_subquery(meetings_in(group_id, from, to)))
        .group_by(visitor::Column::InvitedById)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

async fn palms(
    db: &impl ConnectionTrait,
    group_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<HashMap<String, Palms>> {
    let rows: Vec<(String, AttendanceStatus, i64)> = attendance::Entity::find()
        .select_only()
        .column(attendance::Column::MemberId)
        .column(attendance::Column::Status)
        .column_as(count_all(), "n")
        .filter(attendance::Column::MeetingId.in_subquery(meetings_in(group_id, from, to)))
        .group_by(attendance::Column::MemberId)
        .group_by(attendance::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<String, Palms> = HashMap::new();
    for (m, status, n) in rows {
        let p = out.entry(m).or_default();
        match status {
            AttendanceStatus::Present => p.present = n,
            AttendanceStatus::Absent => p.absent = n,
            AttendanceStatus::Late => p.late = n,
            AttendanceStatus::Medical => p.medical = n,
            AttendanceStatus::Substitute => p.substitute = n,
        }
    }
    Ok(out)
}

/// Ordered pairs (giver, receiver) → referrals between members in the window.
async fn pair_counts(
    db: &impl ConnectionTrait,
    members: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<HashMap<(String, String), i64>> {
    let (start, end) = day_range(from, to);
    let rows: Vec<(String, String, i64)> = referral::Entity::find()
        .select_only()
        .column(referral::Column::GiverMemberId)
        .column(referral::Column::ReceiverMemberId)
        .column_as(count_all(), "n")
        .filter(referral::Column::GiverMemberId.is_in(members.to_vec()))
        .filter(referral::Column::ReceiverMemberId.is_in(members.to_vec()))
        .filter(referral::Column::Status.ne(ReferralStatus::Withdrawn))
        .filter(referral::Column::CreatedAt.gte(start))
        .filter(referral::Column::CreatedAt.lt(end))
        .group_by(referral::Column::GiverMemberId)
        .group_by(referral::Column::ReceiverMemberId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(g, r, n)| ((g, r), n)).collect())
}

pub async fn build(
    db: &impl ConnectionTrait,
    group_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<Report> {
    // Seats overlapping the period: one row per member.
    let seats: Vec<(membership::Model, Option<member::Model>)> = membership::Entity::find()
        .find_also_related(member::Entity)
        .filter(membership::Column::GroupId.eq(group_id))
        .filter(membership::Column::JoinedOn.lte(to))
        .filter(
            Condition::any()
                .add(membership::Column::LeftOn.is_null())
                .add(membership::Column::LeftOn.gte(from)),
        )
        .order_by_asc(membership::Column::JoinedOn)
        .all(db)
        .await?;
    // The latest seat in the period stands for the member.
    let mut latest: HashMap<String, (membership::Model, member::Model)> = HashMap::new();
    for (seat, m) in seats {
        if let Some(m) = m {
            latest.insert(m.id.clone(), (seat, m));
        }
    }
    let member_ids: Vec<String> = latest.keys().cloned().collect();
    let score_from = to - Duration::days(WINDOW_DAYS - 1);

    let period = referral_counts(db, group_id, from, to).await?;
    let window = referral_counts(db, group_id, score_from, to).await?;
    let (closed_given, closed_received) = closed_values(db, group_id, from, to).await?;
    let one_to_ones = one_to_one_counts(db, group_id, from, to).await?;
    let window_one_to_ones = one_to_one_counts(db, group_id, score_from, to).await?;
    let visitors = visitor_counts(db, group_id, from, to).await?;
    let window_visitors = visitor_counts(db, group_id, score_from, to).await?;
    let attendance = palms(db, group_id, from, to).await?;
    let window_attendance = palms(db, group_id, score_from, to).await?;
    // Every seat these members ever held, for tenure and hopping.
    let history = membership::Entity::find()
        .filter(membership::Column::MemberId.is_in(member_ids.clone()))
        .all(db)
        .await?;

    let mut rows: Vec<Row> = latest
        .into_values()
        .map(|(seat, m)| {
            let p = period.get(&m.id).copied().unwrap_or_default();
            let w = window.get(&m.id).copied().unwrap_or_default();
            let start = window_start(to, seat.joined_on);
            let activity = Activity {
                days: (to - start).num_days() + 1,
                absences: window_attendance.get(&m.id).map(|a| a.absent).unwrap_or(0),
                given: w.given,
                one_to_ones: window_one_to_ones.get(&m.id).copied().unwrap_or(0),
                visitors: window_visitors.get(&m.id).copied().unwrap_or(0),
                won_given: w.won_given,
            };
            let score = score(activity);
            let seat_end = seat.left_on.unwrap_or(to).min(to);
            let own: Vec<Seat> = history
                .iter()
                .filter(|s| s.member_id == m.id)
                .map(|s| Seat {
                    group_key: usize::from(s.group_id != group_id),
                    joined_on: s.joined_on,
                    left_on: s.left_on,
                })
                .collect();
            Row {
                given: p.given,
                given_inside_group: p.inside,
                given_outside: p.given - p.inside,
                received: p.received,
                given_in_absence: p.given_absent,
                received_in_absence: p.received_absent,
                closed_value_given: closed_given.get(&m.id).copied().unwrap_or_default(),
                closed_value_received: closed_received.get(&m.id).copied().unwrap_or_default(),
                one_to_ones: one_to_ones.get(&m.id).copied().unwrap_or(0),
                visitors: visitors.get(&m.id).copied().unwrap_or(0),
                attendance: attendance.get(&m.id).cloned().unwrap_or_default(),
                tenure_days: (seat_end - seat.joined_on).num_days().max(0),
                traffic_light: TrafficLight::for_score(score.total()),
                score,
                group_hopping: tenure(&own, to).group_hopping,
                member: m,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        a.member
            .name
            .to_lowercase()
            .cmp(&b.member.name.to_lowercase())
            .then(a.member.id.cmp(&b.member.id))
    });

    let totals = Totals {
        given: rows.iter().map(|r| r.given).sum(),
        received: rows.iter().map(|r| r.received).sum(),
        given_in_absence: rows.iter().map(|r| r.given_in_absence).sum(),
        closed_value: rows.iter().map(|r| r.closed_value_given).sum(),
        one_to_ones: rows.iter().map(|r| r.one_to_ones).sum(),
        visitors: rows.iter().map(|r| r.visitors).sum(),
    };

    let one_way = one_way_partnerships(db, &rows, to).await?;
    let (start, end) = day_range(from, to);
    let thanks_due_before = Utc::now() - Duration::days(UNTHANKED_AFTER_DAYS);
    let unthanked_wins = referral::Entity::find()
        .filter(referral::Column::GroupId.eq(group_id))
        .filter(referral::Column::Status.eq(ReferralStatus::Won))
        .filter(referral::Column::ThankedAt.is_null())
        .filter(referral::Column::WonAt.gte(start))
        .filter(referral::Column::WonAt.lt(end))
        .filter(referral::Column::WonAt.lt(thanks_due_before))
        .order_by_asc(referral::Column::WonAt)
        .all(db)
        .await?;
    let overdue_follow_ups = referral::Entity::find()
        .filter(referral::Column::GroupId.eq(group_id))
        .filter(referral::Column::Status.is_in([
            ReferralStatus::Accepted,
            ReferralStatus::Contacted,
            ReferralStatus::MeetingSet,
        ]))
        .filter(referral::Column::NextFollowUpOn.lt(Utc::now().date_naive()))
        .order_by_asc(referral::Column::NextFollowUpOn)
        .order_by_asc(referral::Column::Id)
        .all(db)
        .await?;
    Ok(Report {
        from,
        to,
        totals,
        rows,
        one_way,
        unthanked_wins,
        overdue_follow_ups,
    })
}

/// Declared partnerships between members of the report where, in the year
/// up to `to`, one side gave 3 or more and the other none.
async fn one_way_partnerships(
    db: &impl ConnectionTrait,
    rows: &[Row],
    to: NaiveDate,
) -> DomainResult<Vec<OneWay>> {
    let ids: Vec<String> = rows.iter().map(|r| r.member.id.clone()).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let declared: Vec<(String, Option<String>)> = partnership::Entity::find()
        .select_only()
        .column(partnership::Column::MemberId)
        .column(partnership::Column::PartnerMemberId)
        .filter(partnership::Column::MemberId.is_in(ids.clone()))
        .filter(partnership::Column::PartnerMemberId.is_in(ids.clone()))
        .into_tuple()
        .all(db)
        .await?;
    let counts = pair_counts(db, &ids, to - Duration::days(ONE_WAY_DAYS - 1), to).await?;
    let by_id: HashMap<&str, &member::Model> = rows
        .iter()
        .map(|r| (r.member.id.as_str(), &r.member))
        .collect();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut out = Vec::new();
    for (a, b) in declared.into_iter().filter_map(|(a, b)| b.map(|b| (a, b))) {
        let key = if a < b {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        };
        if !seen.insert(key) {
            continue;
        }
        let ab = counts.get(&(a.clone(), b.clone())).copied().unwrap_or(0);
        let ba = counts.get(&(b.clone(), a.clone())).copied().unwrap_or(0);
        let (from, to, given) = if ab >= crate::balances::service::ONE_WAY_MIN && ba == 0 {
            (a, b, ab)
        } else if ba >= crate::balances::service::ONE_WAY_MIN && ab == 0 {
            (b, a, ba)
        } else {
            continue;
        };
        if let (Some(f), Some(t)) = (by_id.get(from.as_str()), by_id.get(to.as_str())) {
            out.push(OneWay {
                from: (*f).clone(),
                to: (*t).clone(),
                given,
            });
        }
    }
    out.sort_by(|x, y| y.given.cmp(&x.given).then(x.from.name.cmp(&y.from.name)));
    Ok(out)
}

/// One tenure band of the group report: whether time in the group pays.
#[derive(Debug, Clone, PartialEq)]
pub struct TenureBand {
    pub band: &'static str,
    pub members: i64,
    /// Received referrals of the band's rows, per member, per week of the period.
    pub received_per_week: f64,
    pub won_value: Money,
}

/// Band limits in days of tenure at the report's end: "<6m" below 183,
/// "6-12m" below 365, "1-2y" below 730, "2y+" the rest.
pub const TENURE_BANDS: [(&str, i64); 4] = [
    ("<6m", 183),
    ("6-12m", 365),
    ("1-2y", 730),
    ("2y+", i64::MAX),
];

pub fn tenure_band_of(days: i64) -> &'static str {
    TENURE_BANDS
        .iter()
        .find(|(_, below)| days < *below)
        .map_or("2y+", |(name, _)| name)
}

/// The report's rows grouped into tenure bands (bands with no rows are
/// left out), in band order.
pub fn tenure_bands(report: &Report) -> Vec<TenureBand> {
    let weeks = ((report.to - report.from).num_days() + 1) as f64 / 7.0;
    TENURE_BANDS
        .iter()
        .filter_map(|(name, _)| {
            let rows: Vec<&Row> = report
                .rows
                .iter()
                .filter(|r| tenure_band_of(r.tenure_days) == *name)
                .collect();
            if rows.is_empty() {
                return None;
            }
            let members = rows.len() as i64;
            let received: i64 = rows.iter().map(|r| r.received).sum();
            Some(TenureBand {
                band: name,
                members,
                received_per_week: received as f64 / members as f64 / weeks,
                won_value: Money::from_stored(
                    rows.iter().map(|r| r.closed_value_received.stored()).sum(),
                ),
            })
        })
        .collect()
}
