use async_graphql::Object;

#[derive(Default)]
pub struct AsksQuery;

#[Object]
impl AsksQuery {
    /// Placeholder until the module's queries land.
    async fn _asks_placeholder(&self) -> bool {
        false
    }
}

#[derive(Default)]
pub struct AsksMutation;

#[Object]
impl AsksMutation {
    /// Placeholder until the module's mutations land.
    async fn _asks_placeholder_mutation(&self) -> bool {
        false
    }
}
