//! Balance figures. Each side is one aggregate query (COUNT and a SUM over
//! integer fixed-point values), so nothing is summed in memory or in floats.

use chrono::NaiveDate;
use entities::{ReferralStatus, referral};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::error::DomainResult;
use crate::money::Money;
use crate::sql::{count_all, count_if, sum_if};

/// A two-way balance. Counts exclude withdrawn referrals; values are WON
/// closed business only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance {
    pub given: i64,
    pub received: i64,
    pub given_value: Money,
    pub received_value: Money,
}

impl Balance {
    pub fn new(given: i64, received: i64, given_value: Money, received_value: Money) -> Balance {
        Balance {
            given,
            received,
            given_value,
            received_value,
        }
    }

    /// given − received
    pub fn net(&self) -> i64 {
        self.given - self.received
    }
}

/// Closed business: the sum of WON referrals' values (exact, BIGINT).
fn won_value() -> SimpleExpr {
    sum_if(
        referral::Column::Status.eq(ReferralStatus::Won),
        Expr::col(referral::Column::ClosedValueE4),
    )
}

/// Inclusive date range on `created_at`; `None` is all time.
pub type Period = Option<(NaiveDate, NaiveDate)>;

/// Referrals made within the period (dates inclusive, UTC); all when `None`.
fn in_period(period: Period) -> sea_orm::Condition {
    match period {
        None => sea_orm::Condition::all(),
        Some((from, to)) => {
            let (start, end) = crate::sql::day_range(from, to);
            sea_orm::Condition::all()
                .add(referral::Column::CreatedAt.gte(start))
                .add(referral::Column::CreatedAt.lt(end))
        }
    }
}

/// A member's balance in one currency: counts of every referral (counts
/// know no currency), values of closed business in that currency only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberBalance {
    pub currency: String,
    pub balance: Balance,
    /// Each currency the member's closed business is in, with its figures
    /// (counts and values of that currency's referrals only), by code.
    pub by_currency: Vec<(String, Balance)>,
}

/// ISO 4217's code for "no currency", for a member with no group at all.
pub const NO_CURRENCY: &str = "XXX";

/// The currency a member's figures are shown in by default: that of their
/// longest-held active seat's group (else their latest seat's).
pub async fn home_currency(db: &impl ConnectionTrait, member_id: &str) -> DomainResult<String> {
    let mut homes = home_currencies(db, &[member_id.to_string()]).await?;
    Ok(homes
        .remove(member_id)
        .unwrap_or_else(|| NO_CURRENCY.to_string()))
}

/// The home-currency rule over one member's seats, given as (seat, its
/// group's currency): the longest-held active seat's (earliest joined),
/// else the most recently ended one's; [`NO_CURRENCY`] without seats.
pub fn home_of<'a>(
    seats: impl IntoIterator<Item = (&'a entities::membership::Model, &'a str)>,
) -> String {
    seats
        .into_iter()
        .min_by(|(a, _), (b, _)| {
            (
                a.left_on.is_some(),
                std::cmp::Reverse(a.left_on),
                a.joined_on,
                &a.id,
            )
                .cmp(&(
                    b.left_on.is_some(),
                    std::cmp::Reverse(b.left_on),
                    b.joined_on,
                    &b.id,
                ))
        })
        .map_or_else(|| NO_CURRENCY.to_string(), |(_, c)| c.to_string())
}

