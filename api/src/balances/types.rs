use async_graphql::SimpleObject;

use crate::error::{ApiError, ApiResult};
use crate::graphql::scalars::{Date, Decimal};
use domain::balances::service::Period;

/// A balance's optional `from`/`to` arguments: both (in order) or neither.
pub fn period(from: Option<Date>, to: Option<Date>) -> ApiResult<Period> {
    match (from, to) {
        (None, None) => Ok(None),
        (Some(from), Some(to)) if from <= to => Ok(Some((from.0, to.0))),
        (Some(_), Some(_)) => Err(ApiError::bad_input("to", "to is before from")),
        _ => Err(ApiError::bad_input(
            "from",
            "give both from and to, or neither",
        )),
    }
}

/// An optional `currency` argument: an ISO 4217 code.
pub fn currency(currency: Option<String>) -> ApiResult<Option<String>> {
    currency
        .map(|c| {
            domain::groups::currency::parse(&c).ok_or_else(|| {
                ApiError::bad_input("currency", "currency must be an ISO 4217 code such as EUR")
            })
        })
        .transpose()
}

/// One currency's figures: counts and values of the referrals valued in it.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct CurrencyBalance {
    /// ISO 4217 code of the group the referrals belong to.
    pub currency: String,
    pub given: i32,
    pub received: i32,
    pub given_value: Decimal,
    pub received_value: Decimal,
    /// given − received
    pub net: i32,
}

impl CurrencyBalance {
    pub fn new(currency: String, b: domain::balances::service::Balance) -> CurrencyBalance {
        let b = Balance::from(b);
        CurrencyBalance {
            currency,
            given: b.given,
            received: b.received,
            given_value: b.given_value,
            received_value: b.received_value,
            net: b.net,
        }
    }
}

/// Counts exclude withdrawn referrals; values are WON closed business only.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub given: i32,
    pub received: i32,
    pub given_value: Decimal,
    pub received_value: Decimal,
    /// given − received
    pub net: i32,
}

impl From<domain::balances::service::Balance> for Balance {
    fn from(b: domain::balances::service::Balance) -> Balance {
        Balance {
            given: b.given as i32,
            received: b.received as i32,
            given_value: Decimal(b.given_value),
            received_value: Decimal(b.received_value),
            net: b.net() as i32,
        }
    }
}
