//! The group report of SPEC.md, from a fixed number of statements whatever
//! the group's size or period: the group with the caller's leadership, the
//! seats, the group's referrals (counted here, a few hundred rows a year),
//! the meeting-side figures (grouped in SQL) and the one-way partnerships.
//! Totals are the sums of the rows, so they always agree.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entities::{AttendanceStatus, ReferralStatus, member, membership, referral};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveEnum, ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    FromQueryResult, IdenStatic, Iterable, QueryFilter, QueryOrder, QueryResult, QuerySelect,
    QueryTrait, RelationTrait, Statement,
};

use super::score::{Activity, Score, TrafficLight, WINDOW_DAYS, score, window_start};
use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::members::tenure::{Seat, tenure};
use crate::money::Money;
use crate::sql::day_range;
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

/// The parts of the report a reader asked for. The rows with their
/// referral figures, tenure and group-hopping always come (one statement
/// for the seats, one for the referrals); each part here costs work of its
/// own and, when not asked for, is left at zero or empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// Attendance, visitors and one-to-ones, and the score and traffic
    /// light made from them (a statement over the group's meetings).
    pub meeting_figures: bool,
    /// The one-way partnerships (a statement over the pairs).
    pub one_way: bool,
    /// Unthanked wins and overdue follow-ups, as whole referrals.
    pub lists: bool,
}

