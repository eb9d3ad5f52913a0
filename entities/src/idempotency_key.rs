//! Entity for the `idempotency_keys` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub partner_firm_id: String,
    pub key: String,
    pub request_hash: String,
    pub referral_id: String,
    pub created_at: DateTimeUtc,
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
    #[sea_orm(
        belongs_to = "super::referral::Entity",
        from = "Column::ReferralId",
        to = "super::referral::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Referral,
}

impl Related<super::partner_firm::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PartnerFirm.def()
    }
}

impl Related<super::referral::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Referral.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
