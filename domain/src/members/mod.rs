//! Members: profiles, referral briefs, tenure, and what others may see of them.

pub mod rows;
pub mod service;
pub mod tenure;
