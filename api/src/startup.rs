//! Builds the HTTP application: routes, state, a bound listener, and the
//! background tasks (webhook delivery, rate-limit bookkeeping).

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpResponse, HttpServer, middleware, web};
use sea_orm::ConnectionTrait;

use crate::graphql::{self, AppSchema};
use crate::http;
use crate::settings::Settings;
use crate::state::{AppState, webhook_config};
use domain::webhooks::worker::{self, WorkerHandle};

pub struct Application {
    port: u16,
    server: Server,
    statements: crate::db::Counter,
    checkouts: crate::db::Counter,
    handle: AppHandle,
}

/// Stops a running application: the HTTP server and its background tasks.
#[derive(Clone)]
pub struct AppHandle {
    server: ServerHandle,
    worker: WorkerHandle,
    shutdown: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    /// PostgreSQL's notice relay, when there is one.
    relay: Option<std::sync::Arc<tokio::task::AbortHandle>>,
}

impl AppHandle {
    /// Stops accepting requests, lets in-flight ones finish, and stops the
    /// webhook worker (pending deliveries stay in the database).
    pub async fn stop(&self) {
        // Sockets first: each sends its close frame (1001) and ends. Kept
        // even with no socket open, for any upgraded during the drain.
        self.shutdown.send_replace(true);
        self.server.stop(true).await;
        self.worker.stop().await;
        if let Some(relay) = &self.relay {
            relay.abort();
        }
    }

    /// Stops gracefully on SIGTERM or SIGINT (Ctrl-C): no new connections,
    /// in-flight requests finish (within `RX_SHUTDOWN_TIMEOUT_SECS`), sockets
    /// close with 1001, the webhook worker finishes its send in flight and
    /// leaves the rest pending for the next start (or another server).
    pub async fn stop_on_signal(self) {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                tracing::error!("cannot listen for SIGTERM/SIGINT; stop the server with SIGKILL");
                return;
            };
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: shutting down gracefully"),
                _ = int.recv() => tracing::info!("SIGINT: shutting down gracefully"),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        self.stop().await;
    }
}

/// How often idle rate-limit keys are forgotten.
const RATE_LIMIT_SWEEP: Duration = Duration::from_secs(60);

