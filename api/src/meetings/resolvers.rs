use async_graphql::Object;

#[derive(Default)]
pub struct MeetingsQuery;

#[Object]
impl MeetingsQuery {
    /// Placeholder until the module's queries land.
    async fn _meetings_placeholder(&self) -> bool {
        false
    }
}

#[derive(Default)]
pub struct MeetingsMutation;

#[Object]
impl MeetingsMutation {
    /// Placeholder until the module's mutations land.
    async fn _meetings_placeholder_mutation(&self) -> bool {
        false
    }
}
