//! The member score of SPEC.md: five parts of up to 20 points over the 26
//! weeks ending on the report's last day (or since the member joined, if
//! later), and its traffic light. Rates are compared as exact fractions.

use chrono::{Duration, NaiveDate};

/// The window is 26 weeks: 182 days, inclusive of `to`.
pub const WINDOW_DAYS: i64 = 182;

#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum TrafficLight {
    Green,
    Amber,
    Red,
    Grey,
}

impl TrafficLight {
    pub fn for_score(score: i32) -> TrafficLight {
        match score {
            70.. => TrafficLight::Green,
            50..=69 => TrafficLight::Amber,
            30..=49 => TrafficLight::Red,
            _ => TrafficLight::Grey,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TrafficLight::Green => "GREEN",
            TrafficLight::Amber => "AMBER",
            TrafficLight::Red => "RED",
            TrafficLight::Grey => "GREY",
        }
    }
}

/// First day of the score window for a member who joined on `joined_on`.
pub fn window_start(to: NaiveDate, joined_on: NaiveDate) -> NaiveDate {
    (to - Duration::days(WINDOW_DAYS - 1)).max(joined_on)
}

/// What the score is computed from, all within the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Activity {
    /// Days in the window (inclusive); weeks = days ÷ 7, at least 1.
    pub days: i64,
    pub absences: i64,
    pub given: i64,
    pub one_to_ones: i64,
    pub visitors: i64,
    pub won_given: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Score {
    pub absences: i32,
    pub given: i32,
    pub one_to_ones: i32,
    pub visitors: i32,
    pub won: i32,
}

impl Score {
    pub fn total(self) -> i32 {
        self.absences + self.given + self.one_to_ones + self.visitors + self.won
    }
}

/// `count / weeks >= num / den`, exactly: weeks = days / 7 (at least 1).
fn rate_at_least(count: i64, days: i64, num: i64, den: i64) -> bool {
    let days = days.max(7);
    count * 7 * den >= num * days
}

fn per_week(count: i64, days: i64) -> i32 {
    if rate_at_least(count, days, 1, 1) {
        20
    } else if rate_at_least(count, days, 3, 4) {
        15
    } else if rate_at_least(count, days, 1, 2) {
        10
    } else if rate_at_least(count, days, 1, 4) {
        5
    } else {
        0
    }
}

pub fn score(a: Activity) -> Score {
    Score {
        absences: match a.absences {
            0 => 20,
            1 => 15,
            2 => 10,
            3 => 5,
            _ => 0,
        },
        given: per_week(a.given, a.days),
        one_to_ones: per_week(a.one_to_ones, a.days),
        visitors: if rate_at_least(a.visitors, a.days, 1, 4) {
            20
        } else if rate_at_least(a.visitors, a.days, 1, 8) {
            10
        } else if a.visitors > 0 {
            5
        } else {
            0
        },
        won: match a.won_given {
            0 => 0,
            1 => 5,
            2 => 10,
            3 => 15,
            _ => 20,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_and_bands() {
        // 26 weeks: 26 given = 1/week, 20 one-to-ones ≈ 0.77, 4 visitors ≈ 0.15.
        let s = score(Activity {
            days: 182,
            absences: 1,
            given: 26,
            one_to_ones: 20,
            visitors: 4,
            won_given: 3,
        });
        assert_eq!(
            s,
            Score {
                absences: 15,
                given: 20,
                one_to_ones: 15,
                visitors: 10,
                won: 15
            }
        );
        assert_eq!(s.total(), 75);
        assert_eq!(TrafficLight::for_score(75), TrafficLight::Green);
        // Boundaries are inclusive: exactly 0.5/week is 10, exactly 0.25 visitors/week is 20.
        let s = score(Activity {
            days: 28,
            absences: 4,
            given: 2,
            one_to_ones: 1,
            visitors: 1,
            won_given: 0,
        });
        assert_eq!(
            s,
            Score {
                absences: 0,
                given: 10,
                one_to_ones: 5,
                visitors: 20,
                won: 0
            }
        );
        // Less than a week counts as one week.
        let s = score(Activity {
            days: 3,
            absences: 0,
            given: 1,
            one_to_ones: 0,
            visitors: 0,
            won_given: 9,
        });
        assert_eq!(
            s,
            Score {
                absences: 20,
                given: 20,
                one_to_ones: 0,
                visitors: 0,
                won: 20
            }
        );
        for (score, light) in [
            (70, TrafficLight::Green),
            (69, TrafficLight::Amber),
            (50, TrafficLight::Amber),
            (49, TrafficLight::Red),
            (30, TrafficLight::Red),
            (29, TrafficLight::Grey),
            (0, TrafficLight::Grey),
        ] {
            assert_eq!(TrafficLight::for_score(score), light);
        }
    }

    #[test]
    fn window() {
        let to = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
        let long_ago = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        assert_eq!((to - window_start(to, long_ago)).num_days() + 1, 182);
        let recent = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        assert_eq!(window_start(to, recent), recent);
    }
}
