//! Application state shared by every request (no globals): the domain's
//! context, the settings, and the rate limiters.

use std::ops::Deref;
use std::sync::Arc;

use domain::auth::jwt::JwtKeys;
use domain::db::StatementHook;
use domain::{Config, Ctx, Db, WebhookConfig};
use sea_orm::DatabaseConnection;

use crate::rate_limit::RateLimits;
use crate::settings::{PartnerSettings, Settings};

#[derive(Clone)]
pub struct AppState {
    pub ctx: Ctx,
    pub settings: Arc<Settings>,
    pub rate_limits: Arc<RateLimits>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Turns true when the server begins to shut down: open sockets close
    /// with 1001 instead of being cut.
    pub shutdown: Arc<tokio::sync::watch::Sender<bool>>,
    /// Read replicas, when `DATABASE_READ_URL` names any.
    pub replicas: Option<Arc<crate::replica::Replicas>>,
    /// On SQLite, the pool queries read through (see `db::connect_sqlite_readers`).
    pub sqlite_readers: Option<DatabaseConnection>,
    /// What the pools do with each statement (counted, logged), for the
    /// connections requests hold.
    pub statement_hook: Option<StatementHook>,
}

/// Domain functions take the `Ctx`; a `&AppState` passes as one.
impl Deref for AppState {
    type Target = Ctx;

    fn deref(&self) -> &Ctx {
        &self.ctx
    }
}

impl AppState {
    /// The state one HTTP request reads with: its statements share one
    /// connection, checked out at the first and given back when the request
    /// is done (see `domain::db`). On SQLite that is one of the readers'
    /// (every commit is durable in the one database file before it is
    /// acknowledged, so a reader sees the caller's own writes), and the few
    /// writes made while reading go to the writer. A request that may write
    /// gives it back before it runs (`http::graphql::execute`).
    pub fn for_request(&self) -> AppState {
        let (pool, writer) = match &self.sqlite_readers {
            Some(readers) => (readers.clone(), Some(self.ctx.db.pool().clone())),
            None => (self.ctx.db.pool().clone(), None),
        };
        AppState {
            ctx: Ctx {
                db: Db::held(pool, writer, self.statement_hook.clone()),
                ..self.ctx.clone()
            },
            ..self.clone()
        }
    }

    /// The context a report or list reads through: a replica that holds
    /// every write acknowledged before this call (see `replica`), else the
    /// primary. On a replica the request holds one of its connections, and
    /// gives back the primary's until it needs it again; the few writes made
    /// while reading (a member's last sign-in) go to the primary.
    pub async fn reading(&self) -> Ctx {
        if let Some(replicas) = &self.replicas
            && let Some(replica) = replicas.caught_up(&self.ctx.db).await
        {
            self.ctx.db.release().await;
            let primary = self.ctx.db.writer().pool().clone();
            return Ctx {
                // Not counted: the counter is the primary's (the scale
                // tests tell the two apart by it).
                db: Db::held(replica, Some(primary), None),
                ..self.ctx.clone()
            };
        }
        self.ctx.clone()
    }
}

pub fn webhook_config(p: &PartnerSettings) -> WebhookConfig {
    WebhookConfig {
        backoff_ms: p.webhook_backoff_ms,
        max_attempts: p.webhook_max_attempts,
        poll_ms: p.webhook_poll_ms,
        timeout_ms: p.webhook_timeout_ms,
        allow_private_targets: p.webhook_allow_private_targets,
    }
}

impl AppState {
    pub fn new(db: DatabaseConnection, settings: Settings) -> AppState {
        let jwt = JwtKeys::new(settings.jwt_secret_bytes(), settings.access_token_ttl_secs);
        let config = Config {
            refresh_token_ttl_secs: settings.refresh_token_ttl_secs,
            password_attempts_per_minute: settings.password_attempts_per_minute,
            report_link_ttl_secs: settings.report_link_ttl_secs,
            session_cache_secs: settings.session_cache_secs,
            session_cache_bytes: settings.session_cache_mib * 1024 * 1024,
            report_cache_bytes: settings.report_cache_mib * 1024 * 1024,
            webhooks: webhook_config(&settings.partners),
        };
        AppState {
            ctx: Ctx::new(db, jwt, config),
            rate_limits: Arc::new(RateLimits::new(&settings.partners)),
            metrics: Arc::default(),
            shutdown: Arc::new(tokio::sync::watch::Sender::new(false)),
            replicas: None,
            sqlite_readers: None,
            statement_hook: None,
            settings: Arc::new(settings),
        }
    }
}
