//! Where a new referral goes: whether it was made in the receiver's
//! absence (the presence table applied to what the database knows of that
//! day) and which delegate holds it while the receiver is away.

use chrono::{DateTime, Utc};
use entities::{AbsenceReason, AttendanceStatus, absence, referral_request};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait, QuerySelect, QueryTrait, Select};

use super::giving::{Draft, Giver, Receiver};
use super::presence::{Circumstances, absence_reason};
use crate::error::DomainResult;
use crate::requests::service::Asked;

/// What the giving transaction reads of a member receiver's day before the
/// referral is written: whether an absence is in force today, and its
/// delegate; and the request of theirs the referral answers, locked.
#[derive(Default)]
pub(super) struct ReceiverToday {
    /// `Some` while an absence is in force: its delegate, if it names one.
    pub away: Option<Option<String>>,
    pub request_id: Option<String>,
}

/// `ReceiverToday` in one statement: each part is a scalar subquery (the
/// queries `active_absence` and `answered_by` run, cut to a column), so the
/// giving transaction spends one round trip on them, not two. A firm or a
/// contact receives with no absence or request: nothing is read.
pub(super) async fn receiver_today(
    txn: &DatabaseTransaction,
    receiver_member: Option<&str>,
    asked: Option<&Asked>,
    now: DateTime<Utc>,
) -> DomainResult<ReceiverToday> {
    let Some(receiver) = receiver_member else {
        return Ok(ReceiverToday::default());
    };
    fn first<E: EntityTrait>(q: Select<E>, column: E::Column) -> Expr {
        let q = q.select_only().column(column).limit(1).into_query();
        Expr::SubQuery(None, Box::new(q.into()))
    }
    let absence = crate::absences::service::active_absence_query(receiver, now.date_naive());
    let request = match asked {
        Some(asked) => first(
            crate::requests::service::answered_by(asked, receiver, now),
            referral_request::Column::Id,
        ),
        None => Expr::cust("NULL"),
    };
    let statement = Query::select()
        .expr_as(first(absence.clone(), absence::Column::Id), "absence_id")
        .expr_as(first(absence, absence::Column::DelegateId), "delegate_id")
        .expr_as(request, "request_id")
        .to_owned();
    let row = txn
        .query_one_raw(txn.get_database_backend().build(&statement))
        .await?;
    let Some(row) = row else {
        return Ok(ReceiverToday::default());
    };
    let absence_id: Option<String> = row.try_get("", "absence_id")?;
    Ok(ReceiverToday {
        away: absence_id
            .map(|_| row.try_get::<Option<String>>("", "delegate_id"))
            .transpose()?,
        request_id: row.try_get("", "request_id")?,
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
    txn: &DatabaseTransaction,
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
