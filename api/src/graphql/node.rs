//! Global object identification (Relay): `Node` and `Query.node(id)`.
//! IDs are UUIDs, unique across all tables, so a lookup tries each kind and
//! answers null for anything unknown or not visible to the caller — the
//! same answer either way, so existence does not leak.

use async_graphql::{Context, ID, Interface, Object};
use entities::{absence, ask, contact, meeting, one_to_one, partner_firm, partnership};
use sea_orm::EntityTrait;

use crate::absences::types::Absence;
use crate::access;
use crate::asks::types::Ask;
use crate::auth::Viewer;
use crate::contacts::types::Contact;
use crate::error::ApiResult;
use crate::graphql::context::{state, viewer};
use crate::groups::types::Group;
use crate::meetings::types::{Meeting, OneToOne};
use crate::members::types::Member;
use crate::partners::types::PartnerFirm;
use crate::partnerships::types::Partnership;
use crate::referrals::types::Referral;
use crate::state::AppState;

// Short-lived per response; boxing the large variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Member(Member),
    Group(Group),
    Referral(Referral),
    Meeting(Meeting),
    OneToOne(OneToOne),
    Absence(Absence),
    Contact(Contact),
    Ask(Ask),
    Partnership(Partnership),
    PartnerFirm(PartnerFirm),
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
        find(state, viewer, id.to_string()).await
    }
}

async fn in_group(state: &AppState, viewer: &Viewer, group_id: &str) -> ApiResult<bool> {
    Ok(access::require_group_member(&state.db, viewer, group_id)
        .await
        .is_ok())
}

async fn find(state: &AppState, viewer: &Viewer, id: String) -> ApiResult<Option<Node>> {
    let db = &state.db;
    let me = viewer.member()?;
    if let Some(m) = crate::members::service::visible_member(state, viewer, &id).await? {
        return Ok(Some(Node::Member(Member::from(m))));
    }
    if let Ok(g) = crate::groups::service::visible_group(state, viewer, &id).await {
        return Ok(Some(Node::Group(Group(g))));
    }
    let actor = crate::referrals::service::actor_of(viewer)?;
    if let Ok((r, _)) = crate::referrals::service::find_visible(db, &actor, &id).await {
        return Ok(Some(Node::Referral(Referral::party(r))));
    }
    if let Some(m) = meeting::Entity::find_by_id(id.clone()).one(db).await? {
        return Ok(in_group(state, viewer, &m.group_id)
            .await?
            .then_some(Node::Meeting(Meeting(m))));
    }
    if let Some(a) = ask::Entity::find_by_id(id.clone()).one(db).await? {
        return Ok(in_group(state, viewer, &a.group_id)
            .await?
            .then_some(Node::Ask(Ask(a))));
    }
    if let Some(f) = partner_firm::Entity::find_by_id(id.clone()).one(db).await? {
        return Ok(in_group(state, viewer, &f.group_id)
            .await?
            .then_some(Node::PartnerFirm(PartnerFirm(f))));
    }
    if let Some(o) = one_to_one::Entity::find_by_id(id.clone()).one(db).await? {
        let mine = o.member_id == me.id || o.with_member_id == me.id || me.is_admin;
        return Ok(mine.then_some(Node::OneToOne(OneToOne(o))));
    }
    if let Some(a) = absence::Entity::find_by_id(id.clone()).one(db).await? {
        let mine = a.member_id == me.id || me.is_admin;
        return Ok(mine.then_some(Node::Absence(Absence(a))));
    }
    if let Some(c) = contact::Entity::find_by_id(id.clone()).one(db).await? {
        return Ok((c.owner_id == me.id).then_some(Node::Contact(Contact(c))));
    }
    if let Some(p) = partnership::Entity::find_by_id(id.clone()).one(db).await?
        && p.member_id == me.id
    {
        let found = crate::partnerships::service::with_stats(db, &me.id, vec![p])
            .await?
            .pop();
        return Ok(found.map(|(model, stats)| Node::Partnership(Partnership { model, stats })));
    }
    Ok(None)
}
