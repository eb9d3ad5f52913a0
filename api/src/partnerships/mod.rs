//! Declared referral partnerships between a member and a fellow member or an
//! outside professional, with their two-way balance, tenure and one-way flag.

pub mod resolvers;
pub mod types;
