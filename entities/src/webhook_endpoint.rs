//! Entity for the `webhook_endpoints` table. `secret` signs deliveries, so it
//! is stored as issued: never print a `Model` (its `Debug` includes it).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub partner_firm_id: String,
    pub url: String,
    pub secret: String,
    pub created_by_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::partner_firm::Entity",
        from = "Column::PartnerFirmId",
        to = "super::partner_firm::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    PartnerFirm,
    #[sea_orm(has_many = "super::webhook_delivery::Entity")]
    WebhookDelivery,
}

impl Related<super::partner_firm::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PartnerFirm.def()
    }
}

impl Related<super::webhook_delivery::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WebhookDelivery.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
