use async_graphql::Object;

#[derive(Default)]
pub struct RewardsQuery;

#[Object]
impl RewardsQuery {
    /// Placeholder until the module's queries land.
    async fn _rewards_placeholder(&self) -> bool {
        false
    }
}

#[derive(Default)]
pub struct RewardsMutation;

#[Object]
impl RewardsMutation {
    /// Placeholder until the module's mutations land.
    async fn _rewards_placeholder_mutation(&self) -> bool {
        false
    }
}
