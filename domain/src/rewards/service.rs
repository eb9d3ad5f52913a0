//! Reward ladder rules and awarding. A ladder is replaced as a whole; awards
//! are made inside the referral core's transaction when a referral becomes
//! WON, exactly once per giver, group and threshold: the unique
//! (member_id, group_id, threshold) index is the guard, so even concurrent
//! wins cannot award a tier twice.

use std::collections::HashSet;

use chrono::{DateTime, SubsecRound, Utc};
use entities::{ReferralStatus, group, member, referral, reward_award, reward_tier};
use sea_orm::sea_query::{LockType, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};

use crate::access::{require_group_leader, require_group_member};
use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::groups::service::find_group;
use crate::validation::{id, new_id, required_text};

/// A rung of a group's ladder: the `threshold`-th won referral given earns `reward`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewardTier {
    pub threshold: i32,
    pub reward: String,
}

impl From<reward_tier::Model> for RewardTier {
    fn from(t: reward_tier::Model) -> Self {
        RewardTier {
            threshold: t.threshold,
            reward: t.reward,
        }
    }
}

/// A tier reached, as it read when it was awarded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewardAward {
    pub at: DateTime<Utc>,
    pub tier: RewardTier,
}

impl From<reward_award::Model> for RewardAward {
    fn from(a: reward_award::Model) -> Self {
        RewardAward {
            at: a.awarded_at,
            tier: RewardTier {
                threshold: a.threshold,
                reward: a.reward,
            },
        }
    }
}

/// A giver's standing on a group's ladder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewardProgress {
    /// Won referrals the member has given in the group.
    pub won_given: i32,
    /// The lowest tier above `wonGiven`; null at the top of the ladder.
    pub next_tier: Option<RewardTier>,
    /// Tiers awarded, oldest first.
    pub awards: Vec<RewardAward>,
}

pub const MAX_TIERS: usize = 50;
pub const MAX_REWARD: usize = 500;

pub struct NewTier {
    pub threshold: i32,
    pub reward: String,
}

fn check_tiers(tiers: Vec<NewTier>) -> DomainResult<Vec<NewTier>> {
    if tiers.len() > MAX_TIERS {
        return Err(DomainError::bad_input(
            "tiers",
            format!("a ladder has at most {MAX_TIERS} tiers"),
        ));
    }
    let mut seen = HashSet::new();
    let mut checked = Vec::with_capacity(tiers.len());
    for (i, tier) in tiers.into_iter().enumerate() {
        let threshold_field = format!("tiers.{i}.threshold");
        if tier.threshold <= 0 {
            return Err(DomainError::bad_input(
                threshold_field,
                "threshold must be a positive number of won referrals",
            ));
        }
        if !seen.insert(tier.threshold) {
            return Err(DomainError::bad_input(
                threshold_field,
                "thresholds must be distinct",
            ));
        }
        let reward = required_text(&format!("tiers.{i}.reward"), &tier.reward, MAX_REWARD)?;
        checked.push(NewTier {
            threshold: tier.threshold,
            reward,
        });
    }
    Ok(checked)
}

/// Replaces the group's whole ladder. Leaders of the group and admins.
/// Awards already made keep the reward text they were made with.
pub async fn set_reward_tiers(
    state: &Ctx,
    caller: &Caller,
    group_id: &str,
    tiers: Vec<NewTier>,
) -> DomainResult<Vec<reward_tier::Model>> {
    caller.member()?;
    let group_id = id("groupId", group_id)?;
    let tiers = check_tiers(tiers)?;

    let txn = state.db.begin().await?;
    let group = find_group(&txn, &group_id).await?;
    require_group_leader(&txn, caller, &group.id).await?;
    // Serialises concurrent replacements of one ladder (PostgreSQL; SQLite
    // has one writer): the second waits, then deletes what the first wrote,
    // instead of colliding with it on the unique (group_id, threshold) index.
    group::Entity::find_by_id(group.id.clone())
        .lock(LockType::NoKeyUpdate)
        .one(&txn)
        .await?;
    reward_tier::Entity::delete_many()
        .filter(reward_tier::Column::GroupId.eq(group.id.clone()))
        .exec(&txn)
        .await?;
    if !tiers.is_empty() {
        let rows = tiers.into_iter().map(|t| reward_tier::ActiveModel {
            id: Set(new_id()),
            group_id: Set(group.id.clone()),
            threshold: Set(t.threshold),
            reward: Set(t.reward),
        });
        reward_tier::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
    }
    let ladder = ladder(&txn, &group.id).await?;
    txn.commit().await?;
    tracing::info!(group_id = %group.id, tiers = ladder.len(), "reward ladder replaced");
    Ok(ladder)
}

/// The group's ladder by threshold. Members of the group and admins.
pub async fn reward_tiers(
    state: &Ctx,
    caller: &Caller,
    group_id: &str,
) -> DomainResult<Vec<reward_tier::Model>> {
    caller.member()?;
    let group_id = id("groupId", group_id)?;
    let group = find_group(&state.db, &group_id).await?;
    require_group_member(&state.db, caller, &group.id).await?;
    ladder(&state.db, &group.id).await
}

async fn ladder(
    db: &impl ConnectionTrait,
    group_id: &str,
) -> DomainResult<Vec<reward_tier::Model>> {
    Ok(reward_tier::Entity::find()
        .filter(reward_tier::Column::GroupId.eq(group_id))
        .order_by_asc(reward_tier::Column::Threshold)
        .all(db)
        .await?)
}

