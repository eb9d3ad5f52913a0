//! Webhook rules: registering and deleting endpoints (leaders of the firm's
//! group and admins), reading the delivery log, and turning referral events
//! into stored deliveries inside the referral's own transaction.

use chrono::{DateTime, Utc};
use entities::{referral, webhook_attempt, webhook_delivery, webhook_endpoint};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde_json::json;

use crate::access::require_group_leader;
use crate::auth::{Viewer, random_token};
use crate::error::{ApiError, ApiResult};
use crate::graphql::connection::Page;
use crate::money::Money;
use crate::referrals::lifecycle::ReferralStatus;
use crate::state::AppState;
use crate::validation::{id, new_id};

pub const STATUS_PENDING: &str = "PENDING";
pub const STATUS_DELIVERED: &str = "DELIVERED";
pub const STATUS_FAILED: &str = "FAILED";
pub const STATUS_CANCELLED: &str = "CANCELLED";

/// Endpoints a firm may have at once: each one multiplies deliveries.
pub const MAX_ENDPOINTS_PER_FIRM: u64 = 5;
const URL_MAX: usize = 2000;
const SECRET_PREFIX: &str = "rxwh_";

/// Every event an endpoint receives.
pub const EVENTS: [&str; 3] = [
    "referral.created",
    "referral.status_changed",
    "referral.thanked",
];

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
    pub fn name(self) -> &'static str {
        match self {
            WebhookEvent::Created => EVENTS[0],
            WebhookEvent::StatusChanged(_) => EVENTS[1],
            WebhookEvent::Thanked(_) => EVENTS[2],
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
        "status": r.status,
        "version": r.version,
        "closedValue": r.closed_value_e4.map(|v| Money::from_stored(v).to_string()),
        "businessKind": r.business_kind,
        "madeInAbsence": r.made_in_absence,
        "absenceReason": r.absence_reason,
        "createdAt": r.created_at.to_rfc3339(),
        "updatedAt": r.updated_at.to_rfc3339(),
        "giver": party(&r.giver_member_id, &r.giver_firm_id, &r.giver_contact_id),
        "receiver": party(&r.receiver_member_id, &r.receiver_firm_id, &None),
    });
    let mut data = json!({});
    match event {
        WebhookEvent::StatusChanged(from) => {
            referral["previousStatus"] = json!(from.as_str());
        }
        WebhookEvent::Thanked(note) => data["note"] = json!(note),
        WebhookEvent::Created => {}
    }
    data["referral"] = referral;
    json!({
        "id": event_id,
        "type": event.name(),
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
) -> ApiResult<()> {
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
            event: Set(event.name().to_string()),
            payload: Set(body.clone()),
            status: Set(STATUS_PENDING.to_string()),
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

/// An http(s) URL without credentials; loopback, private and link-local
/// hosts only when the settings allow them (tests, development).
pub fn validate_url(field: &str, raw: &str, allow_private: bool) -> ApiResult<String> {
    let raw = raw.trim();
    let bad = |why: &str| ApiError::bad_input(field, format!("{field} {why}"));
    if raw.is_empty() {
        return Err(bad("must not be empty"));
    }
    if raw.chars().count() > URL_MAX {
        return Err(bad(&format!("must be at most {URL_MAX} characters")));
    }
    let url = reqwest::Url::parse(raw).map_err(|_| bad("is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must be an http or https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    let Some(host) = url.host() else {
        return Err(bad("must name a host"));
    };
    if !allow_private {
        let internal = match host {
            url::Host::Domain(d) => {
                let d = d.to_ascii_lowercase();
                d == "localhost" || d.ends_with(".localhost") || d.ends_with(".internal")
            }
            url::Host::Ipv4(ip) => {
                ip.is_loopback()
                    || ip.is_private()
                    || ip.is_link_local()
                    || ip.is_unspecified()
                    || ip.is_broadcast()
                    || ip.is_multicast()
            }
            url::Host::Ipv6(ip) => {
                ip.is_loopback()
                    || ip.is_unspecified()
                    || ip.is_multicast()
                    || ip.is_unique_local()
                    || ip.is_unicast_link_local()
                    || ip.to_ipv4_mapped().is_some()
            }
        };
        if internal {
            return Err(bad(
                "must not point at a loopback, private or internal host",
            ));
        }
    }
    Ok(url.to_string())
}

/// A firm the caller leads (or any firm, for admins).
async fn led_firm(
    state: &AppState,
    viewer: &Viewer,
    field: &str,
    firm_id: &str,
) -> ApiResult<entities::partner_firm::Model> {
    viewer.member()?;
    let firm_id = id(field, firm_id)?;
    let firm = crate::partners::service::find_named_firm(&state.db, field, &firm_id).await?;
    require_group_leader(&state.db, viewer, &firm.group_id).await?;
    Ok(firm)
}

/// Registers an endpoint; returns it with its signing secret (shown once).
pub async fn register(
    state: &AppState,
    viewer: &Viewer,
    firm_id: &str,
    url: &str,
) -> ApiResult<(webhook_endpoint::Model, String)> {
    let me = viewer.member()?;
    let url = validate_url(
        "input.url",
        url,
        state.settings.partners.webhook_allow_private_targets,
    )?;
    let firm = led_firm(state, viewer, "input.partnerFirmId", firm_id).await?;
    let live = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::PartnerFirmId.eq(firm.id.clone()))
        .filter(webhook_endpoint::Column::DeletedAt.is_null())
        .count(&state.db)
        .await?;
    if live >= MAX_ENDPOINTS_PER_FIRM {
        return Err(ApiError::Conflict(format!(
            "a partner firm has at most {MAX_ENDPOINTS_PER_FIRM} webhook endpoints; delete one first"
        )));
    }
    let secret = format!("{SECRET_PREFIX}{}", random_token(40));
    let endpoint = webhook_endpoint::ActiveModel {
        id: Set(new_id()),
        partner_firm_id: Set(firm.id.clone()),
        url: Set(url),
        secret: Set(secret.clone()),
        created_by_id: Set(Some(me.id.clone())),
        created_at: Set(Utc::now()),
        deleted_at: Set(None),
    }
    .insert(&state.db)
    .await?;
    tracing::info!(endpoint_id = %endpoint.id, firm_id = %firm.id, "webhook endpoint registered");
    Ok((endpoint, secret))
}

/// Deletes an endpoint: no new deliveries, pending ones are cancelled; the
/// delivery log is kept.
pub async fn delete(
    state: &AppState,
    viewer: &Viewer,
    endpoint_id: &str,
) -> ApiResult<webhook_endpoint::Model> {
    viewer.member()?;
    let endpoint_id = id("id", endpoint_id)?;
    let endpoint = webhook_endpoint::Entity::find_by_id(endpoint_id)
        .filter(webhook_endpoint::Column::DeletedAt.is_null())
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found_at("id", "webhook endpoint"))?;
    let firm = crate::partners::service::find_firm(&state.db, &endpoint.partner_firm_id).await?;
    require_group_leader(&state.db, viewer, &firm.group_id).await?;
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let mut active: webhook_endpoint::ActiveModel = endpoint.into();
    active.deleted_at = Set(Some(now));
    let endpoint = active.update(&txn).await?;
    webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Status,
            Expr::value(STATUS_CANCELLED),
        )
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint.id.clone()))
        .filter(webhook_delivery::Column::Status.eq(STATUS_PENDING))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(endpoint)
}

