//! Connecting to the database and bringing its schema up to date.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// SQLite gets a single connection: it allows one writer at a time anyway,
/// and one connection makes write transactions queue instead of failing
/// with "database is locked". PostgreSQL gets a real pool.
/// Counts SQL statements sent (and logs slow ones): an operational metric,
/// and how the tests prove list queries stay free of N+1 patterns.
#[derive(Clone, Default)]
pub struct StatementCounter(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

const SLOW_STATEMENT: Duration = Duration::from_millis(250);

pub fn instrument(db: &mut DatabaseConnection) -> StatementCounter {
    let counter = StatementCounter::default();
    let inner = counter.0.clone();
    db.set_metric_callback(move |info| {
        inner.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if info.elapsed > SLOW_STATEMENT {
            // The SQL text only: bound values may hold personal data.
            tracing::warn!(elapsed_ms = info.elapsed.as_millis() as u64, sql = %info.statement.sql, "slow SQL statement");
        }
    });
    counter
}

pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(if is_sqlite(url) { 1 } else { 16 })
        .min_connections(1)
        // No idle reaper: sqlx 0.9.0's maintenance task can read an
        // underflowed idle count and spin a worker at 100 % CPU for good
        // (transact-rs/sqlx#3645, fixed upstream by #4289, not released).
        // SQLite keeps its one connection anyway; on PostgreSQL idle
        // connections stay open up to the pool's size, and a dead one is
        // noticed by the check before each checkout.
        .idle_timeout(None::<Duration>)
        .max_lifetime(None::<Duration>)
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false);
    let db = Database::connect(options).await?;
    if is_sqlite(url) {
        use sea_orm::ConnectionTrait;
        db.execute_unprepared(
            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
        )
        .await?;
    }
    Ok(db)
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await?;
    Ok(())
}