async fn won_given(db: &impl ConnectionTrait, giver_id: &str, group_id: &str) -> DomainResult<u64> {
    Ok(referral::Entity::find()
        .filter(referral::Column::GiverMemberId.eq(giver_id))
        .filter(referral::Column::GroupId.eq(group_id))
        .filter(referral::Column::Status.eq(ReferralStatus::Won))
        .count(db)
        .await?)
}

/// Awards every tier of the group the giver has reached and not yet been
/// awarded; returns the awards made now (empty when none are new).
///
/// Call it inside the transaction that moved `referral_id` to WON, after that
/// update, so the count includes it.
pub async fn award_tiers(
    txn: &impl ConnectionTrait,
    giver_id: &str,
    group_id: &str,
    referral_id: &str,
    now: DateTime<Utc>,
) -> DomainResult<Vec<reward_award::Model>> {
    // Concurrent wins of one giver queue here (PostgreSQL row lock; SQLite has
    // a single writer), so each counts the others' wins once they commit.
    // FOR NO KEY UPDATE rather than FOR UPDATE: it still excludes the other
    // awarders, but not the FOR KEY SHARE locks that foreign-key checks take
    // when the caller's transaction has already written rows referencing the
    // giver; FOR UPDATE would make two such transactions deadlock.
    member::Entity::find()
        .select_only()
        .column(member::Column::Id)
        .filter(member::Column::Id.eq(giver_id))
        .lock(LockType::NoKeyUpdate)
        .into_tuple::<String>()
        .one(txn)
        .await?;
    let won = won_given(txn, giver_id, group_id).await?;
    let reached = reward_tier::Entity::find()
        .filter(reward_tier::Column::GroupId.eq(group_id))
        .filter(reward_tier::Column::Threshold.lte(i32::try_from(won).unwrap_or(i32::MAX)))
        .order_by_asc(reward_tier::Column::Threshold)
        .all(txn)
        .await?;
    // `now` was taken before the lock; a concurrent win may have awarded a
    // tier meanwhile with a later time. Awards never go back in time, so
    // "oldest first" stays the order in which tiers were reached.
    let latest = reward_award::Entity::find()
        .filter(reward_award::Column::MemberId.eq(giver_id))
        .filter(reward_award::Column::GroupId.eq(group_id))
        .order_by_desc(reward_award::Column::AwardedAt)
        .one(txn)
        .await?;
    let at = latest.map_or(now, |l| l.awarded_at.max(now));
    // PostgreSQL keeps microseconds: the awards returned equal the rows stored.
    let at = at.trunc_subsecs(6);
    let mut awarded = Vec::new();
    for tier in reached {
        let award = reward_award::Model {
            id: new_id(),
            member_id: giver_id.to_string(),
            group_id: group_id.to_string(),
            threshold: tier.threshold,
            reward: tier.reward,
            referral_id: referral_id.to_string(),
            awarded_at: at,
        };
        let active: reward_award::ActiveModel = award.clone().into();
        // Already awarded (earlier, or by a concurrent win): nothing inserted.
        let inserted = reward_award::Entity::insert(active)
            .on_conflict(
                OnConflict::columns([
                    reward_award::Column::MemberId,
                    reward_award::Column::GroupId,
                    reward_award::Column::Threshold,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        if inserted > 0 {
            tracing::info!(member_id = %giver_id, group_id, threshold = award.threshold, "reward tier awarded");
            awarded.push(award);
        }
    }
    Ok(awarded)
}

/// `member_id`'s standing on a group's ladder as `caller` may see it: the
/// member themself while they hold or once held a seat there (awards stay
/// theirs after they leave), or an admin. The ladder is the group's, so no
/// one else learns its rewards this way.
pub async fn progress_seen_by(
    db: &impl ConnectionTrait,
    caller: &Caller,
    member_id: &str,
    group_id: &str,
) -> DomainResult<RewardProgress> {
    let me = caller.member()?;
    let own = me.id == member_id && crate::access::ever_sat_in(db, member_id, group_id).await?;
    if !(me.is_admin || own) {
        return Err(DomainError::Forbidden(
            "you have no seat in this group".into(),
        ));
    }
    progress(db, member_id, group_id).await
}

/// A member's standing on a group's ladder: won referrals given there, the
/// next tier to reach, and the awards made, oldest first.
pub async fn progress(
    db: &impl ConnectionTrait,
    member_id: &str,
    group_id: &str,
) -> DomainResult<RewardProgress> {
    let won = i32::try_from(won_given(db, member_id, group_id).await?).unwrap_or(i32::MAX);
    let next_tier = reward_tier::Entity::find()
        .filter(reward_tier::Column::GroupId.eq(group_id))
        .filter(reward_tier::Column::Threshold.gt(won))
        .order_by_asc(reward_tier::Column::Threshold)
        .one(db)
        .await?
        .map(RewardTier::from);
    let awards = reward_award::Entity::find()
        .filter(reward_award::Column::MemberId.eq(member_id))
        .filter(reward_award::Column::GroupId.eq(group_id))
        .order_by_asc(reward_award::Column::AwardedAt)
        .order_by_asc(reward_award::Column::Threshold)
        .all(db)
        .await?
        .into_iter()
        .map(RewardAward::from)
        .collect();
    Ok(RewardProgress {
        won_given: won,
        next_tier,
        awards,
    })
}
