//! Moving a referral: advancing it along the lifecycle, logging follow-ups
//! (with the group's cadence, parking and revisits) and thanking the giver.
//! Each move is one version-conditional write: of two concurrent moves from
//! one version exactly one lands.

use chrono::{Duration, Utc};
use entities::{BusinessKind, EventKind, ReferralStatus, group, referral};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait,
};

use super::events::record_event;
use super::lifecycle::{Lifecycle, Refusal, check_move};
use super::prospect::NOTE_MAX;
use super::standing::*;
use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::groups::settings::Cadence;
use crate::money::Money;
use crate::notifications::{NoticeKind, ReferralNotice};
use crate::validation::{optional_long_text, required_text};
use crate::webhooks::outbox::{self, WebhookEvent};

/// What came of a follow-up with the prospect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUpOutcome {
    NoAnswer,
    Responded,
}
pub struct AdvanceInput {
    pub referral_id: String,
    pub status: ReferralStatus,
    pub expected_version: Option<i32>,
    pub closed_value: Option<Money>,
    pub business_kind: Option<BusinessKind>,
    pub note: Option<String>,
}

/// The settings in force for the referral's group, read when scheduling.
async fn cadence(db: &impl ConnectionTrait, group_id: Option<&str>) -> DomainResult<Cadence> {
    let g = match group_id {
        Some(g) => group::Entity::find_by_id(g.to_string()).one(db).await?,
        None => None,
    };
    Ok(g.as_ref().map(Cadence::of).unwrap_or_default())
}

/// Moves a referral along its lifecycle under SPEC.md's rules.
pub async fn advance(
    state: &Ctx,
    actor: &Actor,
    input: AdvanceInput,
) -> DomainResult<referral::Model> {
    let note = optional_long_text("input.note", input.note.as_deref(), NOTE_MAX)?;
    let db = &state.db;
    let (current, standing) = find_visible(db, actor, &input.referral_id).await?;
    if let Some(expected) = input.expected_version
        && expected != current.version
    {
        return Err(DomainError::Conflict(format!(
            "the referral changed (version {} now, you expected {expected}); reload it",
            current.version
        )));
    }
    let from = current.status;
    let to = input.status;
    match check_move(from, to, &standing.movers()) {
        Ok(()) => {}
        Err(Refusal::NotAllowed) => {
            return Err(DomainError::InvalidTransition(format!(
                "a referral cannot move from {} to {}",
                from.to_value(),
                to.to_value()
            )));
        }
        Err(Refusal::WrongMover) => {
            return Err(DomainError::Forbidden(match to {
                ReferralStatus::Withdrawn => "only the giver may withdraw a referral".into(),
                _ => "only the receiver (or their active delegate) moves a referral forward".into(),
            }));
        }
    }
    let closed_value = match (to, input.closed_value) {
        (ReferralStatus::Won, Some(v)) if v.is_positive() => Some(v),
        (ReferralStatus::Won, _) => {
            return Err(DomainError::bad_input(
                "input.closedValue",
                "WON needs a closedValue greater than 0",
            ));
        }
        (_, Some(_)) => {
            return Err(DomainError::bad_input(
                "input.closedValue",
                "closedValue goes with WON",
            ));
        }
        (_, None) => None,
    };
    if to != ReferralStatus::Won && input.business_kind.is_some() {
        return Err(DomainError::bad_input(
            "input.businessKind",
            "businessKind goes with WON",
        ));
    }
    let cadence = cadence(db, current.group_id.as_deref()).await?;
    let now = Utc::now();
    let day = now.date_naive();

    let mut update = referral::ActiveModel {
        status: Set(to),
        version: Set(current.version + 1),
        updated_at: Set(now),
        ..Default::default()
    };
    if to.is_in_progress() {
        update.next_follow_up_on = Set(Some(day + Duration::days(cadence.interval_days)));
        update.unanswered_follow_ups = Set(0);
        update.revisit_on = Set(None);
    } else if to == ReferralStatus::Parked {
        update.next_follow_up_on = Set(None);
        update.revisit_on = Set(Some(cadence.revisit.after(day)));
    } else {
        update.next_follow_up_on = Set(None);
        update.revisit_on = Set(None);
    }
    if to == ReferralStatus::Won {
        update.closed_value_e4 = Set(closed_value.map(Money::stored));
        update.business_kind = Set(Some(input.business_kind.unwrap_or(BusinessKind::New)));
        update.won_at = Set(Some(now));
    }

    let txn = db.begin().await?;
    update_at_version(&txn, &current, update).await?;
    let event_actor = actor.event_actor();
    record_event(
        &txn,
        &current.id,
        EventKind::StatusChanged,
        &event_actor,
        Some(from),
        Some(to),
        note,
        now,
    )
    .await?;
    if to == ReferralStatus::Won
        && let (Some(giver), Some(group)) = (&current.giver_member_id, &current.group_id)
    {
        crate::rewards::service::award_tiers(&txn, giver, group, &current.id, now).await?;
    }
    let updated = reload(&txn, &current.id).await?;
    outbox::enqueue(&txn, &updated, WebhookEvent::StatusChanged(from), now).await?;
    let staged = notify_giver(&txn, &updated).await?;
    txn.commit().await?;
    staged.after_commit(&state.notifier);
    Ok(updated)
}

