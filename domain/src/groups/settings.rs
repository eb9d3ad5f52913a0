//! A group's cadence settings: what follow-ups, parking and referral
//! requests are scheduled by, and the rule for changing them.

use chrono::{Duration, Months, NaiveDate, Utc};
use entities::group;
use sea_orm::{ActiveModelTrait, EntityTrait, QuerySelect, Set, TransactionTrait};

use crate::access::require_group_leader;
use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::validation::id;

pub const FOLLOW_UP_DAYS: std::ops::RangeInclusive<i32> = 1..=90;
pub const UNANSWERED_LIMIT: std::ops::RangeInclusive<i32> = 1..=20;
pub const REVISIT_DAYS: std::ops::RangeInclusive<i32> = 1..=730;
pub const REASK_DAYS: std::ops::RangeInclusive<i32> = 7..=365;
/// SPEC.md: a parked referral comes back six months later unless the
/// group's leaders set a number of days.
pub const DEFAULT_REVISIT_MONTHS: u32 = 6;
pub const DEFAULT_FOLLOW_UP_DAYS: i32 = 7;
pub const DEFAULT_UNANSWERED_LIMIT: i32 = 4;
/// Referral requests come back after this many days by default.
pub const DEFAULT_REASK_DAYS: i32 = 90;

/// When a parked referral comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revisit {
    Months(u32),
    Days(i64),
}

impl Revisit {
    pub fn after(self, day: NaiveDate) -> NaiveDate {
        match self {
            Revisit::Months(m) => day.checked_add_months(Months::new(m)).unwrap_or(day),
            Revisit::Days(d) => day + Duration::days(d),
        }
    }

    /// The delay in days when counted from `day`.
    pub fn days_from(self, day: NaiveDate) -> i64 {
        (self.after(day) - day).num_days()
    }
}

/// The settings in force for a group (or for a referral with no group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    pub interval_days: i64,
    pub max_unanswered: i32,
    pub revisit: Revisit,
    pub reask_days: i64,
}

impl Default for Cadence {
    fn default() -> Cadence {
        Cadence {
            interval_days: i64::from(DEFAULT_FOLLOW_UP_DAYS),
            max_unanswered: DEFAULT_UNANSWERED_LIMIT,
            revisit: Revisit::Months(DEFAULT_REVISIT_MONTHS),
            reask_days: i64::from(DEFAULT_REASK_DAYS),
        }
    }
}

impl Cadence {
    pub fn of(g: &group::Model) -> Cadence {
        Cadence {
            interval_days: i64::from(g.follow_up_interval_days.max(1)),
            max_unanswered: g.follow_up_max_unanswered.max(1),
            revisit: match g.revisit_after_days {
                Some(d) => Revisit::Days(i64::from(d.max(1))),
                None => Revisit::Months(u32::try_from(g.revisit_after_months.max(1)).unwrap_or(6)),
            },
            reask_days: i64::from(g.reask_after_days.max(1)),
        }
    }
}

pub struct SettingsUpdate {
    pub group_id: String,
    pub follow_up_interval_days: Option<i32>,
    pub unanswered_limit: Option<i32>,
    pub revisit_after_days: Option<i32>,
    pub reask_after_days: Option<i32>,
    pub classification_exclusive: Option<bool>,
}

fn in_range(
    field: &str,
    value: Option<i32>,
    range: std::ops::RangeInclusive<i32>,
) -> DomainResult<()> {
    match value {
        Some(v) if !range.contains(&v) => Err(DomainError::bad_input(
            field,
            format!(
                "{} must be between {} and {}",
                field.trim_start_matches("input."),
                range.start(),
                range.end()
            ),
        )),
        _ => Ok(()),
    }
}

/// Leaders of the group (and admins) change its settings. Values apply to
/// what is scheduled from now on; nothing already scheduled moves. Turning
/// classification exclusivity on while two active members share a
/// profession is `CONFLICT`.
pub async fn set_settings(
    state: &Ctx,
    caller: &Caller,
    input: SettingsUpdate,
) -> DomainResult<group::Model> {
    caller.member()?;
    let group_id = id("input.groupId", &input.group_id)?;
    let txn = state.db.begin().await?;
    // Locked (PostgreSQL) so a seating cannot slip in between the
    // exclusivity check and the switch.
    let current = group::Entity::find_by_id(group_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| DomainError::not_found("group"))?;
    // Who may change it comes before what they sent: others learn nothing
    // about the settings' rules.
    require_group_leader(&txn, caller, &current.id).await?;
    in_range(
        "input.followUpIntervalDays",
        input.follow_up_interval_days,
        FOLLOW_UP_DAYS,
    )?;
    in_range(
        "input.unansweredLimit",
        input.unanswered_limit,
        UNANSWERED_LIMIT,
    )?;
    in_range(
        "input.revisitAfterDays",
        input.revisit_after_days,
        REVISIT_DAYS,
    )?;
    in_range("input.reaskAfterDays", input.reask_after_days, REASK_DAYS)?;
    let mut active: group::ActiveModel = current.clone().into();
    if let Some(v) = input.follow_up_interval_days {
        active.follow_up_interval_days = Set(v);
    }
    if let Some(v) = input.unanswered_limit {
        active.follow_up_max_unanswered = Set(v);
    }
    if let Some(v) = input.revisit_after_days {
        active.revisit_after_days = Set(Some(v));
    }
    if let Some(v) = input.reask_after_days {
        active.reask_after_days = Set(v);
    }
    if let Some(on) = input.classification_exclusive {
        if on
            && !current.classification_exclusive
            && let Some(shared) = super::service::shared_profession(&txn, &current.id).await?
        {
            return Err(DomainError::Conflict(format!(
                "two active members of the group are both a {shared}"
            )));
        }
        active.classification_exclusive = Set(on);
    }
    let updated = if active.is_changed() {
        active.update(&txn).await?
    } else {
        current
    };
    txn.commit().await?;
    tracing::info!(group_id = %updated.id, at = %Utc::now(), "group settings changed");
    Ok(updated)
}
