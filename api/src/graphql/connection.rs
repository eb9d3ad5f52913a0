//! Relay connections: edges with cursors, `pageInfo`, `totalCount`, built
//! from the domain's `Page` (`first`/`after`, opaque cursors).

use async_graphql::{Context, SimpleObject};

use crate::error::ApiResult;

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

pub use domain::paging::Page;

/// The page a connection field's `first`/`after` ask for. The list is
/// counted only when the document asks for `totalCount` (look-ahead, which
/// sees through fragments); without it a page reads one row more to know
/// whether a next page exists, and costs no count.
pub fn page_of(ctx: &Context<'_>, first: Option<i32>, after: Option<&str>) -> ApiResult<Page> {
    let asked = ctx.look_ahead().field("totalCount").exists();
    Ok(Page::from_args(first, after)?.counting(asked))
}

/// Turns a page of nodes into a `…Connection` (see `connection_type!`).
pub trait IntoConnection {
    fn connection<T, C: From<Paged<T>>>(self, items: Vec<T>, total: u64) -> C;
}

impl IntoConnection for Page {
    fn connection<T, C: From<Paged<T>>>(self, items: Vec<T>, total: u64) -> C {
        let page = self.paged(items, total);
        let page_info = PageInfo {
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            start_cursor: page.edges.first().map(|e| e.0.clone()),
            end_cursor: page.edges.last().map(|e| e.0.clone()),
        };
        C::from(Paged {
            total_count: page.total_count,
            page_info,
            edges: page.edges,
        })
    }
}
