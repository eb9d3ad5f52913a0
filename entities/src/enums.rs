//! The typed values stored in text columns. These enums are the only place a
//! stored status, channel, role or kind is spelled: code compares enum items,
//! never strings. Reading a value no item names fails the query (sea-orm
//! reports it as an error) instead of falling back to a default, so a
//! corrupted or unexpected row can never read as, say, an advanceable status.

use sea_orm::entity::prelude::*;

/// Where a referral stands in its lifecycle (SPEC.md, Lifecycle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum ReferralStatus {
    Submitted,
    Accepted,
    Contacted,
    MeetingSet,
    Won,
    Lost,
    Declined,
    Parked,
    Withdrawn,
}

/// How a referral was passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum Channel {
    Meeting,
    OneToOne,
    Portal,
    PartnerApi,
}

/// Why the receiver did not take part in making a referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum AbsenceReason {
    MissedMeeting,
    Away,
    PartnerApi,
    Remote,
}

/// Whether won business is new to the receiver or repeat business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum BusinessKind {
    New,
    Repeat,
}

/// What a line of a referral's history records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum EventKind {
    Created,
    StatusChanged,
    FollowUp,
    Thanked,
    Delegated,
    /// Attendance recorded after the referral settled whether it was made in
    /// the receiver's absence (shown to clients as a STATUS_CHANGED without a
    /// status move: the contract's event kinds are fixed).
    PresenceChanged,
}

/// A member's presence at a meeting (the PALMS codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum AttendanceStatus {
    Present,
    Absent,
    Late,
    Medical,
    Substitute,
}

impl AttendanceStatus {
    /// In the room (PRESENT or LATE): referrals passed at the meeting were
    /// made in the member's presence (SPEC.md, presence and absence).
    pub fn was_present(self) -> bool {
        matches!(self, AttendanceStatus::Present | AttendanceStatus::Late)
    }
}

/// A person's answer to a referral request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum RequestResponse {
    Yes,
    NotNow,
    No,
}

/// A seat's role in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum Role {
    Member,
    Leader,
}

/// Who a member's contact is to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum ContactKind {
    Client,
    Professional,
    Prospect,
    Other,
}

/// The VCP stage of a partnership: visibility, credibility, profitability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum PartnershipStage {
    Visibility,
    Credibility,
    Profitability,
}

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
    Cancelled,
}

/// The referral events a partner firm's webhook hears of (the `event` field
/// of a delivery, as the receiving system sees it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum WebhookEventKind {
    #[sea_orm(string_value = "referral.created")]
    Created,
    #[sea_orm(string_value = "referral.status_changed")]
    StatusChanged,
    #[sea_orm(string_value = "referral.thanked")]
    Thanked,
}

/// What a partner firm's API token may do. A token stores its scopes as a
/// sorted comma-separated list of these values (see `api_token::Model::scopes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum ApiScope {
    ReferralsWrite,
    ReferralsRead,
    DirectoryRead,
}

impl ApiScope {
    /// The stored form of a scope list: sorted, without repeats, comma-separated.
    pub fn format_list(scopes: &[ApiScope]) -> String {
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        scopes
            .iter()
            .map(|s| s.to_value())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads a stored scope list. An item no scope names is an error rather
    /// than silently dropped, like every other stored enum.
    pub fn parse_list(stored: &str) -> Result<Vec<ApiScope>, DbErr> {
        let mut scopes = stored
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                ApiScope::try_from_value(&s.to_string())
                    .map_err(|_| DbErr::Type(format!("unknown stored API scope {s:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        scopes.sort();
        scopes.dedup();
        Ok(scopes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_spellings_are_unchanged() {
        assert_eq!(ReferralStatus::MeetingSet.to_value(), "MEETING_SET");
        assert_eq!(Channel::OneToOne.to_value(), "ONE_TO_ONE");
        assert_eq!(AbsenceReason::MissedMeeting.to_value(), "MISSED_MEETING");
        assert_eq!(EventKind::StatusChanged.to_value(), "STATUS_CHANGED");
        assert_eq!(WebhookEventKind::Thanked.to_value(), "referral.thanked");
        assert_eq!(ApiScope::DirectoryRead.to_value(), "DIRECTORY_READ");
    }

    #[test]
    fn unknown_stored_values_are_errors_not_defaults() {
        assert!(ReferralStatus::try_from_value(&"ARCHIVED".to_string()).is_err());
        assert!(ApiScope::parse_list("REFERRALS_READ,ADMIN").is_err());
        assert_eq!(
            ApiScope::parse_list("REFERRALS_WRITE,DIRECTORY_READ,REFERRALS_WRITE").unwrap(),
            vec![ApiScope::ReferralsWrite, ApiScope::DirectoryRead]
        );
    }
}
