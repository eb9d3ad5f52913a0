//! Referrals: giving, the lifecycle, follow-up cadence, thanks, presence and
//! absence, delegation, and the lists members read.

pub mod resolvers;
pub mod subscriptions;
pub mod types;
