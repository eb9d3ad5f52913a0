//! Webhooks for partner firms: the endpoints leaders register, the
//! deliveries waiting to be (or already) sent, and a log of every attempt.
//!
//! Deliveries are rows, not in-memory jobs, so pending ones survive a
//! restart; `(status, next_attempt_at)` is the worker's polling index.
//! The endpoint's signing secret is stored as given (it has to be, to sign
//! with it); only the API stands between it and the outside, never a log.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{fk, id_ref, id_ref_null, pk_id};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(pk_id(WebhookEndpoints::Id))
                    .col(id_ref(WebhookEndpoints::PartnerFirmId))
                    .col(string_len(WebhookEndpoints::Url, 2000))
                    .col(string_len(WebhookEndpoints::Secret, 100))
                    .col(id_ref_null(WebhookEndpoints::CreatedById))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::DeletedAt))
                    .foreign_key(&mut fk(
                        "fk_webhook_endpoints_partner_firm_id",
                        WebhookEndpoints::Table,
                        WebhookEndpoints::PartnerFirmId,
                        PartnerFirms::Table,
                        PartnerFirms::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_webhook_endpoints_created_by_id",
                        WebhookEndpoints::Table,
                        WebhookEndpoints::CreatedById,
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
                    .name("idx_webhook_endpoints_partner_firm_id")
                    .table(WebhookEndpoints::Table)
                    .col(WebhookEndpoints::PartnerFirmId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(pk_id(WebhookDeliveries::Id))
                    .col(id_ref(WebhookDeliveries::EndpointId))
                    .col(id_ref(WebhookDeliveries::PartnerFirmId))
                    .col(id_ref_null(WebhookDeliveries::ReferralId))
                    .col(string_len(WebhookDeliveries::Event, 50))
                    .col(text(WebhookDeliveries::Payload))
                    .col(string_len(WebhookDeliveries::Status, 20))
                    .col(integer(WebhookDeliveries::Attempts).default(0))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::NextAttemptAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::LastAttemptAt,
                    ))
                    .col(integer_null(WebhookDeliveries::LastStatusCode))
                    .col(string_len_null(WebhookDeliveries::LastError, 500))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::DeliveredAt,
                    ))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_webhook_deliveries_endpoint_id",
                        WebhookDeliveries::Table,
                        WebhookDeliveries::EndpointId,
                        WebhookEndpoints::Table,
                        WebhookEndpoints::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_webhook_deliveries_partner_firm_id",
                        WebhookDeliveries::Table,
                        WebhookDeliveries::PartnerFirmId,
                        PartnerFirms::Table,
                        PartnerFirms::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_webhook_deliveries_referral_id",
                        WebhookDeliveries::Table,
                        WebhookDeliveries::ReferralId,
                        Referrals::Table,
                        Referrals::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_status_next_attempt_at")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Status)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_partner_firm_id_created_at")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::PartnerFirmId)
                    .col(WebhookDeliveries::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(pk_id(WebhookAttempts::Id))
                    .col(id_ref(WebhookAttempts::DeliveryId))
                    .col(integer(WebhookAttempts::Number))
                    .col(timestamp_with_time_zone(WebhookAttempts::At))
                    .col(integer_null(WebhookAttempts::StatusCode))
                    .col(string_len_null(WebhookAttempts::Error, 500))
                    .col(integer(WebhookAttempts::DurationMs))
                    .foreign_key(&mut fk(
                        "fk_webhook_attempts_delivery_id",
                        WebhookAttempts::Table,
                        WebhookAttempts::DeliveryId,
                        WebhookDeliveries::Table,
                        WebhookDeliveries::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_webhook_attempts_delivery_id_number")
                    .table(WebhookAttempts::Table)
                    .col(WebhookAttempts::DeliveryId)
                    .col(WebhookAttempts::Number)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookAttempts::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Members {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PartnerFirms {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Referrals {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    PartnerFirmId,
    Url,
    Secret,
    CreatedById,
    CreatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    EndpointId,
    PartnerFirmId,
    ReferralId,
    Event,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LastAttemptAt,
    LastStatusCode,
    LastError,
    DeliveredAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    Number,
    At,
    StatusCode,
    Error,
    DurationMs,
}
