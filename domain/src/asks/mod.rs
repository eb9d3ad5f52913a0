//! Asks: a member's specific request to their group for introductions
//! ("who knows the facilities manager at…"); referrals can answer one.

pub mod service;
