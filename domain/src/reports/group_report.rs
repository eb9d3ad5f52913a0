//! The group report of SPEC.md, from a fixed number of statements whatever
//! the group's size or period: the seats with the caller's leadership (the
//! group alone when no seat overlaps the period), the figures per member
//! (the group's referrals and, when asked, the meeting-side figures, in
//! one statement: counted by PostgreSQL, added up here from SQLite's
//! rows), and when asked the two lists and the one-way partnerships.
//! Totals are the sums of the rows, so they always agree.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entities::{AttendanceStatus, ReferralStatus, member, membership, referral};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveEnum, ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait, RelationTrait, Statement,
};

use super::cache::Key;
use super::score::{Activity, Score, TrafficLight, WINDOW_DAYS, score, window_start};
use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::members::tenure::{Seat, tenure};
use crate::money::Money;
use crate::referrals::{ReferralColumns, all_reading};
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
/// referral figures and tenure always come (one statement for the seats,
/// one for the figures); each part here costs work of its own and, when
/// not asked for, is left at zero, false or empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Parts {
    /// Attendance, visitors and one-to-ones, and the score and traffic
    /// light made from them (the group's meetings and the score's window,
    /// counted in the figures' statement).
    pub meeting_figures: bool,
    /// The one-way partnerships (a statement over the pairs).
    pub one_way: bool,
    /// Unthanked wins and overdue follow-ups (a statement of their own).
    pub lists: bool,
    /// The members' seats in other groups, for `group_hopping` (without
    /// them it is left false): the seats' statement then reads the seats in
    /// this group only.
    pub history: bool,
    /// The members' whole rows (a member's without the password hash);
    /// without it only their ids and names, every other field empty, for
    /// answers that show nothing else of the rows' or the one-way pairs'
    /// members.
    pub whole_members: bool,
    /// The columns of the lists' referrals the reader shows (those the
    /// lists' order and split need are read anyway): `ALL` for whole rows.
    pub list_columns: ReferralColumns,
}

impl Parts {
    pub const ALL: Parts = Parts {
        meeting_figures: true,
        one_way: true,
        lists: true,
        history: true,
        whole_members: true,
        list_columns: ReferralColumns::ALL,
    };
}

#[derive(Debug, Clone)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub totals: Totals,
    pub rows: Vec<Row>,
    pub one_way: Vec<OneWay>,
    pub unthanked_wins: Vec<referral::Model>,
    pub overdue_follow_ups: Vec<referral::Model>,
    /// When an unthanked win of the period becomes due and the lists would
    /// read differently with nothing committed (with the lists only; the
    /// overdue list moves with the date, which a kept report's key holds).
    pub lists_change_at: Option<DateTime<Utc>>,
}

/// Checks the caller and the period, then builds the report: the checks
/// of [`check`], in its order, but the caller's leadership is read with
/// the seats, in their statement: one statement less a report (on the
/// bench data, paired runs of a narrow report on PostgreSQL: +11 to +22 %
/// reports a second at one client, +13 to +20 % at 16; on SQLite +1 to
/// +12 % at 16).
/// Only when no seat overlaps the period (no row to carry it) is the group
/// read on its own. The seats read before a refusal are dropped unread; a
/// period refused whoever asks is answered by [`check`], without them. A
/// report kept for the same caller at the same database state is given
/// without a read: the same rows, so the same checks and the same figures
/// (`reports::cache`).
pub async fn group_report(
    state: &Ctx,
    caller: &Caller,
    group_id: &str,
    from: NaiveDate,
    to: NaiveDate,
    parts: Parts,
) -> DomainResult<Report> {
    if check_period(from, to).is_err() {
        // Refused (with the error `check` gives first), whoever asks.
        check(state, caller, group_id, from, to).await?;
    }
    let group_id = id("groupId", group_id)?;
    let me = caller.member()?;
    // One reading of the clock for the key and the lists.
    let now = Utc::now();
    // The same caller at the same database state gets the report kept for
    // them, without a read (`reports::cache`); refusals are never kept.
    let key = database_state(state).await.map(|db_state| Key {
        caller: me.id.clone(),
        is_admin: me.is_admin,
        group: group_id.clone(),
        from,
        to,
        parts,
        today: now.date_naive(),
        state: db_state,
    });
    if let Some(kept) = key.as_ref().and_then(|key| state.reports.get(key, now)) {
        return Ok(Report::clone(&kept));
    }
    let (history, leads) =
        seats_with_history(&state.db, &group_id, Some(&me.id), from, to, parts).await?;
    let leads = match leads {
        Some(leads) => leads,
        None => {
            group_and_leadership(&state.db, &group_id, &me.id)
                .await?
                .ok_or_else(|| DomainError::not_found("group"))?
                .1
        }
    };
    admit(me.is_admin, leads, from, to)?;
    let report = build_from(&state.db, &group_id, from, to, parts, history, now).await?;
    if let Some(key) = key {
        state.reports.put(key, Arc::new(report.clone()));
    }
    Ok(report)
}

