//! Entity for the `groups` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "groups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub currency: String,
    pub classification_exclusive: bool,
    pub meeting_cadence_days: i32,
    pub follow_up_interval_days: i32,
    pub follow_up_max_unanswered: i32,
    pub revisit_after_months: i32,
    /// A leader's revisit delay in days; `None` is the default six calendar months.
    pub revisit_after_days: Option<i32>,
    pub reask_after_days: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::membership::Entity")]
    Membership,
    #[sea_orm(has_many = "super::partner_firm::Entity")]
    PartnerFirm,
    #[sea_orm(has_many = "super::meeting::Entity")]
    Meeting,
    #[sea_orm(has_many = "super::ask::Entity")]
    Ask,
    #[sea_orm(has_many = "super::referral::Entity")]
    Referral,
    #[sea_orm(has_many = "super::reward_tier::Entity")]
    RewardTier,
    #[sea_orm(has_many = "super::reward_award::Entity")]
    RewardAward,
}

impl Related<super::membership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Membership.def()
    }
}

impl Related<super::partner_firm::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PartnerFirm.def()
    }
}

impl Related<super::meeting::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Meeting.def()
    }
}

impl Related<super::ask::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Ask.def()
    }
}

impl Related<super::referral::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Referral.def()
    }
}

impl Related<super::reward_tier::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RewardTier.def()
    }
}

impl Related<super::reward_award::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RewardAward.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
