//! The database a domain function works through: a pool, which checks a
//! connection out for each statement, or one connection held for a whole
//! request. A request's statements run one after another anyway (a few per
//! request, each short), and every checkout costs sqlx a ping of the
//! connection as it goes back to the pool (a round trip to PostgreSQL, or
//! to an SQLite connection's thread): held, a request pays one checkout and
//! one ping however many statements it runs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{self, AssertSqlSafe, Executor, Postgres, Sqlite};
use sea_orm::{
    AccessMode, ConnAcquireErr, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, ExecResult, IsolationLevel, QueryResult, RuntimeErr, Statement,
    TransactionError, TransactionOptions, TransactionTrait, Values,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{Mutex, MutexGuard};

/// Called after each statement a held connection runs, with its time: what
/// a pool's metric callback does for the pool's own statements.
pub type StatementHook = Arc<dyn Fn(&Statement, Duration) + Send + Sync>;

#[derive(Clone)]
pub enum Db {
    /// A connection from the pool for each statement.
    Pool(DatabaseConnection),
    /// One connection for the whole request (see [`Db::held`]).
    Held(Arc<Held>),
}

impl From<DatabaseConnection> for Db {
    fn from(db: DatabaseConnection) -> Db {
        Db::Pool(db)
    }
}

/// A connection checked out of `pool` at the first statement and kept until
/// the last clone of its [`Db`] is dropped.
pub struct Held {
    pool: DatabaseConnection,
    /// On SQLite, whose readers' pool `pool` is, where writes and
    /// transactions go; none where `pool` takes them (PostgreSQL).
    writer: Option<DatabaseConnection>,
    hook: Option<StatementHook>,
    conn: Mutex<Option<Conn>>,
}

enum Conn {
    Postgres(PoolConnection<Postgres>),
    Sqlite(PoolConnection<Sqlite>),
}

impl Db {
    /// A `Db` that holds one connection of `pool` from its first statement
    /// to its last clone's drop. `writer` names where writes go when `pool`
    /// only reads (SQLite's readers); `hook` sees each statement it runs.
    /// A pool that is neither PostgreSQL nor SQLite is used as it is.
    pub fn held(
        pool: DatabaseConnection,
        writer: Option<DatabaseConnection>,
        hook: Option<StatementHook>,
    ) -> Db {
        match pool.get_database_backend() {
            DatabaseBackend::Postgres | DatabaseBackend::Sqlite => Db::Held(Arc::new(Held {
                pool,
                writer,
                hook,
                conn: Mutex::new(None),
            })),
            _ => Db::Pool(pool),
        }
    }

    /// The pool underneath: the one this `Db` is, or the one it holds a
    /// connection of.
    pub fn pool(&self) -> &DatabaseConnection {
        match self {
            Db::Pool(db) => db,
            Db::Held(held) => &held.pool,
        }
    }

    /// Where a write made while reading goes (a member's last sign-in, an
    /// API token's last use): SQLite's writer when this `Db` holds one of
    /// its readers, this `Db` otherwise.
    pub fn writer(&self) -> Db {
        match self {
            Db::Held(held) => match &held.writer {
                Some(writer) => Db::Pool(writer.clone()),
                None => self.clone(),
            },
            Db::Pool(_) => self.clone(),
        }
    }

    /// Whether writes made outside a transaction go through this `Db`
    /// itself: not on a held SQLite reader, whose writes go to `writer`.
    pub fn writes_in_place(&self) -> bool {
        match self {
            Db::Pool(_) => true,
            Db::Held(held) => held.writer.is_none(),
        }
    }

    /// Whether this `Db` reads the primary's data as it is now: not on a
    /// replica, which may lag. A held connection with a writer elsewhere is
    /// a PostgreSQL replica or one of SQLite's readers, which read the one
    /// file (SQLite has no replicas: the server refuses `DATABASE_READ_URL`
    /// beside it).
    pub fn reads_primary(&self) -> bool {
        match self {
            Db::Pool(_) => true,
            Db::Held(held) => {
                held.writer.is_none() || held.pool.get_database_backend() == DatabaseBackend::Sqlite
            }
        }
    }

    /// Gives a held connection back to the pool now; the next statement
    /// checks one out again. Before a transaction, which takes a connection
    /// of its own, so that a request never holds two — as long as nothing
    /// else of the request runs a statement while the transaction is open
    /// (true today: only mutations begin transactions, and they run alone).
    pub async fn release(&self) {
        if let Db::Held(held) = self {
            held.conn.lock().await.take();
        }
    }

    /// Where transactions begin: the writer, else the pool, with any held
    /// connection given back first.
    async fn for_transactions(&self) -> &DatabaseConnection {
        match self {
            Db::Pool(db) => db,
            Db::Held(held) => {
                self.release().await;
                held.writer.as_ref().unwrap_or(&held.pool)
            }
        }
    }
}

/// A statement on the held connection. Dropped before it finishes (the
/// request was cut short), it lets the connection go, as the pool does:
/// sqlx then checks it on the way back before anyone else gets it.
struct Running<'a> {
    guard: MutexGuard<'a, Option<Conn>>,
    done: bool,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.guard.take();
        }
    }
}

