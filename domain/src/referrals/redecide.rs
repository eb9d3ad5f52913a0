//! Presence settled by the facts: when attendance is recorded for a
//! meeting, the referrals passed at it to those members are judged again by
//! the presence table. A meeting's attendance is final once referrals from
//! it can no longer be recorded (`MEETING_RECORDING_DAYS` after it); from
//! then on its referrals' presence never changes.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entities::{AttendanceStatus, Channel, EventKind, meeting, referral};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::events::{EventActor, record_event};
use super::giving::MEETING_RECORDING_DAYS;
use super::presence::{Circumstances, absence_reason};
use crate::error::DomainResult;

/// Whether the meeting's attendance still decides its referrals' presence.
pub fn attendance_open(held_on: NaiveDate, today: NaiveDate) -> bool {
    today <= held_on + Duration::days(MEETING_RECORDING_DAYS)
}

/// Re-judges the meeting's referrals to members whose attendance was just
/// recorded (inside the caller's transaction); each one whose presence
/// changes gets a new version and a PRESENCE_CHANGED event. Returns the
/// referrals changed.
pub async fn after_attendance(
    txn: &impl ConnectionTrait,
    meeting: &meeting::Model,
    statuses: &[(String, AttendanceStatus)],
    actor_member_id: &str,
    now: DateTime<Utc>,
) -> DomainResult<Vec<referral::Model>> {
    if !attendance_open(meeting.held_on, now.date_naive()) || statuses.is_empty() {
        return Ok(Vec::new());
    }
    let members: Vec<String> = statuses.iter().map(|(m, _)| m.clone()).collect();
    let referrals = referral::Entity::find()
        .filter(referral::Column::MeetingId.eq(meeting.id.clone()))
        .filter(referral::Column::Channel.eq(Channel::Meeting))
        .filter(referral::Column::ReceiverMemberId.is_in(members))
        .all(txn)
        .await?;
    let actor = EventActor {
        member: Some(actor_member_id.to_string()),
        firm: None,
    };
    let mut changed = Vec::new();
    // Whether each receiver was away on the meeting's day, looked up once.
    let mut away_on_the_day: std::collections::HashMap<String, bool> = Default::default();
    for r in referrals {
        let Some(receiver) = r.receiver_member_id.clone() else {
            continue;
        };
        let Some(status) = statuses
            .iter()
            .find(|(m, _)| *m == receiver)
            .map(|(_, s)| *s)
        else {
            continue;
        };
        let away = match away_on_the_day.get(&receiver) {
            Some(away) => *away,
            None => {
                let away =
                    crate::absences::service::active_absence(txn, &receiver, meeting.held_on)
                        .await?
                        .is_some();
                away_on_the_day.insert(receiver.clone(), away);
                away
            }
        };
        let reason = absence_reason(Circumstances {
            channel: Channel::Meeting,
            meeting_attendance: Some(status),
            receiver_away: away,
        });
        if reason == r.absence_reason {
            continue;
        }
        let describe = |reason: Option<entities::AbsenceReason>| match reason {
            Some(reason) => format!("in absence ({})", sea_orm::ActiveEnum::to_value(&reason)),
            None => "in presence".to_string(),
        };
        let note = format!(
            "attendance recorded as {}: made {} (was {})",
            sea_orm::ActiveEnum::to_value(&status),
            describe(reason),
            describe(r.absence_reason)
        );
        let mut active: referral::ActiveModel = r.clone().into();
        active.made_in_absence = Set(reason.is_some());
        active.absence_reason = Set(reason);
        active.version = Set(r.version + 1);
        active.updated_at = Set(now);
        let updated = active.update(txn).await?;
        record_event(
            txn,
            &r.id,
            EventKind::PresenceChanged,
            &actor,
            None,
            None,
            Some(note),
            now,
        )
        .await?;
        changed.push(updated);
    }
    Ok(changed)
}
