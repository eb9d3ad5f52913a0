//! Groups (chapters) and memberships: who sits where, in which role, since when.

pub mod resolvers;
pub mod types;
