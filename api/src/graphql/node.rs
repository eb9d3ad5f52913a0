//! Global object identification (Relay): `Node` and `Query.node(id)`.
//! IDs are UUIDs, unique across all tables, so a lookup tries each kind and
//! answers null for anything unknown or not visible to the caller — the
//! same answer either way, so existence does not leak.

use async_graphql::{Context, ID, Interface, Object};
use entities::{absence, ask, contact, meeting, one_to_one, partner_firm, partnership};
use sea_orm::EntityTrait;

use crate::absences::types::Absence;
use crate::asks::types::Ask;
use crate::contacts::types::Contact;
use crate::error::ApiResult;
use crate::graphql::context::{caller, state};
use crate::groups::types::Group;
use crate::meetings::types::{Meeting, OneToOne};
use crate::members::types::Member;
use crate::partners::types::PartnerFirm;
use crate::partnerships::types::Partnership;
use crate::referrals::types::Referral;
use crate::state::AppState;
use domain::access;
use domain::{Caller, DomainError};

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
        let caller = caller(ctx);
        caller.member()?;
        if uuid::Uuid::parse_str(&id).is_err() {
            return Ok(None);
        }
        find(state, caller, id.to_string()).await
    }
}

async fn in_group(state: &AppState, caller: &Caller, group_id: &str) -> ApiResult<bool> {
    // Not a member is "not visible"; a failed look-up is an error, not a no.
    match access::require_group_member(&state.db, caller, group_id).await {
        Ok(()) => Ok(true),
        Err(DomainError::Forbidden(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

async fn find(state: &AppState, caller: &Caller, id: String) -> ApiResult<Option<Node>> {
    let db = &state.db;
    let me = caller.member()?;
    if let Some(m) = domain::members::service::visible_member(state, caller, &id).await? {
        return Ok(Some(Node::Member(Member::from(m))));
    }
    if let Ok(g) = domain::groups::service::visible_group(state, caller, &id).await {
        return Ok(Some(Node::Group(Group(g))));
    }
    let actor = domain::referrals::actor_of(caller)?;
    if let Ok((r, _)) = domain::referrals::find_visible(db, &actor, &id).await {
        return Ok(Some(Node::Referral(Referral::party(r))));
    }
    if let Some(m) = meeting::Entity::find_by_id(id.clone()).one(db).await? {
        return Ok(in_group(state, caller, &m.group_id)
            .await?
            .then_some(Node::Meeting(Meeting(m))));
    }
    if let Some(a) = ask::Entity::find_by_id(id.clone()).one(db).await? {
        return Ok(in_group(state, caller, &a.group_id)
            .await?
            .then_some(Node::Ask(Ask(a))));
    }
    if let Some(f) = partner_firm::Entity::find_by_id(id.clone()).one(db).await? {
        return Ok(in_group(state, caller, &f.group_id)
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
        let found = domain::partnerships::service::with_stats(db, &me.id, vec![p])
            .await?
            .pop();
        return Ok(found.map(|(model, stats)| Node::Partnership(Partnership { model, stats })));
    }
    Ok(None)
}
