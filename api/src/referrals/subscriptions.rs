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
    ) -> ApiResult<impl Stream<Item = Referral> + use<>> {
        let caller = caller(ctx).member()?.clone();
        let state = state(ctx)?.clone();
        let notices = BroadcastStream::new(state.notifier.subscribe());
        let db = state.db.clone();
        let session = caller.session_id.clone();
        Ok(notices
            .filter_map(move |notice| {
                let me = caller.id.clone();
                async move {
                    let notice = notice.ok()?;
                    (notice.kind == kind && notice.members.contains(&me)).then_some(notice)
                }
            })
            // Before each push, the session must still be live: signing out
            // (or a revoked session) ends the subscription.
            .then(move |notice| {
                let db = db.clone();
                let session = session.clone();
                async move {
                    let live = matches!(
                        refresh_family::Entity::find_by_id(session).one(&db).await,
                        Ok(Some(f)) if f.revoked_at.is_none()
                    );
                    let referral = if live {
                        referral::Entity::find_by_id(notice.referral_id)
                            .one(&db)
                            .await
                            .unwrap_or_else(|e| {
                                tracing::warn!(error = %e, "could not load a referral for a subscriber");
                                None
                            })
                    } else {
                        None
                    };
                    (live, referral)
                }
            })
            .take_while(|(live, _)| std::future::ready(*live))
            .filter_map(|(_, referral)| std::future::ready(referral.map(Referral::party))))
    }
}

#[Subscription]
impl ReferralSubscription {
    /// New referrals for the caller, or for the member they cover for while away.
    async fn referral_received(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Referral> + use<>, ApiError> {
        Self::stream_of(ctx, NoticeKind::Received)
    }

    /// Every later step of referrals the caller gave: status changes, follow-ups, thanks, wins.
    async fn referral_updated(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Referral> + use<>, ApiError> {
        Self::stream_of(ctx, NoticeKind::Updated)
    }
}
