//! SeaORM entities for the referral-exchange data model, one module per table.
//!
//! The schema itself is created by the `migration` crate; field names are the column names.

/// Implements `Model::at(row, first)` for an entity's model: the model read
/// from the row's columns `first..first + Model::COLUMNS`, by position, in
/// the order the fields are listed, which must be the order of
/// `Column::iter()` (the order `Entity::find()` selects them; the test the
/// macro adds checks it, and a missing field fails to compile). Hot reads
/// use it because sea-orm's derived decoding looks each column up by name,
/// and under a prefix formats that name into a new string first: about a
/// tenth of the server's CPU in a group report of 40 members.
macro_rules! read_by_position {
    ($($field:ident),+ $(,)?) => {
        impl Model {
            /// How many columns `at` reads.
            pub const COLUMNS: usize = [$(stringify!($field)),+].len();
            /// The fields in the order `at` reads them.
            pub const POSITIONS: [&'static str; Self::COLUMNS] = [$(stringify!($field)),+];

            /// The model from `row`'s columns starting at `first`, by position.
            #[allow(unused_assignments)]
            pub fn at(row: &sea_orm::QueryResult, first: usize) -> Result<Self, sea_orm::DbErr> {
                let mut i = first;
                Ok(Model {
                    $($field: {
                        let value = row.try_get_by_index(i)?;
                        i += 1;
                        value
                    }),+
                })
            }

            /// As [`Model::at`], reading only the fields whose bit is set
            /// in `read` (bit k for the k-th field of `POSITIONS`), which
            /// the row holds in that order from `first`; every other field
            /// is `unread`'s. For statements that select some columns only.
            #[allow(unused_assignments)]
            pub fn at_only(
                row: &sea_orm::QueryResult,
                first: usize,
                read: u64,
                unread: Self,
            ) -> Result<Self, sea_orm::DbErr> {
                let mut i = first;
                let mut bit = 1u64;
                Ok(Model {
                    $($field: {
                        let value = if read & bit != 0 {
                            i += 1;
                            row.try_get_by_index(i - 1)?
                        } else {
                            unread.$field
                        };
                        bit <<= 1;
                        value
                    }),+
                })
            }
        }

        // `at_only` takes one bit per field.
        const _: () = assert!(Model::COLUMNS <= 64);

        #[cfg(test)]
        mod read_by_position {
            use super::*;
            use sea_orm::Iterable;

            #[test]
            fn at_reads_the_columns_in_the_order_find_selects_them() {
                let selected: Vec<&str> = Column::iter().map(|c| c.as_str()).collect();
                assert_eq!(Model::POSITIONS.to_vec(), selected);
            }
        }
    };
}

pub mod absence;
pub mod api_token;
pub mod ask;
pub mod attendance;
pub mod contact;
pub mod contact_nps_score;
pub mod enums;
pub mod group;
pub mod idempotency_key;
pub mod meeting;
pub mod member;
pub mod membership;
pub mod one_to_one;
pub mod partner_firm;
pub mod partnership;
pub mod partnership_stage;
pub mod referral;
pub mod referral_event;
pub mod referral_request;
pub mod refresh_family;
pub mod refresh_token;
pub mod reward_award;
pub mod reward_tier;
pub mod visitor;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;

pub mod prelude;

pub use enums::{
    AbsenceReason, ApiScope, AttendanceStatus, BusinessKind, Channel, ContactKind, DeliveryStatus,
    EventKind, PartnershipStage, ReferralStatus, RequestResponse, Role, WebhookEventKind,
};
