//! The webhook outbox: the one port through which a referral change reaches
//! partner firms. Inside the change's own transaction it stores one pending
//! delivery per live endpoint of the firm concerned, so an event exists
//! exactly when its change committed; the worker sends them later. It reads
//! and writes entities only — it calls no other service.

use chrono::{DateTime, Utc};
use entities::{
    DeliveryStatus, ReferralStatus, WebhookEventKind, referral, webhook_delivery, webhook_endpoint,
};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
};
use serde_json::json;

use crate::error::DomainResult;
use crate::money::Money;
use crate::validation::new_id;

/// A referral event that concerns a partner firm.
#[derive(Debug, Clone, Copy)]
pub enum WebhookEvent<'a> {
    Created,
    /// From this status to the referral's current one.
    StatusChanged(ReferralStatus),
    /// The receiver thanked the giver, with this note.
    Thanked(&'a str),
}

impl WebhookEvent<'_> {
    pub fn kind(self) -> WebhookEventKind {
        match self {
            WebhookEvent::Created => WebhookEventKind::Created,
            WebhookEvent::StatusChanged(_) => WebhookEventKind::StatusChanged,
            WebhookEvent::Thanked(_) => WebhookEventKind::Thanked,
        }
    }
}

fn party(
    member: &Option<String>,
    firm: &Option<String>,
    contact: &Option<String>,
) -> serde_json::Value {
    match (member, firm, contact) {
        (Some(id), _, _) => json!({ "type": "MEMBER", "id": id }),
        (_, Some(id), _) => json!({ "type": "PARTNER_FIRM", "id": id }),
        (_, _, Some(id)) => json!({ "type": "CONTACT", "id": id }),
        _ => serde_json::Value::Null,
    }
}

/// The JSON body of an event. It names the referral and its state, not the
/// prospect's contact details: the firm reads those through the API, so
/// personal data does not travel to every registered URL.
fn payload(
    event_id: &str,
    firm_id: &str,
    r: &referral::Model,
    event: WebhookEvent<'_>,
    now: DateTime<Utc>,
) -> String {
    let direction = if r.receiver_firm_id.as_deref() == Some(firm_id) {
        "RECEIVED"
    } else {
        "GIVEN"
    };
    let mut referral = json!({
        "id": r.id,
        "direction": direction,
        "status": r.status.to_value(),
        "version": r.version,
        "closedValue": r.closed_value_e4.map(|v| Money::from_stored(v).to_string()),
        "businessKind": r.business_kind.map(|k| k.to_value()),
        "madeInAbsence": r.made_in_absence,
        "absenceReason": r.absence_reason.map(|k| k.to_value()),
        "createdAt": r.created_at.to_rfc3339(),
        "updatedAt": r.updated_at.to_rfc3339(),
        "giver": party(&r.giver_member_id, &r.giver_firm_id, &r.giver_contact_id),
        "receiver": party(&r.receiver_member_id, &r.receiver_firm_id, &None),
    });
    let mut data = json!({});
    match event {
        WebhookEvent::StatusChanged(from) => {
            referral["previousStatus"] = json!(from.to_value());
        }
        WebhookEvent::Thanked(note) => data["note"] = json!(note),
        WebhookEvent::Created => {}
    }
    data["referral"] = referral;
    json!({
        "id": event_id,
        "type": event.kind().to_value(),
        "createdAt": now.to_rfc3339(),
        "partnerFirmId": firm_id,
        "data": data,
    })
    .to_string()
}

/// Stores one pending delivery per live endpoint of the firm the referral
/// concerns. Runs inside the referral's transaction, so an event exists
/// exactly when its change committed. Referrals without a firm cost nothing.
pub async fn enqueue(
    txn: &impl ConnectionTrait,
    r: &referral::Model,
    event: WebhookEvent<'_>,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let Some(firm_id) = r.receiver_firm_id.as_ref().or(r.giver_firm_id.as_ref()) else {
        return Ok(());
    };
    let endpoints: Vec<String> = webhook_endpoint::Entity::find()
        .select_only()
        .column(webhook_endpoint::Column::Id)
        .filter(webhook_endpoint::Column::PartnerFirmId.eq(firm_id.clone()))
        .filter(webhook_endpoint::Column::DeletedAt.is_null())
        .into_tuple()
        .all(txn)
        .await?;
    if endpoints.is_empty() {
        return Ok(());
    }
    let body = payload(&new_id(), firm_id, r, event, now);
    let rows = endpoints
        .into_iter()
        .map(|endpoint_id| webhook_delivery::ActiveModel {
            id: Set(new_id()),
            endpoint_id: Set(endpoint_id),
            partner_firm_id: Set(firm_id.clone()),
            referral_id: Set(Some(r.id.clone())),
            event: Set(event.kind()),
            payload: Set(body.clone()),
            status: Set(DeliveryStatus::Pending),
            attempts: Set(0),
            next_attempt_at: Set(Some(now)),
            last_attempt_at: Set(None),
            last_status_code: Set(None),
            last_error: Set(None),
            delivered_at: Set(None),
            created_at: Set(now),
        });
    webhook_delivery::Entity::insert_many(rows)
        .exec(txn)
        .await?;
    Ok(())
}
