//! SeaORM entities for the referral-exchange data model, one module per table.
//!
//! The schema itself is created by the `migration` crate; field names are the column names.

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
