//! Creates the whole referral-exchange data model (20 tables) in dependency order.
//!
//! Written only with sea-query builders so that the same migration runs unchanged on
//! SQLite and PostgreSQL. Ids are UUID text (36 chars), timestamps are
//! `timestamp with time zone`, dates are `date`, money is `bigint` in ten-thousandths.
//!
//! Foreign-key policy: rows that only exist as part of a parent (memberships, meetings,
//! attendance, events, tokens, ...) are deleted with it (`CASCADE`); the parties of a
//! referral (giver/receiver member, firm or contact) are `RESTRICT` so that referral
//! history can never silently lose a side; optional context references (group, meeting,
//! ask, delegate, event actor, token creator) become `NULL` when their target goes away.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{fk, id_ref, id_ref_null, pk_id};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // members
        manager
            .create_table(
                Table::create()
                    .table(Members::Table)
                    .col(pk_id(Members::Id))
                    .col(string_len(Members::Email, 255))
                    .col(string_len_uniq(Members::EmailLower, 255))
                    .col(string_len(Members::Name, 200))
                    .col(string_len(Members::PasswordHash, 255))
                    .col(string_len(Members::Profession, 120))
                    .col(string_len_null(Members::BusinessName, 200))
                    .col(string_len_null(Members::Phone, 50))
                    .col(text_null(Members::BriefIdealReferral))
                    .col(text_null(Members::BriefTargetMarket))
                    .col(text_null(Members::BriefTalkingPoints))
                    .col(text_null(Members::BriefIntroTemplate))
                    .col(boolean(Members::IsAdmin).default(false))
                    .col(timestamp_with_time_zone(Members::CreatedAt))
                    .col(timestamp_with_time_zone_null(Members::LastSeenAt))
                    .col(timestamp_with_time_zone_null(Members::PreviousSignInAt))
                    .to_owned(),
            )
            .await?;

        // groups
        manager
            .create_table(
                Table::create()
                    .table(Groups::Table)
                    .col(pk_id(Groups::Id))
                    .col(string_len(Groups::Name, 200))
                    .col(string_len(Groups::Currency, 3))
                    .col(boolean(Groups::ClassificationExclusive))
                    .col(integer(Groups::MeetingCadenceDays).default(7))
                    .col(integer(Groups::FollowUpIntervalDays).default(7))
                    .col(integer(Groups::FollowUpMaxUnanswered).default(4))
                    .col(integer(Groups::RevisitAfterMonths).default(6))
                    .col(timestamp_with_time_zone(Groups::CreatedAt))
                    .to_owned(),
            )
            .await?;

        // memberships
        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(pk_id(Memberships::Id))
                    .col(id_ref(Memberships::GroupId))
                    .col(id_ref(Memberships::MemberId))
                    .col(string_len(Memberships::Role, 20))
                    .col(date(Memberships::JoinedOn))
                    .col(date_null(Memberships::LeftOn))
                    .col(timestamp_with_time_zone(Memberships::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_memberships_group_id",
                        Memberships::Table,
                        Memberships::GroupId,
                        Groups::Table,
                        Groups::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_memberships_member_id",
                        Memberships::Table,
                        Memberships::MemberId,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_memberships_group_id_left_on")
                    .table(Memberships::Table)
                    .col(Memberships::GroupId)
                    .col(Memberships::LeftOn)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_memberships_member_id")
                    .table(Memberships::Table)
                    .col(Memberships::MemberId)
                    .to_owned(),
            )
            .await?;
        // At most one active (not yet left) membership per member and group.
        manager
            .create_index(
                Index::create()
                    .name("uq_memberships_group_id_member_id_active")
                    .table(Memberships::Table)
                    .col(Memberships::GroupId)
                    .col(Memberships::MemberId)
                    .unique()
                    .and_where(Expr::col(Memberships::LeftOn).is_null())
                    .to_owned(),
            )
            .await?;

        // contacts
        manager
            .create_table(
                Table::create()
                    .table(Contacts::Table)
                    .col(pk_id(Contacts::Id))
                    .col(id_ref(Contacts::OwnerId))
                    .col(string_len(Contacts::Name, 200))
                    .col(string_len(Contacts::Kind, 20))
                    .col(string_len_null(Contacts::Email, 255))
                    .col(string_len_null(Contacts::Phone, 50))
                    .col(string_len_null(Contacts::Company, 200))
                    .col(integer_null(Contacts::NpsScore))
                    .col(date_null(Contacts::NpsOn))
                    .col(timestamp_with_time_zone(Contacts::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_contacts_owner_id",
                        Contacts::Table,
                        Contacts::OwnerId,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_contacts_owner_id")
                    .table(Contacts::Table)
                    .col(Contacts::OwnerId)
                    .to_owned(),
            )
            .await?;

        // partner_firms
        manager
            .create_table(
                Table::create()
                    .table(PartnerFirms::Table)
                    .col(pk_id(PartnerFirms::Id))
                    .col(id_ref(PartnerFirms::GroupId))
                    .col(string_len(PartnerFirms::Name, 200))
                    .col(string_len_null(PartnerFirms::ContactEmail, 255))
                    .col(timestamp_with_time_zone(PartnerFirms::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_partner_firms_group_id",
                        PartnerFirms::Table,
                        PartnerFirms::GroupId,
                        Groups::Table,
                        Groups::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_partner_firms_group_id")
                    .table(PartnerFirms::Table)
                    .col(PartnerFirms::GroupId)
                    .to_owned(),
            )
            .await?;

        // partnerships
        manager
            .create_table(
                Table::create()
                    .table(Partnerships::Table)
                    .col(pk_id(Partnerships::Id))
                    .col(id_ref(Partnerships::MemberId))
                    .col(id_ref_null(Partnerships::PartnerMemberId))
                    .col(id_ref_null(Partnerships::PartnerContactId))
                    .col(date(Partnerships::Since))
                    .col(string_len(Partnerships::Stage, 20))
                    .col(timestamp_with_time_zone(Partnerships::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_partnerships_member_id",
                        Partnerships::Table,
                        Partnerships::MemberId,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_partnerships_partner_member_id",
                        Partnerships::Table,
                        Partnerships::PartnerMemberId,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_partnerships_partner_contact_id",
                        Partnerships::Table,
                        Partnerships::PartnerContactId,
                        Contacts::Table,
                        Contacts::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_partnerships_member_id_partner_member_id")
                    .table(Partnerships::Table)
                    .col(Partnerships::MemberId)
                    .col(Partnerships::PartnerMemberId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_partnerships_member_id_partner_contact_id")
                    .table(Partnerships::Table)
                    .col(Partnerships::MemberId)
                    .col(Partnerships::PartnerContactId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_partnerships_partner_member_id")
                    .table(Partnerships::Table)
                    .col(Partnerships::PartnerMemberId)
                    .to_owned(),
            )
            .await?;

        // meetings
        manager
            .create_table(
                Table::create()
                    .table(Meetings::Table)
                    .col(pk_id(Meetings::Id))
                    .col(id_ref(Meetings::GroupId))
                    .col(date(Meetings::HeldOn))
                    .col(timestamp_with_time_zone(Meetings::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_meetings_group_id",
                        Meetings::Table,
                        Meetings::GroupId,
                        Groups::Table,
                        Groups::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_meetings_group_id_held_on")
                    .table(Meetings::Table)
                    .col(Meetings::GroupId)
                    .col(Meetings::HeldOn)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // attendance
        manager
            .create_table(
                Table::create()
                    .table(Attendance::Table)
                    .col(pk_id(Attendance::Id))
                    .col(id_ref(Attendance::MeetingId))
                    .col(id_ref(Attendance::MemberId))
                    .col(string_len(Attendance::Status, 20))
                    .col(string_len_null(Attendance::SubstituteName, 200))
                    .col(timestamp_with_time_zone(Attendance::RecordedAt))
                    .foreign_key(&mut fk(
                        "fk_attendance_meeting_id",
                        Attendance::Table,
                        Attendance::MeetingId,
                        Meetings::Table,
                        Meetings::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_attendance_member_id",
                        Attendance::Table,
                        Attendance::MemberId,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_attendance_meeting_id_member_id")
                    .table(Attendance::Table)
                    .col(Attendance::MeetingId)
                    .col(Attendance::MemberId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_attendance_member_id")
                    .table(Attendance::Table)
                    .col(Attendance::MemberId)
                    .to_owned(),
            )
            .await?;

        // visitors
        manager
            .create_table(
                Table::create()
                    .table(Visitors::Table)
                    .col(pk_id(Visitors::Id))
                    .col(id_ref(Visitors::MeetingId))
                    .col(id_ref(Visitors::InvitedById))
                    .col(string_len(Visitors::Name, 200))
                    .col(string_len_null(Visitors::Email, 255))
                    .col(timestamp_with_time_zone(Visitors::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_visitors_meeting_id",
                        Visitors::Table,
                        Visitors::MeetingId,
                        Meetings::Table,
                        Meetings::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_visitors_invited_by_id",
                        Visitors::Table,
                        Visitors::InvitedById,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_visitors_meeting_id")
                    .table(Visitors::Table)
                    .col(Visitors::MeetingId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_visitors_invited_by_id")
                    .table(Visitors::Table)
                    .col(Visitors::InvitedById)
                    .to_owned(),
            )
            .await?;

        // one_to_ones
        manager
            .create_table(
                Table::create()
                    .table(OneToOnes::Table)
                    .col(pk_id(OneToOnes::Id))
                    .col(id_ref(OneToOnes::MemberId))
                    .col(id_ref(OneToOnes::WithMemberId))
                    .col(date(OneToOnes::HeldOn))
                    .col(text_null(OneToOnes::Note))
                    .col(timestamp_with_time_zone(OneToOnes::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_one_to_ones_member_id",
                        OneToOnes::Table,
                        OneToOnes::MemberId,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_one_to_ones_with_member_id",
                        OneToOnes::Table,
                        OneToOnes::WithMemberId,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_one_to_ones_member_id")
                    .table(OneToOnes::Table)
                    .col(OneToOnes::MemberId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_one_to_ones_with_member_id")
                    .table(OneToOnes::Table)
                    .col(OneToOnes::WithMemberId)
                    .to_owned(),
            )
            .await?;

        // absences
        manager
            .create_table(
                Table::create()
                    .table(Absences::Table)
                    .col(pk_id(Absences::Id))
                    .col(id_ref(Absences::MemberId))
                    .col(date(Absences::FromOn))
                    .col(date(Absences::ToOn))
                    .col(id_ref_null(Absences::DelegateId))
                    .col(text_null(Absences::Note))
                    .col(timestamp_with_time_zone(Absences::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_absences_member_id",
                        Absences::Table,
                        Absences::MemberId,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_absences_delegate_id",
                        Absences::Table,
                        Absences::DelegateId,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_absences_member_id_from_on")
                    .table(Absences::Table)
                    .col(Absences::MemberId)
                    .col(Absences::FromOn)
                    .to_owned(),
            )
            .await?;

        // asks
        manager
            .create_table(
                Table::create()
                    .table(Asks::Table)
                    .col(pk_id(Asks::Id))
                    .col(id_ref(Asks::MemberId))
                    .col(id_ref(Asks::GroupId))
                    .col(text(Asks::Text))
                    .col(string_len_null(Asks::TargetProfession, 120))
                    .col(date_null(Asks::ExpiresOn))
                    .col(timestamp_with_time_zone(Asks::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_asks_member_id",
                        Asks::Table,
                        Asks::MemberId,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_asks_group_id",
                        Asks::Table,
                        Asks::GroupId,
                        Groups::Table,
                        Groups::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_asks_group_id")
                    .table(Asks::Table)
                    .col(Asks::GroupId)
                    .to_owned(),
            )
            .await?;

        // referrals
        manager
            .create_table(
                Table::create()
                    .table(Referrals::Table)
                    .col(pk_id(Referrals::Id))
                    .col(id_ref_null(Referrals::GroupId))
                    .col(id_ref_null(Referrals::GiverMemberId))
                    .col(id_ref_null(Referrals::GiverFirmId))
                    .col(id_ref_null(Referrals::GiverContactId))
                    .col(id_ref_null(Referrals::ReceiverMemberId))
                    .col(id_ref_null(Referrals::ReceiverFirmId))
                    .col(string_len(Referrals::ProspectName, 200))
                    .col(string_len_null(Referrals::ProspectEmail, 255))
                    .col(string_len_null(Referrals::ProspectPhone, 50))
                    .col(string_len_null(Referrals::ProspectCompany, 200))
                    .col(text_null(Referrals::ProspectNeed))
                    .col(integer(Referrals::Temperature))
                    .col(string_len(Referrals::Channel, 20))
                    .col(id_ref_null(Referrals::MeetingId))
                    .col(id_ref_null(Referrals::AskId))
                    .col(text_null(Referrals::Note))
                    .col(boolean(Referrals::MadeInAbsence))
                    .col(string_len_null(Referrals::AbsenceReason, 20))
                    .col(boolean(Referrals::InsideGroup))
                    .col(id_ref_null(Referrals::DelegateId))
                    .col(string_len(Referrals::Status, 20))
                    .col(big_integer_null(Referrals::ClosedValueE4))
                    .col(string_len_null(Referrals::BusinessKind, 20))
                    .col(integer(Referrals::Version).default(1))
                    .col(integer(Referrals::FollowUpCount).default(0))
                    .col(integer(Referrals::UnansweredFollowUps).default(0))
                    .col(date_null(Referrals::NextFollowUpOn))
                    .col(date_null(Referrals::RevisitOn))
                    .col(timestamp_with_time_zone_null(Referrals::ThankedAt))
                    .col(timestamp_with_time_zone_null(Referrals::WonAt))
                    .col(timestamp_with_time_zone(Referrals::CreatedAt))
                    .col(timestamp_with_time_zone(Referrals::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_referrals_group_id",
                        Referrals::Table,
                        Referrals::GroupId,
                        Groups::Table,
                        Groups::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_referrals_giver_member_id",
                        Referrals::Table,
                        Referrals::GiverMemberId,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_referrals_giver_firm_id",
                        Referrals::Table,
                        Referrals::GiverFirmId,
                        PartnerFirms::Table,
                        PartnerFirms::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_referrals_giver_contact_id",
                        Referrals::Table,
                        Referrals::GiverContactId,
                        Contacts::Table,
                        Contacts::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_referrals_receiver_member_id",
                        Referrals::Table,
                        Referrals::ReceiverMemberId,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_referrals_receiver_firm_id",
                        Referrals::Table,
                        Referrals::ReceiverFirmId,
                        PartnerFirms::Table,
                        PartnerFirms::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_referrals_meeting_id",
                        Referrals::Table,
                        Referrals::MeetingId,
                        Meetings::Table,
                        Meetings::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_referrals_ask_id",
                        Referrals::Table,
                        Referrals::AskId,
                        Asks::Table,
                        Asks::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_referrals_delegate_id",
                        Referrals::Table,
                        Referrals::DelegateId,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_referrals_giver_member_id_created_at")
                    .table(Referrals::Table)
                    .col(Referrals::GiverMemberId)
                    .col(Referrals::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_referrals_receiver_member_id_created_at")
                    .table(Referrals::Table)
                    .col(Referrals::ReceiverMemberId)
                    .col(Referrals::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_referrals_giver_firm_id")
                    .table(Referrals::Table)
                    .col(Referrals::GiverFirmId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_referrals_receiver_firm_id")
                    .table(Referrals::Table)
                    .col(Referrals::ReceiverFirmId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_referrals_giver_contact_id")
                    .table(Referrals::Table)
                    .col(Referrals::GiverContactId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_referrals_group_id_created_at")
                    .table(Referrals::Table)
                    .col(Referrals::GroupId)
                    .col(Referrals::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_referrals_delegate_id")
                    .table(Referrals::Table)
                    .col(Referrals::DelegateId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_referrals_status_next_follow_up_on")
                    .table(Referrals::Table)
                    .col(Referrals::Status)
                    .col(Referrals::NextFollowUpOn)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_referrals_meeting_id")
                    .table(Referrals::Table)
                    .col(Referrals::MeetingId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_referrals_prospect_email")
                    .table(Referrals::Table)
                    .col(Referrals::ProspectEmail)
                    .to_owned(),
            )
            .await?;

        // referral_events
        manager
            .create_table(
                Table::create()
                    .table(ReferralEvents::Table)
                    .col(pk_id(ReferralEvents::Id))
                    .col(id_ref(ReferralEvents::ReferralId))
                    .col(string_len(ReferralEvents::Kind, 20))
                    .col(string_len_null(ReferralEvents::FromStatus, 20))
                    .col(string_len_null(ReferralEvents::ToStatus, 20))
                    .col(id_ref_null(ReferralEvents::ActorMemberId))
                    .col(id_ref_null(ReferralEvents::ActorFirmId))
                    .col(text_null(ReferralEvents::Note))
                    .col(timestamp_with_time_zone(ReferralEvents::At))
                    .foreign_key(&mut fk(
                        "fk_referral_events_referral_id",
                        ReferralEvents::Table,
                        ReferralEvents::ReferralId,
                        Referrals::Table,
                        Referrals::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_referral_events_actor_member_id",
                        ReferralEvents::Table,
                        ReferralEvents::ActorMemberId,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_referral_events_actor_firm_id",
                        ReferralEvents::Table,
                        ReferralEvents::ActorFirmId,
                        PartnerFirms::Table,
                        PartnerFirms::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_referral_events_referral_id_at")
                    .table(ReferralEvents::Table)
                    .col(ReferralEvents::ReferralId)
                    .col(ReferralEvents::At)
                    .to_owned(),
            )
            .await?;

        // reward_tiers
        manager
            .create_table(
                Table::create()
                    .table(RewardTiers::Table)
                    .col(pk_id(RewardTiers::Id))
                    .col(id_ref(RewardTiers::GroupId))
                    .col(integer(RewardTiers::Threshold))
                    .col(string_len(RewardTiers::Reward, 500))
                    .foreign_key(&mut fk(
                        "fk_reward_tiers_group_id",
                        RewardTiers::Table,
                        RewardTiers::GroupId,
                        Groups::Table,
                        Groups::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_reward_tiers_group_id_threshold")
                    .table(RewardTiers::Table)
                    .col(RewardTiers::GroupId)
                    .col(RewardTiers::Threshold)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // reward_awards
        manager
            .create_table(
                Table::create()
                    .table(RewardAwards::Table)
                    .col(pk_id(RewardAwards::Id))
                    .col(id_ref(RewardAwards::MemberId))
                    .col(id_ref(RewardAwards::GroupId))
                    .col(integer(RewardAwards::Threshold))
                    .col(string_len(RewardAwards::Reward, 500))
                    .col(id_ref(RewardAwards::ReferralId))
                    .col(timestamp_with_time_zone(RewardAwards::AwardedAt))
                    .foreign_key(&mut fk(
                        "fk_reward_awards_member_id",
                        RewardAwards::Table,
                        RewardAwards::MemberId,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_reward_awards_group_id",
                        RewardAwards::Table,
                        RewardAwards::GroupId,
                        Groups::Table,
                        Groups::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_reward_awards_referral_id",
                        RewardAwards::Table,
                        RewardAwards::ReferralId,
                        Referrals::Table,
                        Referrals::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_reward_awards_member_id_group_id_threshold")
                    .table(RewardAwards::Table)
                    .col(RewardAwards::MemberId)
                    .col(RewardAwards::GroupId)
                    .col(RewardAwards::Threshold)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // api_tokens
        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(pk_id(ApiTokens::Id))
                    .col(id_ref(ApiTokens::PartnerFirmId))
                    .col(string_len(ApiTokens::Prefix, 32))
                    .col(string_len_uniq(ApiTokens::SecretHash, 64))
                    .col(string_len(ApiTokens::Scopes, 200))
                    .col(timestamp_with_time_zone_null(ApiTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                    .col(id_ref_null(ApiTokens::CreatedById))
                    .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_api_tokens_partner_firm_id",
                        ApiTokens::Table,
                        ApiTokens::PartnerFirmId,
                        PartnerFirms::Table,
                        PartnerFirms::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_api_tokens_created_by_id",
                        ApiTokens::Table,
                        ApiTokens::CreatedById,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_api_tokens_partner_firm_id")
                    .table(ApiTokens::Table)
                    .col(ApiTokens::PartnerFirmId)
                    .to_owned(),
            )
            .await?;

        // refresh_families
        manager
            .create_table(
                Table::create()
                    .table(RefreshFamilies::Table)
                    .col(pk_id(RefreshFamilies::Id))
                    .col(id_ref(RefreshFamilies::MemberId))
                    .col(timestamp_with_time_zone(RefreshFamilies::CreatedAt))
                    .col(timestamp_with_time_zone_null(RefreshFamilies::RevokedAt))
                    .foreign_key(&mut fk(
                        "fk_refresh_families_member_id",
                        RefreshFamilies::Table,
                        RefreshFamilies::MemberId,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_families_member_id")
                    .table(RefreshFamilies::Table)
                    .col(RefreshFamilies::MemberId)
                    .to_owned(),
            )
            .await?;

        // refresh_tokens
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(pk_id(RefreshTokens::Id))
                    .col(id_ref(RefreshTokens::FamilyId))
                    .col(string_len_uniq(RefreshTokens::TokenHash, 64))
                    .col(timestamp_with_time_zone(RefreshTokens::IssuedAt))
                    .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::UsedAt))
                    .foreign_key(&mut fk(
                        "fk_refresh_tokens_family_id",
                        RefreshTokens::Table,
                        RefreshTokens::FamilyId,
                        RefreshFamilies::Table,
                        RefreshFamilies::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        // idempotency_keys
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(pk_id(IdempotencyKeys::Id))
                    .col(id_ref(IdempotencyKeys::PartnerFirmId))
                    .col(string_len(IdempotencyKeys::Key, 255))
                    .col(string_len(IdempotencyKeys::RequestHash, 64))
                    .col(id_ref(IdempotencyKeys::ReferralId))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_idempotency_keys_partner_firm_id",
                        IdempotencyKeys::Table,
                        IdempotencyKeys::PartnerFirmId,
                        PartnerFirms::Table,
                        PartnerFirms::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_idempotency_keys_referral_id",
                        IdempotencyKeys::Table,
                        IdempotencyKeys::ReferralId,
                        Referrals::Table,
                        Referrals::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_idempotency_keys_partner_firm_id_key")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::PartnerFirmId)
                    .col(IdempotencyKeys::Key)
                    .unique()
                    .to_owned(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children before parents; indexes and foreign keys go with their tables.
        manager
            .drop_table(
                Table::drop()
                    .table(IdempotencyKeys::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(RefreshTokens::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(RefreshFamilies::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ApiTokens::Table).if_exists().to_owned())
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(RewardAwards::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(RewardTiers::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(ReferralEvents::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Referrals::Table).if_exists().to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Asks::Table).if_exists().to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Absences::Table).if_exists().to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(OneToOnes::Table).if_exists().to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Visitors::Table).if_exists().to_owned())
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(Attendance::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Meetings::Table).if_exists().to_owned())
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(Partnerships::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(PartnerFirms::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Contacts::Table).if_exists().to_owned())
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(Memberships::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Groups::Table).if_exists().to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Members::Table).if_exists().to_owned())
            .await?;
        Ok(())
    }

    /// Run the whole schema creation in one transaction on every backend (SQLite
    /// supports transactional DDL too), so a failed run leaves nothing behind.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum Members {
    Table,
    Id,
    Email,
    EmailLower,
    Name,
    PasswordHash,
    Profession,
    BusinessName,
    Phone,
    BriefIdealReferral,
    BriefTargetMarket,
    BriefTalkingPoints,
    BriefIntroTemplate,
    IsAdmin,
    CreatedAt,
    LastSeenAt,
    PreviousSignInAt,
}

#[derive(DeriveIden)]
enum Groups {
    Table,
    Id,
    Name,
    Currency,
    ClassificationExclusive,
    MeetingCadenceDays,
    FollowUpIntervalDays,
    FollowUpMaxUnanswered,
    RevisitAfterMonths,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    GroupId,
    MemberId,
    Role,
    JoinedOn,
    LeftOn,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
    OwnerId,
    Name,
    Kind,
    Email,
    Phone,
    Company,
    NpsScore,
    NpsOn,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PartnerFirms {
    Table,
    Id,
    GroupId,
    Name,
    ContactEmail,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Partnerships {
    Table,
    Id,
    MemberId,
    PartnerMemberId,
    PartnerContactId,
    Since,
    Stage,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Meetings {
    Table,
    Id,
    GroupId,
    HeldOn,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Attendance {
    Table,
    Id,
    MeetingId,
    MemberId,
    Status,
    SubstituteName,
    RecordedAt,
}

#[derive(DeriveIden)]
enum Visitors {
    Table,
    Id,
    MeetingId,
    InvitedById,
    Name,
    Email,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OneToOnes {
    Table,
    Id,
    MemberId,
    WithMemberId,
    HeldOn,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Absences {
    Table,
    Id,
    MemberId,
    FromOn,
    ToOn,
    DelegateId,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Asks {
    Table,
    Id,
    MemberId,
    GroupId,
    Text,
    TargetProfession,
    ExpiresOn,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Referrals {
    Table,
    Id,
    GroupId,
    GiverMemberId,
    GiverFirmId,
    GiverContactId,
    ReceiverMemberId,
    ReceiverFirmId,
    ProspectName,
    ProspectEmail,
    ProspectPhone,
    ProspectCompany,
    ProspectNeed,
    Temperature,
    Channel,
    MeetingId,
    AskId,
    Note,
    MadeInAbsence,
    AbsenceReason,
    InsideGroup,
    DelegateId,
    Status,
    ClosedValueE4,
    BusinessKind,
    Version,
    FollowUpCount,
    UnansweredFollowUps,
    NextFollowUpOn,
    RevisitOn,
    ThankedAt,
    WonAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ReferralEvents {
    Table,
    Id,
    ReferralId,
    Kind,
    FromStatus,
    ToStatus,
    ActorMemberId,
    ActorFirmId,
    Note,
    At,
}

#[derive(DeriveIden)]
enum RewardTiers {
    Table,
    Id,
    GroupId,
    Threshold,
    Reward,
}

#[derive(DeriveIden)]
enum RewardAwards {
    Table,
    Id,
    MemberId,
    GroupId,
    Threshold,
    Reward,
    ReferralId,
    AwardedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    PartnerFirmId,
    Prefix,
    SecretHash,
    Scopes,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
    CreatedById,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RefreshFamilies {
    Table,
    Id,
    MemberId,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    FamilyId,
    TokenHash,
    IssuedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    PartnerFirmId,
    Key,
    RequestHash,
    ReferralId,
    CreatedAt,
}