impl Held {
    async fn checkout(&self) -> Result<Running<'_>, DbErr> {
        let mut guard = self.conn.lock().await;
        if guard.is_none() {
            *guard = Some(match self.pool.get_database_backend() {
                DatabaseBackend::Postgres => Conn::Postgres(
                    self.pool
                        .get_postgres_connection_pool()
                        .acquire()
                        .await
                        .map_err(acquire_err)?,
                ),
                _ => Conn::Sqlite(
                    self.pool
                        .get_sqlite_connection_pool()
                        .acquire()
                        .await
                        .map_err(acquire_err)?,
                ),
            });
        }
        Ok(Running { guard, done: false })
    }

    fn observe(&self, stmt: &Statement, started: Instant) {
        if let Some(hook) = &self.hook {
            hook(stmt, started.elapsed());
        }
    }
}

impl Running<'_> {
    /// Ends the statement: on an error the connection goes back to the pool
    /// (which checks it), so one failed statement cannot spoil the rest of
    /// the request.
    fn finish<T>(mut self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        self.done = result.is_ok();
        result
    }

    fn conn(&mut self) -> &mut Conn {
        self.guard.as_mut().expect("checked out")
    }
}

fn values(stmt: &Statement) -> SqlxValues {
    SqlxValues(stmt.values.clone().unwrap_or(Values(Vec::new())))
}

// The same conversions sea-orm makes for its pools, so errors read the same
// (`DbErr::sql_err` finds unique violations in either).
fn acquire_err(err: sqlx::Error) -> DbErr {
    match err {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        err => DbErr::Conn(RuntimeErr::SqlxError(err.into())),
    }
}

fn exec_err(err: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(err.into()))
}

fn query_err(err: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(err.into()))
}

/// Runs `$run` with `$c` bound to the held connection, whichever database.
macro_rules! on_conn {
    ($running:expr, $c:ident => $run:expr) => {
        match $running.conn() {
            Conn::Postgres($c) => $run,
            Conn::Sqlite($c) => $run,
        }
    };
}

/// `$stmt` through the pool's own `$pool_call`, or on the held connection:
/// `$run` with `$q`, the statement with its values bound, and `$c`, the
/// connection; timed for the hook, its error mapped by `$err`.
macro_rules! statement {
    ($db:expr, $stmt:ident, $pool_call:ident, $err:ident, |$q:ident, $c:ident| $run:expr) => {{
        let held = match $db {
            Db::Pool(db) => return db.$pool_call($stmt).await,
            Db::Held(held) => held,
        };
        let mut running = held.checkout().await?;
        let started = Instant::now();
        let result = on_conn!(running, $c => {
            let $q = sqlx::query_with(AssertSqlSafe($stmt.sql.as_str()), values(&$stmt));
            $run
        });
        let result = running.finish(result);
        held.observe(&$stmt, started);
        result.map_err($err)
    }};
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DatabaseBackend {
        self.pool().get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        statement!(self, stmt, execute_raw, exec_err, |q, c| q
            .execute(&mut **c)
            .await
            .map(ExecResult::from))
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let held = match self {
            Db::Pool(db) => return db.execute_unprepared(sql).await,
            Db::Held(held) => held,
        };
        let mut running = held.checkout().await?;
        let result = on_conn!(running, c => (&mut **c)
            .execute(AssertSqlSafe(sql.to_owned()))
            .await
            .map(ExecResult::from));
        running.finish(result).map_err(exec_err)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        statement!(self, stmt, query_one_raw, query_err, |q, c| q
            .fetch_optional(&mut **c)
            .await
            .map(|row| row.map(QueryResult::from)))
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        statement!(self, stmt, query_all_raw, query_err, |q, c| q
            .fetch_all(&mut **c)
            .await
            .map(|rows| rows.into_iter().map(QueryResult::from).collect()))
    }

    fn support_returning(&self) -> bool {
        self.pool().support_returning()
    }

    fn is_mock_connection(&self) -> bool {
        self.pool().is_mock_connection()
    }
}

