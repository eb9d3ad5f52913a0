//! Push notifications about referrals, fanned out to subscribers through a
//! broadcast channel held in application state (no global broker).
//!
//! On PostgreSQL the writing transaction issues the notice itself
//! (`pg_notify`, delivered when — and only if — it commits) and every server
//! relays what its one listening connection hears to its own subscribers, so
//! a member subscribed on one server hears of a referral given through
//! another. On SQLite (one server) the notice is published after commit.
//! Whenever notices may have been lost (the listener reconnected, or a
//! subscriber fell behind), subscribers get a `Missed` notice: refetch.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::error::DomainResult;

/// The PostgreSQL channel notices travel on.
pub const CHANNEL: &str = "rx_referral_notices";

/// What happened to a referral, and who should hear of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReferralNotice {
    pub referral_id: String,
    pub kind: NoticeKind,
    /// Members to notify (receiver and delegate for `Received`, giver for `Updated`).
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoticeKind {
    /// A new referral for the receiver (and their active delegate).
    Received,
    /// A later step (status, follow-up, thanks, win) the giver should learn of.
    Updated,
    /// Notices may have been lost: every subscriber should refetch.
    Missed,
}

impl ReferralNotice {
    /// The notice every subscriber gets when others may have been lost.
    pub fn missed() -> ReferralNotice {
        ReferralNotice {
            referral_id: String::new(),
            kind: NoticeKind::Missed,
            members: Vec::new(),
        }
    }
}

/// A notice written with its transaction: on PostgreSQL already sent (it
/// goes out when the transaction commits); on SQLite, to publish once the
/// caller has committed.
#[must_use = "call after_commit once the transaction has committed"]
pub struct Staged(Option<ReferralNotice>);

impl Staged {
    pub fn none() -> Staged {
        Staged(None)
    }

    pub fn after_commit(self, notifier: &Notifier) {
        if let Some(notice) = self.0 {
            notifier.publish(notice);
        }
    }
}

/// Issues `notice` inside the transaction `txn` (PostgreSQL), or keeps it
/// for after the commit (SQLite).
pub async fn stage(txn: &impl ConnectionTrait, notice: ReferralNotice) -> DomainResult<Staged> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(Staged(Some(notice)));
    }
    let payload = serde_json::to_string(&notice).map_err(crate::error::DomainError::internal)?;
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), payload.into()],
    ))
    .await?;
    Ok(Staged(None))
}

/// Relays what PostgreSQL's `CHANNEL` carries to this server's subscribers,
/// on one listening connection of its own, until the task is aborted.
/// When the connection drops it reconnects (sqlx listens again) and tells
/// subscribers to refetch.
pub async fn relay(database_url: String, notifier: Notifier) {
    use sea_orm::sqlx::postgres::PgListener;
    let mut backoff = std::time::Duration::from_millis(100);
    loop {
        let listener = match PgListener::connect(&database_url).await {
            Ok(mut l) => match l.listen(CHANNEL).await {
                Ok(()) => Some(l),
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN failed; retrying");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "notice listener cannot connect; retrying");
                None
            }
        };
        let Some(mut listener) = listener else {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(std::time::Duration::from_secs(5));
            continue;
        };
        backoff = std::time::Duration::from_millis(100);
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    match serde_json::from_str::<ReferralNotice>(notification.payload()) {
                        Ok(notice) => notifier.publish(notice),
                        Err(e) => tracing::warn!(error = %e, "unreadable referral notice"),
                    }
                }
                // The connection dropped; the next call reconnects and listens
                // again. Whatever was sent meanwhile is lost: say so.
                Ok(None) => {
                    tracing::warn!("notice listener lost its connection; reconnecting");
                    notifier.publish(ReferralNotice::missed());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "notice listener failed; reconnecting");
                    notifier.publish(ReferralNotice::missed());
                    break;
                }
            }
        }
    }
}

/// Subscribers slower than this many notices behind miss the oldest ones.
const CAPACITY: usize = 1024;

#[derive(Clone)]
pub struct Notifier {
    sender: broadcast::Sender<ReferralNotice>,
}

impl Default for Notifier {
    fn default() -> Self {
        Notifier {
            sender: broadcast::channel(CAPACITY).0,
        }
    }
}

impl Notifier {
    /// Sent after the transaction commits; nobody listening is fine.
    pub fn publish(&self, notice: ReferralNotice) {
        let _ = self.sender.send(notice);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ReferralNotice> {
        self.sender.subscribe()
    }
}
