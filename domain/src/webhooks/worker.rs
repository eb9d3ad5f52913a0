//! The delivery worker: a tokio task started by `Application::build`. It
//! wakes on every referral notice, when the next retry falls due, and at
//! least every `webhook_poll_ms` (for rows other processes wrote),
//! claims due deliveries with a conditional UPDATE (so several server
//! processes on one database never send the same try twice), POSTs them,
//! and records each attempt. Pending rows live in the database, so a
//! restarted server picks up where the last one stopped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entities::{DeliveryStatus, webhook_attempt, webhook_delivery, webhook_endpoint};
use futures_util::StreamExt;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use tokio::sync::{Mutex, broadcast, watch};
use tokio::task::JoinHandle;

use super::signing;
use crate::ctx::WebhookConfig;
use crate::notifications::ReferralNotice;
use crate::validation::new_id;

/// Deliveries claimed per round, and sent at once.
const BATCH: u64 = 32;
const CONCURRENCY: usize = 8;
/// Longest wait between retries, whatever the attempt count.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// How long a claimed delivery stays hidden from other workers beyond the
/// request timeout; if this process dies mid-send, it is retried after that.
const LEASE_MARGIN: Duration = Duration::from_secs(30);
const ERROR_MAX: usize = 500;
/// Shortest sleep between rounds, so a busy queue does not spin.
const MIN_PAUSE: Duration = Duration::from_millis(5);

/// Stops the worker. Cloneable; stopping twice is harmless.
#[derive(Clone)]
pub struct WorkerHandle {
    shutdown: Arc<watch::Sender<bool>>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl WorkerHandle {
    /// Asks the worker to stop and waits until it has (a send in flight
    /// finishes or times out first).
    pub async fn stop(&self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.lock().await.take() {
            let _ = task.await;
        }
    }
}

struct Worker {
    db: DatabaseConnection,
    client: reqwest::Client,
    settings: WebhookConfig,
}

fn client_builder(settings: &WebhookConfig) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(settings.timeout_ms))
        // A redirect could lead the request to a host the URL check refused.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "referral-exchange-webhooks/",
            env!("CARGO_PKG_VERSION")
        ))
}

/// Where a delivery may connect, decided when it is sent: the URL's host is
/// resolved here and every address checked, and the connection goes to the
/// checked addresses (a name cannot resolve to a public address for the
/// check and a private one for the connection). `Ok(None)`: use the shared
/// client (an IP literal already checked, or private targets allowed).
async fn pinned_addresses(
    url: &str,
    allow_private: bool,
) -> Result<Option<(String, Vec<std::net::SocketAddr>)>, String> {
    if allow_private {
        return Ok(None);
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| "the URL no longer parses".to_string())?;
    let refused = || "refused: the host is a loopback, private or internal address".to_string();
    let port = parsed.port_or_known_default().unwrap_or(443);
    match parsed.host() {
        Some(url::Host::Ipv4(ip)) if super::service::is_internal_ip(ip.into()) => Err(refused()),
        Some(url::Host::Ipv6(ip)) if super::service::is_internal_ip(ip.into()) => Err(refused()),
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => Ok(None),
        Some(url::Host::Domain(name)) => {
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((name, port))
                .await
                .map_err(|_| format!("could not resolve {name}"))?
                .collect();
            if addrs.is_empty() {
                return Err(format!("could not resolve {name}"));
            }
            if addrs.iter().any(|a| super::service::is_internal_ip(a.ip())) {
                return Err(
                    "refused: the host resolves to a loopback, private or internal address"
                        .to_string(),
                );
            }
            Ok(Some((name.to_string(), addrs)))
        }
        None => Err("the URL names no host".to_string()),
    }
}

