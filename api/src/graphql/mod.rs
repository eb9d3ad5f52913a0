//! The GraphQL schema: one query/mutation part per domain, merged, with
//! limits and persisted queries. Building it needs no database, so
//! `export-schema` works anywhere.

pub mod connection;
pub mod context;
pub mod enums;
pub mod guard;
pub mod guards;
pub mod limits;
pub mod loaders;
pub mod node;
pub mod scalars;

use async_graphql::extensions::apollo_persisted_queries::{
    ApolloPersistedQueries, LruCacheStorage,
};
use async_graphql::{MergedObject, SDLExportOptions, Schema};

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

/// Persisted-query cache size (documents kept by hash).
const APQ_CACHE: usize = 1024;

pub fn build_schema(production: bool, document: guard::Limits) -> AppSchema {
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    // async-graphql's own checks stay as a second line; `guard` (in the
    // extension) is what bounds the work and answers first. Its depth counts
    // introspection's `ofType` levels, which the guard does not: room for
    // the standard introspection query's eight.
    .limit_depth(document.depth + 10)
    .limit_complexity(limits::MAX_COMPLEXITY)
    .limit_recursive_depth(32)
    .limit_directives(8)
    .extension(limits::DocumentLimits::new(document))
    .extension(ApolloPersistedQueries::new(LruCacheStorage::new(APQ_CACHE)))
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
