//! Reward ladders: a group publishes tiers ("1st won referral given → a
//! thank-you gift"), and a giver reaching one is awarded it exactly once.

pub mod resolvers;
pub mod types;
