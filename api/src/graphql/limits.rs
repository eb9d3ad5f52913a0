//! A request's document, before async-graphql sees it: measured against
//! the limits (`guard`: size and shape, fragments expanded, each once,
//! before anything parses or validates it, so no document, however shaped,
//! costs more than a pass over its text), found by hash for automatic
//! persisted queries, and parsed once per distinct text.
//!
//! This runs before the schema rather than as async-graphql extensions:
//! with any extension installed, async-graphql runs every field and every
//! list item of every answer through the extension chain (a type look-up
//! by name and boxed futures each), about a tenth of the server's CPU on a
//! group report.

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Request, ServerError};
use sha2::{Digest, Sha256};

use super::guard::{self, Limits, TooMuch};

/// async-graphql's complexity limit (each field costs 1, lists more).
pub const MAX_COMPLEXITY: usize = 5_000;

/// Parsed documents kept, by their text: portals send the same few
/// operations over and over, and parsing was a visible share of each
/// request's CPU. Only documents that passed the limits are kept; when full
/// the cache starts over (the working set is a handful of documents).
const DOCUMENT_CACHE: usize = 512;

/// Persisted queries kept, by their SHA-256 hash. A client whose hash is no
/// longer known is told `PersistedQueryNotFound` and sends the text again.
const PERSISTED_CACHE: usize = 1024;

/// How a request came: what it may run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Transport {
    Post,
    /// Queries only: a mutation over GET gets HTTP 405.
    Get,
    /// Subscriptions only.
    WebSocket,
}

/// Why a request's document is not run.
#[derive(Debug)]
pub enum Refusal {
    /// A mutation selected in a GET request, by its text or a persisted
    /// query's hash (HTTP 405).
    MutationOverGet,
    /// Answered as a GraphQL error.
    Invalid(ServerError),
}

impl From<ServerError> for Refusal {
    fn from(err: ServerError) -> Refusal {
        Refusal::Invalid(err)
    }
}

/// Whether the operation the request selects (all of them without a name)
/// is a mutation.
fn selects_mutation(document: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    document.operations.iter().any(|(name, op)| {
        let selected = match (operation_name, name) {
            (Some(wanted), Some(name)) => wanted == name.as_str(),
            (None, _) => true,
            (Some(_), None) => false,
        };
        selected && op.node.ty == OperationType::Mutation
    })
}

/// What every request's document goes through: the limits, persisted
/// queries and the parsed-document cache.
pub struct Documents {
    limits: Limits,
    parsed: DocumentCache,
    persisted: DocumentCache,
}

impl Documents {
    pub fn new(limits: Limits) -> Documents {
        Documents {
            limits,
            parsed: DocumentCache::new(DOCUMENT_CACHE),
            persisted: DocumentCache::new(PERSISTED_CACHE),
        }
    }

    /// The request with its document parsed and measured, or why it is
    /// refused. Over `Get` a selected mutation is refused, over `WebSocket`
    /// anything but subscriptions; a persisted query is stored under its
    /// hash only once it has passed every check.
    pub fn prepare(&self, mut request: Request, transport: Transport) -> Result<Request, Refusal> {
        // The text first, before anything parses it.
        guard::scan(&request.query, &self.limits).map_err(too_much)?;
        let persisted = match request.extensions.remove("persistedQuery") {
            Some(value) => Some(persisted_hash(value)?),
            None => None,
        };
        let (document, store_under) = match persisted {
            // A hash alone: a document that passed the limits when its text
            // was first sent, or none.
            Some(hash) if request.query.is_empty() => {
                let document = self.persisted.get(&hash).ok_or_else(|| {
                    refused_as("PersistedQueryNotFound".into(), "extensions", None)
                })?;
                (document, None)
            }
            Some(hash) => {
                if hash != hex::encode(Sha256::digest(request.query.as_bytes())) {
                    return Err(refused_as(
                        "provided sha does not match query".into(),
                        "extensions",
                        None,
                    )
                    .into());
                }
                (self.parse(&request.query)?, Some(hash))
            }
            None => (self.parse(&request.query)?, None),
        };
        match transport {
            Transport::WebSocket
                if document
                    .operations
                    .iter()
                    .any(|(_, op)| op.node.ty != OperationType::Subscription) =>
            {
                return Err(refused(
                    "only subscriptions are served over /graphql/ws; send queries and mutations over HTTP".into(),
                    None,
                )
                .into());
            }
            Transport::Get if selects_mutation(&document, request.operation_name.as_deref()) => {
                return Err(Refusal::MutationOverGet);
            }
            _ => {}
        }
        if let Some(hash) = store_under {
            self.persisted.put_new(&hash, &document);
        }
        request.set_parsed_query(document);
        Ok(request)
    }

    /// The text's document, from the cache or parsed and measured.
    fn parse(&self, text: &str) -> Result<ExecutableDocument, ServerError> {
        if let Some(document) = self.parsed.get(text) {
            // Measured when it was first parsed; the same text measures the same.
            return Ok(document);
        }
        let document = async_graphql::parser::parse_query(text)?;
        guard::measure(&document, &self.limits).map_err(too_much)?;
        self.parsed.put_new(text, &document);
        Ok(document)
    }
}

/// The hash of an Apollo `persistedQuery` extension (version 1).
fn persisted_hash(value: async_graphql::Value) -> Result<String, ServerError> {
    #[derive(serde::Deserialize)]
    struct PersistedQuery {
        version: i32,
        #[serde(rename = "sha256Hash")]
        sha256_hash: String,
    }
    let query: PersistedQuery = async_graphql::from_value(value).map_err(|_| {
        refused_as(
            "extensions.persistedQuery must be { version: 1, sha256Hash: \"…\" }".into(),
            "extensions",
            None,
        )
    })?;
    if query.version != 1 {
        return Err(refused_as(
            format!(
                "only version 1 of the persistedQuery extension is supported, not {}",
                query.version
            ),
            "extensions",
            None,
        ));
    }
    // Hashes are compared as lowercase hex, as they are computed.
    Ok(query.sha256_hash.to_ascii_lowercase())
}

struct DocumentCache {
    capacity: usize,
    documents: std::sync::Mutex<std::collections::HashMap<String, ExecutableDocument>>,
}

impl DocumentCache {
    fn new(capacity: usize) -> DocumentCache {
        DocumentCache {
            capacity,
            documents: Default::default(),
        }
    }

    fn get(&self, key: &str) -> Option<ExecutableDocument> {
        let cache = self.documents.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(key).cloned()
    }

    /// Keeps the document unless the key is already there (a client
    /// sending a known query with its hash again changes nothing).
    fn put_new(&self, key: &str, document: &ExecutableDocument) {
        let mut cache = self.documents.lock().unwrap_or_else(|p| p.into_inner());
        if cache.contains_key(key) {
            return;
        }
        if cache.len() >= self.capacity {
            cache.clear();
        }
        cache.insert(key.to_string(), document.clone());
    }
}

fn refused(message: String, limit: Option<&str>) -> ServerError {
    refused_as(message, "query", limit)
}

fn refused_as(message: String, field: &str, limit: Option<&str>) -> ServerError {
    let mut err = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", "BAD_USER_INPUT");
    ext.set("field", field);
    if let Some(limit) = limit {
        ext.set("limit", limit);
    }
    err.extensions = Some(ext);
    err
}

fn too_much(TooMuch(message, limit): TooMuch) -> ServerError {
    refused(message, Some(limit))
}
