//! GraphQL shapes of absences.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entities::absence;

use crate::error::ApiResult;
use crate::graphql::context::loaders;
use crate::graphql::scalars::Date;
use crate::members::types::Member;

#[derive(InputObject)]
pub struct AbsenceInput {
    pub from: Date,
    pub to: Date,
    pub delegate_id: Option<ID>,
    pub note: Option<String>,
}

#[derive(Clone)]
pub struct Absence(pub absence::Model);

#[Object]
impl Absence {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// First day away (inclusive).
    async fn from(&self) -> Date {
        Date(self.0.from_on)
    }

    /// Last day away (inclusive).
    async fn to(&self) -> Date {
        Date(self.0.to_on)
    }

    /// Who covers for the member meanwhile; null without a delegate (or once
    /// the delegate's account is gone).
    async fn delegate(&self, ctx: &Context<'_>) -> ApiResult<Option<Member>> {
        let Some(delegate_id) = &self.0.delegate_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?
            .members
            .load_one(delegate_id.clone())
            .await?
            .map(Member::from))
    }

    async fn member(&self, ctx: &Context<'_>) -> ApiResult<Member> {
        Ok(Member::from(loaders(ctx)?.member(&self.0.member_id).await?))
    }

    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
