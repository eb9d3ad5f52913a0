//! Leader reports: the group report (GraphQL and CSV) and the network report.

pub mod resolvers;
pub mod types;
