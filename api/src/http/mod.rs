//! Everything that speaks HTTP: GraphQL over HTTP and WebSocket, the report
//! downloads, health checks. One extractor (`caller`) turns the
//! `Authorization` header into a `Caller` for all of them.

pub mod caller;
pub mod graphiql;
pub mod graphql;
pub mod observe;
pub mod report_page;
pub mod reports;
pub mod ws;
