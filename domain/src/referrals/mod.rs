//! Referrals: giving, the lifecycle, follow-up cadence, thanks, presence and
//! absence, delegation, and the lists members read. A reader looks for:
//! `giving` (new referrals), `moves` (advance, follow-up, thanks),
//! `standing` (who may act), `queries` (lists, inbox), and the pure rules
//! `lifecycle` and `presence`.

use chrono::{NaiveDate, Utc};

mod events;
pub mod giving;
pub mod lifecycle;
pub mod moves;
pub mod presence;
pub mod prospect;
pub mod queries;
pub mod redecide;
mod routing;
pub mod standing;

pub use giving::*;
pub use moves::*;
pub use prospect::*;
pub use queries::*;
pub use standing::*;

pub(crate) fn today() -> NaiveDate {
    Utc::now().date_naive()
}
