//! The contract's scalars: `Date` (YYYY-MM-DD) and `Decimal` (money as a
//! string, never a float). `DateTime` is async-graphql's RFC 3339 scalar.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

use domain::money::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .filter(|_| s.len() == 10)
                .map(Date)
                .ok_or_else(|| {
                    InputValueError::custom(format!("{s:?} is not a date in the form YYYY-MM-DD"))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<NaiveDate> for Date {
    fn from(d: NaiveDate) -> Self {
        Date(d)
    }
}

/// Money on the wire: a decimal string such as "1250.00".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal(pub Money);

#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            // Numbers are refused on purpose: JSON numbers are floats to most clients.
            Value::String(s) => Money::parse(s)
                .map(Decimal)
                .map_err(InputValueError::custom),
            _ => Err(InputValueError::custom(
                "money must be a decimal string such as \"1250.00\"",
            )),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}