/// [`home_currency`] of several members in one query (members without any
/// seat are left out: their home is [`NO_CURRENCY`]).
pub async fn home_currencies(
    db: &impl ConnectionTrait,
    member_ids: &[String],
) -> DomainResult<std::collections::HashMap<String, String>> {
    use entities::{group, membership};
    use sea_orm::QueryOrder;
    let rows: Vec<(String, String)> = membership::Entity::find()
        .select_only()
        .column(membership::Column::MemberId)
        .column(group::Column::Currency)
        .inner_join(group::Entity)
        .filter(membership::Column::MemberId.is_in(member_ids.iter().cloned()))
        .order_by_asc(membership::Column::LeftOn.is_not_null())
        .order_by_desc(membership::Column::LeftOn)
        .order_by_asc(membership::Column::JoinedOn)
        .order_by_asc(membership::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut out = std::collections::HashMap::new();
    for (member, currency) in rows {
        // Rows come best first: keep each member's first.
        out.entry(member).or_insert(currency);
    }
    Ok(out)
}

/// The member's balance over the period, values in `currency` (default:
/// the home currency), and the figures per currency. Money is never added
/// across currencies. `home` is the member's home currency when the caller
/// already knows it (from seats it has read); else it is looked up.
pub async fn for_member(
    db: &impl ConnectionTrait,
    member_id: &str,
    period: Period,
    currency: Option<String>,
    home: Option<String>,
) -> DomainResult<MemberBalance> {
    use entities::group;
    let gave = || referral::Column::GiverMemberId.eq(member_id);
    let got = || referral::Column::ReceiverMemberId.eq(member_id);
    let won = || referral::Column::Status.eq(ReferralStatus::Won);
    let value = || Expr::col(referral::Column::ClosedValueE4);
    // Both sides in one pass over the member's referrals, per currency.
    let rows: Vec<(Option<String>, i64, i64, i64, i64)> = referral::Entity::find()
        .select_only()
        .column(group::Column::Currency)
        .column_as(count_if(gave()), "given")
        .column_as(
            sum_if(sea_orm::sea_query::ExprTrait::and(gave(), won()), value()),
            "given_value",
        )
        .column_as(count_if(got()), "received")
        .column_as(
            sum_if(sea_orm::sea_query::ExprTrait::and(got(), won()), value()),
            "received_value",
        )
        .left_join(group::Entity)
        .filter(sea_orm::Condition::any().add(gave()).add(got()))
        .filter(referral::Column::Status.ne(ReferralStatus::Withdrawn))
        .filter(in_period(period))
        .group_by(group::Column::Currency)
        .into_tuple()
        .all(db)
        .await?;
    let home = match home {
        Some(home) => home,
        None => home_currency(db, member_id).await?,
    };
    // A referral with no group counts in the home currency.
    let mut per: std::collections::BTreeMap<String, Balance> = std::collections::BTreeMap::new();
    for (code, g, gv, r, rv) in rows {
        let b = per
            .entry(code.unwrap_or_else(|| home.clone()))
            .or_insert(Balance::new(0, 0, Money::ZERO, Money::ZERO));
        b.given += g;
        b.received += r;
        b.given_value = Money::from_stored(b.given_value.stored() + gv);
        b.received_value = Money::from_stored(b.received_value.stored() + rv);
    }
    let by_currency: Vec<(String, Balance)> = per
        .into_iter()
        .filter(|(_, b)| b.given > 0 || b.received > 0)
        .collect();
    let currency = currency.unwrap_or(home);
    let in_currency = by_currency
        .iter()
        .find(|(c, _)| *c == currency)
        .map(|(_, b)| *b);
    let balance = Balance::new(
        by_currency.iter().map(|(_, b)| b.given).sum(),
        by_currency.iter().map(|(_, b)| b.received).sum(),
        in_currency.map_or(Money::ZERO, |b| b.given_value),
        in_currency.map_or(Money::ZERO, |b| b.received_value),
    );
    Ok(MemberBalance {
        currency,
        balance,
        by_currency,
    })
}

/// Each firm's balance with its group: what it gave members and what
/// members gave it, over the period (all time when `None`). Two grouped
/// queries for any number of firms; a firm's referrals are all in its
/// group's currency.
pub async fn for_firms(
    db: &impl ConnectionTrait,
    firm_ids: &[String],
    period: Period,
) -> DomainResult<std::collections::HashMap<String, Balance>> {
    let mut given = std::collections::HashMap::new();
    let mut received = std::collections::HashMap::new();
    for (column, out) in [
        (referral::Column::GiverFirmId, &mut given),
        (referral::Column::ReceiverFirmId, &mut received),
    ] {
        let rows: Vec<(Option<String>, i64, i64)> = referral::Entity::find()
            .select_only()
            .column(column)
            .column_as(count_all(), "n")
            .column_as(won_value(), "value")
            .filter(column.is_in(firm_ids.iter().cloned()))
            .filter(referral::Column::Status.ne(ReferralStatus::Withdrawn))
            .filter(in_period(period))
            .group_by(column)
            .into_tuple()
            .all(db)
            .await?;
        for (firm, n, value) in rows {
            if let Some(firm) = firm {
                out.insert(firm, (n, Money::from_stored(value)));
            }
        }
    }
    Ok(firm_ids
        .iter()
        .map(|id| {
            let (g, gv) = given.get(id).copied().unwrap_or((0, Money::ZERO));
            let (r, rv) = received.get(id).copied().unwrap_or((0, Money::ZERO));
            (id.clone(), Balance::new(g, r, gv, rv))
        })
        .collect())
}

/// The other side of a partnership.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Counterpart {
    Member(String),
    Contact(String),
}

