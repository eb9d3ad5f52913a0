//! GraphQL mirrors of the stored enums in `entities` and the domain's own
//! (`remote` derives the conversions both ways, so an item added on one side
//! and not the other fails to compile). Enums used by a single domain's
//! types are declared beside those types, the same way.

use async_graphql::Enum;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::ReferralStatus")]
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

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::Channel")]
pub enum Channel {
    Meeting,
    OneToOne,
    Portal,
    PartnerApi,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::AbsenceReason")]
pub enum AbsenceReason {
    MissedMeeting,
    Away,
    PartnerApi,
    Remote,
}

/// What a token may do. Stored as a sorted comma-separated list.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::ApiScope")]
pub enum ApiScope {
    /// Submit referrals to members of the firm's group; advance referrals the firm received.
    ReferralsWrite,
    /// Read the referrals the firm gave or received, and its balance.
    ReferralsRead,
    /// Read public profiles of the group's active members.
    DirectoryRead,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::reports::score::TrafficLight")]
pub enum TrafficLight {
    Green,
    Amber,
    Red,
    Grey,
}