/// A token of the database's state for the report cache, taken before the
/// report is read: PostgreSQL's snapshot (one statement; two equal
/// snapshots see the same rows) with the server's start time (a promoted
/// standby or a restored cluster may hand out the same transaction ids
/// again, never under the same start time), or SQLite's count of commits
/// as the session view watches it (no statement). `None` when nothing may
/// be kept: the cache is off, the read goes to a replica (which may lag
/// behind a state another request saw on the primary), SQLite's count is
/// not watched (an in-memory database) or was being read by another
/// worker, or the statement failed (the report is then read as usual).
async fn database_state(state: &Ctx) -> Option<String> {
    if !state.reports.is_on() || !state.db.reads_primary() {
        return None;
    }
    match state.db.get_database_backend() {
        DbBackend::Postgres => {
            let statement = raw(
                DbBackend::Postgres,
                "SELECT CAST(pg_current_snapshot() AS TEXT) || '@' || \
                 CAST(pg_postmaster_start_time() AS TEXT) AS s",
                vec![],
            );
            match state.db.query_one_raw(statement).await {
                Ok(Some(row)) => row.try_get::<String>("", "s").ok(),
                Ok(None) => None,
                Err(e) => {
                    tracing::warn!(error = %e, "the database's snapshot could not be read: the report is not kept");
                    None
                }
            }
        }
        DbBackend::Sqlite => state.sessions.commit_count().map(|n| n.to_string()),
        _ => None,
    }
}

/// Who may read a group's report, and for which periods, in this order:
/// the group must exist (`NOT_FOUND`), then [`admit`]. The leader's page
/// and its link ask here; [`group_report`] (GraphQL and CSV) makes the
/// same checks in the same order, with the leadership read in its seats'
/// statement. A rule added here goes into [`admit`], which both call.
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
    admit(me.is_admin, leads, from, to)?;
    Ok(group)
}

/// The checks after the group is found: admins, and members holding an
/// active leader's seat in it (`FORBIDDEN`), then the period
/// (`BAD_USER_INPUT`).
fn admit(is_admin: bool, leads: bool, from: NaiveDate, to: NaiveDate) -> DomainResult<()> {
    if !(is_admin || leads) {
        return Err(DomainError::Forbidden(
            "only a leader of this group may do this".into(),
        ));
    }
    check_period(from, to)
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
    use entities::group;
    struct Found(group::Model, bool);
    impl sea_orm::FromQueryResult for Found {
        fn from_query_result(row: &sea_orm::QueryResult, pre: &str) -> Result<Self, DbErr> {
            Ok(Found(
                group::Model::from_query_result(row, pre)?,
                row.try_get(pre, "caller_leads")?,
            ))
        }
    }
    let found = group::Entity::find_by_id(group_id.to_string())
        .column_as(Expr::exists(leads(group_id, member_id)), "caller_leads")
        .into_model::<Found>()
        .one(db)
        .await?;
    Ok(found.map(|Found(g, leads)| (g, leads)))
}

