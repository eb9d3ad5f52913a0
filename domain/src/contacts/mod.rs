//! Contacts: people a member knows outside the platform (clients, fellow
//! professionals, prospects), private to the member who added them.

pub mod service;
