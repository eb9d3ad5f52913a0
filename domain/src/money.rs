//! Money as fixed-point integers: ten-thousandths of the currency unit.
//! Stored in BIGINT columns so SQL sums are exact on SQLite and PostgreSQL
//! alike; never a float anywhere on the path.

use std::fmt;

use rust_decimal::Decimal as RustDecimal;

/// Scale of stored amounts: 1 unit = 10^4 stored.
pub const SCALE: u32 = 4;
const FACTOR: i64 = 10_000;
/// Largest accepted amount (in units): far beyond any referral, and small
/// enough that sums of hundreds of thousands of them stay within BIGINT.
const MAX_UNITS: i64 = 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn from_stored(e4: i64) -> Money {
        Money(e4)
    }

    pub fn stored(self) -> i64 {
        self.0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Parses "1250", "1250.5", "1250.00"; refuses signs other than a leading
    /// '-', exponents, more than 4 decimals and absurd magnitudes.
    pub fn parse(raw: &str) -> Result<Money, String> {
        let s = raw.trim();
        let bad = || format!("{raw:?} is not a decimal amount such as \"1250.00\"");
        let valid_chars = !s.is_empty()
            && s.chars()
                .enumerate()
                .all(|(i, c)| c.is_ascii_digit() || c == '.' || (c == '-' && i == 0));
        if !valid_chars
            || s.matches('.').count() > 1
            || s == "-"
            || s.ends_with('.')
            || s.starts_with('.')
        {
            return Err(bad());
        }
        let d: RustDecimal = s.parse().map_err(|_| bad())?;
        if d.scale() > SCALE {
            return Err(format!("{raw:?} has more than {SCALE} decimal places"));
        }
        let scaled = d * RustDecimal::from(FACTOR);
        let units: i64 = scaled.trunc().try_into().map_err(|_| bad())?;
        if units.abs() > MAX_UNITS * FACTOR {
            return Err(format!("{raw:?} is too large"));
        }
        Ok(Money(units))
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }
}

impl fmt::Display for Money {
    /// At least two decimals ("1250.00"), more only when the amount has them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = RustDecimal::new(self.0, SCALE);
        d = d.normalize();
        if d.scale() < 2 {
            d.rescale(2);
        }
        write!(f, "{d}")
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(iter.map(|m| m.0).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        assert_eq!(Money::parse("1250").unwrap().to_string(), "1250.00");
        assert_eq!(Money::parse("1250.5").unwrap().to_string(), "1250.50");
        assert_eq!(Money::parse("0.0001").unwrap().to_string(), "0.0001");
        assert_eq!(Money::parse("-3.10").unwrap().to_string(), "-3.10");
        assert_eq!(Money::parse("1250.00").unwrap().stored(), 12_500_000);
        for bad in [
            "", "abc", "1e5", "1.2.3", "+5", "1.00001", ".5", "5.", "-", "NaN", "1 000",
        ] {
            assert!(Money::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(Money::parse("99999999999999999999").is_err());
    }
}