pub fn spawn(
    db: DatabaseConnection,
    settings: WebhookConfig,
    mut wake: broadcast::Receiver<ReferralNotice>,
) -> anyhow::Result<WorkerHandle> {
    let client = client_builder(&settings).build()?;
    let (shutdown, mut stopped) = watch::channel(false);
    let poll = Duration::from_millis(settings.poll_ms);
    let worker = Worker {
        db,
        client,
        settings,
    };
    let task = tokio::spawn(async move {
        let mut wake_open = true;
        'rounds: loop {
            // Sleep until the next retry is due, or the poll interval at most.
            let pause = match worker.run_due().await {
                Ok(Some(next)) => (next - Utc::now()).to_std().unwrap_or_default().min(poll),
                Ok(None) => poll,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook delivery round failed");
                    poll
                }
            };
            // Notices about referrals without a partner firm queued nothing:
            // they do not end the wait (a busy portal would otherwise cost a
            // query per referral).
            let until = tokio::time::Instant::now() + pause.max(MIN_PAUSE);
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(until) => break,
                    woke = wake.recv(), if wake_open => match woke {
                        Ok(notice) if !notice.webhooks => {}
                        Err(broadcast::error::RecvError::Closed) => {
                            wake_open = false;
                            break;
                        }
                        _ => break,
                    },
                    _ = stopped.changed() => break 'rounds,
                }
            }
        }
    });
    Ok(WorkerHandle {
        shutdown: Arc::new(shutdown),
        task: Arc::new(Mutex::new(Some(task))),
    })
}

/// Delay before the try after `attempts` failed ones: base × 2^(attempts−1).
pub fn backoff(base_ms: u64, attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    Duration::from_millis(base_ms.saturating_mul(1u64 << exponent)).min(MAX_BACKOFF)
}

fn later(now: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(by).unwrap_or(chrono::Duration::hours(1))
}

struct Outcome {
    status_code: Option<i32>,
    error: Option<String>,
    duration_ms: i32,
}

impl Outcome {
    fn succeeded(&self) -> bool {
        self.error.is_none()
    }
}

impl Worker {
    /// Sends what is due; returns when the next pending delivery falls due.
    async fn run_due(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        let now = Utc::now();
        // One query: the earliest pending deliveries, due or not, so the
        // first one not yet due tells the loop how long it may sleep.
        let pending = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
            .order_by_asc(webhook_delivery::Column::NextAttemptAt)
            .limit(BATCH + 1)
            .all(&self.db)
            .await?;
        let (due, not_due): (Vec<_>, Vec<_>) = pending
            .into_iter()
            .partition(|d| d.next_attempt_at.is_some_and(|at| at <= now));
        let next = not_due.iter().filter_map(|d| d.next_attempt_at).min();
        if due.is_empty() {
            return Ok(next);
        }
        futures_util::stream::iter(due)
            .for_each_concurrent(CONCURRENCY, |d| async move {
                let id = d.id.clone();
                if let Err(e) = self.deliver(d).await {
                    tracing::warn!(delivery_id = %id, error = %e, "webhook delivery failed to run");
                }
            })
            .await;
        // Just-sent deliveries may be due again soon: look again promptly.
        Ok(Some(Utc::now()))
    }

