//! Entity for the `webhook_deliveries` table: one event for one endpoint.

use sea_orm::entity::prelude::*;

use crate::enums::{DeliveryStatus, WebhookEventKind};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub endpoint_id: String,
    pub partner_firm_id: String,
    pub referral_id: Option<String>,
    pub event: WebhookEventKind,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTimeUtc>,
    pub last_attempt_at: Option<DateTimeUtc>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::webhook_endpoint::Entity",
        from = "Column::EndpointId",
        to = "super::webhook_endpoint::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    WebhookEndpoint,
    #[sea_orm(has_many = "super::webhook_attempt::Entity")]
    WebhookAttempt,
}

impl Related<super::webhook_endpoint::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WebhookEndpoint.def()
    }
}

impl Related<super::webhook_attempt::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WebhookAttempt.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