/// Whether `member_id` holds an active leader's seat in the group.
fn leads(group_id: &str, member_id: &str) -> sea_orm::sea_query::SelectStatement {
    use entities::Role;
    Query::select()
        .expr(Expr::val(1))
        .from(membership::Entity)
        .and_where(membership::Column::GroupId.eq(group_id))
        .and_where(membership::Column::MemberId.eq(member_id))
        .and_where(membership::Column::Role.eq(Role::Leader))
        .and_where(membership::Column::LeftOn.is_null())
        .to_owned()
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

/// Per-member referral figures of the group.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
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

/// Everything the rows count, per member: referrals given and received in
/// the period and the score's window, closed business won in the period,
/// and (with `parts.meeting_figures`) attendance by status, visitors
/// invited and one-to-ones held.
#[derive(Default)]
struct Figures {
    period: HashMap<String, ReferralCounts>,
    window: HashMap<String, ReferralCounts>,
    attendance: HashMap<String, (Palms, Palms)>,
    visitors: HashMap<String, Both>,
    one_to_ones: HashMap<String, Both>,
}

/// A referral counted in the period: made in it and not withdrawn.
/// Parameters: $3 the period's end, $4 its start, $7 WITHDRAWN.
const MADE_IN_PERIOD: &str = "(status <> $7 AND created_at >= $4 AND created_at < $3)";

/// The value a referral won in the period adds ($6 WON).
const WON_VALUE: &str = "CASE WHEN status = $6 AND won_at >= $4 AND won_at < $3 THEN COALESCE(closed_value_e4, 0) ELSE 0 END";

/// The referrals the sums read: made since $2, or won in the period. $1 is
/// the group; `idx_referrals_group_id_created_at_cover` holds every column
/// the sums read, so no row is fetched from the table. The group's earlier
/// referrals are read too (a win in the period may have been made at any
/// time): reading the two parts through two indexes instead (the second on
/// a group's wins by day) cost more on the bench data, 400 against 390 µs
/// on PostgreSQL and 585 against 325 on SQLite, where a group's history
/// is two years.
const REFERRAL_ROWS: &str = "\
FROM referrals WHERE group_id = $1 \
 AND ((created_at >= $2 AND created_at < $3) OR (status = $6 AND won_at >= $4 AND won_at < $3))";

/// The figures of the group's referrals, in the columns `figures` reads:
/// made in the period (`n_p`), inside the group and in absence among them,
/// the value of wins in the period (`closed_p`) and, with `window`, made in
/// the score's window (`n_w`, from $5) and won among them; without it those
/// two are 0. A side that is not a member comes back with no member id.
///
/// PostgreSQL groups them per giver ('G') and per receiver ('R') in one
/// pass. SQLite hands back one row per referral ('X': the giver in
/// `member_id`, the receiver in `other`, each sum 0 or the row's own) and
/// `figures` adds them up: SQLite has no grouping sets, and its two sorts
/// (one per side) cost more than reading the rows — on the bench data, a
/// group's year of 420 referrals, 640 µs against 290 for the statement
/// without its sorts, and the server's CPU per narrow report fell by
/// 13–28 % in six of seven paired runs.
fn referral_counts(backend: DbBackend, window: bool) -> String {
    const MADE_IN_WINDOW: &str = "(status <> $7 AND created_at >= $5 AND created_at < $3)";
    const WON_IN_WINDOW: &str = "(status = $6 AND created_at >= $5 AND created_at < $3)";
    if backend == DbBackend::Postgres {
        let count = |flag: &str| format!("CAST(SUM(CASE WHEN {flag} THEN 1 ELSE 0 END) AS BIGINT)");
        let windowed = if window {
            format!("{}, {}", count(MADE_IN_WINDOW), count(WON_IN_WINDOW))
        } else {
            "CAST(0 AS BIGINT), CAST(0 AS BIGINT)".to_string()
        };
        format!(
            "SELECT CASE WHEN GROUPING(giver_member_id) = 0 THEN 'G' ELSE 'R' END AS kind, \
             COALESCE(giver_member_id, receiver_member_id) AS member_id, NULL AS other, \
             {}, {}, {}, CAST(SUM({WON_VALUE}) AS BIGINT), {windowed} {REFERRAL_ROWS} \
             GROUP BY GROUPING SETS ((giver_member_id), (receiver_member_id))",
            count(MADE_IN_PERIOD),
            count(&format!("{MADE_IN_PERIOD} AND inside_group")),
            count(&format!("{MADE_IN_PERIOD} AND made_in_absence")),
        )
    } else {
        let windowed = if window {
            format!("{MADE_IN_WINDOW} AS n_w, {WON_IN_WINDOW} AS won_w")
        } else {
            "0 AS n_w, 0 AS won_w".to_string()
        };
        format!(
            "SELECT 'X' AS kind, giver_member_id AS member_id, receiver_member_id AS other, \
             {MADE_IN_PERIOD} AS n_p, {MADE_IN_PERIOD} AND inside_group AS inside_p, \
             {MADE_IN_PERIOD} AND made_in_absence AS absent_p, {WON_VALUE} AS closed_p, \
             {windowed} {REFERRAL_ROWS}"
        )
    }
}

/// The meeting-side counts, in the same columns: attendance ('A', by
/// status) and visitors ('V') at the group's meetings, and one-to-ones
/// ('O') held on or after the member's seat in this group began (either
/// side of the one-to-one). Parameters: $1 group, $8 the earliest day
/// read, $9 the period's last day, $10 its first, $11 the window's first.
const MEETING_COUNTS: &str = " \
UNION ALL \
SELECT 'A', a.member_id, a.status, \
 CAST(SUM(CASE WHEN mt.held_on >= $10 THEN 1 ELSE 0 END) AS BIGINT), 0, 0, 0, \
 CAST(SUM(CASE WHEN mt.held_on >= $11 THEN 1 ELSE 0 END) AS BIGINT), 0 \
FROM attendance a JOIN meetings mt ON mt.id = a.meeting_id \
WHERE mt.group_id = $1 AND mt.held_on >= $8 AND mt.held_on <= $9 \
GROUP BY a.member_id, a.status \
UNION ALL \
SELECT 'V', v.invited_by_id, NULL, \
 CAST(SUM(CASE WHEN mt.held_on >= $10 THEN 1 ELSE 0 END) AS BIGINT), 0, 0, 0, \
 CAST(SUM(CASE WHEN mt.held_on >= $11 THEN 1 ELSE 0 END) AS BIGINT), 0 \
FROM visitors v JOIN meetings mt ON mt.id = v.meeting_id \
WHERE mt.group_id = $1 AND mt.held_on >= $8 AND mt.held_on <= $9 \
GROUP BY v.invited_by_id \
UNION ALL \
SELECT 'O', ms.member_id, NULL, \
 CAST(SUM(CASE WHEN o.held_on >= $10 AND (ms.left_on IS NULL OR ms.left_on >= $10) THEN 1 ELSE 0 END) AS BIGINT), 0, 0, 0, \
 CAST(SUM(CASE WHEN o.held_on >= $11 AND (ms.left_on IS NULL OR ms.left_on >= $11) THEN 1 ELSE 0 END) AS BIGINT), 0 \
FROM one_to_ones o JOIN memberships ms ON ms.member_id = o.member_id \
WHERE ms.group_id = $1 AND ms.joined_on <= $9 AND o.held_on >= ms.joined_on \
 AND o.held_on >= $8 AND o.held_on <= $9 AND (ms.left_on IS NULL OR ms.left_on >= $8) \
GROUP BY ms.member_id \
UNION ALL \
SELECT 'O', ms.member_id, NULL, \
 CAST(SUM(CASE WHEN o.held_on >= $10 AND (ms.left_on IS NULL OR ms.left_on >= $10) THEN 1 ELSE 0 END) AS BIGINT), 0, 0, 0, \
 CAST(SUM(CASE WHEN o.held_on >= $11 AND (ms.left_on IS NULL OR ms.left_on >= $11) THEN 1 ELSE 0 END) AS BIGINT), 0 \
FROM one_to_ones o JOIN memberships ms ON ms.member_id = o.with_member_id \
WHERE ms.group_id = $1 AND ms.joined_on <= $9 AND o.held_on >= ms.joined_on \
 AND o.held_on >= $8 AND o.held_on <= $9 AND (ms.left_on IS NULL OR ms.left_on >= $8) \
GROUP BY ms.member_id";

/// The rows' figures in one statement, counted by the database (a few
/// dozen rows back whatever the group's traffic; on SQLite the referrals'
/// rows, added up here). The window's referral
/// counts and the meeting-side figures are kept only with
/// `parts.meeting_figures` (the score needs them; without it they stay
/// empty). The sums' rules are those of the balances (`in_period`,
/// `won_value` in `balances::service`): keep them in step.
async fn figures(
    db: &impl ConnectionTrait,
    group_id: &str,
    from: NaiveDate,
    window_from: NaiveDate,
    to: NaiveDate,
    parts: Parts,
) -> DomainResult<Figures> {
    let (start, end) = day_range(from, to);
    let (window_start, _) = day_range(window_from, to);
    let made_from = if parts.meeting_figures {
        start.min(window_start)
    } else {
        start
    };
    let backend = db.get_database_backend();
    let mut sql = referral_counts(backend, parts.meeting_figures);
    let mut values: Vec<sea_orm::Value> = vec![
        group_id.into(),
        made_from.into(),
        end.into(),
        start.into(),
        window_start.into(),
        ReferralStatus::Won.to_value().into(),
        ReferralStatus::Withdrawn.to_value().into(),
    ];
    if parts.meeting_figures {
        sql.push_str(MEETING_COUNTS);
        values.extend([
            from.min(window_from).into(),
            to.into(),
            from.into(),
            window_from.into(),
        ]);
    }
    let mut out = Figures::default();
    if backend == DbBackend::Sqlite {
        // One JSON array built by the statement: sqlx passes each row from
        // the connection's thread to the request's, waking it once per row
        // (in a profile of the whole report, a sixth of the server's CPU
        // was in the kernel, nearly all of it those wake-ups).
        let sql = format!(
            "SELECT json_group_array(json_array(kind, member_id, other, \
             n_p, inside_p, absent_p, closed_p, n_w, won_w)) FROM ({sql})"
        );
        let row = db
            .query_one_raw(raw(backend, &sql, values))
            .await?
            .ok_or_else(|| DbErr::Custom("the figures' statement returned no row".into()))?;
        let text: String = row.try_get_by_index(0)?;
        let rows: Vec<FigureRow<'_>> = serde_json::from_str(&text)
            .map_err(|e| DbErr::Custom(format!("the figures' rows: {e}")))?;
        for row in &rows {
            out.add(row, parts.meeting_figures)?;
        }
    } else {
        for row in db.query_all_raw(raw(backend, &sql, values)).await? {
            out.add(&FigureRow::read(&row)?, parts.meeting_figures)?;
        }
    }
    Ok(out)
}

/// One row of the figures' statement: kind, member, the other side (an
/// attendance's status, a referral's receiver) and the six sums, as
/// `referral_counts` and `MEETING_COUNTS` name them. Its text is borrowed
/// from SQLite's JSON where it can be (member ids have nothing to unescape).
#[derive(serde::Deserialize)]
struct FigureRow<'a>(
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Option<Text<'a>>,
    #[serde(borrow)] Option<Text<'a>>,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
);

