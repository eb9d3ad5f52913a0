//! The referral indexes on columns most referrals leave empty (the firm and
//! contact parties, the delegate, the meeting, the request, the prospect's
//! email) hold only the referrals that have a value.
//!
//! A new referral between two members, passed in the portal without the
//! prospect's email, leaves all eight of them empty, yet wrote an entry (a
//! NULL) into each: eight of the fourteen index entries of such a referral,
//! in the writing transaction and in the WAL. Partial indexes (`WHERE
//! column IS NOT NULL`) skip those entries. Every lookup on these columns
//! compares them with a value (`=`, `IN`, and the foreign keys' checks),
//! which no NULL matches, so PostgreSQL and SQLite use the partial index
//! wherever they used the whole one; none looks for the NULLs.
//!
//! The names stay the same. `down` restores the whole indexes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Each sparse column with its index's name.
const SPARSE: [(&str, Referrals); 8] = [
    ("idx_referrals_delegate_id", Referrals::DelegateId),
    ("idx_referrals_giver_firm_id", Referrals::GiverFirmId),
    ("idx_referrals_giver_contact_id", Referrals::GiverContactId),
    ("idx_referrals_receiver_firm_id", Referrals::ReceiverFirmId),
    (
        "idx_referrals_receiver_contact_id",
        Referrals::ReceiverContactId,
    ),
    ("idx_referrals_meeting_id", Referrals::MeetingId),
    ("idx_referrals_request_id", Referrals::RequestId),
    ("idx_referrals_prospect_email", Referrals::ProspectEmail),
];

/// The index `name` on `column`: only the rows that have a value when
/// `partial`, every row otherwise.
fn index(name: &str, column: Referrals, partial: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(Referrals::Table).col(column);
    if partial {
        index.and_where(Expr::col(column).is_not_null());
    }
    index
}

/// Replaces each index by its other form: drop, then create under the same
/// name, in the migration's transaction.
async fn rebuild(manager: &SchemaManager<'_>, partial: bool) -> Result<(), DbErr> {
    for (name, column) in SPARSE {
        manager
            .drop_index(Index::drop().name(name).table(Referrals::Table).to_owned())
            .await?;
        manager.create_index(index(name, column, partial)).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too (sea-orm-migration makes one on
    /// PostgreSQL only): a failure half-way leaves every index as it was.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, false).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Referrals {
    Table,
    DelegateId,
    GiverFirmId,
    GiverContactId,
    ReceiverFirmId,
    ReceiverContactId,
    MeetingId,
    RequestId,
    ProspectEmail,
}