/// Transactions take a connection of their own (see [`Db::release`]).
#[async_trait::async_trait]
impl TransactionTrait for Db {
    type Transaction = DatabaseTransaction;

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.for_transactions().await.begin().await
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.for_transactions()
            .await
            .begin_with_config(isolation_level, access_mode)
            .await
    }

    async fn begin_with_options(
        &self,
        options: TransactionOptions,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.for_transactions()
            .await
            .begin_with_options(options)
            .await
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<T, E>> + Send + 'c>,
            > + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.for_transactions().await.transaction(callback).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<T, E>> + Send + 'c>,
            > + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.for_transactions()
            .await
            .transaction_with_config(callback, isolation_level, access_mode)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ConnectOptions, Database};

    /// A pool of one connection on an SQLite file; `query_only`, one that
    /// refuses to write (as the server's readers do).
    async fn pool(dir: &tempfile::TempDir, name: &str, query_only: bool) -> DatabaseConnection {
        let url = format!("sqlite://{}?mode=rwc", dir.path().join(name).display());
        let mut options = ConnectOptions::new(url);
        options
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(2))
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(move |o| match query_only {
                true => o.pragma("query_only", "ON"),
                false => o,
            });
        Database::connect(options).await.unwrap()
    }

    async fn pool_of_one(dir: &tempfile::TempDir, name: &str) -> DatabaseConnection {
        pool(dir, name, false).await
    }

    fn idle(db: &DatabaseConnection) -> usize {
        db.get_sqlite_connection_pool().num_idle()
    }

    async fn count(db: &Db, sql: &str) -> i64 {
        let stmt = Statement::from_string(DatabaseBackend::Sqlite, sql);
        let row = db.query_one_raw(stmt).await.unwrap().unwrap();
        row.try_get_by_index(0).unwrap()
    }

    /// The pool gets a connection back on a task of its own: wait for it.
    async fn until_idle(db: &DatabaseConnection) {
        for _ in 0..200 {
            if idle(db) == 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the connection never went back to the pool");
    }

    #[tokio::test]
    async fn a_held_connection_serves_every_statement_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool_of_one(&dir, "a.db").await;
        let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let hook: StatementHook = {
            let seen = seen.clone();
            Arc::new(move |_, _| {
                seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })
        };
        let held = Db::held(pool.clone(), None, Some(hook));
        held.execute_unprepared("CREATE TABLE t (n INTEGER)")
            .await
            .unwrap();
        let insert = Statement::from_sql_and_values(
            DatabaseBackend::Sqlite,
            "INSERT INTO t (n) VALUES (?)",
            [7.into()],
        );
        held.execute_raw(insert).await.unwrap();
        assert_eq!(count(&held, "SELECT SUM(n) FROM t").await, 7);
        // Held: the pool's one connection stays out between statements, so
        // the pool itself cannot serve anyone else.
        assert_eq!(idle(&pool), 0);
        let other = pool.get_sqlite_connection_pool().try_acquire();
        assert!(other.is_none(), "the pool handed out a second connection");
        // The statements with values were seen by the hook (the DDL, run
        // unprepared, is not a statement with a text the hook logs).
        assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 2);
        drop(held);
        until_idle(&pool).await;
    }

    #[tokio::test]
    async fn a_failed_statement_gives_the_connection_back_and_the_next_one_runs() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool_of_one(&dir, "b.db").await;
        let held = Db::held(pool.clone(), None, None);
        assert_eq!(count(&held, "SELECT 1").await, 1);
        let bad = Statement::from_string(DatabaseBackend::Sqlite, "SELECT * FROM missing");
        let err = held.query_all_raw(bad).await.unwrap_err();
        assert!(matches!(err, DbErr::Query(_)), "{err:?}");
        until_idle(&pool).await;
        assert_eq!(count(&held, "SELECT 2").await, 2);
    }

    #[tokio::test]
    async fn a_transaction_takes_the_held_connection_s_place_and_writes_go_to_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let writer = pool_of_one(&dir, "c.db").await;
        writer
            .execute_unprepared("CREATE TABLE t (n INTEGER)")
            .await
            .unwrap();
        // The reader refuses writes: one that went there would fail.
        let readers = pool(&dir, "c.db", true).await;
        let held = Db::held(readers.clone(), Some(writer.clone()), None);
        assert_eq!(count(&held, "SELECT COUNT(*) FROM t").await, 0);
        let strayed = held
            .execute_unprepared("INSERT INTO t (n) VALUES (0)")
            .await;
        assert!(strayed.is_err(), "the reader wrote");
        assert_eq!(count(&held, "SELECT COUNT(*) FROM t").await, 0);
        // A write made while reading goes to the writer, and the reader
        // stays held.
        held.writer()
            .execute_unprepared("INSERT INTO t (n) VALUES (1)")
            .await
            .unwrap();
        assert_eq!(idle(&readers), 0);
        assert_eq!(count(&held, "SELECT SUM(n) FROM t").await, 1);
        // A transaction begins on the writer after the reader went back: a
        // request never holds two connections at once.
        let txn = tokio::time::timeout(Duration::from_secs(1), held.begin())
            .await
            .expect("begin waited for a connection")
            .unwrap();
        until_idle(&readers).await;
        txn.execute_unprepared("INSERT INTO t (n) VALUES (2)")
            .await
            .unwrap();
        txn.commit().await.unwrap();
        assert_eq!(count(&held, "SELECT SUM(n) FROM t").await, 3);
    }
}
