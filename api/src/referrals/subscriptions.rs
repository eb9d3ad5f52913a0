//! Live pushes over `/graphql/ws`: new referrals to their receiver (and
//! active delegate), and every later step to the giver.

use async_graphql::{Context, Subscription};
use entities::{referral, refresh_family};
use futures_util::{Stream, StreamExt};
use sea_orm::EntityTrait;
use tokio_stream::wrappers::BroadcastStream;

use super::types::Referral;
use crate::error::{ApiError, ApiResult};
use crate::graphql::context::{caller, state};
use domain::notifications::NoticeKind;

#[derive(Default)]
pub struct ReferralSubscription;

impl ReferralSubscription {
    fn stream_of(
        ctx: &Context<'_>,
        kind: NoticeKind,
    ) -> ApiResult<impl Stream<Item = async_graphql::Result<Referral>> + use<>> {
        let caller = caller(ctx).member()?.clone();
        let state = state(ctx)?.clone();
        let notices = BroadcastStream::new(state.notifier.subscribe());
        let db = state.db.clone();
        let session = caller.session_id.clone();
        Ok(notices
            .filter_map(move |notice| {
                let me = caller.id.clone();
                async move {
                    match notice {
                        // Fallen behind, or the server's listener reconnected:
                        // notices may be lost, and the client must know.
                        Err(_) => Some(Heard::Missed),
                        Ok(n) if n.kind == NoticeKind::Missed => Some(Heard::Missed),
                        Ok(n) if n.kind == kind && n.members.contains(&me) => {
                            Some(Heard::Notice(n.referral_id))
                        }
                        Ok(_) => None,
                    }
                }
            })
            // Before each push, the session must still be live: signing out
            // (or a revoked session) ends the subscription.
            .then(move |heard| {
                let db = db.clone();
                let session = session.clone();
                async move {
                    let id = match heard {
                        // No lookups for the refetch signal: after a relay
                        // reconnect every subscriber gets one at once.
                        Heard::Missed => return (true, Some(Err(missed()))),
                        Heard::Notice(id) => id,
                    };
                    // Only a session found ended stops the stream; a failed
                    // lookup skips this push (and says so) instead.
                    let live = match refresh_family::Entity::find_by_id(session).one(&db).await {
                        Ok(Some(f)) => f.revoked_at.is_none(),
                        Ok(None) => false,
                        Err(e) => {
                            tracing::warn!(error = %e, "could not check a subscriber's session");
                            return (true, Some(Err(missed())));
                        }
                    };
                    if !live {
                        return (false, None);
                    }
                    let item = referral::Entity::find_by_id(id)
                        .one(&db)
                        .await
                        .unwrap_or_else(|e| {
                            tracing::warn!(error = %e, "could not load a referral for a subscriber");
                            None
                        })
                        .map(|r| Ok(Referral::party(r)));
                    (true, item)
                }
            })
            .take_while(|(live, _)| std::future::ready(*live))
            .filter_map(|(_, item)| std::future::ready(item)))
    }
}

/// What a subscriber heard: a notice for them, or that some may be lost.
enum Heard {
    Notice(String),
    Missed,
}

/// The refetch signal: an error in the stream, which stays open.
fn missed() -> async_graphql::Error {
    use async_graphql::ErrorExtensions;
    async_graphql::Error::new(
        "some notices may have been missed; refetch your referrals (the subscription goes on)",
    )
    .extend_with(|_, ext| {
        ext.set("code", "INTERNAL");
        ext.set("refetch", true);
    })
}

#[Subscription]
impl ReferralSubscription {
    /// New referrals for the caller, or for the member they cover for while away.
    async fn referral_received(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = async_graphql::Result<Referral>> + use<>, ApiError> {
        Self::stream_of(ctx, NoticeKind::Received)
    }

    /// Every later step of referrals the caller gave: status changes, follow-ups, thanks, wins.
    async fn referral_updated(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = async_graphql::Result<Referral>> + use<>, ApiError> {
        Self::stream_of(ctx, NoticeKind::Updated)
    }
}