/// Exchange figures between a member and one counterpart.
#[derive(Debug, Clone, Default)]
pub struct PairStats {
    pub given: i64,
    pub received: i64,
    pub given_recent: i64,
    pub received_recent: i64,
    pub last_exchange_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Counts and values per currency of the referrals' group (`None`: an
    /// outside referral made with no group, valued in the owner's home
    /// currency). Values are kept only here: money is never added across
    /// currencies.
    pub by_currency: std::collections::BTreeMap<Option<String>, Balance>,
}

impl PairStats {
    fn add(&mut self, currency: Option<String>, gave: bool, n: i64, value: i64, recent: i64) {
        let value = Money::from_stored(value);
        let entry = self
            .by_currency
            .entry(currency)
            .or_insert_with(|| Balance::new(0, 0, Money::ZERO, Money::ZERO));
        if gave {
            self.given += n;
            self.given_recent += recent;
            entry.given += n;
            entry.given_value = Money::from_stored(entry.given_value.stored() + value.stored());
        } else {
            self.received += n;
            self.received_recent += recent;
            entry.received += n;
            entry.received_value =
                Money::from_stored(entry.received_value.stored() + value.stored());
        }
    }

    /// The one currency every referral of the pair is valued in, when that
    /// is known without asking the database.
    fn single_currency(&self) -> Option<&str> {
        match self.by_currency.keys().collect::<Vec<_>>().as_slice() {
            [Some(c)] => Some(c),
            _ => None,
        }
    }

    /// One side gave ≥ 3 in the recent window while the other gave nothing.
    pub fn one_way(&self) -> bool {
        (self.given_recent >= ONE_WAY_MIN && self.received_recent == 0)
            || (self.received_recent >= ONE_WAY_MIN && self.given_recent == 0)
    }
}

pub const ONE_WAY_MIN: i64 = 3;

