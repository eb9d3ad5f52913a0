//! The GraphQL schema: one query/mutation part per domain, merged, served
//! behind the document limits and persisted queries (`Served`). Building it
//! needs no database, so `export-schema` works anywhere.

pub mod connection;
pub mod context;
pub mod enums;
pub mod guard;
pub mod guards;
pub mod limits;
pub mod loaders;
pub mod node;
pub mod scalars;

use std::sync::Arc;

use async_graphql::futures_util::stream::{self, BoxStream};
use async_graphql::{Data, Executor, MergedObject, Request, Response, SDLExportOptions, Schema};

use crate::absences::resolvers::{AbsencesMutation, AbsencesQuery};
use crate::asks::resolvers::{AsksMutation, AsksQuery};
use crate::auth::resolvers::AuthMutation;
use crate::contacts::resolvers::{ContactsMutation, ContactsQuery};
use crate::groups::resolvers::{GroupsMutation, GroupsQuery};
use crate::insights::resolvers::{InsightsMutation, InsightsQuery};
use crate::meetings::resolvers::{MeetingsMutation, MeetingsQuery};
use crate::members::resolvers::{MembersMutation, MembersQuery};
use crate::partners::resolvers::{PartnersMutation, PartnersQuery};
use crate::partnerships::resolvers::PartnershipsMutation;
use crate::referrals::resolvers::{ReferralsMutation, ReferralsQuery};
use crate::referrals::subscriptions::ReferralSubscription;
use crate::reports::resolvers::{ReportsMutation, ReportsQuery};
use crate::rewards::resolvers::{RewardsMutation, RewardsQuery};

#[derive(MergedObject, Default)]
pub struct Query(
    MembersQuery,
    GroupsQuery,
    node::NodeQuery,
    MeetingsQuery,
    AbsencesQuery,
    ContactsQuery,
    AsksQuery,
    RewardsQuery,
    ReferralsQuery,
    PartnersQuery,
    ReportsQuery,
    InsightsQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    AuthMutation,
    MembersMutation,
    GroupsMutation,
    MeetingsMutation,
    AbsencesMutation,
    ContactsMutation,
    AsksMutation,
    RewardsMutation,
    ReferralsMutation,
    PartnershipsMutation,
    PartnersMutation,
    InsightsMutation,
    ReportsMutation,
);

/// Subscriptions: one domain has them so far.
pub type Subscription = ReferralSubscription;

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The schema as clients reach it: each request's document goes through
/// `limits::Documents` (limits, persisted queries, parsed-document cache)
/// first. `over_websocket`: the socket's copy, which serves subscriptions only.
#[derive(Clone)]
pub struct Served {
    schema: AppSchema,
    documents: Arc<limits::Documents>,
    over_websocket: bool,
}

impl Served {
    pub fn new(production: bool, document: guard::Limits) -> Served {
        Served {
            schema: build_schema(production, document),
            documents: Arc::new(limits::Documents::new(document)),
            over_websocket: false,
        }
    }

    /// The request's document prepared for running (see `Documents::prepare`).
    pub fn prepare(
        &self,
        request: Request,
        transport: limits::Transport,
    ) -> Result<Request, limits::Refusal> {
        self.documents.prepare(request, transport)
    }

    /// Runs a request `prepare` has passed.
    pub async fn execute_prepared(&self, request: Request) -> Response {
        self.schema.execute(request).await
    }

    /// The same schema and caches, for a WebSocket connection.
    pub fn over_websocket(&self) -> Served {
        Served {
            over_websocket: true,
            ..self.clone()
        }
    }

    fn transport(&self) -> limits::Transport {
        if self.over_websocket {
            limits::Transport::WebSocket
        } else {
            limits::Transport::Post
        }
    }
}

/// For async-graphql's WebSocket engine (and any other caller that wants an
/// `Executor`): every request is prepared first, as over POST or over the
/// socket.
impl Executor for Served {
    async fn execute(&self, request: Request) -> Response {
        match self.documents.prepare(request, self.transport()) {
            Ok(request) => self.schema.execute(request).await,
            Err(refusal) => refused(refusal),
        }
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        match self.documents.prepare(request, self.transport()) {
            Ok(request) => self
                .schema
                .execute_stream_with_session_data(request, session_data.unwrap_or_default()),
            Err(refusal) => Box::pin(stream::once(async move { refused(refusal) })),
        }
    }
}

/// A refusal as a GraphQL response (GET's 405 is the HTTP handler's).
fn refused(refusal: limits::Refusal) -> Response {
    match refusal {
        limits::Refusal::Invalid(err) => Response::from_errors(vec![err]),
        limits::Refusal::MutationOverGet => {
            Response::from_errors(vec![async_graphql::ServerError::new(
                "mutations must be sent with POST",
                None,
            )])
        }
    }
}

/// The schema alone (no document limits or persisted queries: see `Served`).
pub fn build_schema(production: bool, document: guard::Limits) -> AppSchema {
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    // async-graphql's own checks stay as a second line; `guard` (in
    // `Served`) is what bounds the work and answers first. Its depth counts
    // introspection's `ofType` levels, which the guard does not: room for
    // the standard introspection query's eight.
    .limit_depth(document.depth + 10)
    .limit_complexity(limits::MAX_COMPLEXITY)
    .limit_recursive_depth(32)
    .limit_directives(8)
    .register_output_type::<node::Node>();
    if production {
        // Neither the schema nor near-miss field names ("did you mean…").
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The SDL as committed in `schema.graphql`: sorted, so diffs are stable.
pub fn sdl() -> String {
    build_schema(false, guard::Limits::default()).sdl_with_options(
        SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items(),
    )
}