/// Live endpoints of a firm, oldest first (access checked by the caller).
pub async fn endpoints_of_firm(
    db: &impl ConnectionTrait,
    firm_id: &str,
) -> ApiResult<Vec<webhook_endpoint::Model>> {
    Ok(webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::PartnerFirmId.eq(firm_id))
        .filter(webhook_endpoint::Column::DeletedAt.is_null())
        .order_by_asc(webhook_endpoint::Column::CreatedAt)
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(db)
        .await?)
}

/// A delivery with its attempts, oldest attempt first.
pub struct DeliveryLog {
    pub delivery: webhook_delivery::Model,
    pub attempts: Vec<webhook_attempt::Model>,
}

/// The firm's deliveries, newest first, each with its attempts (two
/// queries for the page, whatever its size).
pub async fn deliveries(
    state: &AppState,
    viewer: &Viewer,
    firm_id: &str,
    page: Page,
) -> ApiResult<(Vec<DeliveryLog>, u64)> {
    let firm = led_firm(state, viewer, "partnerFirmId", firm_id).await?;
    let db = &state.db;
    let query = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::PartnerFirmId.eq(firm.id.clone()));
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_desc(webhook_delivery::Column::CreatedAt)
        .order_by_desc(webhook_delivery::Column::Id)
        .offset(page.offset)
        .limit(page.limit)
        .all(db)
        .await?;
    let ids: Vec<String> = rows.iter().map(|d| d.id.clone()).collect();
    let mut attempts: std::collections::HashMap<String, Vec<webhook_attempt::Model>> =
        std::collections::HashMap::new();
    if !ids.is_empty() {
        for a in webhook_attempt::Entity::find()
            .filter(webhook_attempt::Column::DeliveryId.is_in(ids))
            .order_by_asc(webhook_attempt::Column::Number)
            .all(db)
            .await?
        {
            attempts.entry(a.delivery_id.clone()).or_default().push(a);
        }
    }
    let logs = rows
        .into_iter()
        .map(|delivery| DeliveryLog {
            attempts: attempts.remove(&delivery.id).unwrap_or_default(),
            delivery,
        })
        .collect();
    Ok((logs, total))
}
