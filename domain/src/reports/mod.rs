//! Leader reports: the group report and the network report.

pub mod cache;
pub mod group_report;
pub mod leader_page;
pub mod network;
pub mod score;
