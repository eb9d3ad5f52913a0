//! Batch loaders for partner-firm fields, so a group's list of firms costs
//! a fixed number of queries whatever its length.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use domain::Db;
use entities::api_token;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::error::ApiError;
use domain::balances::service::Balance;

/// Each firm's balance with its group (two grouped queries per batch).
pub struct FirmBalanceLoader(pub Db);

impl Loader<String> for FirmBalanceLoader {
    type Value = Balance;
    type Error = ApiError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Balance>, ApiError> {
        Ok(domain::balances::service::for_firms(&self.0, keys, None).await?)
    }
}

/// Each firm's tokens, newest first.
pub struct TokensOfFirmLoader(pub Db);

impl Loader<String> for TokensOfFirmLoader {
    type Value = Vec<api_token::Model>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[String],
    ) -> Result<HashMap<String, Vec<api_token::Model>>, ApiError> {
        let rows = api_token::Entity::find()
            .filter(api_token::Column::PartnerFirmId.is_in(keys.iter().cloned()))
            .order_by_desc(api_token::Column::CreatedAt)
            .order_by_desc(api_token::Column::Id)
            .all(&self.0)
            .await?;
        let mut out: HashMap<String, Vec<api_token::Model>> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for row in rows {
            out.entry(row.partner_firm_id.clone())
                .or_default()
                .push(row);
        }
        Ok(out)
    }
}
