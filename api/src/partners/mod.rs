//! Partner firms: organisations exchanging referrals with a group through
//! scoped API tokens (see `auth::api_tokens`), with webhooks for the
//! events that concern them (see `webhooks`).

pub mod loaders;
pub mod resolvers;
pub mod types;