/// Writes `update` only if the referral is still at the version read
/// earlier: of two concurrent changes from one version exactly one lands.
async fn update_at_version(
    txn: &impl ConnectionTrait,
    current: &referral::Model,
    update: referral::ActiveModel,
) -> DomainResult<()> {
    let result = referral::Entity::update_many()
        .set(update)
        .filter(referral::Column::Id.eq(current.id.clone()))
        .filter(referral::Column::Version.eq(current.version))
        .exec(txn)
        .await?;
    if result.rows_affected == 1 {
        Ok(())
    } else {
        Err(DomainError::Conflict(
            "the referral was changed by someone else; reload it".into(),
        ))
    }
}

async fn reload(txn: &impl ConnectionTrait, referral_id: &str) -> DomainResult<referral::Model> {
    referral::Entity::find_by_id(referral_id.to_string())
        .one(txn)
        .await?
        .ok_or_else(|| {
            DomainError::internal(anyhow::anyhow!("referral vanished inside its transaction"))
        })
}

/// The giver always learns what became of their referral (the notice goes
/// out with the transaction).
async fn notify_giver(
    txn: &impl ConnectionTrait,
    r: &referral::Model,
) -> DomainResult<crate::notifications::Staged> {
    match &r.giver_member_id {
        Some(giver) => {
            crate::notifications::stage(
                txn,
                ReferralNotice {
                    referral_id: r.id.clone(),
                    kind: NoticeKind::Updated,
                    members: vec![giver.clone()],
                    webhooks: crate::notifications::involves_firm(r),
                },
            )
            .await
        }
        None => Ok(crate::notifications::Staged::none()),
    }
}

