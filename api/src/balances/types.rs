use async_graphql::SimpleObject;

use crate::graphql::scalars::Decimal;

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
