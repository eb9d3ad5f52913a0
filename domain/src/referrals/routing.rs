//! Where a new referral goes: whether it was made in the receiver's
//! absence (the presence table applied to what the database knows of that
//! day) and which delegate holds it while the receiver is away.

use chrono::{DateTime, Utc};
use entities::{AbsenceReason, AttendanceStatus, absence, referral_request};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryResult, QuerySelect, QueryTrait, Select};

use super::giving::{Draft, Giver, Receiver};
use super::presence::{Circumstances, absence_reason};
use crate::error::DomainResult;
use crate::requests::service::Asked;

/// What is read of a member receiver's day before the referral is
/// written: whether an absence is in force today, and its delegate; and the
/// request of theirs the referral answers.
#[derive(Default)]
pub(super) struct ReceiverToday {
    /// `Some` while an absence is in force: its delegate, if it names one.
    pub away: Option<Option<String>>,
    pub request_id: Option<String>,
}

/// The select-list entries that read `ReceiverToday` for `receiver`, each a
/// scalar subquery (the queries `active_absence` and `answered_by` run, cut
/// to a column), so that a statement reading something else reads it too;
/// `lock` locks the request found (in the writing transaction).
pub(super) fn receiver_today_columns(
    receiver: &str,
    asked: Option<&Asked>,
    now: DateTime<Utc>,
    lock: bool,
) -> [(&'static str, Expr); 3] {
    fn first<E: EntityTrait>(q: Select<E>, column: E::Column) -> Expr {
        let q = q.select_only().column(column).limit(1).into_query();
        Expr::SubQuery(None, Box::new(q.into()))
    }
    let absence = crate::absences::service::active_absence_query(receiver, now.date_naive());
    let request = match asked {
        Some(asked) => {
            let q = crate::requests::service::answered_by(asked, receiver, now);
            first(
                if lock { q.lock_exclusive() } else { q },
                referral_request::Column::Id,
            )
        }
        None => Expr::cust("NULL"),
    };
    [
        (TODAY_ABSENCE, first(absence.clone(), absence::Column::Id)),
        (TODAY_DELEGATE, first(absence, absence::Column::DelegateId)),
        (TODAY_REQUEST, request),
    ]
}

const TODAY_ABSENCE: &str = "today_absence_id";
const TODAY_DELEGATE: &str = "today_delegate_id";
const TODAY_REQUEST: &str = "today_request_id";

/// `ReceiverToday` from a row that selected `receiver_today_columns`.
pub(super) fn receiver_today_of(row: &QueryResult) -> Result<ReceiverToday, DbErr> {
    let absence_id: Option<String> = row.try_get("", TODAY_ABSENCE)?;
    Ok(ReceiverToday {
        away: absence_id
            .map(|_| row.try_get::<Option<String>>("", TODAY_DELEGATE))
            .transpose()?,
        request_id: row.try_get("", TODAY_REQUEST)?,
    })
}

/// `ReceiverToday` in one statement of the writing transaction, the request
/// locked, for the ways of giving that have not read it with the receiver
/// (`give` has). A firm or a contact receives with no absence or request:
/// nothing is read.
pub(super) async fn receiver_today(
    txn: &impl ConnectionTrait,
    receiver_member: Option<&str>,
    asked: Option<&Asked>,
    now: DateTime<Utc>,
) -> DomainResult<ReceiverToday> {
    let Some(receiver) = receiver_member else {
        return Ok(ReceiverToday::default());
    };
    let mut statement = Query::select();
    for (alias, column) in receiver_today_columns(receiver, asked, now, true) {
        statement.expr_as(column, alias);
    }
    let row = txn
        .query_one_raw(txn.get_database_backend().build(&statement))
        .await?;
    Ok(match row {
        Some(row) => receiver_today_of(&row)?,
        None => ReceiverToday::default(),
    })
}

/// Whether the receiver took part (the presence table, judged on the day
/// the referral was made: a meeting's day) and, if they are away today, the
/// delegate it is routed to (the one covering now is the one to act).
pub(super) struct Presence {
    pub reason: Option<AbsenceReason>,
    pub delegate_id: Option<String>,
}

pub(super) async fn decide_presence(
    txn: &impl ConnectionTrait,
    draft: &Draft,
    meeting_attendance: Option<AttendanceStatus>,
    now: DateTime<Utc>,
    today: &ReceiverToday,
) -> DomainResult<Presence> {
    let made_on = match &draft.meeting_id {
        Some(m) => crate::meetings::service::find_meeting(txn, m)
            .await?
            .map(|m| m.held_on)
            .unwrap_or(now.date_naive()),
        None => now.date_naive(),
    };
    let away_then = match &draft.receiver {
        // Made today (all but meeting referrals): the absence read with the
        // receiver's day.
        Receiver::Member(_) if made_on == now.date_naive() => today.away.is_some(),
        Receiver::Member(m) => crate::absences::service::active_absence(txn, &m.id, made_on)
            .await?
            .is_some(),
        Receiver::Firm(_) | Receiver::Contact(_) => false,
    };
    let reason = match (&draft.giver, &draft.receiver) {
        // The member records what an outside contact told them directly, or
        // passes business to their own contact: the member took part and
        // the contact has no meetings to miss, so nothing was made in
        // anyone's absence.
        (Giver::Contact(_), _) | (_, Receiver::Contact(_)) => None,
        _ => absence_reason(Circumstances {
            channel: draft.channel,
            meeting_attendance,
            receiver_away: away_then,
        }),
    };
    // A giver covering for the receiver must not hold their own referral.
    let delegate_id = today.away.clone().flatten().filter(|d| match &draft.giver {
        Giver::Member(g) => g != d,
        _ => true,
    });
    Ok(Presence {
        reason,
        delegate_id,
    })
}
