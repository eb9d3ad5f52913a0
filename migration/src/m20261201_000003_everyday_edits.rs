//! The second release's everyday edits: group cadence settings a leader can
//! change, partnerships that end and keep their stage history, contacts'
//! NPS history, and referrals a member gives to one of their outside
//! contacts (`referrals.receiver_contact_id`).
//!
//! Histories are backfilled from the single values stored so far, reusing
//! the parent's id as the history row's id (unique, and portable SQL: no
//! UUID function is needed on either backend).
//!
//! SQLite cannot drop a column that a foreign key names, so there the new
//! referral column is guarded by triggers instead of a declared constraint;
//! on PostgreSQL it is an ordinary foreign key. Both refuse a referral to an
//! unknown contact and the deletion of a contact a referral went to.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{fk, id_ref, pk_id};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_GUARDS: [&str; 3] = [
    "CREATE TRIGGER trg_referrals_receiver_contact_insert BEFORE INSERT ON referrals \
     WHEN NEW.receiver_contact_id IS NOT NULL \
     AND NOT EXISTS (SELECT 1 FROM contacts WHERE id = NEW.receiver_contact_id) \
     BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END",
    "CREATE TRIGGER trg_referrals_receiver_contact_update BEFORE UPDATE OF receiver_contact_id ON referrals \
     WHEN NEW.receiver_contact_id IS NOT NULL \
     AND NOT EXISTS (SELECT 1 FROM contacts WHERE id = NEW.receiver_contact_id) \
     BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END",
    "CREATE TRIGGER trg_contacts_receiver_restrict BEFORE DELETE ON contacts \
     WHEN EXISTS (SELECT 1 FROM referrals WHERE receiver_contact_id = OLD.id) \
     BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sqlite = manager.get_database_backend() == sea_orm::DbBackend::Sqlite;
        let db = manager.get_connection();

        // Cadence settings. `revisit_after_days` NULL keeps the SPEC's
        // default of six calendar months; a leader's value is in days.
        manager
            .alter_table(
                Table::alter()
                    .table(Groups::Table)
                    .add_column(integer_null(Groups::RevisitAfterDays))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Groups::Table)
                    .add_column(integer(Groups::ReaskAfterDays).default(90))
                    .to_owned(),
            )
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(Partnerships::Table)
                    .add_column(date_null(Partnerships::EndedOn))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PartnershipStages::Table)
                    .col(pk_id(PartnershipStages::Id))
                    .col(id_ref(PartnershipStages::PartnershipId))
                    .col(string_len(PartnershipStages::Stage, 20))
                    .col(date(PartnershipStages::ChangedOn))
                    .col(timestamp_with_time_zone(PartnershipStages::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_partnership_stages_partnership_id",
                        PartnershipStages::Table,
                        PartnershipStages::PartnershipId,
                        Partnerships::Table,
                        Partnerships::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_partnership_stages_partnership_id")
                    .table(PartnershipStages::Table)
                    .col(PartnershipStages::PartnershipId)
                    .col(PartnershipStages::CreatedAt)
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "INSERT INTO partnership_stages (id, partnership_id, stage, changed_on, created_at) \
             SELECT id, id, stage, since, created_at FROM partnerships",
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(ContactNpsScores::Table)
                    .col(pk_id(ContactNpsScores::Id))
                    .col(id_ref(ContactNpsScores::ContactId))
                    .col(integer(ContactNpsScores::Score))
                    .col(date(ContactNpsScores::ScoredOn))
                    .col(timestamp_with_time_zone(ContactNpsScores::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_contact_nps_scores_contact_id",
                        ContactNpsScores::Table,
                        ContactNpsScores::ContactId,
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
                    .name("idx_contact_nps_scores_contact_id")
                    .table(ContactNpsScores::Table)
                    .col(ContactNpsScores::ContactId)
                    .col(ContactNpsScores::CreatedAt)
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "INSERT INTO contact_nps_scores (id, contact_id, score, scored_on, created_at) \
             SELECT id, id, nps_score, nps_on, created_at \
             FROM contacts WHERE nps_score IS NOT NULL AND nps_on IS NOT NULL",
        )
        .await?;

        if sqlite {
            db.execute_unprepared(
                "ALTER TABLE referrals ADD COLUMN receiver_contact_id varchar(36) NULL",
            )
            .await?;
            for guard in SQLITE_GUARDS {
                db.execute_unprepared(guard).await?;
            }
        } else {
            db.execute_unprepared(
                "ALTER TABLE referrals ADD COLUMN receiver_contact_id varchar(36) NULL \
                 CONSTRAINT fk_referrals_receiver_contact_id REFERENCES contacts (id) \
                 ON DELETE RESTRICT ON UPDATE NO ACTION",
            )
            .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_referrals_receiver_contact_id")
                    .table(Referrals::Table)
                    .col(Referrals::ReceiverContactId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sqlite = manager.get_database_backend() == sea_orm::DbBackend::Sqlite;
        let db = manager.get_connection();
        manager
            .drop_index(
                Index::drop()
                    .name("idx_referrals_receiver_contact_id")
                    .table(Referrals::Table)
                    .to_owned(),
            )
            .await?;
        if sqlite {
            for trigger in [
                "trg_referrals_receiver_contact_insert",
                "trg_referrals_receiver_contact_update",
                "trg_contacts_receiver_restrict",
            ] {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {trigger}"))
                    .await?;
            }
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Referrals::Table)
                    .drop_column(Referrals::ReceiverContactId)
                    .to_owned(),
            )
            .await?;
        for table in [
            ContactNpsScores::Table.into_iden(),
            PartnershipStages::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Partnerships::Table)
                    .drop_column(Partnerships::EndedOn)
                    .to_owned(),
            )
            .await?;
        for column in [
            Groups::RevisitAfterDays.into_iden(),
            Groups::ReaskAfterDays.into_iden(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Groups::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Groups {
    Table,
    RevisitAfterDays,
    ReaskAfterDays,
}

#[derive(DeriveIden)]
enum Partnerships {
    Table,
    Id,
    EndedOn,
}

#[derive(DeriveIden)]
enum PartnershipStages {
    Table,
    Id,
    PartnershipId,
    Stage,
    ChangedOn,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ContactNpsScores {
    Table,
    Id,
    ContactId,
    Score,
    ScoredOn,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Referrals {
    Table,
    ReceiverContactId,
}
