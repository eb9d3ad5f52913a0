//! Referrals: giving, the lifecycle, follow-up cadence, thanks, presence and
//! absence, delegation, and the lists members read.

pub mod lifecycle;
pub mod presence;
pub mod resolvers;
pub mod service;
pub mod subscriptions;
pub mod types;
