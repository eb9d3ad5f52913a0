//! What every domain function may reach besides its arguments: the database,
//! the access-token keys, the channel that carries referral notices, and the
//! few settings the rules depend on. The `api` crate builds one at start-up
//! from its settings; nothing here reads the environment.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::db::Db;

use crate::auth::jwt::JwtKeys;
use crate::auth::session_view::SessionView;
use crate::auth::throttle::AccountThrottle;
use crate::notifications::Notifier;
use crate::reports::cache::ReportCache;

#[derive(Clone)]
pub struct Ctx {
    pub db: Db,
    pub jwt: JwtKeys,
    pub notifier: Notifier,
    pub config: Arc<Config>,
    /// Password attempts per account, shared by every request.
    pub throttle: Arc<AccountThrottle>,
    /// Signed-in sessions as last read, kept current by PostgreSQL's
    /// notices or SQLite's count of commits (closed, so never used, until
    /// the notice relay listens or the count is watched).
    pub sessions: Arc<SessionView>,
    /// Group reports as last built, by caller and database state.
    pub reports: Arc<ReportCache>,
}

/// The settings domain rules depend on.
#[derive(Debug, Clone)]
pub struct Config {
    /// Refresh-token lifetime in seconds.
    pub refresh_token_ttl_secs: i64,
    /// Password attempts (sign-in, password change) per account per minute;
    /// 0 is unlimited.
    pub password_attempts_per_minute: u32,
    /// How long a leader's report link stays valid, in seconds.
    pub report_link_ttl_secs: i64,
    /// How long a session read from the database is trusted without
    /// another read, in seconds, while the view is open (0: never).
    pub session_cache_secs: u64,
    /// Most bytes the remembered sessions' rows may take.
    pub session_cache_bytes: usize,
    /// Most bytes the kept group reports may take (0: none are kept).
    pub report_cache_bytes: usize,
    pub webhooks: WebhookConfig,
}

/// Webhook delivery (see README, "Partner firms").
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// First retry delay; each further retry waits twice as long (capped at an hour).
    pub backoff_ms: u64,
    /// Attempts before a delivery is given up as FAILED.
    pub max_attempts: i32,
    /// Longest pause between the delivery worker's rounds.
    pub poll_ms: u64,
    /// Per-attempt HTTP timeout.
    pub timeout_ms: u64,
    /// Whether webhook URLs may name loopback, private or link-local hosts.
    pub allow_private_targets: bool,
}

impl Ctx {
    pub fn new(db: DatabaseConnection, jwt: JwtKeys, config: Config) -> Ctx {
        Ctx {
            db: Db::Pool(db),
            jwt,
            notifier: Notifier::default(),
            throttle: Arc::new(AccountThrottle::new(config.password_attempts_per_minute)),
            sessions: Arc::new(SessionView::new(
                std::time::Duration::from_secs(config.session_cache_secs),
                config.session_cache_bytes,
            )),
            reports: Arc::new(ReportCache::new(config.report_cache_bytes)),
            config: Arc::new(config),
        }
    }
}
