//! What referral-exchange *decides*: services (one transaction per command),
//! read queries, pure rules and access decisions, over the `entities` crate.
//!
//! This crate speaks neither HTTP nor GraphQL — Cargo keeps it so: it does not
//! depend on actix or async-graphql. The `api` crate turns requests into a
//! [`Caller`] and calls in here; everything a domain function needs comes
//! through its arguments and the [`Ctx`] (database, token keys, notices).

pub mod absences;
pub mod access;
pub mod asks;
pub mod auth;
pub mod balances;
pub mod bench_seed;
pub mod caller;
pub mod contacts;
pub mod ctx;
pub mod db;
pub mod demo;
pub mod error;
pub mod groups;
pub mod insights;
pub mod meetings;
pub mod members;
pub mod money;
pub mod notifications;
pub mod paging;
pub mod partners;
pub mod partnerships;
pub mod referrals;
pub mod reports;
pub mod requests;
pub mod rewards;
pub mod sql;
pub mod validation;
pub mod webhooks;

pub use caller::{Caller, MemberCaller, PartnerCaller};
pub use ctx::{Config, Ctx, WebhookConfig};
pub use db::Db;
pub use error::{DomainError, DomainResult};
pub use money::Money;
pub use paging::Page;
