//! Groups (chapters) and memberships: who sits where, in which role, since when.

pub mod currency;
pub mod service;
pub mod settings;
