//! Whether the receiver took part in making a referral (SPEC.md, Presence
//! and absence). The facts are gathered by the service; the decision is
//! this pure function, in the table's order: the first matching row wins.

use entities::{AbsenceReason, AttendanceStatus, Channel};

/// What the server knows about the moment a referral was made.
#[derive(Debug, Clone, Copy)]
pub struct Circumstances {
    pub channel: Channel,
    /// For MEETING: the receiver's recorded attendance status, if any.
    pub meeting_attendance: Option<AttendanceStatus>,
    /// The receiver has an active Absence covering the day.
    pub receiver_away: bool,
}

/// `None` when made in the receiver's presence, else why not.
pub fn absence_reason(c: Circumstances) -> Option<AbsenceReason> {
    if c.channel == Channel::Meeting
        && !c
            .meeting_attendance
            .is_some_and(AttendanceStatus::was_present)
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

    fn at(
        channel: Channel,
        attendance: Option<AttendanceStatus>,
        away: bool,
    ) -> Option<AbsenceReason> {
        absence_reason(Circumstances {
            channel,
            meeting_attendance: attendance,
            receiver_away: away,
        })
    }

    #[test]
    fn the_presence_table_in_order() {
        use AbsenceReason::*;
        use AttendanceStatus::{Absent, Late, Medical, Present, Substitute};
        for missed in [Some(Absent), Some(Medical), Some(Substitute), None] {
            assert_eq!(at(Channel::Meeting, missed, false), Some(MissedMeeting));
            assert_eq!(
                at(Channel::Meeting, missed, true),
                Some(MissedMeeting),
                "first row wins"
            );
        }
        assert_eq!(at(Channel::Meeting, Some(Present), false), None);
        assert_eq!(at(Channel::Meeting, Some(Late), false), None);
        assert_eq!(at(Channel::Meeting, Some(Present), true), Some(Away));
        assert_eq!(at(Channel::OneToOne, None, true), Some(Away));
        assert_eq!(at(Channel::PartnerApi, None, true), Some(Away));
        assert_eq!(at(Channel::PartnerApi, None, false), Some(PartnerApi));
        assert_eq!(at(Channel::Portal, None, false), Some(Remote));
        assert_eq!(at(Channel::OneToOne, None, false), None);
    }
}
