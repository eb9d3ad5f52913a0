//! Absences: periods a member is away, optionally with a delegate who sees
//! and advances their new referrals meanwhile.

pub mod service;
