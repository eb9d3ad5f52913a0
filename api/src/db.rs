//! Connecting to the database and bringing its schema up to date.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Counts SQL statements sent (and logs slow ones), or connections checked
/// out of the pools: operational metrics, and how the tests prove list
/// queries stay free of N+1 patterns and a request holds one connection.
#[derive(Clone, Default)]
pub struct Counter(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl Counter {
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn add(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

const SLOW_STATEMENT: Duration = Duration::from_millis(250);

pub fn instrument(db: &mut DatabaseConnection) -> Counter {
    let counter = Counter::default();
    instrument_with(db, &counter);
    counter
}

/// Counts `db`'s statements on an existing counter (a second pool of the
/// same server: SQLite's readers).
pub fn instrument_with(db: &mut DatabaseConnection, counter: &Counter) {
    let hook = counter.hook();
    db.set_metric_callback(move |info| hook(info.statement, info.elapsed));
}

impl Counter {
    /// What is done with each statement, on a pool or on a connection held
    /// for a request (`domain::Db::held`): counted, and logged.
    pub fn hook(&self) -> domain::db::StatementHook {
        let counter = self.clone();
        std::sync::Arc::new(move |statement, elapsed| {
            counter.add();
            // Every statement at trace level (RUST_LOG=api::db=trace), the
            // SQL text only: how statement budgets are investigated.
            tracing::trace!(elapsed_us = elapsed.as_micros() as u64, sql = %statement.sql, "SQL");
            if elapsed > SLOW_STATEMENT {
                // The SQL text only: bound values may hold personal data.
                tracing::warn!(elapsed_ms = elapsed.as_millis() as u64, sql = %statement.sql, "slow SQL statement");
            }
        })
    }
}

/// PostgreSQL pool size unless `RX_DB_POOL_SIZE` says otherwise.
pub const DEFAULT_POOL_SIZE: u32 = 16;

pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    connect_sized(url, DEFAULT_POOL_SIZE).await
}

/// `connect` with a PostgreSQL pool of `pool_size` connections. SQLite gets
/// a single connection: it allows one writer at a time anyway, and one
/// connection makes write transactions queue instead of failing with
/// "database is locked".
pub async fn connect_sized(url: &str, pool_size: u32) -> anyhow::Result<DatabaseConnection> {
    connect_pool(
        url,
        if is_sqlite(url) { 1 } else { pool_size.max(1) },
        None,
        false,
    )
    .await
}

/// `connect_sized` counting each connection the pool hands out on
/// `checkouts` (the server's pools).
pub async fn connect_counted(
    url: &str,
    pool_size: u32,
    checkouts: &Counter,
) -> anyhow::Result<DatabaseConnection> {
    let size = if is_sqlite(url) { 1 } else { pool_size.max(1) };
    connect_pool(url, size, Some(checkouts.clone()), false).await
}

/// A second pool on an SQLite database for queries (operations that only
/// read): with WAL, readers run beside each other and beside the one
/// writer, instead of queueing behind the single writing connection.
pub async fn connect_sqlite_readers(
    url: &str,
    pool_size: u32,
    checkouts: Option<&Counter>,
) -> anyhow::Result<DatabaseConnection> {
    connect_pool(url, pool_size.max(1), checkouts.cloned(), true).await
}

/// `query_only`: SQLite connections refuse to write (the readers': a write
/// that strayed there would fail in the tests instead of quietly taking the
/// write lock beside the one writer).
async fn connect_pool(
    url: &str,
    max_connections: u32,
    checkouts: Option<Counter>,
    query_only: bool,
) -> anyhow::Result<DatabaseConnection> {
    // A checkout is an idle connection handed out (`before_acquire`) or a
    // new one opened for the caller (`after_connect`; also the one the pool
    // opens at start for `min_connections`). These `after_connect`s replace
    // sea-orm's, which only sets a schema search path, never set here.
    let (idle, new) = (checkouts.clone(), checkouts);
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(max_connections)
        .min_connections(1)
        // No idle reaper: sqlx 0.9.0's maintenance task can read an
        // underflowed idle count and spin a worker at 100 % CPU for good
        // (transact-rs/sqlx#3645, fixed upstream by #4289, not released).
        // SQLite keeps its one connection anyway; on PostgreSQL idle
        // connections stay open up to the pool's size, and a dead one is
        // noticed by the check before checkout (below).
        .idle_timeout(None::<Duration>)
        .max_lifetime(None::<Duration>)
        .acquire_timeout(Duration::from_secs(30))
        // sqlx pings every connection it hands out by default: a second
        // round trip per statement. Only one idle long enough to have been
        // dropped (by the server, a proxy or a firewall) is pinged now.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false)
        // Set on every connection the pool opens, not once: a reconnect
        // must not come back with weaker settings. WAL lets readers run
        // beside the writer; FULL syncs the WAL at each commit, so an
        // acknowledged write survives a crash or power loss.
        .map_sqlx_sqlite_opts(move |o| {
            let o = o
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            // After journal_mode, which a first connection may have to set.
            if query_only {
                o.pragma("query_only", "ON")
            } else {
                o
            }
        })
        .map_sqlx_sqlite_pool_opts({
            let new = new.clone();
            move |pool| {
                let new = new.clone();
                pool.after_connect(move |conn, _| {
                    if let Some(new) = &new {
                        new.add();
                    }
                    Box::pin(stable_query_plans(conn))
                })
            }
        })
        .map_sqlx_postgres_pool_opts(move |pool| {
            let new = new.clone();
            pool.after_connect(move |_, _| {
                if let Some(new) = &new {
                    new.add();
                }
                Box::pin(async { Ok(()) })
            })
        });
    if let Some(idle) = idle {
        let on_sqlite = idle.clone();
        options
            .map_sqlx_postgres_before_acquire(move |_, _| {
                idle.add();
                Box::pin(async { Ok(true) })
            })
            .map_sqlx_sqlite_before_acquire(move |_, _| {
                on_sqlite.add();
                Box::pin(async { Ok(true) })
            });
    }
    Ok(Database::connect(options).await?)
}

/// Turns on SQLite's query planner stability guarantee for a connection.
/// Without it, SQLite (3.51) plans a statement with `LIMIT ?` — every
/// `.one()` and every page — for the value bound to the limit, and so
/// parses and plans the statement again each time it runs with a value
/// bound: 18–20 µs instead of 3 for the session check on the bench data,
/// which runs on every request. With it a cached statement runs as
/// prepared. What the guarantee gives up, all of it plans made for the
/// values bound, does not apply today: plans from `ANALYZE`'s samples
/// (nothing here runs `ANALYZE`), a bound `LIKE` pattern as an index range
/// (no query uses `LIKE`), and a bound value matched against a literal in
/// a partial index's `WHERE` (the one partial index, on memberships, has
/// `left_on IS NULL`, no literal). A partial index with a literal, such as
/// `WHERE status = 'WON'`, would go unused by statements binding that
/// value: write the literal into such statements. sqlx has no option for
/// the guarantee, hence the raw handle.
async fn stable_query_plans(
    conn: &mut sea_orm::sqlx::SqliteConnection,
) -> Result<(), sea_orm::sqlx::Error> {
    use libsqlite3_sys::{SQLITE_DBCONFIG_ENABLE_QPSG, SQLITE_OK, sqlite3_db_config};
    let mut handle = conn.lock_handle().await?;
    let mut on: std::ffi::c_int = 0;
    // SAFETY: the handle is locked away from sqlx's worker thread for the
    // call, and this option takes an int and a pointer to an int.
    let rc = unsafe {
        sqlite3_db_config(
            handle.as_raw_handle().as_ptr(),
            SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as std::ffi::c_int,
            &mut on as *mut std::ffi::c_int,
        )
    };
    if rc != SQLITE_OK || on != 1 {
        return Err(sea_orm::sqlx::Error::Configuration(
            format!("SQLite refused the query planner stability guarantee ({rc})").into(),
        ));
    }
    Ok(())
}

/// Pool connections (in use, idle), for the metrics.
pub fn pool_use(db: &DatabaseConnection) -> (u32, u32) {
    // The getters panic on the other backend, so ask which one it is first.
    let (size, idle) = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle() as u32)
        }
        sea_orm::DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle() as u32)
        }
        _ => (0, 0),
    };
    (size.saturating_sub(idle), idle)
}

