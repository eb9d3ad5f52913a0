//! Entity for the `members` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub email: String,
    #[sea_orm(unique)]
    pub email_lower: String,
    pub name: String,
    pub password_hash: String,
    pub profession: String,
    pub business_name: Option<String>,
    pub phone: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub brief_ideal_referral: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub brief_target_market: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub brief_talking_points: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub brief_intro_template: Option<String>,
    pub is_admin: bool,
    pub created_at: DateTimeUtc,
    pub last_seen_at: Option<DateTimeUtc>,
    pub previous_sign_in_at: Option<DateTimeUtc>,
}

read_by_position!(
    id,
    email,
    email_lower,
    name,
    password_hash,
    profession,
    business_name,
    phone,
    brief_ideal_referral,
    brief_target_market,
    brief_talking_points,
    brief_intro_template,
    is_admin,
    created_at,
    last_seen_at,
    previous_sign_in_at,
);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::membership::Entity")]
    Membership,
    #[sea_orm(has_many = "super::contact::Entity")]
    Contact,
    #[sea_orm(has_many = "super::attendance::Entity")]
    Attendance,
    #[sea_orm(has_many = "super::visitor::Entity")]
    Visitor,
    #[sea_orm(has_many = "super::ask::Entity")]
    Ask,
    #[sea_orm(has_many = "super::referral_event::Entity")]
    ReferralEvent,
    #[sea_orm(has_many = "super::reward_award::Entity")]
    RewardAward,
    #[sea_orm(has_many = "super::api_token::Entity")]
    ApiToken,
    #[sea_orm(has_many = "super::refresh_family::Entity")]
    RefreshFamily,
}

impl Related<super::membership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Membership.def()
    }
}

impl Related<super::contact::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Contact.def()
    }
}

impl Related<super::attendance::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Attendance.def()
    }
}

impl Related<super::visitor::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Visitor.def()
    }
}

impl Related<super::ask::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Ask.def()
    }
}

impl Related<super::referral_event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ReferralEvent.def()
    }
}

impl Related<super::reward_award::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RewardAward.def()
    }
}

impl Related<super::api_token::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ApiToken.def()
    }
}

impl Related<super::refresh_family::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RefreshFamily.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
