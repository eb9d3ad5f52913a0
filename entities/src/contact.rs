//! Entity for the `contacts` table.

use sea_orm::entity::prelude::*;

use crate::enums::ContactKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub kind: ContactKind,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub nps_score: Option<i32>,
    pub nps_on: Option<Date>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::member::Entity",
        from = "Column::OwnerId",
        to = "super::member::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Owner,
    #[sea_orm(has_many = "super::partnership::Entity")]
    Partnership,
    #[sea_orm(has_many = "super::referral::Entity")]
    Referral,
}

impl Related<super::member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Owner.def()
    }
}

impl Related<super::partnership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Partnership.def()
    }
}

impl Related<super::referral::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Referral.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