impl Parts {
    pub const ALL: Parts = Parts {
        meeting_figures: true,
        one_way: true,
        lists: true,
    };
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
    parts: Parts,
) -> DomainResult<Report> {
    let group = check(state, caller, group_id, from, to).await?;
    build(&state.db, &group.id, from, to, parts).await
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
    let me = caller.member()?;
    let (group, leads) = group_and_leadership(&state.db, &group_id, &me.id)
        .await?
        .ok_or_else(|| DomainError::not_found("group"))?;
    if !(me.is_admin || leads) {
        return Err(DomainError::Forbidden(
            "only a leader of this group may do this".into(),
        ));
    }
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

/// Who may read a group's report, checked together with the group in one
/// statement: the group, and whether the caller holds an active leader's
/// seat in it (admins need none).
async fn group_and_leadership(
    db: &impl ConnectionTrait,
    group_id: &str,
    member_id: &str,
) -> DomainResult<Option<(entities::group::Model, bool)>> {
    use entities::{Role, group};
    struct Found(group::Model, bool);
    impl sea_orm::FromQueryResult for Found {
        fn from_query_result(row: &sea_orm::QueryResult, pre: &str) -> Result<Self, DbErr> {
            Ok(Found(
                group::Model::from_query_result(row, pre)?,
                row.try_get(pre, "caller_leads")?,
            ))
        }
    }
    let leads = Query::select()
        .expr(Expr::val(1))
        .from(membership::Entity)
        .and_where(membership::Column::GroupId.eq(group_id))
        .and_where(membership::Column::MemberId.eq(member_id))
        .and_where(membership::Column::Role.eq(Role::Leader))
        .and_where(membership::Column::LeftOn.is_null())
        .to_owned();
    let found = group::Entity::find_by_id(group_id.to_string())
        .column_as(Expr::exists(leads), "caller_leads")
        .into_model::<Found>()
        .one(db)
        .await?;
    Ok(found.map(|Found(g, leads)| (g, leads)))
}

/// A statement in PostgreSQL's `$n` placeholders, for SQLite as `?n`.
fn raw(backend: DbBackend, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    let sql = if backend == DbBackend::Sqlite {
        sql.replace('$', "?")
    } else {
        sql.to_string()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Counts for the period and for the score's window.
#[derive(Default, Clone, Copy)]
struct Both {
    period: i64,
    window: i64,
}

/// Attendance by status, visitors invited and one-to-ones held, per
/// member, in the period and in the score's window.
#[derive(Default)]
struct MeetingFigures {
    attendance: HashMap<String, (Palms, Palms)>,
    visitors: HashMap<String, Both>,
    one_to_ones: HashMap<String, Both>,
}

/// The meeting-side figures of the report in one statement: attendance
/// and visitors at the group's meetings, and one-to-ones held on or after
/// the member's seat in this group began (either side of the one-to-one).
async fn activity(
    db: &impl ConnectionTrait,
    group_id: &str,
    from: NaiveDate,
    window_from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<MeetingFigures> {
    const SQL: &str = "\
SELECT 'A' AS kind, a.member_id AS member_id, a.status AS status, \
 CAST(SUM(CASE WHEN mt.held_on >= $4 THEN 1 ELSE 0 END) AS BIGINT) AS in_period, \
 CAST(SUM(CASE WHEN mt.held_on >= $5 THEN 1 ELSE 0 END) AS BIGINT) AS in_window \
FROM attendance a JOIN meetings mt ON mt.id = a.meeting_id \
WHERE mt.group_id = $1 AND mt.held_on >= $2 AND mt.held_on <= $3 \
GROUP BY a.member_id, a.status \
UNION ALL \
SELECT 'V', v.invited_by_id, NULL, \
 CAST(SUM(CASE WHEN mt.held_on >= $4 THEN 1 ELSE 0 END) AS BIGINT), \
 CAST(SUM(CASE WHEN mt.held_on >= $5 THEN 1 ELSE 0 END) AS BIGINT) \
FROM visitors v JOIN meetings mt ON mt.id = v.meeting_id \
WHERE mt.group_id = $1 AND mt.held_on >= $2 AND mt.held_on <= $3 \
GROUP BY v.invited_by_id \
UNION ALL \
SELECT 'O', ms.member_id, NULL, \
 CAST(SUM(CASE WHEN o.held_on >= $4 AND (ms.left_on IS NULL OR ms.left_on >= $4) THEN 1 ELSE 0 END) AS BIGINT), \
 CAST(SUM(CASE WHEN o.held_on >= $5 AND (ms.left_on IS NULL OR ms.left_on >= $5) THEN 1 ELSE 0 END) AS BIGINT) \
FROM one_to_ones o JOIN memberships ms ON ms.member_id = o.member_id \
WHERE ms.group_id = $1 AND ms.joined_on <= $3 AND o.held_on >= ms.joined_on \
 AND o.held_on >= $2 AND o.held_on <= $3 AND (ms.left_on IS NULL OR ms.left_on >= $2) \
GROUP BY ms.member_id \
UNION ALL \
SELECT 'O', ms.member_id, NULL, \
 CAST(SUM(CASE WHEN o.held_on >= $4 AND (ms.left_on IS NULL OR ms.left_on >= $4) THEN 1 ELSE 0 END) AS BIGINT), \
 CAST(SUM(CASE WHEN o.held_on >= $5 AND (ms.left_on IS NULL OR ms.left_on >= $5) THEN 1 ELSE 0 END) AS BIGINT) \
FROM one_to_ones o JOIN memberships ms ON ms.member_id = o.with_member_id \
WHERE ms.group_id = $1 AND ms.joined_on <= $3 AND o.held_on >= ms.joined_on \
 AND o.held_on >= $2 AND o.held_on <= $3 AND (ms.left_on IS NULL OR ms.left_on >= $2) \
GROUP BY ms.member_id";
    let lo = from.min(window_from);
    let statement = raw(
        db.get_database_backend(),
        SQL,
        vec![
            group_id.into(),
            lo.into(),
            to.into(),
            from.into(),
            window_from.into(),
        ],
    );
    let mut out = MeetingFigures::default();
    for row in db.query_all_raw(statement).await? {
        let kind: String = row.try_get("", "kind")?;
        let member: String = row.try_get("", "member_id")?;
        let status: Option<String> = row.try_get("", "status")?;
        let both = Both {
            period: row.try_get("", "in_period")?,
            window: row.try_get("", "in_window")?,
        };
        match kind.as_str() {
            "A" => {
                let status = status
                    .as_deref()
                    .and_then(|s| AttendanceStatus::try_from_value(&s.to_string()).ok())
                    .ok_or_else(|| DbErr::Custom(format!("attendance status {status:?}")))?;
                let (p, w) = out.attendance.entry(member).or_default();
                for (palms, n) in [(p, both.period), (w, both.window)] {
                    match status {
                        AttendanceStatus::Present => palms.present += n,
                        AttendanceStatus::Absent => palms.absent += n,
                        AttendanceStatus::Late => palms.late += n,
                        AttendanceStatus::Medical => palms.medical += n,
                        AttendanceStatus::Substitute => palms.substitute += n,
                    }
                }
            }
            "V" => {
                let v = out.visitors.entry(member).or_default();
                v.period += both.period;
                v.window += both.window;
            }
            _ => {
                let o = out.one_to_ones.entry(member).or_default();
                o.period += both.period;
                o.window += both.window;
            }
        }
    }
    Ok(out)
}

/// Per-member referral figures of the group.
#[derive(Default, Clone, Copy)]
struct ReferralCounts {
    given: i64,
    inside: i64,
    given_absent: i64,
    won_given: i64,
    received: i64,
    received_absent: i64,
    closed_given: i64,
    closed_received: i64,
}

/// What the referral side of the report needs, from one statement over the
/// group's referrals: counts for the period and the score's window, closed
/// business won in the period, unthanked wins and overdue follow-ups.
struct ReferralFigures {
    period: HashMap<String, ReferralCounts>,
    window: HashMap<String, ReferralCounts>,
    unthanked_wins: Vec<referral::Model>,
    overdue_follow_ups: Vec<referral::Model>,
}

const OPEN: [ReferralStatus; 3] = [
    ReferralStatus::Accepted,
    ReferralStatus::Contacted,
    ReferralStatus::MeetingSet,
];

/// The columns the counts need, read by position; whole rows are decoded
/// only for the referrals the lists show.
const COUNTED: [referral::Column; 10] = [
    referral::Column::GiverMemberId,
    referral::Column::ReceiverMemberId,
    referral::Column::Status,
    referral::Column::InsideGroup,
    referral::Column::MadeInAbsence,
    referral::Column::CreatedAt,
    referral::Column::WonAt,
    referral::Column::ClosedValueE4,
    referral::Column::ThankedAt,
    referral::Column::NextFollowUpOn,
];

/// One referral as the counts see it (the `COUNTED` columns).
struct Counted {
    giver: Option<String>,
    receiver: Option<String>,
    status: ReferralStatus,
    inside_group: bool,
    made_in_absence: bool,
    created_at: DateTime<Utc>,
    won_at: Option<DateTime<Utc>>,
    closed_value_e4: Option<i64>,
    thanked_at: Option<DateTime<Utc>>,
    next_follow_up_on: Option<NaiveDate>,
}

impl Counted {
    fn read(row: &QueryResult) -> Result<Counted, DbErr> {
        Ok(Counted {
            giver: row.try_get_by_index(0)?,
            receiver: row.try_get_by_index(1)?,
            status: row.try_get_by_index(2)?,
            inside_group: row.try_get_by_index(3)?,
            made_in_absence: row.try_get_by_index(4)?,
            created_at: row.try_get_by_index(5)?,
            won_at: row.try_get_by_index(6)?,
            closed_value_e4: row.try_get_by_index(7)?,
            thanked_at: row.try_get_by_index(8)?,
            next_follow_up_on: row.try_get_by_index(9)?,
        })
    }
}

/// With `parts.meeting_figures` the score's window is read too (the score
/// needs its counts); with `parts.lists` the overdue follow-ups (of any
/// date) as well, and whole rows for both lists.
async fn referral_figures(
    db: &impl ConnectionTrait,
    group_id: &str,
    from: NaiveDate,
    window_from: NaiveDate,
    to: NaiveDate,
    parts: Parts,
) -> DomainResult<ReferralFigures> {
    let (start, end) = day_range(from, to);
    let (window_start, _) = day_range(window_from, to);
    let made_from = if parts.meeting_figures {
        start.min(window_start)
    } else {
        start
    };
    let today = Utc::now().date_naive();
    let mut wanted = Condition::any()
        .add(
            Condition::all()
                .add(referral::Column::CreatedAt.gte(made_from))
                .add(referral::Column::CreatedAt.lt(end)),
        )
        .add(
            Condition::all()
                .add(referral::Column::Status.eq(ReferralStatus::Won))
                .add(referral::Column::WonAt.gte(start))
                .add(referral::Column::WonAt.lt(end)),
        );
    let mut select = referral::Entity::find().select_only().columns(COUNTED);
    if parts.lists {
        wanted = wanted.add(
            Condition::all()
                .add(referral::Column::Status.is_in(OPEN))
                .add(referral::Column::NextFollowUpOn.lt(today)),
        );
        // The rest of the row, by name, for the lists' whole referrals.
        select = select.columns(
            referral::Column::iter().filter(|c| !COUNTED.iter().any(|n| n.as_str() == c.as_str())),
        );
    }
    let statement = select
        .filter(referral::Column::GroupId.eq(group_id))
        .filter(wanted)
        .build(db.get_database_backend());
    let thanks_due_before = Utc::now() - Duration::days(UNTHANKED_AFTER_DAYS);
    let mut figures = ReferralFigures {
        period: HashMap::new(),
        window: HashMap::new(),
        unthanked_wins: Vec::new(),
        overdue_follow_ups: Vec::new(),
    };
    for row in db.query_all_raw(statement).await? {
        let r = Counted::read(&row)?;
        let counted = r.status != ReferralStatus::Withdrawn && r.created_at < end;
        for (map, lower, wanted) in [
            (&mut figures.period, start, true),
            (&mut figures.window, window_start, parts.meeting_figures),
        ] {
            if !wanted || !counted || r.created_at < lower {
                continue;
            }
            if let Some(giver) = &r.giver {
                let c = map.entry(giver.clone()).or_default();
                c.given += 1;
                c.inside += i64::from(r.inside_group);
                c.given_absent += i64::from(r.made_in_absence);
                c.won_given += i64::from(r.status == ReferralStatus::Won);
            }
            if let Some(receiver) = &r.receiver {
                let c = map.entry(receiver.clone()).or_default();
                c.received += 1;
                c.received_absent += i64::from(r.made_in_absence);
            }
        }
        let won_in_period =
            r.status == ReferralStatus::Won && r.won_at.is_some_and(|at| at >= start && at < end);
        if won_in_period {
            let value = r.closed_value_e4.unwrap_or(0);
            if let Some(giver) = &r.giver {
                figures
                    .period
                    .entry(giver.clone())
                    .or_default()
                    .closed_given += value;
            }
            if let Some(receiver) = &r.receiver {
                figures
                    .period
                    .entry(receiver.clone())
                    .or_default()
                    .closed_received += value;
            }
        }
        if !parts.lists {
            continue;
        }
        if won_in_period
            && r.thanked_at.is_none()
            && r.won_at.is_some_and(|at| at < thanks_due_before)
        {
            figures
                .unthanked_wins
                .push(referral::Model::from_query_result(&row, "")?);
        }
        if OPEN.contains(&r.status) && r.next_follow_up_on.is_some_and(|d| d < today) {
            figures
                .overdue_follow_ups
                .push(referral::Model::from_query_result(&row, "")?);
        }
    }
    figures
        .unthanked_wins
        .sort_by(|a, b| a.won_at.cmp(&b.won_at).then(a.id.cmp(&b.id)));
    figures.overdue_follow_ups.sort_by(|a, b| {
        a.next_follow_up_on
            .cmp(&b.next_follow_up_on)
            .then(a.id.cmp(&b.id))
    });
    Ok(figures)
}

/// Members holding a seat in the group that overlaps the period, with every
/// seat they ever held (any group), oldest first: one statement.
async fn seats_with_history(
    db: &impl ConnectionTrait,
    group_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<Vec<(membership::Model, member::Model)>> {
    let in_period = Query::select()
        .column(membership::Column::MemberId)
        .from(membership::Entity)
        .and_where(membership::Column::GroupId.eq(group_id))
        .and_where(membership::Column::JoinedOn.lte(to))
        .cond_where(
            Condition::any()
                .add(membership::Column::LeftOn.is_null())
                .add(membership::Column::LeftOn.gte(from)),
        )
        .to_owned();
    /// A seat with its member (read without the password hash).
    struct SeatOf(membership::Model, member::Model);
    impl FromQueryResult for SeatOf {
        fn from_query_result(row: &QueryResult, pre: &str) -> Result<Self, DbErr> {
            Ok(SeatOf(
                membership::Model::from_query_result(row, pre)?,
                member::Model::from_query_result(row, "m_")?,
            ))
        }
    }
    let joined = membership::Entity::find().join(
        sea_orm::JoinType::InnerJoin,
        membership::Relation::Member.def(),
    );
    let rows = crate::members::rows::with_member_columns(joined, "m_")
        .filter(membership::Column::MemberId.in_subquery(in_period))
        .order_by_asc(membership::Column::JoinedOn)
        .order_by_asc(membership::Column::CreatedAt)
        .into_model::<SeatOf>()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|SeatOf(seat, m)| (seat, m)).collect())
}

pub async fn build(
    db: &impl ConnectionTrait,
    group_id: &str,
    from: NaiveDate,
    to: NaiveDate,
    parts: Parts,
) -> DomainResult<Report> {
    let history = seats_with_history(db, group_id, from, to).await?;
    // The latest seat in the group overlapping the period stands for the member.
    let mut latest: HashMap<String, (membership::Model, member::Model)> = HashMap::new();
    for (seat, m) in &history {
        let overlaps = seat.group_id == group_id
            && seat.joined_on <= to
            && seat.left_on.is_none_or(|left| left >= from);
        if overlaps {
            latest.insert(m.id.clone(), (seat.clone(), m.clone()));
        }
    }
    let score_from = to - Duration::days(WINDOW_DAYS - 1);
    let figures = referral_figures(db, group_id, from, score_from, to, parts).await?;
    let activity = if parts.meeting_figures {
        activity(db, group_id, from, score_from, to).await?
    } else {
        MeetingFigures::default()
    };

    let mut rows: Vec<Row> = latest
        .into_values()
        .map(|(seat, m)| {
            let p = figures.period.get(&m.id).copied().unwrap_or_default();
            let w = figures.window.get(&m.id).copied().unwrap_or_default();
            let (attendance, window_attendance) =
                activity.attendance.get(&m.id).cloned().unwrap_or_default();
            let visitors = activity.visitors.get(&m.id).copied().unwrap_or_default();
            let one_to_ones = activity.one_to_ones.get(&m.id).copied().unwrap_or_default();
            let start = window_start(to, seat.joined_on);
            let score = score(Activity {
                days: (to - start).num_days() + 1,
                absences: window_attendance.absent,
                given: w.given,
                one_to_ones: one_to_ones.window,
                visitors: visitors.window,
                won_given: w.won_given,
            });
            let seat_end = seat.left_on.unwrap_or(to).min(to);
            let own: Vec<Seat> = history
                .iter()
                .filter(|(s, _)| s.member_id == m.id)
                .map(|(s, _)| Seat {
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
                closed_value_given: Money::from_stored(p.closed_given),
                closed_value_received: Money::from_stored(p.closed_received),
                one_to_ones: one_to_ones.period,
                visitors: visitors.period,
                attendance,
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

    let one_way = if parts.one_way {
        one_way_partnerships(db, group_id, &rows, from, to).await?
    } else {
        Vec::new()
    };
    Ok(Report {
        from,
        to,
        totals,
        rows,
        one_way,
        unthanked_wins: figures.unthanked_wins,
        overdue_follow_ups: figures.overdue_follow_ups,
    })
}

/// Declared partnerships between members of the report where, in the year
/// up to `to`, one side gave 3 or more and the other none (referrals made
/// in any group count). One statement: the declared pairs with both
/// directions' counts.
async fn one_way_partnerships(
    db: &impl ConnectionTrait,
    group_id: &str,
    rows: &[Row],
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<Vec<OneWay>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    const SQL: &str = "\
SELECT p.member_id AS a, p.partner_member_id AS b, \
 (SELECT CAST(COUNT(*) AS BIGINT) FROM referrals r WHERE r.giver_member_id = p.member_id \
   AND r.receiver_member_id = p.partner_member_id AND r.status <> $1 \
   AND r.created_at >= $2 AND r.created_at < $3) AS ab, \
 (SELECT CAST(COUNT(*) AS BIGINT) FROM referrals r WHERE r.giver_member_id = p.partner_member_id \
   AND r.receiver_member_id = p.member_id AND r.status <> $1 \
   AND r.created_at >= $2 AND r.created_at < $3) AS ba \
FROM partnerships p \
WHERE p.member_id IN (SELECT ms.member_id FROM memberships ms WHERE ms.group_id = $4 \
   AND ms.joined_on <= $5 AND (ms.left_on IS NULL OR ms.left_on >= $6)) \
 AND p.partner_member_id IN (SELECT ms.member_id FROM memberships ms WHERE ms.group_id = $4 \
   AND ms.joined_on <= $5 AND (ms.left_on IS NULL OR ms.left_on >= $6))";
    let (start, end) = day_range(to - Duration::days(ONE_WAY_DAYS - 1), to);
    let statement = raw(
        db.get_database_backend(),
        SQL,
        vec![
            ReferralStatus::Withdrawn.to_value().into(),
            start.into(),
            end.into(),
            group_id.into(),
            to.into(),
            from.into(),
        ],
    );
    let by_id: HashMap<&str, &member::Model> = rows
        .iter()
        .map(|r| (r.member.id.as_str(), &r.member))
        .collect();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut out = Vec::new();
    for row in db.query_all_raw(statement).await? {
        let a: String = row.try_get("", "a")?;
        let b: String = row.try_get("", "b")?;
        let ab: i64 = row.try_get("", "ab")?;
        let ba: i64 = row.try_get("", "ba")?;
        let key = if a < b {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        };
        if !seen.insert(key) {
            continue;
        }
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
