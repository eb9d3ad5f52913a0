use async_graphql::Object;

#[derive(Default)]
pub struct ContactsQuery;

#[Object]
impl ContactsQuery {
    /// Placeholder until the module's queries land.
    async fn _contacts_placeholder(&self) -> bool {
        false
    }
}

#[derive(Default)]
pub struct ContactsMutation;

#[Object]
impl ContactsMutation {
    /// Placeholder until the module's mutations land.
    async fn _contacts_placeholder_mutation(&self) -> bool {
        false
    }
}
