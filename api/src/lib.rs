//! referral-exchange: a GraphQL backend for professional networking groups
//! whose members pass business referrals to one another and to partner firms.

pub mod absences;
pub mod access;
pub mod asks;
pub mod auth;
pub mod balances;
pub mod contacts;
pub mod db;
pub mod demo;
pub mod error;
pub mod graphql;
pub mod groups;
pub mod meetings;
pub mod members;
pub mod money;
pub mod notifications;
pub mod partners;
pub mod partnerships;
pub mod rate_limit;
pub mod referrals;
pub mod reports;
pub mod rewards;
pub mod settings;
pub mod sql;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod validation;
pub mod webhooks;