/// What the database promises about a commit it has acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durability {
    /// Settings that could lose acknowledged commits in a crash, each as
    /// `name = value` with the reason.
    pub weak: Vec<String>,
}

/// Reads the durability settings the server relies on: SQLite's journal
/// mode (WAL) and `synchronous` (FULL or EXTRA); PostgreSQL's
/// `synchronous_commit` (not `off`) and `fsync` (on).
pub async fn durability(db: &DatabaseConnection) -> anyhow::Result<Durability> {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = db.get_database_backend();
    let read = |sql: &'static str| {
        let statement = Statement::from_string(backend, sql.to_string());
        async move {
            let row = db
                .query_one_raw(statement)
                .await?
                .ok_or_else(|| anyhow::anyhow!("{sql} returned nothing"))?;
            // PRAGMA synchronous answers a number, the others text.
            let value = match row.try_get_by_index::<String>(0) {
                Ok(text) => text,
                Err(_) => row.try_get_by_index::<i64>(0)?.to_string(),
            };
            anyhow::Ok(value.to_ascii_lowercase())
        }
    };
    let mut weak = Vec::new();
    if backend == sea_orm::DatabaseBackend::Sqlite {
        let journal = read("PRAGMA journal_mode").await?;
        if journal != "wal" {
            weak.push(format!(
                "SQLite journal_mode = {journal} (WAL expected: an in-memory or unsupported file system?)"
            ));
        }
        let synchronous = read("PRAGMA synchronous").await?;
        if !matches!(synchronous.as_str(), "2" | "3") {
            weak.push(format!(
                "SQLite synchronous = {synchronous} (FULL expected: commits would not be synced)"
            ));
        }
    } else {
        let commit = read("SHOW synchronous_commit").await?;
        if commit == "off" {
            weak.push(
                "PostgreSQL synchronous_commit = off (an acknowledged commit can be lost in a crash)"
                    .into(),
            );
        }
        let fsync = read("SHOW fsync").await?;
        if fsync != "on" {
            weak.push(format!(
                "PostgreSQL fsync = {fsync} (a crash can lose or corrupt committed data)"
            ));
        }
    }
    Ok(Durability { weak })
}

