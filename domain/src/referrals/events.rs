//! A referral's history: one event per change, written in the change's
//! own transaction.

use chrono::{DateTime, Utc};
use entities::{EventKind, ReferralStatus, referral_event};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::error::DomainResult;
use crate::validation::new_id;

#[derive(Debug, Clone, Default)]
pub struct EventActor {
    pub member: Option<String>,
    pub firm: Option<String>,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn record_event(
    db: &impl ConnectionTrait,
    referral_id: &str,
    kind: EventKind,
    actor: &EventActor,
    from: Option<ReferralStatus>,
    to: Option<ReferralStatus>,
    note: Option<String>,
    at: DateTime<Utc>,
) -> DomainResult<()> {
    event_row(referral_id, kind, actor, from, to, note, at)
        .insert(db)
        .await?;
    Ok(())
}

/// The row `record_event` writes, for a caller that writes it itself
/// (with its referral, in one statement).
pub(super) fn event_row(
    referral_id: &str,
    kind: EventKind,
    actor: &EventActor,
    from: Option<ReferralStatus>,
    to: Option<ReferralStatus>,
    note: Option<String>,
    at: DateTime<Utc>,
) -> referral_event::ActiveModel {
    referral_event::ActiveModel {
        id: Set(new_id()),
        referral_id: Set(referral_id.to_string()),
        kind: Set(kind),
        from_status: Set(from),
        to_status: Set(to),
        actor_member_id: Set(actor.member.clone()),
        actor_firm_id: Set(actor.firm.clone()),
        note: Set(note),
        at: Set(at),
    }
}