/// A text column borrowed from the JSON it is read from when it has
/// nothing to unescape: serde's `borrow` reaches a `Cow` only as the
/// field's own type, not one inside an `Option`, which it would copy.
struct Text<'a>(Cow<'a, str>);

impl Text<'_> {
    fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(s))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(Cow::Owned(s))
            }
        }
        d.deserialize_str(Visit).map(Text)
    }
}

impl FigureRow<'static> {
    fn read(row: &QueryResult) -> Result<Self, DbErr> {
        let text = |i| -> Result<Option<Text<'static>>, DbErr> {
            Ok(row
                .try_get_by_index::<Option<String>>(i)?
                .map(|s| Text(Cow::Owned(s))))
        };
        Ok(FigureRow(
            Cow::Owned(row.try_get_by_index(0)?),
            text(1)?,
            text(2)?,
            row.try_get_by_index(3)?,
            row.try_get_by_index(4)?,
            row.try_get_by_index(5)?,
            row.try_get_by_index(6)?,
            row.try_get_by_index(7)?,
            row.try_get_by_index(8)?,
        ))
    }
}

/// `map`'s entry for `key`, made only when missing (most rows add to a
/// member already seen, and need no key of their own).
fn entry<'m, V: Default>(map: &'m mut HashMap<String, V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    map.get_mut(key).expect("inserted above")
}