impl Application {
    /// Connects, migrates, binds (port 0 picks a free port), prepares the
    /// server and starts the webhook worker.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        // Process-wide: the first application built sets it.
        domain::auth::passwords::set_hash_concurrency(settings.password_hash_concurrency);
        let checkouts = crate::db::Counter::default();
        let mut db =
            crate::db::connect_counted(&settings.database_url, settings.db_pool_size, &checkouts)
                .await?;
        crate::db::check_durability(&db, settings.allow_weak_durability).await?;
        crate::db::migrate(&db).await?;
        // The worker's polling is not request work: it uses a connection
        // cloned before instrumentation, so it does not skew the counter.
        let worker_db = db.clone();
        let statements = crate::db::instrument(&mut db);
        let listener = TcpListener::bind(&settings.bind)?;
        let port = listener.local_addr()?.port();
        let replicas = match settings.database_read_urls.as_slice() {
            [] => None,
            _ if crate::db::is_sqlite(&settings.database_url) => {
                anyhow::bail!("DATABASE_READ_URL needs a PostgreSQL DATABASE_URL")
            }
            urls => Some(std::sync::Arc::new(
                crate::replica::Replicas::connect(urls, settings.db_read_pool_size).await?,
            )),
        };
        let sqlite_readers = if crate::db::is_sqlite(&settings.database_url) {
            let mut readers = crate::db::connect_sqlite_readers(
                &settings.database_url,
                settings.sqlite_readers,
                Some(&checkouts),
            )
            .await?;
            crate::db::instrument_with(&mut readers, &statements);
            Some(readers)
        } else {
            None
        };
        let mut state = AppState::new(db, settings);
        state.replicas = replicas;
        state.sqlite_readers = sqlite_readers;
        state.statement_hook = Some(statements.hook());
        let worker = worker::spawn(
            worker_db,
            webhook_config(&state.settings.partners),
            state.notifier.subscribe(),
        )?;
        // Weak, so the sweep ends once the server (and its state) is gone.
        let limits = std::sync::Arc::downgrade(&state.rate_limits);
        let throttle = std::sync::Arc::downgrade(&state.throttle);
        tokio::spawn(async move {
            let mut sweep = tokio::time::interval(RATE_LIMIT_SWEEP);
            loop {
                sweep.tick().await;
                match (limits.upgrade(), throttle.upgrade()) {
                    (Some(limits), Some(throttle)) => {
                        limits.forget_idle();
                        throttle.forget_idle();
                    }
                    _ => break,
                }
            }
        });
        let shutdown = state.shutdown.clone();
        // On PostgreSQL, notices written by any server reach this one's
        // subscribers through one listening connection.
        let relay = if crate::db::is_sqlite(&state.settings.database_url) {
            // SQLite's writers cannot notify; the view watches its count of
            // commits instead (none for an in-memory database).
            if let Some(readers) = &state.sqlite_readers {
                match crate::db::DataVersion::beside(readers).await {
                    Ok(Some(commits)) => {
                        if !state.sessions.open_watching(Box::new(commits)) {
                            tracing::warn!("the session view already watches a count of commits");
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(
                        error = %e,
                        "SQLite's change count cannot be read: every request reads its session"
                    ),
                }
            }
            None
        } else {
            let (ready, listening) = tokio::sync::oneshot::channel();
            let task = tokio::spawn(domain::notifications::relay(
                state.settings.database_url.clone(),
                state.notifier.clone(),
                state.sessions.clone(),
                ready,
            ));
            // Serve once this server hears notices, so no socket it accepts
            // misses one; a database that will not LISTEN is retried behind.
            if tokio::time::timeout(Duration::from_secs(10), listening)
                .await
                .is_err()
            {
                tracing::warn!("the notice listener is not up yet; pushes start when it is");
            }
            Some(std::sync::Arc::new(task.abort_handle()))
        };
        let server = run(listener, state)?;
        let handle = AppHandle {
            server: server.handle(),
            worker,
            shutdown,
            relay,
        };
        Ok(Application {
            port,
            server,
            statements,
            checkouts,
            handle,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that stops this application from elsewhere.
    pub fn handle(&self) -> AppHandle {
        self.handle.clone()
    }

    /// SQL statements this application has sent so far.
    pub fn statement_counter(&self) -> crate::db::Counter {
        self.statements.clone()
    }

    /// Connections this application's pools have handed out so far (the
    /// primary's, and on SQLite the readers').
    pub fn checkout_counter(&self) -> crate::db::Counter {
        self.checkouts.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.handle.worker.stop().await;
        result
    }
}

fn run(listener: TcpListener, state: AppState) -> anyhow::Result<Server> {
    let schema = web::Data::new(graphql::Served::new(
        state.settings.is_production(),
        state.settings.document_limits,
    ));
    let workers = state.settings.workers;
    let shutdown_secs = state.settings.shutdown_timeout_secs;
    let state = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(middleware::from_fn(http::observe::observe))
            .app_data(state.clone())
            .app_data(schema.clone())
            .configure(routes)
    })
    .listen(listener)?;
    if workers > 0 {
        server = server.workers(workers);
    }
    // Signals are ours (`AppHandle::stop_on_signal`), so sockets hear of
    // the shutdown before the server stops.
    server = server.disable_signals().shutdown_timeout(shutdown_secs);
    Ok(server.run())
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/graphql", web::post().to(http::graphql::graphql_post))
        .route("/graphql", web::get().to(http::graphql::graphql_get))
        .route("/graphql/ws", web::get().to(http::ws::graphql_ws))
        .route("/graphiql/{file}", web::get().to(http::graphiql::asset))
        // The leader's page first: an id has no dot, so "{id}.csv" falls
        // through to the download.
        .route(
            "/reports/groups/{id:[0-9A-Za-z-]+}",
            web::get().to(http::report_page::report_page),
        )
        .route(
            "/reports/groups/{file}",
            web::get().to(http::reports::group_report_csv),
        )
        .route("/metrics", web::get().to(metrics))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
}

/// Prometheus text format. Pool and webhook figures are read now.
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = crate::db::pool_use(state.db.pool());
    let readers = state.sqlite_readers.as_ref().map(crate::db::pool_use);
    let webhooks = domain::webhooks::service::delivery_backlog(&state.db)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e.message(), "webhook backlog unreadable for metrics");
            (0, 0)
        });
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(
            pool,
            readers,
            webhooks,
            (state.sessions.is_open(), state.sessions.len()),
        ))
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.db.execute_unprepared("SELECT 1").await {
        // Ready on the primary alone: reads fall back to it when replicas
        // are down, and the answer says so.
        Ok(_) => HttpResponse::Ok().json(match &state.replicas {
            None => serde_json::json!({ "status": "ready" }),
            Some(replicas) => serde_json::json!({
                "status": "ready",
                "replicas": match replicas.state().await {
                    crate::replica::ReplicaState::Up => "up",
                    crate::replica::ReplicaState::Down => "down: reading from the primary",
                },
            }),
        }),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({ "status": "database unreachable" }))
        }
    }
}

/// The schema alone, for tests and tools that inspect it: requests served
/// over HTTP or WebSocket go through `graphql::Served` (document limits,
/// persisted queries) first.
pub fn schema(production: bool) -> AppSchema {
    graphql::build_schema(production, crate::settings::DocumentLimits::default())
}
