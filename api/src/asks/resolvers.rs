use async_graphql::{Context, ID, Object};

use super::types::{Ask, AskInput};
use crate::error::ApiResult;
use crate::graphql::context::{caller, state};
use domain::asks::service::{self, NewAsk};

#[derive(Default)]
pub struct AsksQuery;

#[Object]
impl AsksQuery {
    /// The group's open (unexpired) asks, newest first. Members of the group and admins.
    async fn asks(&self, ctx: &Context<'_>, group_id: ID) -> ApiResult<Vec<Ask>> {
        let rows = service::open_asks(state(ctx)?, caller(ctx), &group_id).await?;
        Ok(rows.into_iter().map(Ask).collect())
    }
}

#[derive(Default)]
pub struct AsksMutation;

#[Object]
impl AsksMutation {
    /// The caller asks their group for introductions. Active members of the group only.
    async fn post_ask(&self, ctx: &Context<'_>, input: AskInput) -> ApiResult<Ask> {
        let new = NewAsk {
            group_id: input.group_id.0,
            text: input.text,
            target_profession: input.target_profession,
            expires_on: input.expires_on.map(|d| d.0),
        };
        Ok(Ask(service::post_ask(state(ctx)?, caller(ctx), new).await?))
    }
}