/// Figures between `member_id` and each counterpart, in two grouped
/// queries whatever the number of counterparts. `recent_since` bounds the
/// window used for the one-way flag.
pub async fn pair_stats(
    db: &impl ConnectionTrait,
    member_id: &str,
    counterparts: &[Counterpart],
    recent_since: chrono::DateTime<chrono::Utc>,
    period: Period,
) -> DomainResult<std::collections::HashMap<Counterpart, PairStats>> {
    use std::collections::HashMap;
    let members: Vec<String> = counterparts
        .iter()
        .filter_map(|c| match c {
            Counterpart::Member(m) => Some(m.clone()),
            Counterpart::Contact(_) => None,
        })
        .collect();
    let contacts: Vec<String> = counterparts
        .iter()
        .filter_map(|c| match c {
            Counterpart::Contact(c) => Some(c.clone()),
            Counterpart::Member(_) => None,
        })
        .collect();
    let mut out: HashMap<Counterpart, PairStats> = counterparts
        .iter()
        .map(|c| (c.clone(), PairStats::default()))
        .collect();
    // Built with sea-query (not raw SQL) so the bound timestamp gets each
    // backend's placeholder syntax.
    let recent = count_if(referral::Column::CreatedAt.gte(recent_since));
    type Row = (
        Option<String>,
        Option<String>,
        Option<String>,
        i64,
        i64,
        i64,
        Option<chrono::DateTime<chrono::Utc>>,
    );
    type ContactRow = (
        Option<String>,
        Option<String>,
        Option<String>,
        i64,
        i64,
        i64,
        Option<chrono::DateTime<chrono::Utc>>,
    );
    if !members.is_empty() {
        let rows: Vec<Row> = referral::Entity::find()
            .select_only()
            .column(referral::Column::GiverMemberId)
            .column(referral::Column::ReceiverMemberId)
            .column(entities::group::Column::Currency)
            .column_as(count_all(), "n")
            .column_as(won_value(), "value")
            .column_as(recent.clone(), "recent")
            .column_as(referral::Column::CreatedAt.max(), "last")
            .filter(referral::Column::Status.ne(ReferralStatus::Withdrawn))
            .filter(in_period(period))
            .filter(
                sea_orm::Condition::any()
                    .add(
                        sea_orm::Condition::all()
                            .add(referral::Column::GiverMemberId.eq(member_id))
                            .add(referral::Column::ReceiverMemberId.is_in(members.clone())),
                    )
                    .add(
                        sea_orm::Condition::all()
                            .add(referral::Column::ReceiverMemberId.eq(member_id))
                            .add(referral::Column::GiverMemberId.is_in(members.clone())),
                    ),
            )
            .left_join(entities::group::Entity)
            .group_by(referral::Column::GiverMemberId)
            .group_by(referral::Column::ReceiverMemberId)
            .group_by(entities::group::Column::Currency)
            .into_tuple()
            .all(db)
            .await?;
        for (giver, receiver, currency, n, value, recent, last) in rows {
            let (other, gave) = if giver.as_deref() == Some(member_id) {
                (receiver, true)
            } else {
                (giver, false)
            };
            let Some(stats) = other.and_then(|o| out.get_mut(&Counterpart::Member(o))) else {
                continue;
            };
            stats.add(currency, gave, n, value, recent);
            stats.last_exchange_at = stats.last_exchange_at.max(last);
        }
    }
    if !contacts.is_empty() {
        // Both ways: what the contact gave the member (recorded by the
        // member) and what the member gave the contact.
        let rows: Vec<ContactRow> = referral::Entity::find()
            .select_only()
            .column(referral::Column::GiverContactId)
            .column(referral::Column::ReceiverContactId)
            .column(entities::group::Column::Currency)
            .column_as(count_all(), "n")
            .column_as(won_value(), "value")
            .column_as(recent, "recent")
            .column_as(referral::Column::CreatedAt.max(), "last")
            .filter(referral::Column::Status.ne(ReferralStatus::Withdrawn))
            .filter(in_period(period))
            .filter(
                sea_orm::Condition::any()
                    .add(
                        sea_orm::Condition::all()
                            .add(referral::Column::ReceiverMemberId.eq(member_id))
                            .add(referral::Column::GiverContactId.is_in(contacts.clone())),
                    )
                    .add(
                        sea_orm::Condition::all()
                            .add(referral::Column::GiverMemberId.eq(member_id))
                            .add(referral::Column::ReceiverContactId.is_in(contacts)),
                    ),
            )
            .left_join(entities::group::Entity)
            .group_by(referral::Column::GiverContactId)
            .group_by(referral::Column::ReceiverContactId)
            .group_by(entities::group::Column::Currency)
            .into_tuple()
            .all(db)
            .await?;
        for (giver_contact, receiver_contact, currency, n, value, recent, last) in rows {
            let (contact, gave) = match (giver_contact, receiver_contact) {
                (Some(c), _) => (c, false),
                (None, Some(c)) => (c, true),
                (None, None) => continue,
            };
            let Some(stats) = out.get_mut(&Counterpart::Contact(contact)) else {
                continue;
            };
            stats.add(currency, gave, n, value, recent);
            stats.last_exchange_at = stats.last_exchange_at.max(last);
        }
    }
    Ok(out)
}

impl PairStats {
    /// Whether showing this pair's balance needs the owner's home currency:
    /// some referral has no group, or no currency was asked for and the
    /// pair's referrals are not all in one.
    pub fn needs_home(&self, currency_given: bool) -> bool {
        self.by_currency.contains_key(&None)
            || (!currency_given && self.single_currency().is_none())
    }

    /// A partnership's balance as a member's is shown: counts of every
    /// referral, values only in `currency` (default: the one currency the
    /// pair's referrals are in, else the owner's `home` currency, which
    /// [`PairStats::needs_home`] says when to look up), and each currency's
    /// figures.
    pub fn balance_in(&self, currency: Option<String>, home: Option<&str>) -> MemberBalance {
        let home = home
            .or(self.single_currency())
            .unwrap_or(NO_CURRENCY)
            .to_string();
        let mut merged: std::collections::BTreeMap<String, Balance> =
            std::collections::BTreeMap::new();
        for (c, b) in &self.by_currency {
            let e = merged
                .entry(c.clone().unwrap_or_else(|| home.clone()))
                .or_insert_with(|| Balance::new(0, 0, Money::ZERO, Money::ZERO));
            e.given += b.given;
            e.received += b.received;
            e.given_value = Money::from_stored(e.given_value.stored() + b.given_value.stored());
            e.received_value =
                Money::from_stored(e.received_value.stored() + b.received_value.stored());
        }
        let currency = currency.unwrap_or(home);
        let in_currency = merged.get(&currency).copied();
        MemberBalance {
            balance: Balance::new(
                self.given,
                self.received,
                in_currency.map_or(Money::ZERO, |b| b.given_value),
                in_currency.map_or(Money::ZERO, |b| b.received_value),
            ),
            currency,
            by_currency: merged.into_iter().collect(),
        }
    }
}
