//! Who may act on a referral: the caller's standing to it (giver, receiver,
//! active delegate) and the movers that standing allows.

use entities::{ApiScope, referral};
use sea_orm::{ConnectionTrait, EntityTrait};

use super::events::EventActor;
use super::lifecycle::Mover;
use super::today;
use crate::caller::{Caller, MemberCaller};
use crate::error::{DomainError, DomainResult};

/// How the caller stands to a referral.
#[derive(Debug, Default, Clone, Copy)]
pub struct Standing {
    pub giver: bool,
    pub receiver: bool,
    pub delegate: bool,
}

impl Standing {
    pub fn sees(self) -> bool {
        self.giver || self.receiver || self.delegate
    }

    pub(super) fn movers(self) -> Vec<Mover> {
        let mut m = Vec::new();
        // A giver never moves their own referral forward, whatever else they are.
        if self.receiver || (self.delegate && !self.giver) {
            m.push(Mover::Receiver);
        }
        if self.giver {
            m.push(Mover::Giver);
        }
        m
    }
}

/// Who is acting: a member, or a partner firm through its token.
#[derive(Debug, Clone)]
pub enum Actor {
    Member(MemberCaller),
    Firm(String),
}

impl Actor {
    pub(super) fn event_actor(&self) -> EventActor {
        match self {
            Actor::Member(m) => EventActor {
                member: Some(m.id.clone()),
                firm: None,
            },
            Actor::Firm(f) => EventActor {
                member: None,
                firm: Some(f.clone()),
            },
        }
    }
}

pub async fn standing(
    db: &impl ConnectionTrait,
    r: &referral::Model,
    actor: &Actor,
) -> DomainResult<Standing> {
    match actor {
        Actor::Firm(firm) => Ok(Standing {
            giver: r.giver_firm_id.as_deref() == Some(firm),
            receiver: r.receiver_firm_id.as_deref() == Some(firm),
            delegate: false,
        }),
        Actor::Member(me) => {
            let delegate = match (&r.delegate_id, &r.receiver_member_id) {
                (Some(d), Some(receiver)) if *d == me.id => {
                    crate::absences::service::is_active_delegate_for(db, &me.id, receiver, today())
                        .await?
                }
                _ => false,
            };
            let giver = r.giver_member_id.as_deref() == Some(me.id.as_str());
            // An outside contact has no account: the member who referred
            // business to them records its outcome in their stead.
            let receiver = r.receiver_member_id.as_deref() == Some(me.id.as_str())
                || (giver && r.receiver_contact_id.is_some());
            Ok(Standing {
                giver,
                receiver,
                delegate,
            })
        }
    }
}

/// The referral if the caller is its giver, receiver or active delegate;
/// `NOT_FOUND` otherwise, so its existence does not leak.
pub async fn find_visible(
    db: &impl ConnectionTrait,
    actor: &Actor,
    referral_id: &str,
) -> DomainResult<(referral::Model, Standing)> {
    let referral_id = uuid::Uuid::parse_str(referral_id)
        .map_err(|_| DomainError::not_found("referral"))?
        .to_string();
    let r = referral::Entity::find_by_id(referral_id)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("referral"))?;
    let s = standing(db, &r, actor).await?;
    if s.sees() {
        Ok((r, s))
    } else {
        Err(DomainError::not_found("referral"))
    }
}

pub fn actor_of(caller: &Caller) -> DomainResult<Actor> {
    Ok(Actor::Member(caller.member()?.clone()))
}

/// Like `actor_of`, but a partner firm's token may act too when it has
/// `scope` (FORBIDDEN without it).
pub fn actor_with_scope(caller: &Caller, scope: ApiScope) -> DomainResult<Actor> {
    match caller {
        Caller::Partner(p) => {
            p.require(scope)?;
            Ok(Actor::Firm(p.firm_id.clone()))
        }
        _ => actor_of(caller),
    }
}
