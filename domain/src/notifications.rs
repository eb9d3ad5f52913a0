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

use sea_orm::sea_query::{Expr, Func, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbBackend};
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
    /// Whether the change may have queued webhook deliveries (the referral
    /// involves a partner firm): the delivery worker wakes only for these.
    /// Absent from a notice sent by an older server: assume it may have.
    #[serde(default = "may_have_webhooks")]
    pub webhooks: bool,
}

fn may_have_webhooks() -> bool {
    true
}

/// Whether changes to `r` queue webhook deliveries: partner firms hear of
/// referrals they give or receive.
pub fn involves_firm(r: &entities::referral::Model) -> bool {
    r.giver_firm_id.is_some() || r.receiver_firm_id.is_some()
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
            webhooks: true,
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
    txn.execute(&notify_select(&notice)?).await?;
    Ok(Staged(None))
}

/// `SELECT pg_notify(…)` with `notice` on `CHANNEL` (PostgreSQL only): the
/// statement `stage` runs, for a caller that writes in the same statement.
pub fn notify_select(notice: &ReferralNotice) -> DomainResult<SelectStatement> {
    let payload = serde_json::to_string(notice).map_err(crate::error::DomainError::internal)?;
    Ok(Query::select()
        .expr(Func::cust("pg_notify").args([Expr::val(CHANNEL), Expr::val(payload)]))
        .to_owned())
}

/// Relays what PostgreSQL's `CHANNEL` carries to this server's subscribers,
/// and what `session_view::CHANNEL` carries to its session view, on one
/// listening connection of its own, until the task is aborted. `ready`
/// hears when the first `LISTEN` is in place. The session view serves only
/// while this listens: it is closed (and emptied) the moment the connection
/// is lost, and opened empty once listening again — if the triggers that
/// announce session changes are in place (otherwise it stays closed, and a
/// token costs its statement). After any reconnect —
/// once listening again, so nothing committed later is missed — subscribers
/// are told to refetch.
pub async fn relay(
    database_url: String,
    notifier: Notifier,
    sessions: std::sync::Arc<crate::auth::session_view::SessionView>,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    use crate::auth::session_view::{CHANNEL as SESSIONS, CloseOnDrop};
    use sea_orm::sqlx::postgres::PgListener;
    use std::time::{Duration, Instant};
    const FIRST_BACKOFF: Duration = Duration::from_millis(100);
    // However this task ends (aborted at shutdown, a panic), the view stops
    // serving with it.
    let _closing = CloseOnDrop(sessions.clone());
    let mut ready = Some(ready);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let mut announced = false;
        let listening = match PgListener::connect(&database_url).await {
            Ok(mut l) => {
                // A lost connection is reported at once (`Ok(None)`), not
                // after sqlx has quietly connected again, so the session
                // view is closed for the whole gap.
                l.eager_reconnect(false);
                // Asked each time it connects, before LISTEN (which stays
                // the connection's last statement).
                announced = session_changes_announced(&mut l).await;
                l.listen_all([CHANNEL, SESSIONS]).await.map(|()| l)
            }
            Err(e) => Err(e),
        };
        let mut listener = match listening {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "notice listener cannot listen; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if announced {
            sessions.open();
        }
        match ready.take() {
            Some(first) => {
                let _ = first.send(());
            }
            None => notifier.publish(ReferralNotice::missed()),
        }
        let connected = Instant::now();
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) if notification.channel() == SESSIONS => {
                    sessions.forget(notification.payload());
                }
                Ok(Some(notification)) => {
                    match serde_json::from_str::<ReferralNotice>(notification.payload()) {
                        Ok(notice) => notifier.publish(notice),
                        Err(e) => tracing::warn!(error = %e, "unreadable referral notice"),
                    }
                }
                // Connect and listen again below; subscribers hear to
                // refetch once that is done.
                Ok(None) => {
                    tracing::warn!("notice listener lost its connection; reconnecting");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "notice listener failed; reconnecting");
                    break;
                }
            }
        }
        sessions.close();
        drop(listener);
        // A connection that failed at once backs off further; one that
        // lasted starts again quickly.
        if connected.elapsed() > Duration::from_secs(10) {
            backoff = FIRST_BACKOFF;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Whether the triggers that announce session changes (migration 8) are
/// all there and enabled, asked on `listener`'s connection.
async fn session_changes_announced(listener: &mut sea_orm::sqlx::postgres::PgListener) -> bool {
    use crate::auth::session_view::TRIGGERS;
    let found = sea_orm::sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM pg_trigger WHERE tgname = ANY($1) AND tgenabled <> 'D'",
    )
    .bind(TRIGGERS.as_slice())
    .fetch_one(listener)
    .await;
    let announced = match found {
        Ok(n) => n == TRIGGERS.len() as i64,
        Err(e) => {
            tracing::warn!(error = %e, "cannot check the session triggers");
            false
        }
    };
    if !announced {
        tracing::warn!(
            "the triggers announcing session changes (migration 8) are not in place: \
             sessions are read on every request"
        );
    }
    announced
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
