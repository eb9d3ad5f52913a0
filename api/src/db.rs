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

/// SQLite's count of commits made by other connections (`PRAGMA
/// data_version`), read on a read-only connection of its own with no
/// statement sent through sqlx: what the session view watches on SQLite,
/// where the CLI, another server or a hand edit write the file without a
/// word (see `domain::auth::session_view`). Through a pool the read would
/// cost a hand-off to the connection's thread and back, about what the
/// session check it saves costs; here it is a call on the request's own
/// thread: a read transaction opened and closed on the WAL index (the view
/// with it cost 3–10 % more of our server's CPU per `Me` than with no check
/// at all, in paired runs). Another worker reading it meanwhile is not
/// waited for (`None`: that lookup reads the session from the database).
/// SQLite itself may retry and sleep before a read transaction starts,
/// while another connection recovers the WAL after a crash: rare, and then
/// on this worker rather than on a pool connection's thread.
pub struct DataVersion(std::sync::Mutex<RawVersion>);

struct RawVersion {
    db: std::ptr::NonNull<libsqlite3_sys::sqlite3>,
    stmt: std::ptr::NonNull<libsqlite3_sys::sqlite3_stmt>,
}

// SAFETY: the connection is opened with SQLITE_OPEN_NOMUTEX (SQLite's
// multi-thread mode: any thread, one at a time), and only ever used behind
// `DataVersion`'s mutex.
unsafe impl Send for RawVersion {}

impl DataVersion {
    /// Watches the file `pool` (SQLite) has open; `None` for an in-memory
    /// database (no file to open a second connection on).
    pub async fn beside(pool: &DatabaseConnection) -> anyhow::Result<Option<DataVersion>> {
        use std::ffi::CStr;
        let mut conn = pool.get_sqlite_connection_pool().acquire().await?;
        let path = {
            let mut handle = conn.lock_handle().await?;
            // SAFETY: the handle is locked away from sqlx's worker thread;
            // the name SQLite returns lives as long as the connection and
            // is copied before the lock ends.
            unsafe {
                let name = libsqlite3_sys::sqlite3_db_filename(
                    handle.as_raw_handle().as_ptr(),
                    c"main".as_ptr(),
                );
                (!name.is_null()).then(|| CStr::from_ptr(name).to_owned())
            }
        };
        match path {
            Some(path) if !path.is_empty() => Ok(Some(DataVersion::open(&path)?)),
            _ => Ok(None),
        }
    }

    fn open(path: &std::ffi::CStr) -> anyhow::Result<DataVersion> {
        use libsqlite3_sys as ffi;
        use std::ffi::CStr;
        let mut db = std::ptr::null_mut();
        // SAFETY: `path` is a C string; on every return after a successful
        // open the connection is either handed to `RawVersion` (whose drop
        // closes it) or closed here.
        unsafe {
            let rc = ffi::sqlite3_open_v2(
                path.as_ptr(),
                &mut db,
                ffi::SQLITE_OPEN_READONLY | ffi::SQLITE_OPEN_NOMUTEX,
                std::ptr::null(),
            );
            let Some(db) = std::ptr::NonNull::new(db) else {
                anyhow::bail!("SQLite could not open a connection ({rc})");
            };
            let mut stmt = std::ptr::null_mut();
            let prepared = if rc == ffi::SQLITE_OK {
                ffi::sqlite3_prepare_v3(
                    db.as_ptr(),
                    c"PRAGMA data_version".as_ptr(),
                    -1,
                    ffi::SQLITE_PREPARE_PERSISTENT,
                    &mut stmt,
                    std::ptr::null_mut(),
                )
            } else {
                rc
            };
            match std::ptr::NonNull::new(stmt) {
                Some(stmt) if prepared == ffi::SQLITE_OK => {
                    Ok(DataVersion(std::sync::Mutex::new(RawVersion { db, stmt })))
                }
                _ => {
                    let message = CStr::from_ptr(ffi::sqlite3_errmsg(db.as_ptr()))
                        .to_string_lossy()
                        .into_owned();
                    ffi::sqlite3_close(db.as_ptr());
                    anyhow::bail!("SQLite's change count cannot be read: {message} ({prepared})")
                }
            }
        }
    }
}

impl domain::auth::session_view::Commits for DataVersion {
    fn count(&self) -> Option<i64> {
        use libsqlite3_sys as ffi;
        use std::sync::TryLockError;
        let raw = match self.0.try_lock() {
            Ok(raw) => raw,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        // SAFETY: the statement belongs to the connection, both alive until
        // `raw` drops, and the mutex keeps them to one thread at a time. The
        // reset ends the read transaction the step began.
        unsafe {
            let stmt = raw.stmt.as_ptr();
            let count = (ffi::sqlite3_step(stmt) == ffi::SQLITE_ROW)
                .then(|| ffi::sqlite3_column_int64(stmt, 0));
            ffi::sqlite3_reset(stmt);
            count
        }
    }
}

impl Drop for RawVersion {
    fn drop(&mut self) {
        // SAFETY: both were made by `DataVersion::open` and are not used
        // again; the statement goes before its connection.
        unsafe {
            libsqlite3_sys::sqlite3_finalize(self.stmt.as_ptr());
            libsqlite3_sys::sqlite3_close(self.db.as_ptr());
        }
    }
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
    async fn sqlites_change_count_moves_with_every_commit_by_any_connection() {
        use domain::auth::session_view::Commits;
        use sea_orm::ConnectionTrait;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let writer = super::connect_sized(&url, 1).await.unwrap();
        writer
            .execute_unprepared("CREATE TABLE t (x INTEGER)")
            .await
            .unwrap();
        let readers = super::connect_sqlite_readers(&url, 1, None).await.unwrap();
        let changes = super::DataVersion::beside(&readers)
            .await
            .unwrap()
            .expect("a file to watch");
        let first = changes.count().expect("readable");
        assert_eq!(changes.count(), Some(first), "nothing committed");
        readers
            .execute_unprepared("SELECT count(*) FROM t")
            .await
            .unwrap();
        assert_eq!(changes.count(), Some(first), "a read is no change");
        // The server's own writer.
        writer
            .execute_unprepared("INSERT INTO t VALUES (1)")
            .await
            .unwrap();
        let second = changes.count().unwrap();
        assert_ne!(second, first);
        assert_eq!(changes.count(), Some(second));
        // A connection the server knows nothing of (the CLI, a hand edit),
        // a transaction of two statements: one change seen after its commit.
        use sea_orm::TransactionTrait;
        let outside = sea_orm::Database::connect(url.as_str()).await.unwrap();
        let tx = outside.begin().await.unwrap();
        tx.execute_unprepared("INSERT INTO t VALUES (2)")
            .await
            .unwrap();
        tx.execute_unprepared("UPDATE t SET x = 3").await.unwrap();
        assert_eq!(changes.count(), Some(second), "not committed yet");
        tx.commit().await.unwrap();
        let third = changes.count().unwrap();
        assert_ne!(third, second);
        assert_eq!(changes.count(), Some(third));
        // An in-memory database has no file another connection could write.
        let memory = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        assert!(super::DataVersion::beside(&memory).await.unwrap().is_none());
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
