//! Webhook rules: registering and deleting endpoints (leaders of the firm's
//! group and admins) and reading the delivery log. Deliveries are written by
//! `outbox`, inside the transactions of the referral changes they report.

use chrono::{DateTime, Utc};
use entities::{DeliveryStatus, webhook_attempt, webhook_delivery, webhook_endpoint};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};

use crate::access::require_group_leader;
use crate::auth::random_token;
use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::paging::Page;
use crate::validation::{id, new_id};

/// Endpoints a firm may have at once: each one multiplies deliveries.
pub const MAX_ENDPOINTS_PER_FIRM: u64 = 5;
const URL_MAX: usize = 2000;
const SECRET_PREFIX: &str = "rxwh_";

/// Loopback, private, link-local, unspecified, broadcast and multicast
/// addresses (and IPv4-mapped IPv6 ones, which could hide any of those):
/// what a webhook may not reach unless private targets are allowed.
pub fn is_internal_ip(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(ip) => {
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.is_multicast()
        }
        std::net::IpAddr::V6(ip) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_multicast()
                || ip.is_unique_local()
                || ip.is_unicast_link_local()
                || ip.to_ipv4_mapped().is_some()
        }
    }
}

/// An http(s) URL without credentials; loopback, private and link-local
/// hosts only when the settings allow them (tests, development).
pub fn validate_url(field: &str, raw: &str, allow_private: bool) -> DomainResult<String> {
    let raw = raw.trim();
    let bad = |why: &str| DomainError::bad_input(field, format!("{field} {why}"));
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
            url::Host::Ipv4(ip) => is_internal_ip(ip.into()),
            url::Host::Ipv6(ip) => is_internal_ip(ip.into()),
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
    state: &Ctx,
    caller: &Caller,
    field: &str,
    firm_id: &str,
) -> DomainResult<entities::partner_firm::Model> {
    caller.member()?;
    let firm_id = id(field, firm_id)?;
    let firm = crate::partners::service::find_named_firm(&state.db, field, &firm_id).await?;
    require_group_leader(&state.db, caller, &firm.group_id).await?;
    Ok(firm)
}

/// Registers an endpoint; returns it with its signing secret (shown once).
pub async fn register(
    state: &Ctx,
    caller: &Caller,
    firm_id: &str,
    url: &str,
) -> DomainResult<(webhook_endpoint::Model, String)> {
    let me = caller.member()?;
    let url = validate_url(
        "input.url",
        url,
        state.config.webhooks.allow_private_targets,
    )?;
    let firm = led_firm(state, caller, "input.partnerFirmId", firm_id).await?;
    let live = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::PartnerFirmId.eq(firm.id.clone()))
        .filter(webhook_endpoint::Column::DeletedAt.is_null())
        .count(&state.db)
        .await?;
    if live >= MAX_ENDPOINTS_PER_FIRM {
        return Err(DomainError::Conflict(format!(
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
    state: &Ctx,
    caller: &Caller,
    endpoint_id: &str,
) -> DomainResult<webhook_endpoint::Model> {
    caller.member()?;
    let endpoint_id = id("id", endpoint_id)?;
    let endpoint = webhook_endpoint::Entity::find_by_id(endpoint_id)
        .filter(webhook_endpoint::Column::DeletedAt.is_null())
        .one(&state.db)
        .await?
        .ok_or_else(|| DomainError::not_found_at("id", "webhook endpoint"))?;
    let firm = crate::partners::service::find_firm(&state.db, &endpoint.partner_firm_id).await?;
    require_group_leader(&state.db, caller, &firm.group_id).await?;
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let mut active: webhook_endpoint::ActiveModel = endpoint.into();
    active.deleted_at = Set(Some(now));
    let endpoint = active.update(&txn).await?;
    webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Status,
            Expr::value(DeliveryStatus::Cancelled),
        )
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint.id.clone()))
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(endpoint)
}

/// Live endpoints of a firm, oldest first (access checked by the caller).
pub async fn endpoints_of_firm(
    db: &impl ConnectionTrait,
    firm_id: &str,
) -> DomainResult<Vec<webhook_endpoint::Model>> {
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
    state: &Ctx,
    caller: &Caller,
    firm_id: &str,
    page: Page,
) -> DomainResult<(Vec<DeliveryLog>, u64)> {
    let firm = led_firm(state, caller, "partnerFirmId", firm_id).await?;
    let db = &state.db;
    let query = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::PartnerFirmId.eq(firm.id.clone()));
    let newest_first = |q: sea_orm::Select<webhook_delivery::Entity>| {
        q.order_by_desc(webhook_delivery::Column::CreatedAt)
            .order_by_desc(webhook_delivery::Column::Id)
    };
    let (rows, total) = crate::paging::read(db, query, newest_first, page).await?;
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

/// Deliveries waiting to be sent and deliveries given up, for the metrics:
/// one grouped count.
pub async fn delivery_backlog(db: &impl ConnectionTrait) -> DomainResult<(i64, i64)> {
    let rows: Vec<(DeliveryStatus, i64)> = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::Status)
        .column_as(crate::sql::count_all(), "n")
        .filter(
            webhook_delivery::Column::Status
                .is_in([DeliveryStatus::Pending, DeliveryStatus::Failed]),
        )
        .group_by(webhook_delivery::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let count = |wanted: DeliveryStatus| {
        rows.iter()
            .find(|(status, _)| *status == wanted)
            .map_or(0, |(_, n)| *n)
    };
    Ok((
        count(DeliveryStatus::Pending),
        count(DeliveryStatus::Failed),
    ))
}
