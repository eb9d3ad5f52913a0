//! Referral requests: a member asks one person (a fellow member or one of
//! their own contacts) for introductions, records the answer and circles
//! back. Referrals that person then gives the member name the request they
//! answer (`referrals.request_id`), set when the referral is written.
//!
//! As in the previous migration, SQLite cannot add a column with a declared
//! foreign key to an existing table, so `referrals.request_id` is guarded by
//! a trigger there and is an ordinary foreign key on PostgreSQL. Requests
//! are never deleted by the product (they go with their member or contact).

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{fk, id_ref, id_ref_null, pk_id};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sqlite = manager.get_database_backend() == sea_orm::DbBackend::Sqlite;
        let db = manager.get_connection();
        manager
            .create_table(
                Table::create()
                    .table(ReferralRequests::Table)
                    .col(pk_id(ReferralRequests::Id))
                    .col(id_ref(ReferralRequests::RequesterId))
                    .col(id_ref_null(ReferralRequests::ToMemberId))
                    .col(id_ref_null(ReferralRequests::ToContactId))
                    .col(text(ReferralRequests::Text))
                    .col(date(ReferralRequests::AskedOn))
                    .col(string_len_null(ReferralRequests::Response, 10))
                    .col(text_null(ReferralRequests::Reason))
                    .col(date_null(ReferralRequests::AnsweredOn))
                    .col(date_null(ReferralRequests::CircleBackOn))
                    .col(timestamp_with_time_zone(ReferralRequests::CreatedAt))
                    .col(timestamp_with_time_zone(ReferralRequests::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_referral_requests_requester_id",
                        ReferralRequests::Table,
                        ReferralRequests::RequesterId,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_referral_requests_to_member_id",
                        ReferralRequests::Table,
                        ReferralRequests::ToMemberId,
                        Members::Table,
                        Members::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_referral_requests_to_contact_id",
                        ReferralRequests::Table,
                        ReferralRequests::ToContactId,
                        Contacts::Table,
                        Contacts::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .check(Expr::cust(
                        "(to_member_id IS NULL) <> (to_contact_id IS NULL)",
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "idx_referral_requests_due",
                [
                    ReferralRequests::RequesterId,
                    ReferralRequests::CircleBackOn,
                ],
            ),
            (
                "idx_referral_requests_to_member",
                [ReferralRequests::ToMemberId, ReferralRequests::RequesterId],
            ),
            (
                "idx_referral_requests_to_contact",
                [ReferralRequests::ToContactId, ReferralRequests::RequesterId],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(ReferralRequests::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        if sqlite {
            db.execute_unprepared("ALTER TABLE referrals ADD COLUMN request_id varchar(36) NULL")
                .await?;
            db.execute_unprepared(
                "CREATE TRIGGER trg_referrals_request_insert BEFORE INSERT ON referrals \
                 WHEN NEW.request_id IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM referral_requests WHERE id = NEW.request_id) \
                 BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END",
            )
            .await?;
            db.execute_unprepared(
                "CREATE TRIGGER trg_referral_requests_delete AFTER DELETE ON referral_requests \
                 BEGIN UPDATE referrals SET request_id = NULL WHERE request_id = OLD.id; END",
            )
            .await?;
        } else {
            db.execute_unprepared(
                "ALTER TABLE referrals ADD COLUMN request_id varchar(36) NULL \
                 CONSTRAINT fk_referrals_request_id REFERENCES referral_requests (id) \
                 ON DELETE SET NULL ON UPDATE NO ACTION",
            )
            .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_referrals_request_id")
                    .table(Referrals::Table)
                    .col(Referrals::RequestId)
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
                    .name("idx_referrals_request_id")
                    .table(Referrals::Table)
                    .to_owned(),
            )
            .await?;
        if sqlite {
            for trigger in [
                "trg_referrals_request_insert",
                "trg_referral_requests_delete",
            ] {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {trigger}"))
                    .await?;
            }
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Referrals::Table)
                    .drop_column(Referrals::RequestId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(ReferralRequests::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ReferralRequests {
    Table,
    Id,
    RequesterId,
    ToMemberId,
    ToContactId,
    Text,
    AskedOn,
    Response,
    Reason,
    AnsweredOn,
    CircleBackOn,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Members {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Referrals {
    Table,
    RequestId,
}
