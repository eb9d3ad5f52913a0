//! Whether the receiver took part in making a referral (SPEC.md, Presence
//! and absence). The facts are gathered by the service; the decision is
//! this pure function, in the table's order: the first matching row wins.

use async_graphql::Enum;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Channel {
    Meeting,
    OneToOne,
    Portal,
    PartnerApi,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AbsenceReason {
    MissedMeeting,
    Away,
    PartnerApi,
    Remote,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Meeting => "MEETING",
            Channel::OneToOne => "ONE_TO_ONE",
            Channel::Portal => "PORTAL",
            Channel::PartnerApi => "PARTNER_API",
        }
    }

    pub fn from_stored(s: &str) -> Channel {
        match s {
            "MEETING" => Channel::Meeting,
            "ONE_TO_ONE" => Channel::OneToOne,
            "PARTNER_API" => Channel::PartnerApi,
            _ => Channel::Portal,
        }
    }
}

impl AbsenceReason {
    pub const ALL: [AbsenceReason; 4] = [
        AbsenceReason::MissedMeeting,
        AbsenceReason::Away,
        AbsenceReason::PartnerApi,
        AbsenceReason::Remote,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AbsenceReason::MissedMeeting => "MISSED_MEETING",
            AbsenceReason::Away => "AWAY",
            AbsenceReason::PartnerApi => "PARTNER_API",
            AbsenceReason::Remote => "REMOTE",
        }
    }

    pub fn from_stored(s: &str) -> Option<AbsenceReason> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What the server knows about the moment a referral was made.
#[derive(Debug, Clone, Copy)]
pub struct Circumstances {
    pub channel: Channel,
    /// For MEETING: the receiver's recorded attendance status, if any.
    pub meeting_attendance: Option<&'static str>,
    /// The receiver has an active Absence covering the day.
    pub receiver_away: bool,
}

/// `None` when made in the receiver's presence, else why not.
pub fn absence_reason(c: Circumstances) -> Option<AbsenceReason> {
    if c.channel == Channel::Meeting
        && !matches!(c.meeting_attendance, Some("PRESENT") | Some("LATE"))
    {
        return Some(AbsenceReason::MissedMeeting);
    }
    if c.receiver_away {
        return Some(AbsenceReason::Away);
    }
    match c.channel {
        Channel::PartnerApi => Some(AbsenceReason::PartnerApi),
        Channel::Portal => Some(AbsenceReason::Remote),
        Channel::Meeting | Channel::OneToOne => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(channel: Channel, attendance: Option<&'static str>, away: bool) -> Option<AbsenceReason> {
        absence_reason(Circumstances {
            channel,
            meeting_attendance: attendance,
            receiver_away: away,
        })
    }

    #[test]
    fn the_presence_table_in_order() {
        use AbsenceReason::*;
        for missed in [Some("ABSENT"), Some("MEDICAL"), Some("SUBSTITUTE"), None] {
            assert_eq!(at(Channel::Meeting, missed, false), Some(MissedMeeting));
            assert_eq!(
                at(Channel::Meeting, missed, true),
                Some(MissedMeeting),
                "first row wins"
            );
        }
        assert_eq!(at(Channel::Meeting, Some("PRESENT"), false), None);
        assert_eq!(at(Channel::Meeting, Some("LATE"), false), None);
        assert_eq!(at(Channel::Meeting, Some("PRESENT"), true), Some(Away));
        assert_eq!(at(Channel::OneToOne, None, true), Some(Away));
        assert_eq!(at(Channel::PartnerApi, None, true), Some(Away));
        assert_eq!(at(Channel::PartnerApi, None, false), Some(PartnerApi));
        assert_eq!(at(Channel::Portal, None, false), Some(Remote));
        assert_eq!(at(Channel::OneToOne, None, false), None);
    }
}
