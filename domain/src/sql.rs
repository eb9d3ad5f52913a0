//! Small SQL building blocks for aggregates (balances, reports), built with sea-query so they run
//! on SQLite and PostgreSQL alike (no backend-specific functions).

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, CaseStatement, Expr, Func, SimpleExpr};

/// `CAST(COALESCE(SUM(CASE WHEN cond THEN 1 ELSE 0 END), 0) AS BIGINT)`
pub fn count_if(cond: SimpleExpr) -> SimpleExpr {
    sum_of(
        CaseStatement::new()
            .case(cond, Expr::val(1))
            .finally(Expr::val(0))
            .into(),
    )
}

/// `CAST(COALESCE(SUM(CASE WHEN cond THEN value ELSE 0 END), 0) AS BIGINT)`
pub fn sum_if(cond: SimpleExpr, value: SimpleExpr) -> SimpleExpr {
    sum_of(
        CaseStatement::new()
            .case(cond, value)
            .finally(Expr::val(0))
            .into(),
    )
}

/// `CAST(COALESCE(SUM(expr), 0) AS BIGINT)`: an exact integer on both backends.
pub fn sum_of(expr: SimpleExpr) -> SimpleExpr {
    Func::cast_as(
        Func::coalesce([Func::sum(expr).into(), Expr::val(0)]),
        Alias::new("BIGINT"),
    )
    .into()
}

/// `CAST(COUNT(*) AS BIGINT)`
pub fn count_all() -> SimpleExpr {
    Func::cast_as(Func::count(Expr::cust("*")), Alias::new("BIGINT")).into()
}

/// Timestamps covering the dates `from..=to` (UTC days): `[start, end)`.
pub fn day_range(from: NaiveDate, to: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = from
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_default();
    let end = to
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    (start, end)
}
