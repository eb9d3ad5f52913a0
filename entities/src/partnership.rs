//! Entity for the `partnerships` table.

use sea_orm::entity::prelude::*;

use crate::enums::PartnershipStage;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partnerships")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub member_id: String,
    pub partner_member_id: Option<String>,
    pub partner_contact_id: Option<String>,
    pub since: Date,
    pub stage: PartnershipStage,
    /// The day the owner ended it; tenure stops counting there.
    pub ended_on: Option<Date>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::member::Entity",
        from = "Column::MemberId",
        to = "super::member::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Member,
    #[sea_orm(
        belongs_to = "super::member::Entity",
        from = "Column::PartnerMemberId",
        to = "super::member::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    PartnerMember,
    #[sea_orm(
        belongs_to = "super::contact::Entity",
        from = "Column::PartnerContactId",
        to = "super::contact::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    PartnerContact,
}

impl Related<super::contact::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PartnerContact.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
