//! Webhooks for partner firms. Leaders register endpoints for a firm; every
//! referral event that concerns the firm (created, status changed, thanked)
//! becomes one stored delivery per endpoint, written in the same transaction
//! as the change itself. A background worker POSTs them, signed with
//! HMAC-SHA256, and retries with exponential backoff; each try is logged.

pub mod outbox;
pub mod service;
pub mod signing;
pub mod worker;
