//! Black-box tests: the real server over HTTP, on SQLite and PostgreSQL.

mod helpers;

mod absences;
mod accounts;
mod asks;
mod contacts;
mod contract;
mod groups;
mod http;
mod meetings;
mod rewards;
