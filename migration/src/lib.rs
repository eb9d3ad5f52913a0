//! Database migrations for referral-exchange (SQLite and PostgreSQL).

pub use sea_orm_migration::prelude::*;

mod helpers;
mod m20261123_000001_create_data_model;
mod m20261123_000002_webhooks;
mod m20261201_000003_everyday_edits;
mod m20261202_000004_referral_requests;
mod m20261202_000005_referrals_by_group_status;
mod m20261207_000006_report_covering_indexes;
mod m20261207_000007_sparse_referral_indexes;
mod m20261207_000008_session_notices;

/// All migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_data_model::Migration),
            Box::new(m20261123_000002_webhooks::Migration),
            Box::new(m20261201_000003_everyday_edits::Migration),
            Box::new(m20261202_000004_referral_requests::Migration),
            Box::new(m20261202_000005_referrals_by_group_status::Migration),
            Box::new(m20261207_000006_report_covering_indexes::Migration),
            Box::new(m20261207_000007_sparse_referral_indexes::Migration),
            Box::new(m20261207_000008_session_notices::Migration),
        ]
    }
}
