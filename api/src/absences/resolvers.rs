use async_graphql::Object;

#[derive(Default)]
pub struct AbsencesQuery;

#[Object]
impl AbsencesQuery {
    /// Placeholder until the module's queries land.
    async fn _absences_placeholder(&self) -> bool {
        false
    }
}

#[derive(Default)]
pub struct AbsencesMutation;

#[Object]
impl AbsencesMutation {
    /// Placeholder until the module's mutations land.
    async fn _absences_placeholder_mutation(&self) -> bool {
        false
    }
}
