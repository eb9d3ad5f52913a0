//! An index on referrals by group and status, for the group report's lists
//! (unthanked wins, overdue follow-ups). PostgreSQL plans a prepared
//! statement once for any values after a few runs; without this index that
//! generic plan read the list statement through the status index, across
//! every group's won referrals (2.5 ms on the bench data, against 0.25 ms).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "idx_referrals_group_id_status";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(Referrals::Table)
                    .col(Referrals::GroupId)
                    .col(Referrals::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(NAME).table(Referrals::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Referrals {
    Table,
    GroupId,
    Status,
}
