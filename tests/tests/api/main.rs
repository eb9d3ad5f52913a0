//! Black-box tests: the real server over HTTP, on SQLite and PostgreSQL.

mod helpers;

mod accounts;
mod contract;
mod groups;
mod http;
