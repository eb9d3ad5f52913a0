//! Which slice of an ordered list a client asked for (`first`/`after`), and
//! the opaque cursors that name positions in it. The GraphQL layer turns a
//! page of items into a Relay connection.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{DomainError, DomainResult};

pub const MAX_PAGE: i32 = 100;
pub const DEFAULT_PAGE: i32 = 20;

#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub offset: u64,
    pub limit: u64,
}

/// One page of a list, with the list's total size and its cursors.
#[derive(Debug, Clone)]
pub struct Paged<T> {
    pub total_count: i32,
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub edges: Vec<(String, T)>,
}

impl<T> Paged<T> {
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            total_count: self.total_count,
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
            edges: self.edges.into_iter().map(|(c, t)| (c, f(t))).collect(),
        }
    }
}

impl Page {
    pub fn from_args(first: Option<i32>, after: Option<&str>) -> DomainResult<Page> {
        let first = first.unwrap_or(DEFAULT_PAGE);
        if !(0..=MAX_PAGE).contains(&first) {
            return Err(DomainError::bad_input(
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

    /// This page's items with their cursors, and the list's total size.
    pub fn paged<T>(self, items: Vec<T>, total: u64) -> Paged<T> {
        let edges: Vec<(String, T)> = items
            .into_iter()
            .enumerate()
            .map(|(i, node)| (encode_cursor(self.offset + i as u64), node))
            .collect();
        Paged {
            total_count: i32::try_from(total).unwrap_or(i32::MAX),
            has_next_page: self.offset + (edges.len() as u64) < total,
            has_previous_page: self.offset > 0,
            edges,
        }
    }
}

fn encode_cursor(position: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("o:{position}"))
}

fn decode_cursor(cursor: &str) -> DomainResult<u64> {
    let bad = || DomainError::bad_input("after", "after is not a cursor from this list");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix("o:")
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|n| *n < 1_000_000_000)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_pages_know_their_neighbours() {
        let page = Page::from_args(Some(2), None).unwrap();
        let paged = page.paged(vec!["a", "b"], 5);
        assert!(paged.has_next_page && !paged.has_previous_page);
        let next = Page::from_args(Some(2), Some(&paged.edges[1].0)).unwrap();
        assert_eq!(next.offset, 2);
        assert!(Page::from_args(Some(101), None).is_err());
        assert!(Page::from_args(None, Some("bm9wZQ")).is_err());
    }
}
