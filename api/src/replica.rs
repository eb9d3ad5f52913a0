//! Read replicas (`DATABASE_READ_URL`): reports, the network and sources
//! reports and the directory read from a replica when — and only when — it
//! has replayed every write acknowledged before the request began. The
//! check is two tiny statements: the primary's WAL flush position, then
//! the replica's replay position; a replica at or past it holds every write
//! any server acknowledged earlier, the caller's own included, so
//! read-your-writes holds across servers with no stickiness. A replica that
//! is behind, or down, sends the read to the primary; one that fails is
//! left alone for a few seconds, so a dead replica costs reads nothing.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Statement};

/// How long a replica that failed is skipped.
const REST: Duration = Duration::from_secs(5);

struct Replica {
    db: DatabaseConnection,
    resting_until: Mutex<Option<Instant>>,
}

pub struct Replicas {
    replicas: Vec<Replica>,
    next: AtomicUsize,
}

/// Where reads went, for `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// At least one replica answers.
    Up,
    /// None answers: every read goes to the primary.
    Down,
}

/// A WAL position (`16/B374D848`) as a number.
fn lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

async fn position(db: &impl ConnectionTrait, sql: &str) -> Option<u64> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .ok()??;
    lsn(&row.try_get_by_index::<String>(0).ok()?)
}

impl Replicas {
    /// Pools for each URL, opened lazily (a replica that is down at start
    /// does not stop the server), with a short acquire timeout.
    pub async fn connect(urls: &[String], pool_size: u32) -> anyhow::Result<Replicas> {
        let mut replicas = Vec::new();
        for url in urls {
            let mut options = ConnectOptions::new(url.clone());
            options
                .max_connections(pool_size.max(1))
                .min_connections(0)
                .connect_lazy(true)
                .acquire_timeout(Duration::from_secs(1))
                .idle_timeout(None::<Duration>)
                .max_lifetime(None::<Duration>)
                // As the primary's pool: ping only connections idle 30 s.
                .test_before_acquire_if_idle_for(Duration::from_secs(30))
                .sqlx_logging(false);
            replicas.push(Replica {
                db: Database::connect(options).await?,
                resting_until: Mutex::new(None),
            });
        }
        Ok(Replicas {
            replicas,
            next: AtomicUsize::new(0),
        })
    }

    /// A replica that has replayed everything `primary` had acknowledged
    /// when this was called, or None (read the primary).
    pub async fn caught_up(&self, primary: &impl ConnectionTrait) -> Option<DatabaseConnection> {
        // The flush position: every commit acknowledged so far is at or
        // before it (the server insists on synchronous_commit; with it off,
        // by RX_ALLOW_WEAK_DURABILITY, a read may miss a write just made).
        let target = position(primary, "SELECT CAST(pg_current_wal_flush_lsn() AS TEXT)").await?;
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.replicas.len() {
            let replica = &self.replicas[(start + i) % self.replicas.len()];
            if replica.resting() {
                continue;
            }
            match position(&replica.db, "SELECT CAST(pg_last_wal_replay_lsn() AS TEXT)").await {
                Some(replayed) if replayed >= target => return Some(replica.db.clone()),
                Some(_) => {}
                None => replica.rest(),
            }
        }
        None
    }

    pub async fn state(&self) -> ReplicaState {
        for replica in &self.replicas {
            if replica.db.execute_unprepared("SELECT 1").await.is_ok() {
                return ReplicaState::Up;
            }
            replica.rest();
        }
        ReplicaState::Down
    }
}

impl Replica {
    fn resting(&self) -> bool {
        let until = *self.resting_until.lock().unwrap_or_else(|e| e.into_inner());
        until.is_some_and(|t| Instant::now() < t)
    }

    fn rest(&self) {
        tracing::warn!("a read replica does not answer; reading from the primary for now");
        *self.resting_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + REST);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn wal_positions() {
        assert_eq!(super::lsn("0/0"), Some(0));
        assert_eq!(super::lsn("16/B374D848"), Some((0x16 << 32) | 0xB374_D848));
        assert!(super::lsn("16/B374D848") > super::lsn("16/B374D847"));
        assert!(super::lsn("17/0") > super::lsn("16/FFFFFFFF"));
        assert_eq!(super::lsn("nonsense"), None);
    }
}
