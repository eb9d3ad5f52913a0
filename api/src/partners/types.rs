//! GraphQL shape of a partner firm.

use async_graphql::{Context, ID, Object};
use entities::partner_firm;

use crate::error::{ApiError, ApiResult};
use crate::graphql::context::loaders;
use crate::groups::types::Group;

#[derive(Clone)]
pub struct PartnerFirm(pub partner_firm::Model);

#[Object]
impl PartnerFirm {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn group(&self, ctx: &Context<'_>) -> ApiResult<Group> {
        loaders(ctx)?
            .groups
            .load_one(self.0.group_id.clone())
            .await?
            .map(Group)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("partner firm without its group")))
    }
}
