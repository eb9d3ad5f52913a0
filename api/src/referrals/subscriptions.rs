//! Live pushes over `/graphql/ws`: new referrals to their receiver (and
//! active delegate), and every later step to the giver.

use async_graphql::{Context, Subscription};
use entities::referral;
use futures_util::{Stream, StreamExt};
use sea_orm::EntityTrait;
use tokio_stream::wrappers::BroadcastStream;

use super::types::Referral;
use crate::error::{ApiError, ApiResult};
use crate::graphql::context::{state, viewer};
use crate::notifications::NoticeKind;

#[derive(Default)]
pub struct ReferralSubscription;

impl ReferralSubscription {
    fn stream_of(
        ctx: &Context<'_>,
        kind: NoticeKind,
    ) -> ApiResult<impl Stream<Item = Referral> + use<>> {
        let me = viewer(ctx).member()?.id.clone();
        let state = state(ctx)?.clone();
        let notices = BroadcastStream::new(state.notifier.subscribe());
        Ok(notices.filter_map(move |notice| {
            let me = me.clone();
            let db = state.db.clone();
            async move {
                let notice = notice.ok()?;
                if notice.kind != kind || !notice.members.contains(&me) {
                    return None;
                }
                match referral::Entity::find_by_id(notice.referral_id)
                    .one(&db)
                    .await
                {
                    Ok(found) => found.map(Referral),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not load a referral for a subscriber");
                        None
                    }
                }
            }
        }))
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
