//! Referral intelligence: where a member's business comes from, whom to ask
//! next and whom they owe. Read-only; every figure is grouped SQL.

pub mod reciprocity;
pub mod sources;
pub mod who_to_ask;
