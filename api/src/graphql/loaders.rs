//! Per-request batch loaders, so a page of rows costs one query per kind of
//! related row instead of one per row.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use entities::{group, member, membership};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use crate::error::ApiError;

pub struct Loaders {
    pub members: DataLoader<MemberLoader>,
    pub groups: DataLoader<GroupLoader>,
    pub memberships: DataLoader<MembershipsOfMemberLoader>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection) -> Loaders {
        Loaders {
            members: DataLoader::new(MemberLoader(db.clone()), tokio::spawn),
            groups: DataLoader::new(GroupLoader(db.clone()), tokio::spawn),
            memberships: DataLoader::new(MembershipsOfMemberLoader(db.clone()), tokio::spawn),
        }
    }
}

pub struct MemberLoader(DatabaseConnection);

impl Loader<String> for MemberLoader {
    type Value = member::Model;
    type Error = ApiError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, member::Model>, ApiError> {
        let rows = member::Entity::find()
            .filter(member::Column::Id.is_in(keys.iter().cloned()))
            .all(&self.0)
            .await?;
        Ok(rows.into_iter().map(|m| (m.id.clone(), m)).collect())
    }
}

pub struct GroupLoader(DatabaseConnection);

impl Loader<String> for GroupLoader {
    type Value = group::Model;
    type Error = ApiError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, group::Model>, ApiError> {
        let rows = group::Entity::find()
            .filter(group::Column::Id.is_in(keys.iter().cloned()))
            .all(&self.0)
            .await?;
        Ok(rows.into_iter().map(|g| (g.id.clone(), g)).collect())
    }
}

/// Every seat (active and ended) of each member, oldest first.
pub struct MembershipsOfMemberLoader(DatabaseConnection);

impl Loader<String> for MembershipsOfMemberLoader {
    type Value = Vec<membership::Model>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[String],
    ) -> Result<HashMap<String, Vec<membership::Model>>, ApiError> {
        let rows = membership::Entity::find()
            .filter(membership::Column::MemberId.is_in(keys.iter().cloned()))
            .order_by_asc(membership::Column::JoinedOn)
            .order_by_asc(membership::Column::CreatedAt)
            .all(&self.0)
            .await?;
        let mut by_member: HashMap<String, Vec<membership::Model>> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for row in rows {
            by_member
                .entry(row.member_id.clone())
                .or_default()
                .push(row);
        }
        Ok(by_member)
    }
}