    /// Claims one delivery, sends it, records the attempt.
    async fn deliver(&self, d: webhook_delivery::Model) -> anyhow::Result<()> {
        let now = Utc::now();
        let lease = Duration::from_millis(self.settings.timeout_ms) + LEASE_MARGIN;
        // Only one claimer can move a due row's next attempt into the future.
        let claimed = webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::NextAttemptAt,
                Expr::value(Some(later(now, lease))),
            )
            .filter(webhook_delivery::Column::Id.eq(d.id.clone()))
            .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
            .filter(webhook_delivery::Column::Attempts.eq(d.attempts))
            .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
            .exec(&self.db)
            .await?;
        if claimed.rows_affected != 1 {
            return Ok(());
        }
        let endpoint = webhook_endpoint::Entity::find_by_id(d.endpoint_id.clone())
            .one(&self.db)
            .await?;
        let Some(endpoint) = endpoint.filter(|e| e.deleted_at.is_none()) else {
            let mut cancel: webhook_delivery::ActiveModel = d.into();
            cancel.status = Set(DeliveryStatus::Cancelled);
            cancel.next_attempt_at = Set(None);
            cancel.update(&self.db).await?;
            return Ok(());
        };
        let outcome = self.send(&endpoint, &d).await;
        self.record(d, outcome).await
    }

    async fn send(
        &self,
        endpoint: &webhook_endpoint::Model,
        d: &webhook_delivery::Model,
    ) -> Outcome {
        let started = Instant::now();
        let timestamp = Utc::now().timestamp();
        let signature = match signing::header_value(&endpoint.secret, timestamp, &d.payload) {
            Ok(s) => s,
            Err(e) => {
                return Outcome {
                    status_code: None,
                    error: Some(format!("could not sign: {e}")),
                    duration_ms: 0,
                };
            }
        };
        let pinned =
            match pinned_addresses(&endpoint.url, self.settings.allow_private_targets).await {
                Ok(p) => p,
                Err(why) => {
                    return Outcome {
                        status_code: None,
                        error: Some(why),
                        duration_ms: 0,
                    };
                }
            };
        let client = match pinned {
            None => self.client.clone(),
            Some((host, addrs)) => match client_builder(&self.settings)
                .resolve_to_addrs(&host, &addrs)
                .build()
            {
                Ok(c) => c,
                Err(e) => {
                    return Outcome {
                        status_code: None,
                        error: Some(format!("could not prepare the connection: {e}")),
                        duration_ms: 0,
                    };
                }
            },
        };
        let result = client
            .post(&endpoint.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(signing::SIGNATURE_HEADER, signature)
            .header(signing::EVENT_HEADER, d.event.to_value())
            .header(signing::DELIVERY_HEADER, d.id.as_str())
            .body(d.payload.clone())
            .send()
            .await;
        let duration_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        match result {
            Ok(resp) => {
                let status = resp.status();
                Outcome {
                    status_code: Some(i32::from(status.as_u16())),
                    error: (!status.is_success())
                        .then(|| format!("the endpoint answered HTTP {}", status.as_u16())),
                    duration_ms,
                }
            }
            Err(e) => Outcome {
                status_code: None,
                error: Some(describe(e)),
                duration_ms,
            },
        }
    }

    /// Logs the attempt and schedules the next one (or settles the delivery),
    /// in one transaction.
    async fn record(&self, d: webhook_delivery::Model, outcome: Outcome) -> anyhow::Result<()> {
        let now = Utc::now();
        let number = d.attempts + 1;
        let txn = self.db.begin().await?;
        webhook_attempt::ActiveModel {
            id: Set(new_id()),
            delivery_id: Set(d.id.clone()),
            number: Set(number),
            at: Set(now),
            status_code: Set(outcome.status_code),
            error: Set(outcome.error.clone()),
            duration_ms: Set(outcome.duration_ms),
        }
        .insert(&txn)
        .await?;
        let delivery_id = d.id.clone();
        let mut update: webhook_delivery::ActiveModel = d.into();
        update.attempts = Set(number);
        update.last_attempt_at = Set(Some(now));
        update.last_status_code = Set(outcome.status_code);
        update.last_error = Set(outcome.error.clone());
        if outcome.succeeded() {
            update.status = Set(DeliveryStatus::Delivered);
            update.delivered_at = Set(Some(now));
            update.next_attempt_at = Set(None);
        } else if number >= self.settings.max_attempts {
            update.status = Set(DeliveryStatus::Failed);
            update.next_attempt_at = Set(None);
            tracing::warn!(%delivery_id, attempts = number, "webhook delivery given up");
        } else {
            let wait = backoff(self.settings.backoff_ms, number);
            update.next_attempt_at = Set(Some(later(now, wait)));
        }
        update.update(&txn).await?;
        txn.commit().await?;
        Ok(())
    }
}

/// A short, safe description of a transport failure for the delivery log.
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_redirect() {
        "redirects are not followed"
    } else {
        "request failed"
    };
    let mut text = format!("{kind}: {}", e.without_url());
    if text.len() > ERROR_MAX {
        let mut cut = ERROR_MAX;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(100, 1), Duration::from_millis(100));
        assert_eq!(backoff(100, 2), Duration::from_millis(200));
        assert_eq!(backoff(100, 4), Duration::from_millis(800));
        assert_eq!(backoff(30_000, 40), MAX_BACKOFF);
        assert_eq!(backoff(100, 0), Duration::from_millis(100));
    }
}
