//! Black-box tests: the real server over HTTP, on SQLite and PostgreSQL.

mod fixtures;
mod helpers;

mod absences;
mod accounts;
mod asks;
mod authz;
mod concurrency;
mod contacts;
mod contract;
mod edits;
mod fuzz;
mod graphiql_browser;
mod groups;
mod hardening;
mod http;
mod insights;
mod meetings;
mod operability;
mod partners;
mod partnerships;
mod performance;
mod referrals;
mod report_page;
mod reports;
mod rewards;
mod scale;
mod seed_bench;
mod sessions;
mod subscriptions;
mod webhooks;