impl Figures {
    /// Adds one row of the figures' statement. A side that is not a member
    /// (a referral given or received by a contact or a firm) adds nothing.
    fn add(&mut self, row: &FigureRow<'_>, meeting_figures: bool) -> Result<(), DbErr> {
        let FigureRow(kind, member, other, n_p, inside_p, absent_p, closed_p, n_w, won_w) = row;
        let (n_p, inside_p, absent_p, closed_p, n_w, won_w) =
            (*n_p, *inside_p, *absent_p, *closed_p, *n_w, *won_w);
        let given = |out: &mut Figures, giver: &str| {
            let p = entry(&mut out.period, giver);
            p.given += n_p;
            p.inside += inside_p;
            p.given_absent += absent_p;
            p.closed_given += closed_p;
            // Without the meeting figures the rows read start at the
            // period, so the window's sums would cover part of it.
            if meeting_figures {
                let w = entry(&mut out.window, giver);
                w.given += n_w;
                w.won_given += won_w;
            }
        };
        let received = |out: &mut Figures, receiver: &str| {
            let p = entry(&mut out.period, receiver);
            p.received += n_p;
            p.received_absent += absent_p;
            p.closed_received += closed_p;
        };
        let other = other.as_ref().map(Text::as_str);
        match (kind.as_ref(), member.as_ref().map(Text::as_str)) {
            ("X", giver) => {
                if let Some(giver) = giver {
                    given(self, giver);
                }
                if let Some(receiver) = other {
                    received(self, receiver);
                }
            }
            ("G" | "R" | "A" | "V" | "O", None) => {}
            ("G", Some(giver)) => given(self, giver),
            ("R", Some(receiver)) => received(self, receiver),
            ("A", Some(member)) => {
                let status = other
                    .and_then(|s| AttendanceStatus::try_from_value(&s.to_string()).ok())
                    .ok_or_else(|| DbErr::Custom(format!("attendance status {other:?}")))?;
                let (p, w) = entry(&mut self.attendance, member);
                for (palms, n) in [(p, n_p), (w, n_w)] {
                    match status {
                        AttendanceStatus::Present => palms.present += n,
                        AttendanceStatus::Absent => palms.absent += n,
                        AttendanceStatus::Late => palms.late += n,
                        AttendanceStatus::Medical => palms.medical += n,
                        AttendanceStatus::Substitute => palms.substitute += n,
                    }
                }
            }
            ("V", Some(member)) => {
                let v = entry(&mut self.visitors, member);
                v.period += n_p;
                v.window += n_w;
            }
            ("O", Some(member)) => {
                let o = entry(&mut self.one_to_ones, member);
                o.period += n_p;
                o.window += n_w;
            }
            (kind, _) => {
                return Err(DbErr::Custom(format!("a figures' row of kind {kind:?}")));
            }
        }
        Ok(())
    }
}

