//! Leader reports: the group report (GraphQL and CSV) and the network report.

pub mod csv;
pub mod group_report;
pub mod network;
pub mod resolvers;
pub mod score;
pub mod types;
