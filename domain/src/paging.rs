//! Which slice of an ordered list a client asked for (`first`/`after`), and
//! the opaque cursors that name positions in it. The GraphQL layer turns a
//! page of items into a Relay connection.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryResult, QuerySelect,
    QueryTrait, Select,
};

use crate::error::{DomainError, DomainResult};

pub const MAX_PAGE: i32 = 100;
pub const DEFAULT_PAGE: i32 = 20;

#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub offset: u64,
    pub limit: u64,
    /// Whether the client asked for the list's total. Without it a page
    /// reads one row past its end, to know whether there is a next page,
    /// and the list is not counted.
    pub with_total: bool,
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
            with_total: true,
        })
    }

    /// The same page, with the list counted only if `asked`.
    pub fn counting(self, asked: bool) -> Page {
        Page {
            with_total: asked,
            ..self
        }
    }

    /// After reading up to `limit + 1` rows for a page that did not ask for
    /// its total: drops the extra row and gives the count the page's
    /// cursors need (past this page exactly when there is a next one).
    pub fn seen<T>(self, rows: &mut Vec<T>) -> u64 {
        let seen = self.offset + rows.len() as u64;
        rows.truncate(self.limit as usize);
        seen
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

/// One page of what `q` selects, put in order by `order`, with the list's
/// total when the page asks for it (counted in the same statement, see
/// [`count_of`]). Without the total, the count returned only tells the
/// page's cursors whether a next page exists (see [`Page::seen`]).
pub async fn read<E, C>(
    db: &C,
    q: Select<E>,
    order: impl FnOnce(Select<E>) -> Select<E>,
    page: Page,
) -> DomainResult<(Vec<E::Model>, u64)>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    C: ConnectionTrait,
{
    if !page.with_total {
        let mut rows = order(q)
            .offset(page.offset)
            .limit(page.limit + 1)
            .all(db)
            .await?;
        let seen = page.seen(&mut rows);
        return Ok((rows, seen));
    }
    if page.limit == 0 {
        return Ok((Vec::new(), q.count(db).await?));
    }
    let rows = order(q.clone())
        .column_as(count_of(&q), TOTAL)
        .offset(page.offset)
        .limit(page.limit)
        .into_model::<Counted<E::Model>>()
        .all(db)
        .await?;
    let total = match rows.first() {
        Some(first) => first.total.max(0) as u64,
        // Past the end (or nothing at all): no row came back to carry it.
        None if page.offset == 0 => 0,
        None => q.count(db).await?,
    };
    Ok((rows.into_iter().map(|r| r.row).collect(), total))
}

/// The column a page's rows carry the list's count in.
pub const TOTAL: &str = "rx_total";

/// How many rows `q` selects, as a scalar subquery for a page's statement to
/// carry in [`TOTAL`]. Both databases evaluate it once per statement, and it
/// counts from an index where one fits (PostgreSQL: an index-only scan),
/// while the page reads its own rows only; a window count would have read
/// and sorted every row the filter selects before the page could be cut.
pub fn count_of<E: EntityTrait>(q: &Select<E>) -> Expr {
    let count = q
        .clone()
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), TOTAL)
        .into_query();
    Expr::SubQuery(None, Box::new(count.into()))
}

/// A row and the list's count it carries.
struct Counted<M> {
    row: M,
    total: i64,
}

impl<M: FromQueryResult> FromQueryResult for Counted<M> {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, sea_orm::DbErr> {
        Ok(Counted {
            row: M::from_query_result(res, pre)?,
            total: res.try_get(pre, TOTAL)?,
        })
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

    #[test]
    fn a_page_without_its_total_knows_its_next_page_from_one_row_more() {
        let page = Page::from_args(Some(2), None).unwrap().counting(false);
        // Three rows read for a page of two: a next page, the third dropped.
        let mut rows = vec!["a", "b", "c"];
        let seen = page.seen(&mut rows);
        assert_eq!(rows, ["a", "b"]);
        assert!(page.paged(rows, seen).has_next_page);
        // Two read: the list ends here.
        let mut rows = vec!["a", "b"];
        let seen = page.seen(&mut rows);
        assert!(!page.paged(rows, seen).has_next_page);
        // A page past the start that reads nothing has no next page.
        let later = Page { offset: 4, ..page };
        let mut rows: Vec<&str> = Vec::new();
        let seen = later.seen(&mut rows);
        let paged = later.paged(rows, seen);
        assert!(!paged.has_next_page && paged.has_previous_page);
    }
}
