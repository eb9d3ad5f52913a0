//! Entity for the `partnership_stages` table: each VCP stage a partnership
//! was set to, with its day (the partnership's `stage` is the latest).

use sea_orm::entity::prelude::*;

use crate::enums::PartnershipStage;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partnership_stages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub partnership_id: String,
    pub stage: PartnershipStage,
    pub changed_on: Date,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::partnership::Entity",
        from = "Column::PartnershipId",
        to = "super::partnership::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Partnership,
}

impl ActiveModelBehavior for ActiveModel {}
