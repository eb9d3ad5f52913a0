//! GraphQL shapes of reward tiers, awards and a member's progress.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};

#[derive(InputObject)]
pub struct RewardTierInput {
    pub threshold: i32,
    pub reward: String,
}

/// A rung of a group's ladder: the `threshold`-th won referral given earns `reward`.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct RewardTier {
    pub threshold: i32,
    pub reward: String,
}

impl From<domain::rewards::service::RewardTier> for RewardTier {
    fn from(t: domain::rewards::service::RewardTier) -> Self {
        RewardTier {
            threshold: t.threshold,
            reward: t.reward,
        }
    }
}

/// A tier reached, as it read when it was awarded.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct RewardAward {
    pub at: DateTime<Utc>,
    pub tier: RewardTier,
}

impl From<domain::rewards::service::RewardAward> for RewardAward {
    fn from(a: domain::rewards::service::RewardAward) -> Self {
        RewardAward {
            at: a.at,
            tier: a.tier.into(),
        }
    }
}

/// A giver's standing on a group's ladder.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct RewardProgress {
    /// Won referrals the member has given in the group.
    pub won_given: i32,
    /// The lowest tier above `wonGiven`; null at the top of the ladder.
    pub next_tier: Option<RewardTier>,
    /// Tiers awarded, oldest first.
    pub awards: Vec<RewardAward>,
}

impl From<domain::rewards::service::RewardProgress> for RewardProgress {
    fn from(p: domain::rewards::service::RewardProgress) -> Self {
        RewardProgress {
            won_given: p.won_given,
            next_tier: p.next_tier.map(Into::into),
            awards: p.awards.into_iter().map(Into::into).collect(),
        }
    }
}
