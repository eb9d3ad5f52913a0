//! Application state shared by every request (no globals): the domain's
//! context, the settings, and the rate limiters.

use std::ops::Deref;
use std::sync::Arc;

use domain::auth::jwt::JwtKeys;
use domain::{Config, Ctx, WebhookConfig};
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
}

/// Domain functions take the `Ctx`; a `&AppState` passes as one.
impl Deref for AppState {
    type Target = Ctx;

    fn deref(&self) -> &Ctx {
        &self.ctx
    }
}

impl AppState {
    /// The state a query (an operation that only reads) runs with: on
    /// SQLite its statements go to the readers' pool. Every commit is
    /// durable in the one database file before it is acknowledged, so a
    /// reader sees the caller's own writes.
    pub fn for_queries(&self) -> AppState {
        match &self.sqlite_readers {
            Some(readers) => AppState {
                ctx: Ctx {
                    db: readers.clone(),
                    ..self.ctx.clone()
                },
                ..self.clone()
            },
            None => self.clone(),
        }
    }

    /// The context a report or list reads through: a replica that holds
    /// every write acknowledged before this call (see `replica`), else the
    /// primary.
    pub async fn reading(&self) -> Ctx {
        if let Some(replicas) = &self.replicas
            && let Some(db) = replicas.caught_up(&self.ctx.db).await
        {
            return Ctx {
                db,
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
            webhooks: webhook_config(&settings.partners),
        };
        AppState {
            ctx: Ctx::new(db, jwt, config),
            rate_limits: Arc::new(RateLimits::new(&settings.partners)),
            metrics: Arc::default(),
            shutdown: Arc::new(tokio::sync::watch::Sender::new(false)),
            replicas: None,
            sqlite_readers: None,
            settings: Arc::new(settings),
        }
    }
}
