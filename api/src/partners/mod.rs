//! Partner firms: organisations exchanging referrals with a group.

pub mod resolvers;
pub mod types;
