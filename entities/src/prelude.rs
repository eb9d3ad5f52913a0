//! Every entity, re-exported under its PascalCase name.

pub use super::absence::Entity as Absence;
pub use super::api_token::Entity as ApiToken;
pub use super::ask::Entity as Ask;
pub use super::attendance::Entity as Attendance;
pub use super::contact::Entity as Contact;
pub use super::contact_nps_score::Entity as ContactNpsScore;
pub use super::group::Entity as Group;
pub use super::idempotency_key::Entity as IdempotencyKey;
pub use super::meeting::Entity as Meeting;
pub use super::member::Entity as Member;
pub use super::membership::Entity as Membership;
pub use super::one_to_one::Entity as OneToOne;
pub use super::partner_firm::Entity as PartnerFirm;
pub use super::partnership::Entity as Partnership;
pub use super::partnership_stage::Entity as PartnershipStageChange;
pub use super::referral::Entity as Referral;
pub use super::referral_event::Entity as ReferralEvent;
pub use super::referral_request::Entity as ReferralRequest;
pub use super::refresh_family::Entity as RefreshFamily;
pub use super::refresh_token::Entity as RefreshToken;
pub use super::reward_award::Entity as RewardAward;
pub use super::reward_tier::Entity as RewardTier;
pub use super::visitor::Entity as Visitor;
pub use super::webhook_attempt::Entity as WebhookAttempt;
pub use super::webhook_delivery::Entity as WebhookDelivery;
pub use super::webhook_endpoint::Entity as WebhookEndpoint;