const OPEN: [ReferralStatus; 3] = [
    ReferralStatus::Accepted,
    ReferralStatus::Contacted,
    ReferralStatus::MeetingSet,
];

/// The report's two lists, from one statement reading `columns` of each
/// referral (`ReferralColumns::ALL` for whole rows): wins in
/// the period still unthanked `UNTHANKED_AFTER_DAYS` after the win (oldest
/// first), and open referrals whose follow-up day has passed, of any date
/// (most overdue first); and when the first of the period's unthanked wins
/// not yet due falls due, which changes the lists with nothing committed
/// (how long a kept report holds, `reports::cache`).
async fn lists(
    db: &impl ConnectionTrait,
    group_id: &str,
    from: NaiveDate,
    to: NaiveDate,
    columns: ReferralColumns,
    now: DateTime<Utc>,
) -> DomainResult<Lists> {
    let (start, end) = day_range(from, to);
    let thanks_due_before = now - Duration::days(UNTHANKED_AFTER_DAYS);
    let today = now.date_naive();
    // The split and the orders below read these.
    let columns = columns.and([
        referral::Column::Status,
        referral::Column::WonAt,
        referral::Column::NextFollowUpOn,
    ]);
    let wanted = referral::Entity::find()
        .filter(referral::Column::GroupId.eq(group_id))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(referral::Column::Status.eq(ReferralStatus::Won))
                        .add(referral::Column::WonAt.gte(start))
                        .add(referral::Column::WonAt.lt(end))
                        // Also those not due yet (at most a week's wins): the
                        // first to fall due says how long the lists hold.
                        .add(referral::Column::ThankedAt.is_null()),
                )
                .add(
                    Condition::all()
                        .add(referral::Column::Status.is_in(OPEN))
                        .add(referral::Column::NextFollowUpOn.lt(today)),
                ),
        );
    let rows = all_reading(db, wanted, columns).await?;
    let (wins, mut overdue): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .partition(|r| r.status == ReferralStatus::Won);
    let (mut unthanked, not_yet): (Vec<_>, Vec<_>) = wins
        .into_iter()
        .partition(|r| r.won_at.is_some_and(|won| won < thanks_due_before));
    let change_at = not_yet
        .iter()
        .filter_map(|r| r.won_at)
        .min()
        .map(|won| won + Duration::days(UNTHANKED_AFTER_DAYS));
    unthanked.sort_by(|a, b| a.won_at.cmp(&b.won_at).then(a.id.cmp(&b.id)));
    overdue.sort_by(|a, b| {
        a.next_follow_up_on
            .cmp(&b.next_follow_up_on)
            .then(a.id.cmp(&b.id))
    });
    Ok((unthanked, overdue, change_at))
}

/// The unthanked wins, the overdue follow-ups, and when the first of the
/// period's unthanked wins not yet due becomes due (see [`lists`]).
type Lists = (
    Vec<referral::Model>,
    Vec<referral::Model>,
    Option<DateTime<Utc>>,
);

