use async_graphql::Object;

#[derive(Default)]
pub struct PartnersQuery;

#[Object]
impl PartnersQuery {
    /// Placeholder until the module's queries land.
    async fn _partners_placeholder(&self) -> bool {
        false
    }
}

#[derive(Default)]
pub struct PartnersMutation;

#[Object]
impl PartnersMutation {
    /// Placeholder until the module's mutations land.
    async fn _partners_placeholder_mutation(&self) -> bool {
        false
    }
}
