//! The referral lifecycle of SPEC.md as data: which status may follow which,
//! and who may make each move. Pure, so the rules are unit-tested directly.

use entities::ReferralStatus;

/// Who is making a move on a referral.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum Mover {
    /// The receiver, their active delegate, or (for a firm) a token with REFERRALS_WRITE.
    Receiver,
    Giver,
}

/// The lifecycle table, read from a status.
pub trait Lifecycle: Copy {
    /// The statuses that may follow this one, and who may move there.
    fn next(self) -> &'static [(ReferralStatus, Mover)];

    /// No status may follow.
    fn is_final(self) -> bool {
        self.next().is_empty()
    }

    /// Statuses in which the receiver owes the prospect a follow-up.
    fn is_in_progress(self) -> bool;
}

impl Lifecycle for ReferralStatus {
    /// The statuses that may follow this one, and who may move there.
    fn next(self) -> &'static [(ReferralStatus, Mover)] {
        use Mover::*;
        use ReferralStatus::*;
        match self {
            Submitted => &[
                (Accepted, Receiver),
                (Declined, Receiver),
                (Withdrawn, Giver),
            ],
            Accepted => &[(Contacted, Receiver), (Lost, Receiver), (Parked, Receiver)],
            Contacted => &[
                (MeetingSet, Receiver),
                (Won, Receiver),
                (Lost, Receiver),
                (Parked, Receiver),
            ],
            MeetingSet => &[(Won, Receiver), (Lost, Receiver), (Parked, Receiver)],
            Parked => &[(Contacted, Receiver), (Lost, Receiver)],
            Won | Lost | Declined | Withdrawn => &[],
        }
    }

    fn is_in_progress(self) -> bool {
        matches!(
            self,
            ReferralStatus::Accepted | ReferralStatus::Contacted | ReferralStatus::MeetingSet
        )
    }
}

/// Why a move is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not a transition of the lifecycle at all.
    NotAllowed,
    /// A transition of the lifecycle, but not this caller's to make.
    WrongMover,
}

pub fn check_move(
    from: ReferralStatus,
    to: ReferralStatus,
    movers: &[Mover],
) -> Result<(), Refusal> {
    let Some((_, required)) = from.next().iter().find(|(status, _)| *status == to) else {
        return Err(Refusal::NotAllowed);
    };
    if movers.contains(required) {
        Ok(())
    } else {
        Err(Refusal::WrongMover)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReferralStatus::*;
    use sea_orm::Iterable;

    #[test]
    fn the_lifecycle_table() {
        let r = [Mover::Receiver];
        let g = [Mover::Giver];
        assert_eq!(check_move(Submitted, Accepted, &r), Ok(()));
        assert_eq!(check_move(Submitted, Declined, &r), Ok(()));
        assert_eq!(check_move(Submitted, Withdrawn, &g), Ok(()));
        assert_eq!(
            check_move(Submitted, Withdrawn, &r),
            Err(Refusal::WrongMover)
        );
        assert_eq!(
            check_move(Submitted, Accepted, &g),
            Err(Refusal::WrongMover)
        );
        assert_eq!(check_move(Submitted, Won, &r), Err(Refusal::NotAllowed));
        assert_eq!(
            check_move(Accepted, Withdrawn, &g),
            Err(Refusal::NotAllowed)
        );
        assert_eq!(check_move(Accepted, Contacted, &r), Ok(()));
        assert_eq!(check_move(Accepted, Won, &r), Err(Refusal::NotAllowed));
        assert_eq!(check_move(Contacted, Won, &r), Ok(()));
        assert_eq!(check_move(MeetingSet, Won, &r), Ok(()));
        assert_eq!(check_move(Parked, Contacted, &r), Ok(()));
        assert_eq!(check_move(Parked, Won, &r), Err(Refusal::NotAllowed));
        for last in [Won, Lost, Declined, Withdrawn] {
            assert!(last.is_final());
            for to in ReferralStatus::iter() {
                assert_eq!(
                    check_move(last, to, &[Mover::Receiver, Mover::Giver]),
                    Err(Refusal::NotAllowed)
                );
            }
        }
    }
}
