//! Signing up and in, refreshing and ending sessions: the GraphQL side of
//! the domain's `auth` module.

pub mod resolvers;
