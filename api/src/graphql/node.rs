//! Global object identification (Relay): `Node` and `Query.node(id)`.
//! IDs are UUIDs, unique across all tables, so a lookup tries each kind the
//! caller could see and answers null for anything unknown or not visible.

use async_graphql::{Context, ID, Interface, Object};

use crate::error::ApiResult;
use crate::graphql::context::{state, viewer};
use crate::groups::types::Group;
use crate::members::types::Member;
use crate::referrals::types::Referral;

// Short-lived per response; boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Member(Member),
    Group(Group),
    Referral(Referral),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global ID; null when unknown or not visible to the caller.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Node>> {
        let state = state(ctx)?;
        let viewer = viewer(ctx);
        viewer.member()?;
        if uuid::Uuid::parse_str(&id).is_err() {
            return Ok(None);
        }
        if let Some(m) = crate::members::service::visible_member(state, viewer, &id).await? {
            return Ok(Some(Node::Member(Member::from(m))));
        }
        if let Ok(g) = crate::groups::service::visible_group(state, viewer, &id).await {
            return Ok(Some(Node::Group(Group(g))));
        }
        let actor = crate::referrals::service::actor_of(viewer)?;
        if let Ok((r, _)) = crate::referrals::service::find_visible(&state.db, &actor, &id).await {
            return Ok(Some(Node::Referral(Referral(r))));
        }
        Ok(None)
    }
}
