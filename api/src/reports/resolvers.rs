use async_graphql::Object;

#[derive(Default)]
pub struct ReportsQuery;

#[Object]
impl ReportsQuery {
    /// Placeholder until the module's queries land.
    async fn _reports_placeholder(&self) -> bool {
        false
    }
}

#[derive(Default)]
pub struct ReportsMutation;

#[Object]
impl ReportsMutation {
    /// Placeholder until the module's mutations land.
    async fn _reports_placeholder_mutation(&self) -> bool {
        false
    }
}
