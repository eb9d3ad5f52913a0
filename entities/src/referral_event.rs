//! Entity for the `referral_events` table.

use sea_orm::entity::prelude::*;

use crate::enums::{EventKind, ReferralStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "referral_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub referral_id: String,
    pub kind: EventKind,
    pub from_status: Option<ReferralStatus>,
    pub to_status: Option<ReferralStatus>,
    pub actor_member_id: Option<String>,
    pub actor_firm_id: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::referral::Entity",
        from = "Column::ReferralId",
        to = "super::referral::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Referral,
    #[sea_orm(
        belongs_to = "super::member::Entity",
        from = "Column::ActorMemberId",
        to = "super::member::Column::Id",
        on_update = "NoAction",
        on_delete = "SetNull"
    )]
    ActorMember,
    #[sea_orm(
        belongs_to = "super::partner_firm::Entity",
        from = "Column::ActorFirmId",
        to = "super::partner_firm::Column::Id",
        on_update = "NoAction",
        on_delete = "SetNull"
    )]
    ActorFirm,
}

impl Related<super::referral::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Referral.def()
    }
}

impl Related<super::member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ActorMember.def()
    }
}

impl Related<super::partner_firm::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ActorFirm.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
