//! Where a new referral goes: whether it was made in the receiver's
//! absence (the presence table applied to what the database knows of that
//! day) and which delegate holds it while the receiver is away.

use chrono::{DateTime, Utc};
use entities::{AbsenceReason, AttendanceStatus};
use sea_orm::DatabaseTransaction;

use super::giving::{Draft, Giver, Receiver};
use super::presence::{Circumstances, absence_reason};
use crate::error::DomainResult;

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
) -> DomainResult<Presence> {
    let made_on = match &draft.meeting_id {
        Some(m) => crate::meetings::service::find_meeting(txn, m)
            .await?
            .map(|m| m.held_on)
            .unwrap_or(now.date_naive()),
        None => now.date_naive(),
    };
    let (away_then, away) = match &draft.receiver {
        Receiver::Member(m) => {
            let today = now.date_naive();
            let away = crate::absences::service::active_absence(txn, &m.id, today).await?;
            // Made today (all but meeting referrals): the same absence.
            let then = if made_on == today {
                away.clone()
            } else {
                crate::absences::service::active_absence(txn, &m.id, made_on).await?
            };
            (then, away)
        }
        Receiver::Firm(_) | Receiver::Contact(_) => (None, None),
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
            receiver_away: away_then.is_some(),
        }),
    };
    // A giver covering for the receiver must not hold their own referral.
    let delegate_id = away
        .and_then(|a| a.delegate_id)
        .filter(|d| match &draft.giver {
            Giver::Member(g) => g != d,
            _ => true,
        });
    Ok(Presence {
        reason,
        delegate_id,
    })
}
