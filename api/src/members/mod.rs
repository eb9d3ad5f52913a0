//! Members: profiles, referral briefs, tenure, and what others may see of them.

pub mod resolvers;
pub mod types;
