//! Ask rules: who may ask a group, what an ask may say, and which asks are open.

use chrono::{NaiveDate, Utc};
use entities::ask;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};

use crate::access::{self, require_group_member};
use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::groups::service::find_group;
use crate::validation::{id, new_id, optional_long_text, optional_text};

pub const MAX_TEXT: usize = 1000;
pub const MAX_TARGET_PROFESSION: usize = 120;

pub struct NewAsk {
    pub group_id: String,
    pub text: String,
    pub target_profession: Option<String>,
    pub expires_on: Option<NaiveDate>,
}

/// Posts an ask to a group the caller sits in. Admins are not exempt: an ask
/// speaks for a member of the group.
pub async fn post_ask(state: &Ctx, caller: &Caller, input: NewAsk) -> DomainResult<ask::Model> {
    let me = caller.member()?;
    let group_id = id("input.groupId", &input.group_id)?;
    // Free text: line breaks allowed, but not blank.
    let text = optional_long_text("input.text", Some(&input.text), MAX_TEXT)?
        .ok_or_else(|| DomainError::bad_input("input.text", "input.text must not be empty"))?;
    let target_profession = optional_text(
        "input.targetProfession",
        input.target_profession.as_deref(),
        MAX_TARGET_PROFESSION,
    )?;
    if input
        .expires_on
        .is_some_and(|d| d < Utc::now().date_naive())
    {
        return Err(DomainError::bad_input(
            "input.expiresOn",
            "expiresOn is in the past",
        ));
    }

    let txn = state.db.begin().await?;
    let group = find_group(&txn, &group_id).await?;
    if !access::is_active_member(&txn, &me.id, &group.id).await? {
        return Err(DomainError::Forbidden(
            "only members of this group may ask it".into(),
        ));
    }
    let row = ask::ActiveModel {
        id: Set(new_id()),
        member_id: Set(me.id.clone()),
        group_id: Set(group.id.clone()),
        text: Set(text),
        target_profession: Set(target_profession),
        expires_on: Set(input.expires_on),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// The group's asks still open today (no expiry, or expiring today or
/// later), newest first. Members of the group and admins.
pub async fn open_asks(
    state: &Ctx,
    caller: &Caller,
    group_id: &str,
) -> DomainResult<Vec<ask::Model>> {
    caller.member()?;
    let group_id = id("groupId", group_id)?;
    let group = find_group(&state.db, &group_id).await?;
    require_group_member(&state.db, caller, &group.id).await?;
    let today = Utc::now().date_naive();
    Ok(ask::Entity::find()
        .filter(ask::Column::GroupId.eq(group.id.clone()))
        .filter(
            Condition::any()
                .add(ask::Column::ExpiresOn.is_null())
                .add(ask::Column::ExpiresOn.gte(today)),
        )
        .order_by_desc(ask::Column::CreatedAt)
        .order_by_desc(ask::Column::Id)
        .all(&state.db)
        .await?)
}

pub async fn find_ask(db: &impl ConnectionTrait, ask_id: &str) -> DomainResult<Option<ask::Model>> {
    Ok(ask::Entity::find_by_id(ask_id.to_string()).one(db).await?)
}
