//! referral-exchange: a GraphQL backend for professional networking groups
//! whose members pass business referrals to one another and to partner firms.
//!
//! This crate *speaks*: HTTP, GraphQL, settings, start-up and the CLI. What
//! the product decides lives in the `domain` crate. The library exposes only
//! what the binary and the black-box tests need.

mod absences;
mod asks;
mod auth;
mod balances;
pub mod cli;
mod contacts;
pub mod db;
mod error;
mod graphql;
mod groups;
mod http;
mod insights;
mod meetings;
mod members;
pub mod metrics;
mod partners;
mod partnerships;
mod rate_limit;
mod referrals;
mod replica;
mod reports;
mod rewards;
pub mod settings;
pub mod startup;
mod state;
pub mod telemetry;
mod webhooks;
