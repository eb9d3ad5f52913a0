//! Builds the HTTP application: routes, state, and a bound listener.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, middleware, web};
use sea_orm::ConnectionTrait;

use crate::graphql::{self, AppSchema};
use crate::settings::Settings;
use crate::state::AppState;

pub struct Application {
    port: u16,
    server: Server,
    statements: crate::db::StatementCounter,
}

impl Application {
    /// Connects, migrates, binds (port 0 picks a free port) and prepares the server.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let mut db = crate::db::connect(&settings.database_url).await?;
        crate::db::migrate(&db).await?;
        let statements = crate::db::instrument(&mut db);
        let listener = TcpListener::bind(&settings.bind)?;
        let port = listener.local_addr()?.port();
        let state = AppState::new(db, settings);
        let server = run(listener, state)?;
        Ok(Application {
            port,
            server,
            statements,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// SQL statements this application has sent so far.
    pub fn statement_counter(&self) -> crate::db::StatementCounter {
        self.statements.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn run(listener: TcpListener, state: AppState) -> anyhow::Result<Server> {
    let schema = web::Data::new(graphql::build_schema(state.settings.is_production()));
    let workers = state.settings.workers;
    let state = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(middleware::Logger::new("%U %s %b %Dms"))
            .app_data(state.clone())
            .app_data(schema.clone())
            .configure(routes)
    })
    .listen(listener)?;
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.run())
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/graphql", web::post().to(graphql::http::graphql_post))
        .route("/graphql", web::get().to(graphql::http::graphql_get))
        .route("/graphql/ws", web::get().to(graphql::ws::graphql_ws))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.db.execute_unprepared("SELECT 1").await {
        Ok(_) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({ "status": "database unreachable" }))
        }
    }
}

/// Keeps the schema type in the public API for tests and tools.
pub fn schema(production: bool) -> AppSchema {
    graphql::build_schema(production)
}
