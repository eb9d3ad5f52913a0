//! Push notifications about referrals, fanned out to subscribers through a
//! broadcast channel held in application state (no global broker).

use tokio::sync::broadcast;

/// What happened to a referral, and who should hear of it.
#[derive(Debug, Clone)]
pub struct ReferralNotice {
    pub referral_id: String,
    pub kind: NoticeKind,
    /// Members to notify (receiver and delegate for `Received`, giver for `Updated`).
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// A new referral for the receiver (and their active delegate).
    Received,
    /// A later step (status, follow-up, thanks, win) the giver should learn of.
    Updated,
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
