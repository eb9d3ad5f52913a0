//! Covering indexes for the group report, so its figures read a group's
//! referrals and a meeting's attendance from the index alone, and its
//! one-way pairs count a receiver's referrals from a giver the same way.
//!
//! On the bench data (800 referrals a group, 40 seats at weekly meetings)
//! the referral sums read every referral of the group through
//! `idx_referrals_group_id_status` and fetched each row from the table:
//! 199 buffers on PostgreSQL, against 21 with an index-only scan here,
//! which ran the sums' statement 22–27 % more often (`pgbench -M
//! prepared`); the attendance counts ran 20–30 % more often. SQLite, which
//! has no `INCLUDE`, carries the same columns as trailing key columns.
//!
//! The one-way pairs' counts (a receiver's referrals in the year, from one
//! giver) read the receiver's index and fetched each row for its giver and
//! status: with those in the index they ran 30 % more often on PostgreSQL.
//!
//! The two referral indexes replace `idx_referrals_group_id_created_at`
//! and `idx_referrals_receiver_member_id_created_at` (their key columns
//! come first, so they serve the same lookups and orderings), so a new
//! referral still writes as many index entries as before. An update that
//! changes a carried column (a status, a win's `won_at` and value) rewrites
//! those entries too; the status was indexed before, so such updates were
//! not HOT updates on PostgreSQL already.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD: &str = "idx_referrals_group_id_created_at";
const REFERRALS: &str = "idx_referrals_group_id_created_at_cover";
const OLD_RECEIVER: &str = "idx_referrals_receiver_member_id_created_at";
const RECEIVER: &str = "idx_referrals_receiver_member_id_created_at_cover";
const ATTENDANCE: &str = "idx_attendance_meeting_id_cover";

/// An index on `key`, carrying `carried` too: as included columns on
/// PostgreSQL, as trailing key columns on SQLite (which has no `INCLUDE`).
fn covering<T: Iden + Copy + 'static>(
    postgres: bool,
    name: &str,
    table: T,
    key: &[T],
    carried: &[T],
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in key {
        index.col(*column);
    }
    for column in carried {
        if postgres {
            index.include(*column);
        } else {
            index.col(*column);
        }
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        manager
            .create_index(covering(
                postgres,
                REFERRALS,
                Referrals::Table,
                &[Referrals::GroupId, Referrals::CreatedAt],
                // The columns the report's sums read besides the key.
                &[
                    Referrals::Status,
                    Referrals::WonAt,
                    Referrals::GiverMemberId,
                    Referrals::ReceiverMemberId,
                    Referrals::InsideGroup,
                    Referrals::MadeInAbsence,
                    Referrals::ClosedValueE4,
                ],
            ))
            .await?;
        manager
            .create_index(covering(
                postgres,
                RECEIVER,
                Referrals::Table,
                &[Referrals::ReceiverMemberId, Referrals::CreatedAt],
                &[Referrals::GiverMemberId, Referrals::Status],
            ))
            .await?;
        for old in [OLD, OLD_RECEIVER] {
            manager
                .drop_index(Index::drop().name(old).table(Referrals::Table).to_owned())
                .await?;
        }
        manager
            .create_index(covering(
                postgres,
                ATTENDANCE,
                Attendance::Table,
                &[Attendance::MeetingId],
                &[Attendance::MemberId, Attendance::Status],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(ATTENDANCE)
                    .table(Attendance::Table)
                    .to_owned(),
            )
            .await?;
        for (old, key) in [
            (OLD, Referrals::GroupId),
            (OLD_RECEIVER, Referrals::ReceiverMemberId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(old)
                        .table(Referrals::Table)
                        .col(key)
                        .col(Referrals::CreatedAt)
                        .to_owned(),
                )
                .await?;
        }
        for cover in [REFERRALS, RECEIVER] {
            manager
                .drop_index(Index::drop().name(cover).table(Referrals::Table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Referrals {
    Table,
    GroupId,
    CreatedAt,
    Status,
    WonAt,
    GiverMemberId,
    ReceiverMemberId,
    InsideGroup,
    MadeInAbsence,
    ClosedValueE4,
}

#[derive(DeriveIden, Clone, Copy)]
enum Attendance {
    Table,
    MeetingId,
    MemberId,
    Status,
}
