//! Referral requests: asking one person, specifically, for introductions,
//! recording the answer, circling back, and the referrals that answered.

pub mod service;
