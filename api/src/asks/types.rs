//! GraphQL shapes of asks.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entities::ask;

use crate::error::ApiResult;
use crate::graphql::context::loaders;
use crate::graphql::scalars::Date;
use crate::groups::types::Group;
use crate::members::types::Member;

#[derive(InputObject)]
pub struct AskInput {
    pub group_id: ID,
    pub text: String,
    pub target_profession: Option<String>,
    pub expires_on: Option<Date>,
}

#[derive(Clone)]
pub struct Ask(pub ask::Model);

#[Object]
impl Ask {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn text(&self) -> &str {
        &self.0.text
    }

    /// The profession of the people the member wants to meet.
    async fn target_profession(&self) -> Option<&str> {
        self.0.target_profession.as_deref()
    }

    /// Last day the ask is open; null: open until further notice.
    async fn expires_on(&self) -> Option<Date> {
        self.0.expires_on.map(Date)
    }

    async fn group(&self, ctx: &Context<'_>) -> ApiResult<Group> {
        Ok(Group(loaders(ctx)?.group(&self.0.group_id).await?))
    }

    /// Who asks.
    async fn member(&self, ctx: &Context<'_>) -> ApiResult<Member> {
        Ok(Member::from(loaders(ctx)?.member(&self.0.member_id).await?))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
