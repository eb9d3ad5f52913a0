//! GraphQL shapes of contacts. A contact's details (email, phone, company,
//! NPS date) resolve only for its owner; others see who, not how to reach them.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::contact;

use crate::error::ApiResult;
use crate::graphql::context::{caller, loaders};
use crate::graphql::scalars::Date;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::ContactKind")]
pub enum ContactKind {
    Client,
    /// A referral source: a fellow professional who shares the target market.
    Professional,
    Prospect,
    Other,
}

#[derive(InputObject)]
pub struct ContactInput {
    pub name: String,
    pub kind: ContactKind,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub nps_score: Option<i32>,
}

/// Only the fields given change; an empty email, phone or company clears it.
#[derive(InputObject)]
pub struct ContactUpdateInput {
    pub contact_id: ID,
    pub name: Option<String>,
    pub kind: Option<ContactKind>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub nps_score: Option<i32>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::contacts::service::NpsClass")]
pub enum NpsClass {
    /// Latest NPS 9-10.
    Promoter,
    /// Latest NPS 7-8.
    Passive,
    /// Latest NPS 0-6.
    Detractor,
}

/// One NPS score and the day it was given.
#[derive(SimpleObject)]
pub struct NpsScore {
    pub score: i32,
    pub on: Date,
}

#[derive(Clone)]
pub struct Contact(pub contact::Model);

impl Contact {
    fn owned_by_viewer(&self, ctx: &Context<'_>) -> bool {
        caller(ctx)
            .member()
            .is_ok_and(|me| me.id == self.0.owner_id)
    }
}

#[Object]
impl Contact {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn kind(&self) -> ContactKind {
        ContactKind::from(self.0.kind)
    }

    /// Net promoter score 0-10, as the owner last recorded it. Null unless
    /// the caller added this contact.
    async fn nps_score(&self, ctx: &Context<'_>) -> Option<i32> {
        self.owned_by_viewer(ctx)
            .then_some(self.0.nps_score)
            .flatten()
    }

    /// PROMOTER, PASSIVE or DETRACTOR by the latest score. Null unless the
    /// caller added this contact (or it has no score).
    async fn nps_class(&self, ctx: &Context<'_>) -> Option<NpsClass> {
        self.owned_by_viewer(ctx)
            .then_some(self.0.nps_score)
            .flatten()
            .map(|s| domain::contacts::service::NpsClass::of(s).into())
    }

    /// Every score given, oldest first. Empty unless the caller added this contact.
    async fn nps_history(&self, ctx: &Context<'_>) -> ApiResult<Vec<NpsScore>> {
        if !self.owned_by_viewer(ctx) {
            return Ok(Vec::new());
        }
        Ok(loaders(ctx)?
            .nps_histories
            .load_one(self.0.id.clone())
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|(score, on)| NpsScore {
                score,
                on: Date(on),
            })
            .collect())
    }

    /// Null unless the caller added this contact.
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        self.owned_by_viewer(ctx)
            .then_some(self.0.email.as_deref())
            .flatten()
    }

    /// Null unless the caller added this contact.
    async fn phone(&self, ctx: &Context<'_>) -> Option<&str> {
        self.owned_by_viewer(ctx)
            .then_some(self.0.phone.as_deref())
            .flatten()
    }

    /// Null unless the caller added this contact.
    async fn company(&self, ctx: &Context<'_>) -> Option<&str> {
        self.owned_by_viewer(ctx)
            .then_some(self.0.company.as_deref())
            .flatten()
    }

    /// When the NPS score was given. Null unless the caller added this contact.
    async fn nps_on(&self, ctx: &Context<'_>) -> Option<Date> {
        self.owned_by_viewer(ctx)
            .then_some(self.0.nps_on.map(Date))
            .flatten()
    }

    /// Null unless the caller added this contact.
    async fn created_at(&self, ctx: &Context<'_>) -> Option<DateTime<Utc>> {
        self.owned_by_viewer(ctx).then_some(self.0.created_at)
    }
}

crate::connection_type!(ContactConnection, ContactEdge, Contact);
