//! GraphQL shapes of webhook endpoints and the delivery log. The signing
//! secret appears only in `RegisteredWebhook`, once.

use async_graphql::{Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{webhook_attempt, webhook_endpoint};

use domain::webhooks::service::DeliveryLog;
use entities::WebhookEventKind;
use sea_orm::{ActiveEnum, Iterable};

#[derive(InputObject)]
pub struct WebhookInput {
    pub partner_firm_id: ID,
    /// http or https. Events are POSTed here as JSON.
    pub url: String,
}

pub struct Webhook(pub webhook_endpoint::Model);

#[Object]
impl Webhook {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn url(&self) -> &str {
        &self.0.url
    }

    /// The events sent: referral.created, referral.status_changed, referral.thanked.
    async fn events(&self) -> Vec<String> {
        WebhookEventKind::iter().map(|k| k.to_value()).collect()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Set once deleted; a deleted endpoint gets nothing more.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
}

#[derive(SimpleObject)]
pub struct RegisteredWebhook {
    /// Signs every delivery (`X-RX-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`).
    /// Shown only here, once.
    pub secret: String,
    pub webhook: Webhook,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::DeliveryStatus")]
pub enum WebhookDeliveryStatus {
    /// Waiting for its first or next try.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up after the last allowed try.
    Failed,
    /// The endpoint was deleted before it was delivered.
    Cancelled,
}

pub struct WebhookAttempt(pub webhook_attempt::Model);

#[Object]
impl WebhookAttempt {
    /// 1 for the first try.
    async fn number(&self) -> i32 {
        self.0.number
    }

    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }

    /// The endpoint's HTTP status, if it answered.
    async fn status_code(&self) -> Option<i32> {
        self.0.status_code
    }

    /// Why the try failed (non-2xx answer, timeout, connection refused…).
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    async fn duration_ms(&self) -> i32 {
        self.0.duration_ms
    }
}

pub struct WebhookDelivery(pub DeliveryLog);

#[Object]
impl WebhookDelivery {
    async fn id(&self) -> ID {
        ID(self.0.delivery.id.clone())
    }

    /// referral.created, referral.status_changed or referral.thanked.
    async fn event(&self) -> String {
        self.0.delivery.event.to_value()
    }

    async fn webhook_id(&self) -> ID {
        ID(self.0.delivery.endpoint_id.clone())
    }

    async fn referral_id(&self) -> Option<ID> {
        self.0.delivery.referral_id.clone().map(ID)
    }

    async fn status(&self) -> WebhookDeliveryStatus {
        WebhookDeliveryStatus::from(self.0.delivery.status)
    }

    /// The JSON body sent (the same on every try).
    async fn payload(&self) -> &str {
        &self.0.delivery.payload
    }

    async fn attempt_count(&self) -> i32 {
        self.0.delivery.attempts
    }

    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivery.next_attempt_at
    }

    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivery.delivered_at
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.delivery.created_at
    }

    /// Every try, oldest first.
    async fn attempts(&self) -> Vec<WebhookAttempt> {
        self.0
            .attempts
            .iter()
            .cloned()
            .map(WebhookAttempt)
            .collect()
    }
}

crate::connection_type!(
    WebhookDeliveryConnection,
    WebhookDeliveryEdge,
    WebhookDelivery
);