/// Members holding a seat in the group that overlaps the period, with every
/// seat they ever held (any group; with `parts.history`, else their seats
/// in this group), oldest first, with their whole rows or (without
/// `parts.whole_members`) their ids and names: one statement. With a
/// `caller`, each row also says whether the caller leads the group (the
/// same on every row; `None` when there is no row).
async fn seats_with_history(
    db: &impl ConnectionTrait,
    group_id: &str,
    caller: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
    parts: Parts,
) -> DomainResult<(Vec<(membership::Model, member::Model)>, Option<bool>)> {
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
    let mut seats = membership::Entity::find()
        .join(
            sea_orm::JoinType::InnerJoin,
            membership::Relation::Member.def(),
        )
        .filter(membership::Column::MemberId.in_subquery(in_period))
        .order_by_asc(membership::Column::JoinedOn)
        .order_by_asc(membership::Column::CreatedAt)
        .order_by_asc(membership::Column::Id);
    if !parts.history {
        seats = seats.filter(membership::Column::GroupId.eq(group_id));
    }
    // The seat's columns, then the member's (without the password hash),
    // or only the member's id and name: read by position.
    let seats = if parts.whole_members {
        crate::members::rows::with_member_columns(seats, "m_")
    } else {
        seats
            .column_as(Expr::col((member::Entity, member::Column::Id)), "m_id")
            .column_as(Expr::col((member::Entity, member::Column::Name)), "m_name")
    };
    let seats = match caller {
        Some(caller) => seats.column_as(Expr::exists(leads(group_id, caller)), "caller_leads"),
        None => seats,
    };
    let at = membership::Model::COLUMNS;
    let rows = db
        .query_all_raw(seats.build(db.get_database_backend()))
        .await?;
    let read = |row: &QueryResult| -> Result<(membership::Model, member::Model), DbErr> {
        let member = if parts.whole_members {
            member::Model::at(row, at)?
        } else {
            crate::members::rows::named(row.try_get_by_index(at)?, row.try_get_by_index(at + 1)?)
        };
        Ok((membership::Model::at(row, 0)?, member))
    };
    let leads = match (caller, rows.first()) {
        (Some(_), Some(row)) => Some(row.try_get::<bool>("", "caller_leads")?),
        _ => None,
    };
    Ok((rows.iter().map(read).collect::<Result<_, _>>()?, leads))
}

/// The report of a group whose reader was checked ([`check`]).
pub async fn build(
    db: &impl ConnectionTrait,
    group_id: &str,
    from: NaiveDate,
    to: NaiveDate,
    parts: Parts,
) -> DomainResult<Report> {
    let (history, _) = seats_with_history(db, group_id, None, from, to, parts).await?;
    build_from(db, group_id, from, to, parts, history, Utc::now()).await
}

/// The report from its seats (see [`seats_with_history`]).
async fn build_from(
    db: &impl ConnectionTrait,
    group_id: &str,
    from: NaiveDate,
    to: NaiveDate,
    parts: Parts,
    history: Vec<(membership::Model, member::Model)>,
    now: DateTime<Utc>,
) -> DomainResult<Report> {
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
    let figures = figures(db, group_id, from, score_from, to, parts).await?;
    let (unthanked_wins, overdue_follow_ups, lists_change_at) = if parts.lists {
        lists(db, group_id, from, to, parts.list_columns, now).await?
    } else {
        (Vec::new(), Vec::new(), None)
    };

    let mut rows: Vec<Row> = latest
        .into_values()
        .map(|(seat, m)| {
            let p = figures.period.get(&m.id).copied().unwrap_or_default();
            let w = figures.window.get(&m.id).copied().unwrap_or_default();
            let (attendance, window_attendance) =
                figures.attendance.get(&m.id).cloned().unwrap_or_default();
            let visitors = figures.visitors.get(&m.id).copied().unwrap_or_default();
            let one_to_ones = figures.one_to_ones.get(&m.id).copied().unwrap_or_default();
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
            let group_hopping = parts.history && {
                let own: Vec<Seat> = history
                    .iter()
                    .filter(|(s, _)| s.member_id == m.id)
                    .map(|(s, _)| Seat {
                        group_key: usize::from(s.group_id != group_id),
                        joined_on: s.joined_on,
                        left_on: s.left_on,
                    })
                    .collect();
                tenure(&own, to).group_hopping
            };
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
                group_hopping,
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
        unthanked_wins,
        overdue_follow_ups,
        lists_change_at,
    })
}

