use async_graphql::SimpleObject;

use crate::graphql::scalars::Decimal;
use crate::money::Money;

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

impl Balance {
    pub fn new(given: i64, received: i64, given_value: Money, received_value: Money) -> Balance {
        Balance {
            given: given as i32,
            received: received as i32,
            given_value: Decimal(given_value),
            received_value: Decimal(received_value),
            net: (given - received) as i32,
        }
    }
}
