//! Balance figures. Each side is one aggregate query (COUNT and a SUM over
//! integer fixed-point values), so nothing is summed in memory or in floats.

use chrono::NaiveDate;
use entities::referral;
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::types::Balance;
use crate::error::ApiResult;
use crate::money::Money;

pub const STATUS_WON: &str = "WON";
pub const STATUS_WITHDRAWN: &str = "WITHDRAWN";

/// Inclusive date range on `created_at`; `None` is all time.
pub type Period = Option<(NaiveDate, NaiveDate)>;

/// (count, won value) of referrals matching `side`.
async fn side_totals(
    db: &impl ConnectionTrait,
    side: SimpleExpr,
    period: Period,
) -> ApiResult<(i64, Money)> {
    let mut query = referral::Entity::find()
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(CASE WHEN status = 'WON' THEN closed_value_e4 ELSE 0 END), 0) AS BIGINT)"),
            "value",
        )
        .filter(side)
        .filter(referral::Column::Status.ne(STATUS_WITHDRAWN));
    if let Some((from, to)) = period {
        let start = from.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        let end = to
            .succ_opt()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc());
        if let (Some(start), Some(end)) = (start, end) {
            query = query
                .filter(referral::Column::CreatedAt.gte(start))
                .filter(referral::Column::CreatedAt.lt(end));
        }
    }
    let row: Option<(i64, i64)> = query.into_tuple().one(db).await?;
    let (n, value) = row.unwrap_or((0, 0));
    Ok((n, Money::from_stored(value)))
}

pub async fn for_member(
    db: &impl ConnectionTrait,
    member_id: &str,
    period: Period,
) -> ApiResult<Balance> {
    let (given, given_value) =
        side_totals(db, referral::Column::GiverMemberId.eq(member_id), period).await?;
    let (received, received_value) =
        side_totals(db, referral::Column::ReceiverMemberId.eq(member_id), period).await?;
    Ok(Balance::new(given, received, given_value, received_value))
}
