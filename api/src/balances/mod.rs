//! Two-way give/receive balances, computed by SQL aggregation over referrals.

pub mod types;
