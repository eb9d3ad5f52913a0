//! Entity for the `referral_requests` table: a member's request to one
//! person (a fellow member or one of their own contacts) for introductions,
//! its answer and when to circle back.

use sea_orm::entity::prelude::*;

use crate::enums::RequestResponse;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "referral_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub requester_id: String,
    /// Exactly one of `to_member_id` / `to_contact_id` (a CHECK holds it).
    pub to_member_id: Option<String>,
    pub to_contact_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub text: String,
    pub asked_on: Date,
    pub response: Option<RequestResponse>,
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
    pub answered_on: Option<Date>,
    /// When to ask again; `None` once answered YES or NO.
    pub circle_back_on: Option<Date>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::member::Entity",
        from = "Column::RequesterId",
        to = "super::member::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Requester,
    #[sea_orm(
        belongs_to = "super::contact::Entity",
        from = "Column::ToContactId",
        to = "super::contact::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    ToContact,
}

impl ActiveModelBehavior for ActiveModel {}