/// Refuses to serve on settings that could lose acknowledged writes, unless
/// `allow_weak` (`RX_ALLOW_WEAK_DURABILITY=1`) says the operator accepts it.
pub async fn check_durability(db: &DatabaseConnection, allow_weak: bool) -> anyhow::Result<()> {
    let found = durability(db).await?;
    if found.weak.is_empty() {
        return Ok(());
    }
    let list = found.weak.join("; ");
    if allow_weak {
        tracing::warn!(settings = %list, "running with weak durability (RX_ALLOW_WEAK_DURABILITY=1)");
        Ok(())
    } else {
        anyhow::bail!(
            "refusing to start: {list}. Fix the database settings, or set RX_ALLOW_WEAK_DURABILITY=1 to accept the risk"
        )
    }
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use libsqlite3_sys as ffi;
    use std::ffi::{CString, c_int};

    /// How often SQLite prepared a statement with `LIMIT ?` again over
    /// two runs with values bound, on a pooled connection (through its raw
    /// handle, the way sqlx's statement cache runs one).
    async fn repreparations(conn: &mut sea_orm::sqlx::SqliteConnection) -> c_int {
        let mut handle = conn.lock_handle().await.unwrap();
        let raw = handle.as_raw_handle().as_ptr();
        let sql = CString::new("SELECT name FROM sqlite_master WHERE type = ?1 LIMIT ?2").unwrap();
        let kind = CString::new("table").unwrap();
        // SAFETY: the handle is locked for this block; the statement is
        // finalised before it ends and the strings outlive their use.
        unsafe {
            let mut stmt = std::ptr::null_mut();
            let rc = ffi::sqlite3_prepare_v3(
                raw,
                sql.as_ptr(),
                -1,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut stmt,
                std::ptr::null_mut(),
            );
            assert_eq!(rc, ffi::SQLITE_OK);
            for _ in 0..2 {
                ffi::sqlite3_bind_text(stmt, 1, kind.as_ptr(), -1, ffi::SQLITE_TRANSIENT());
                ffi::sqlite3_bind_int64(stmt, 2, 1);
                while ffi::sqlite3_step(stmt) == ffi::SQLITE_ROW {}
                ffi::sqlite3_reset(stmt);
            }
            let n = ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
            ffi::sqlite3_finalize(stmt);
            n
        }
    }

    #[tokio::test]
    async fn sqlite_connections_run_a_bound_limit_as_prepared() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        // Each connection the readers' pool opens (two held at once), and
        // the writer's.
        let readers = super::connect_sqlite_readers(&url, 2, None).await.unwrap();
        let pool = readers.get_sqlite_connection_pool();
        let (mut a, mut b) = (pool.acquire().await.unwrap(), pool.acquire().await.unwrap());
        assert_eq!(repreparations(&mut a).await, 0);
        assert_eq!(repreparations(&mut b).await, 0);
        let writer = super::connect_sized(&url, 1).await.unwrap();
        let mut w = writer.get_sqlite_connection_pool().acquire().await.unwrap();
        assert_eq!(repreparations(&mut w).await, 0);
        // Without the setting, SQLite prepares such a statement again on
        // every run with a value bound (what the setting is for).
        // (Without sqlx's idle reaper, as in `connect_pool`.)
        let mut options = sea_orm::ConnectOptions::new(url.clone());
        options
            .idle_timeout(None::<std::time::Duration>)
            .max_lifetime(None::<std::time::Duration>);
        let plain = sea_orm::Database::connect(options).await.unwrap();
        let mut p = plain.get_sqlite_connection_pool().acquire().await.unwrap();
        assert_eq!(repreparations(&mut p).await, 2);
    }
}
