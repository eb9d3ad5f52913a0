//! Tenure from membership history: the current continuous seat, the total
//! time in any group, and the short-seat group-hopping flag of SPEC.md.

use chrono::{Duration, NaiveDate};

/// A seat: joined on, left on (None while active).
#[derive(Debug, Clone, Copy)]
pub struct Seat {
    pub group_key: usize,
    pub joined_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tenure {
    pub current_days: i64,
    pub total_days: i64,
    pub group_hopping: bool,
}

/// A seat that ended within this many days of starting is a short seat.
pub const SHORT_SEAT_DAYS: i64 = 180;
/// Short seats count towards hopping when they ended within this window.
pub const HOPPING_WINDOW_DAYS: i64 = 730;
pub const HOPPING_MIN_SHORT_SEATS: usize = 2;

pub fn tenure(seats: &[Seat], today: NaiveDate) -> Tenure {
    Tenure {
        current_days: current_days(seats, today),
        total_days: total_days(seats, today),
        group_hopping: group_hopping(seats, today),
    }
}

/// Longest active seat, extended back through seats in the same group that
/// ended on or after the day before it began (a re-join without a gap is
/// still one continuous seat).
fn current_days(seats: &[Seat], today: NaiveDate) -> i64 {
    seats
        .iter()
        .filter(|s| s.left_on.is_none() && s.joined_on <= today)
        .map(|active| {
            let mut start = active.joined_on;
            loop {
                let earlier = seats
                    .iter()
                    .filter(|s| s.group_key == active.group_key)
                    .filter_map(|s| s.left_on.map(|left| (s.joined_on, left)))
                    .filter(|(joined, left)| *joined < start && *left >= start - Duration::days(1))
                    .map(|(joined, _)| joined)
                    .min();
                match earlier {
                    Some(joined) => start = joined,
                    None => break,
                }
            }
            (today - start).num_days()
        })
        .max()
        .unwrap_or(0)
}

/// Days covered by any seat; overlapping seats in several groups count once.
fn total_days(seats: &[Seat], today: NaiveDate) -> i64 {
    let mut spans: Vec<(NaiveDate, NaiveDate)> = seats
        .iter()
        .map(|s| (s.joined_on, s.left_on.unwrap_or(today).min(today)))
        .filter(|(from, to)| from < to)
        .collect();
    spans.sort();
    let mut total = 0;
    let mut current: Option<(NaiveDate, NaiveDate)> = None;
    for (from, to) in spans {
        current = match current {
            Some((cf, ct)) if from <= ct => Some((cf, ct.max(to))),
            Some((cf, ct)) => {
                total += (ct - cf).num_days();
                Some((from, to))
            }
            None => Some((from, to)),
        };
    }
    if let Some((cf, ct)) = current {
        total += (ct - cf).num_days();
    }
    total
}

fn group_hopping(seats: &[Seat], today: NaiveDate) -> bool {
    let window_start = today - Duration::days(HOPPING_WINDOW_DAYS);
    seats
        .iter()
        .filter_map(|s| s.left_on.map(|left| (s.joined_on, left)))
        .filter(|(joined, left)| {
            *left >= window_start && (*left - *joined).num_days() <= SHORT_SEAT_DAYS
        })
        .count()
        >= HOPPING_MIN_SHORT_SEATS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn seat(g: usize, j: &str, l: Option<&str>) -> Seat {
        Seat {
            group_key: g,
            joined_on: d(j),
            left_on: l.map(d),
        }
    }

    #[test]
    fn no_seats() {
        let t = tenure(&[], d("2026-01-01"));
        assert_eq!(
            t,
            Tenure {
                current_days: 0,
                total_days: 0,
                group_hopping: false
            }
        );
    }

    #[test]
    fn current_total_and_overlap() {
        let today = d("2026-11-23");
        let seats = [
            seat(0, "2025-11-23", None),               // 365 days, active
            seat(1, "2025-01-01", Some("2025-12-31")), // overlaps the first
        ];
        let t = tenure(&seats, today);
        assert_eq!(t.current_days, 365);
        assert_eq!(t.total_days, (today - d("2025-01-01")).num_days());
        assert!(!t.group_hopping);
    }

    #[test]
    fn rejoin_without_gap_is_continuous() {
        let today = d("2026-11-23");
        let seats = [
            seat(0, "2026-01-01", Some("2026-06-01")),
            seat(0, "2026-06-01", None),
        ];
        assert_eq!(
            tenure(&seats, today).current_days,
            (today - d("2026-01-01")).num_days()
        );
        let gap = [
            seat(0, "2026-01-01", Some("2026-05-01")),
            seat(0, "2026-06-01", None),
        ];
        assert_eq!(
            tenure(&gap, today).current_days,
            (today - d("2026-06-01")).num_days()
        );
    }

    #[test]
    fn hopping_needs_two_short_recent_seats() {
        let today = d("2026-11-23");
        let one = [seat(0, "2026-01-01", Some("2026-03-01"))];
        assert!(!tenure(&one, today).group_hopping);
        let two = [
            seat(0, "2026-01-01", Some("2026-03-01")),
            seat(1, "2026-04-01", Some("2026-09-28")),
        ];
        assert!(tenure(&two, today).group_hopping);
        let long = [
            seat(0, "2026-01-01", Some("2026-03-01")),
            seat(1, "2026-01-01", Some("2026-07-01")),
        ];
        assert!(!tenure(&long, today).group_hopping, "181 days is not short");
        let old = [
            seat(0, "2023-01-01", Some("2023-03-01")),
            seat(1, "2026-04-01", Some("2026-05-01")),
        ];
        assert!(
            !tenure(&old, today).group_hopping,
            "ended over two years ago"
        );
    }
}
