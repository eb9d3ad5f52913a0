//! Relay connections: `first`/`after`, edges with cursors, `pageInfo`,
//! `totalCount`. Cursors are opaque (base64 of a position in a stable order).

use async_graphql::SimpleObject;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{ApiError, ApiResult};

pub const MAX_PAGE: i32 = 100;
pub const DEFAULT_PAGE: i32 = 20;

#[derive(SimpleObject, Clone)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// A page of nodes with cursors, turned into a concrete `…Connection` type
/// by `connection_type!` (async-graphql needs one named type per node kind).
pub struct Paged<T> {
    pub total_count: i32,
    pub page_info: PageInfo,
    pub edges: Vec<(String, T)>,
}

/// Declares `$conn` and `$edge` GraphQL types for node type `$node`.
#[macro_export]
macro_rules! connection_type {
    ($conn:ident, $edge:ident, $node:ty) => {
        #[derive(async_graphql::SimpleObject)]
        pub struct $edge {
            pub cursor: String,
            pub node: $node,
        }

        #[derive(async_graphql::SimpleObject)]
        pub struct $conn {
            pub total_count: i32,
            pub page_info: $crate::graphql::connection::PageInfo,
            pub edges: Vec<$edge>,
        }

        impl From<$crate::graphql::connection::Paged<$node>> for $conn {
            fn from(p: $crate::graphql::connection::Paged<$node>) -> Self {
                $conn {
                    total_count: p.total_count,
                    page_info: p.page_info,
                    edges: p
                        .edges
                        .into_iter()
                        .map(|(cursor, node)| $edge { cursor, node })
                        .collect(),
                }
            }
        }
    };
}

/// Which slice of an ordered list a client asked for.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub offset: u64,
    pub limit: u64,
}

impl Page {
    pub fn from_args(first: Option<i32>, after: Option<&str>) -> ApiResult<Page> {
        let first = first.unwrap_or(DEFAULT_PAGE);
        if !(0..=MAX_PAGE).contains(&first) {
            return Err(ApiError::bad_input(
                "first",
                format!("first must be between 0 and {MAX_PAGE}"),
            ));
        }
        let offset = match after {
            None => 0,
            Some(cursor) => decode_cursor(cursor)? + 1,
        };
        Ok(Page {
            offset,
            limit: first as u64,
        })
    }

    /// Builds the connection from this page's items and the list's total size.
    pub fn connection<T, C: From<Paged<T>>>(self, items: Vec<T>, total: u64) -> C {
        let edges: Vec<(String, T)> = items
            .into_iter()
            .enumerate()
            .map(|(i, node)| (encode_cursor(self.offset + i as u64), node))
            .collect();
        let page_info = PageInfo {
            has_next_page: self.offset + (edges.len() as u64) < total,
            has_previous_page: self.offset > 0,
            start_cursor: edges.first().map(|e| e.0.clone()),
            end_cursor: edges.last().map(|e| e.0.clone()),
        };
        C::from(Paged {
            total_count: i32::try_from(total).unwrap_or(i32::MAX),
            page_info,
            edges,
        })
    }
}

fn encode_cursor(position: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("o:{position}"))
}

fn decode_cursor(cursor: &str) -> ApiResult<u64> {
    let bad = || ApiError::bad_input("after", "after is not a cursor from this list");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix("o:")
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|n| *n < 1_000_000_000)
        .ok_or_else(bad)
}