/// Logs a follow-up. NO_ANSWER schedules the next one; the group's limit of
/// unanswered follow-ups in a row parks the referral for a revisit.
pub async fn log_follow_up(
    state: &Ctx,
    caller: &Caller,
    referral_id: &str,
    outcome: FollowUpOutcome,
    note: Option<String>,
) -> DomainResult<referral::Model> {
    let note = optional_long_text("input.note", note.as_deref(), NOTE_MAX)?;
    let actor = actor_of(caller)?;
    let db = &state.db;
    let (current, standing) = find_visible(db, &actor, referral_id).await?;
    if !(standing.receiver || standing.delegate) {
        return Err(DomainError::Forbidden(
            "only the receiver (or their active delegate) logs follow-ups".into(),
        ));
    }
    let from = current.status;
    if !(from.is_in_progress() || from == ReferralStatus::Parked) {
        return Err(DomainError::InvalidTransition(format!(
            "no follow-ups on a referral that is {}",
            from.to_value()
        )));
    }
    let cadence = cadence(db, current.group_id.as_deref()).await?;
    let now = Utc::now();
    let day = now.date_naive();
    let mut update = referral::ActiveModel {
        version: Set(current.version + 1),
        updated_at: Set(now),
        follow_up_count: Set(current.follow_up_count + 1),
        ..Default::default()
    };
    let mut new_status = None;
    match (outcome, from) {
        (FollowUpOutcome::Responded, ReferralStatus::Parked) => {
            new_status = Some(ReferralStatus::Contacted);
            update.status = Set(ReferralStatus::Contacted);
            update.unanswered_follow_ups = Set(0);
            update.revisit_on = Set(None);
            update.next_follow_up_on = Set(Some(day + Duration::days(cadence.interval_days)));
        }
        (FollowUpOutcome::NoAnswer, ReferralStatus::Parked) => {
            update.revisit_on = Set(Some(cadence.revisit.after(day)));
        }
        (FollowUpOutcome::Responded, _) => {
            update.unanswered_follow_ups = Set(0);
            update.next_follow_up_on = Set(Some(day + Duration::days(cadence.interval_days)));
        }
        (FollowUpOutcome::NoAnswer, _) => {
            let unanswered = current.unanswered_follow_ups + 1;
            update.unanswered_follow_ups = Set(unanswered);
            if unanswered >= cadence.max_unanswered {
                new_status = Some(ReferralStatus::Parked);
                update.status = Set(ReferralStatus::Parked);
                update.next_follow_up_on = Set(None);
                update.revisit_on = Set(Some(cadence.revisit.after(day)));
            } else {
                update.next_follow_up_on = Set(Some(day + Duration::days(cadence.interval_days)));
            }
        }
    }
    let txn = db.begin().await?;
    update_at_version(&txn, &current, update).await?;
    let event_actor = actor.event_actor();
    let label = match outcome {
        FollowUpOutcome::NoAnswer => "NO_ANSWER",
        FollowUpOutcome::Responded => "RESPONDED",
    };
    let text = Some(match &note {
        Some(n) => format!("{label}: {n}"),
        None => label.to_string(),
    });
    record_event(
        &txn,
        &current.id,
        EventKind::FollowUp,
        &event_actor,
        None,
        None,
        text,
        now,
    )
    .await?;
    if let Some(to) = new_status {
        let why = (to == ReferralStatus::Parked)
            .then(|| "parked after unanswered follow-ups".to_string());
        record_event(
            &txn,
            &current.id,
            EventKind::StatusChanged,
            &event_actor,
            Some(from),
            Some(to),
            why,
            now,
        )
        .await?;
    }
    let updated = reload(&txn, &current.id).await?;
    if new_status.is_some() {
        outbox::enqueue(&txn, &updated, WebhookEvent::StatusChanged(from), now).await?;
    }
    let staged = notify_giver(&txn, &updated).await?;
    txn.commit().await?;
    staged.after_commit(&state.notifier);
    Ok(updated)
}

/// The receiver (or delegate) thanks the giver. Thanks can be repeated; the
/// first one marks the referral thanked.
pub async fn thank(
    state: &Ctx,
    caller: &Caller,
    referral_id: &str,
    note: &str,
) -> DomainResult<referral::Model> {
    let note = required_text("note", note, NOTE_MAX)?;
    let actor = actor_of(caller)?;
    let db = &state.db;
    let (current, standing) = find_visible(db, &actor, referral_id).await?;
    if !(standing.receiver || standing.delegate) || standing.giver {
        return Err(DomainError::Forbidden(
            "only the receiver (or their active delegate) thanks the giver".into(),
        ));
    }
    let status = current.status;
    if matches!(status, ReferralStatus::Declined | ReferralStatus::Withdrawn) {
        return Err(DomainError::InvalidTransition(format!(
            "a {} referral is not thanked",
            status.to_value()
        )));
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    if current.thanked_at.is_none() {
        referral::Entity::update_many()
            .col_expr(referral::Column::ThankedAt, Expr::value(Some(now)))
            .col_expr(referral::Column::UpdatedAt, Expr::value(now))
            .filter(referral::Column::Id.eq(current.id.clone()))
            .filter(referral::Column::ThankedAt.is_null())
            .exec(&txn)
            .await?;
    }
    record_event(
        &txn,
        &current.id,
        EventKind::Thanked,
        &actor.event_actor(),
        None,
        None,
        Some(note.clone()),
        now,
    )
    .await?;
    let updated = reload(&txn, &current.id).await?;
    outbox::enqueue(&txn, &updated, WebhookEvent::Thanked(&note), now).await?;
    let staged = notify_giver(&txn, &updated).await?;
    txn.commit().await?;
    staged.after_commit(&state.notifier);
    Ok(updated)
}
