//! referral-exchange: a GraphQL backend for professional networking groups
//! whose members pass business referrals to one another and to partner firms.

pub mod access;
pub mod auth;
pub mod balances;
pub mod db;
pub mod error;
pub mod graphql;
pub mod groups;
pub mod members;
pub mod money;
pub mod settings;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod validation;
