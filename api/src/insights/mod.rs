//! Referral intelligence over GraphQL: requests for introductions, the
//! sources report, whom to ask and whom the caller owes.

pub mod resolvers;
pub mod types;
