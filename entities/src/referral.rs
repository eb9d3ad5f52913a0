//! Entity for the `referrals` table.

use sea_orm::entity::prelude::*;

use crate::enums::{AbsenceReason, BusinessKind, Channel, ReferralStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "referrals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub group_id: Option<String>,
    pub giver_member_id: Option<String>,
    pub giver_firm_id: Option<String>,
    pub giver_contact_id: Option<String>,
    pub receiver_member_id: Option<String>,
    pub receiver_firm_id: Option<String>,
    /// A member's own outside contact the member referred business to.
    pub receiver_contact_id: Option<String>,
    pub prospect_name: String,
    pub prospect_email: Option<String>,
    pub prospect_phone: Option<String>,
    pub prospect_company: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub prospect_need: Option<String>,
    pub temperature: i32,
    pub channel: Channel,
    pub meeting_id: Option<String>,
    pub ask_id: Option<String>,
    /// The referral request this referral answers (the receiver's latest
    /// request to the giver before it was made).
    pub request_id: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub made_in_absence: bool,
    pub absence_reason: Option<AbsenceReason>,
    pub inside_group: bool,
    pub delegate_id: Option<String>,
    pub status: ReferralStatus,
    pub closed_value_e4: Option<i64>,
    pub business_kind: Option<BusinessKind>,
    pub version: i32,
    pub follow_up_count: i32,
    /// NO_ANSWER follow-ups in a row; the cadence parks the referral at the limit.
    pub unanswered_follow_ups: i32,
    pub next_follow_up_on: Option<Date>,
    pub revisit_on: Option<Date>,
    pub thanked_at: Option<DateTimeUtc>,
    pub won_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

read_by_position!(
    id,
    group_id,
    giver_member_id,
    giver_firm_id,
    giver_contact_id,
    receiver_member_id,
    receiver_firm_id,
    receiver_contact_id,
    prospect_name,
    prospect_email,
    prospect_phone,
    prospect_company,
    prospect_need,
    temperature,
    channel,
    meeting_id,
    ask_id,
    request_id,
    note,
    made_in_absence,
    absence_reason,
    inside_group,
    delegate_id,
    status,
    closed_value_e4,
    business_kind,
    version,
    follow_up_count,
    unanswered_follow_ups,
    next_follow_up_on,
    revisit_on,
    thanked_at,
    won_at,
    created_at,
    updated_at,
);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::group::Entity",
        from = "Column::GroupId",
        to = "super::group::Column::Id",
        on_update = "NoAction",
        on_delete = "SetNull"
    )]
    Group,
    #[sea_orm(
        belongs_to = "super::member::Entity",
        from = "Column::GiverMemberId",
        to = "super::member::Column::Id",
        on_update = "NoAction",
        on_delete = "Restrict"
    )]
    GiverMember,
    #[sea_orm(
        belongs_to = "super::partner_firm::Entity",
        from = "Column::GiverFirmId",
        to = "super::partner_firm::Column::Id",
        on_update = "NoAction",
        on_delete = "Restrict"
    )]
    GiverFirm,
    #[sea_orm(
        belongs_to = "super::contact::Entity",
        from = "Column::GiverContactId",
        to = "super::contact::Column::Id",
        on_update = "NoAction",
        on_delete = "Restrict"
    )]
    GiverContact,
    #[sea_orm(
        belongs_to = "super::member::Entity",
        from = "Column::ReceiverMemberId",
        to = "super::member::Column::Id",
        on_update = "NoAction",
        on_delete = "Restrict"
    )]
    ReceiverMember,
    #[sea_orm(
        belongs_to = "super::partner_firm::Entity",
        from = "Column::ReceiverFirmId",
        to = "super::partner_firm::Column::Id",
        on_update = "NoAction",
        on_delete = "Restrict"
    )]
    ReceiverFirm,
    #[sea_orm(
        belongs_to = "super::meeting::Entity",
        from = "Column::MeetingId",
        to = "super::meeting::Column::Id",
        on_update = "NoAction",
        on_delete = "SetNull"
    )]
    Meeting,
    #[sea_orm(
        belongs_to = "super::ask::Entity",
        from = "Column::AskId",
        to = "super::ask::Column::Id",
        on_update = "NoAction",
        on_delete = "SetNull"
    )]
    Ask,
    #[sea_orm(
        belongs_to = "super::member::Entity",
        from = "Column::DelegateId",
        to = "super::member::Column::Id",
        on_update = "NoAction",
        on_delete = "SetNull"
    )]
    Delegate,
    #[sea_orm(has_many = "super::referral_event::Entity")]
    ReferralEvent,
    #[sea_orm(has_many = "super::reward_award::Entity")]
    RewardAward,
    #[sea_orm(has_many = "super::idempotency_key::Entity")]
    IdempotencyKey,
}

impl Related<super::group::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Group.def()
    }
}

impl Related<super::contact::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::GiverContact.def()
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

impl Related<super::idempotency_key::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::IdempotencyKey.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
