//! Guards against abusive documents beyond async-graphql's depth and
//! complexity limits: too many aliases (alias amplification) and too many
//! fields in one document.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Variables};

pub const MAX_DEPTH: usize = 12;
pub const MAX_COMPLEXITY: usize = 5_000;
pub const MAX_ALIASES: usize = 30;
pub const MAX_FIELDS: usize = 1_000;

pub struct DocumentLimits;

/// Marks a WebSocket session: only subscriptions run there. Queries and
/// mutations go over HTTP, where the caller's session and rate limits are
/// checked on every request.
pub struct WebSocketSession;

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DocumentLimitsExtension)
    }
}

struct DocumentLimitsExtension;

#[derive(Default)]
struct Tally {
    aliases: usize,
    fields: usize,
}

fn walk(set: &SelectionSet, tally: &mut Tally) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                tally.fields += 1;
                if field.node.alias.is_some() {
                    tally.aliases += 1;
                }
                walk(&field.node.selection_set.node, tally);
            }
            Selection::InlineFragment(fragment) => walk(&fragment.node.selection_set.node, tally),
            Selection::FragmentSpread(_) => {}
        }
    }
}

fn refused(message: String) -> ServerError {
    let mut err = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", "BAD_USER_INPUT");
    err.extensions = Some(ext);
    err
}

#[async_trait::async_trait]
impl Extension for DocumentLimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        if ctx.data_opt::<WebSocketSession>().is_some()
            && document.operations.iter().any(|(_, op)| {
                op.node.ty != async_graphql::parser::types::OperationType::Subscription
            })
        {
            return Err(refused("only subscriptions are served over /graphql/ws; send queries and mutations over HTTP".into()));
        }
        let mut tally = Tally::default();
        for (_, operation) in document.operations.iter() {
            walk(&operation.node.selection_set.node, &mut tally);
        }
        for fragment in document.fragments.values() {
            walk(&fragment.node.selection_set.node, &mut tally);
        }
        if tally.aliases > MAX_ALIASES {
            return Err(refused(format!(
                "the document has {} aliases; at most {MAX_ALIASES} are allowed",
                tally.aliases
            )));
        }
        if tally.fields > MAX_FIELDS {
            return Err(refused(format!(
                "the document selects {} fields; at most {MAX_FIELDS} are allowed",
                tally.fields
            )));
        }
        Ok(document)
    }
}