/// Declared partnerships between members of the report where, in the year
/// up to `to`, one side gave 3 or more and the other none (referrals made
/// in any group count). One statement: the declared pairs with both
/// directions' counts, each read from the receiver's covering index.
///
/// One side is an `EXISTS` and the other an `IN`: with two `IN` lists
/// SQLite probed the pairs' index for every pair of the group's members
/// (1,600 probes for 40 seats) instead of reading each partner's pairs;
/// 560 µs → 180 µs on the bench data with the covering index, and the
/// same plan as before on PostgreSQL.
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
WHERE EXISTS (SELECT 1 FROM memberships ms WHERE ms.member_id = p.member_id AND ms.group_id = $4 \
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(json: &str) -> Vec<FigureRow<'_>> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_referrals_row_counts_for_its_giver_and_its_receiver_when_they_are_members() {
        // Ann→Ben inside, in absence, won 12.5; Ann→a firm; a contact→Ben.
        let json = r#"[["X","ann","ben",1,1,1,125000,1,1],
                       ["X","ann",null,1,0,0,0,1,0],
                       ["X",null,"ben",1,0,1,0,0,0]]"#;
        let mut out = Figures::default();
        for row in &rows(json) {
            out.add(row, true).unwrap();
        }
        let ann = out.period["ann"];
        assert_eq!(
            (
                ann.given,
                ann.inside,
                ann.given_absent,
                ann.closed_given,
                ann.received
            ),
            (2, 1, 1, 125_000, 0)
        );
        let ben = out.period["ben"];
        assert_eq!(
            (
                ben.received,
                ben.received_absent,
                ben.closed_received,
                ben.given
            ),
            (2, 2, 125_000, 0)
        );
        assert_eq!(
            (out.window["ann"].given, out.window["ann"].won_given),
            (2, 1)
        );
        // The receiver's side has no window figures (the score reads the giver's).
        assert!(!out.window.contains_key("ben"));
        assert_eq!(out.period.len(), 2);

        // Without the meeting figures the window is not kept.
        let mut out = Figures::default();
        for row in &rows(json) {
            out.add(row, false).unwrap();
        }
        assert!(out.window.is_empty());
        assert_eq!(out.period["ann"].given, 2);
    }

    /// Both databases' rows for the same referrals give the same figures:
    /// PostgreSQL's grouped per giver and receiver, SQLite's one per referral.
    #[test]
    fn grouped_rows_and_per_referral_rows_give_the_same_figures() {
        let add = |json: &str| {
            let mut out = Figures::default();
            for row in &rows(json) {
                out.add(row, true).unwrap();
            }
            out
        };
        let per_referral = add(
            r#"[["X","ann","ben",1,1,1,125000,1,1],["X","ann",null,1,0,0,0,1,0],
                ["X",null,"ben",1,0,1,0,0,0],["X","ben","ann",0,0,0,0,0,0]]"#,
        );
        let grouped = add(
            r#"[["G","ann",null,2,1,1,125000,2,1],["G","ben",null,0,0,0,0,0,0],
                ["G",null,null,1,0,1,0,0,0],
                ["R","ben",null,2,0,2,125000,0,0],["R","ann",null,0,0,0,0,0,0],
                ["R",null,null,1,0,0,0,0,0]]"#,
        );
        assert_eq!(per_referral.period, grouped.period);
        assert_eq!(per_referral.window, grouped.window);
        assert_eq!(per_referral.period["ben"].received, 2);
    }

    #[test]
    fn meeting_rows_land_in_their_own_figures() {
        let mut out = Figures::default();
        for row in &rows(
            r#"[["A","ann","LATE",1,0,0,0,1,0],["A","ann","PRESENT",3,0,0,0,0,0],
                ["V","ben",null,3,0,0,0,1,0],["O","ann",null,4,0,0,0,2,0]]"#,
        ) {
            out.add(row, true).unwrap();
        }
        let (period, window) = &out.attendance["ann"];
        assert_eq!(
            (period.late, period.present, window.late, window.present),
            (1, 3, 1, 0)
        );
        assert_eq!(
            (out.visitors["ben"].period, out.visitors["ben"].window),
            (3, 1)
        );
        assert_eq!(
            (out.one_to_ones["ann"].period, out.one_to_ones["ann"].window),
            (4, 2)
        );
        assert!(out.period.is_empty());
    }

    #[test]
    fn a_row_of_an_unknown_kind_or_status_is_an_error_not_a_guess() {
        let mut out = Figures::default();
        let bad = rows(
            r#"[["Q","ann",null,1,0,0,0,0,0],["A","ann","DANCING",1,0,0,0,0,0],
                ["Q",null,null,1,0,0,0,0,0]]"#,
        );
        for row in &bad {
            assert!(out.add(row, true).is_err());
        }
        assert!(out.period.is_empty() && out.attendance.is_empty());
        // A known kind for a side that is not a member adds nothing.
        let contact = rows(r#"[["G",null,null,1,0,0,0,0,0],["A",null,"PRESENT",1,0,0,0,1,0]]"#);
        for row in &contact {
            out.add(row, true).unwrap();
        }
        assert!(out.period.is_empty() && out.attendance.is_empty());
    }

    #[test]
    fn a_rows_text_is_borrowed_from_its_json_unless_it_has_escapes() {
        let read = rows(r#"[["X","ann","b\u0065n",1,0,0,0,0,0]]"#);
        let FigureRow(kind, member, other, ..) = &read[0];
        assert!(matches!(kind, Cow::Borrowed("X")));
        assert!(matches!(member, Some(Text(Cow::Borrowed("ann")))));
        assert!(matches!(other, Some(Text(Cow::Owned(s))) if s == "ben"));
    }
}
