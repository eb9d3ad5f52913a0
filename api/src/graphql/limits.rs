//! Guards against abusive documents beyond async-graphql's own limits: the
//! document's size and shape are measured by `guard` before async-graphql
//! parses or validates anything (fragments expanded, each once), so no
//! document, however shaped, costs more than a pass over its text.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, ServerError, ServerResult, Variables};

use super::guard::{self, Limits, TooMuch};

/// async-graphql's complexity limit (each field costs 1, lists more).
pub const MAX_COMPLEXITY: usize = 5_000;

/// Parsed documents kept, by their text: portals send the same few
/// operations over and over, and parsing was a visible share of each
/// request's CPU. Only documents that passed the limits are kept; when full
/// the cache starts over (the working set is a handful of documents).
const DOCUMENT_CACHE: usize = 512;

pub struct DocumentLimits {
    limits: Limits,
    cache: Arc<DocumentCache>,
}

impl DocumentLimits {
    pub fn new(limits: Limits) -> DocumentLimits {
        DocumentLimits {
            limits,
            cache: Arc::new(DocumentCache::default()),
        }
    }
}

#[derive(Default)]
struct DocumentCache(std::sync::Mutex<std::collections::HashMap<String, ExecutableDocument>>);

impl DocumentCache {
    fn get(&self, query: &str) -> Option<ExecutableDocument> {
        let cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(query).cloned()
    }

    fn put(&self, query: &str, document: &ExecutableDocument) {
        let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= DOCUMENT_CACHE {
            cache.clear();
        }
        cache.insert(query.to_string(), document.clone());
    }
}

/// Marks a WebSocket session: only subscriptions run there. Queries and
/// mutations go over HTTP, where the caller's session and rate limits are
/// checked on every request.
pub struct WebSocketSession;

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DocumentLimitsExtension(self.limits, self.cache.clone()))
    }
}

struct DocumentLimitsExtension(Limits, Arc<DocumentCache>);

fn refused(message: String, limit: Option<&str>) -> ServerError {
    let mut err = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", "BAD_USER_INPUT");
    ext.set("field", "query");
    if let Some(limit) = limit {
        ext.set("limit", limit);
    }
    err.extensions = Some(ext);
    err
}

fn too_much(TooMuch(message, limit): TooMuch) -> ServerError {
    refused(message, Some(limit))
}

#[async_trait::async_trait]
impl Extension for DocumentLimitsExtension {
    /// Measures the document before anything else reads it — async-graphql's
    /// own depth and directive checks run while parsing and expand every
    /// fragment spread without memo — and hands the parsed document on, so
    /// it is parsed once.
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        // The text first, before anything (persisted queries included)
        // parses it; then the document, once later extensions have had
        // their say (a persisted query's document comes from its hash).
        guard::scan(&request.query, &self.0).map_err(too_much)?;
        let mut request = next.run(ctx, request).await?;
        if let Some(document) = self.1.get(&request.query) {
            // Measured when it was first parsed; the same text measures the same.
            request.set_parsed_query(document);
            return Ok(request);
        }
        let text = request.query.clone();
        let document = request.parsed_query()?;
        guard::measure(document, &self.0).map_err(too_much)?;
        self.1.put(&text, document);
        Ok(request)
    }

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
            return Err(refused(
                "only subscriptions are served over /graphql/ws; send queries and mutations over HTTP".into(),
                None,
            ));
        }
        Ok(document)
    }
}
