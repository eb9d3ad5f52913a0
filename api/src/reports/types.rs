//! GraphQL shapes of the reports.

use async_graphql::SimpleObject;

use crate::graphql::enums::TrafficLight;
use crate::graphql::scalars::{Date, Decimal};
use crate::members::types::Member;
use crate::referrals::types::Referral;
use domain::reports::group_report::{self, Palms};
use domain::reports::network;
use domain::reports::score::Score;

#[derive(SimpleObject)]
pub struct PalmsCounts {
    pub present: i32,
    pub absent: i32,
    pub late: i32,
    pub medical: i32,
    pub substitute: i32,
}

impl From<&Palms> for PalmsCounts {
    fn from(p: &Palms) -> Self {
        PalmsCounts {
            present: p.present as i32,
            absent: p.absent as i32,
            late: p.late as i32,
            medical: p.medical as i32,
            substitute: p.substitute as i32,
        }
    }
}

/// The five parts of the score, each 0–20.
#[derive(SimpleObject)]
pub struct ScoreParts {
    pub absences: i32,
    pub referrals_given: i32,
    pub one_to_ones: i32,
    pub visitors: i32,
    pub won_given: i32,
}

impl From<Score> for ScoreParts {
    fn from(s: Score) -> Self {
        ScoreParts {
            absences: s.absences,
            referrals_given: s.given,
            one_to_ones: s.one_to_ones,
            visitors: s.visitors,
            won_given: s.won,
        }
    }
}

/// Group totals: each is the sum of the rows' figure of the same name
/// (`closedValue` sums `closedValueGiven`).
#[derive(SimpleObject)]
pub struct ReportTotals {
    pub given: i32,
    pub received: i32,
    pub given_in_absence: i32,
    pub closed_value: Decimal,
    pub one_to_ones: i32,
    pub visitors: i32,
}

#[derive(SimpleObject)]
pub struct ReportRow {
    pub member: Member,
    /// Referrals given in the group during the period (withdrawn ones excluded).
    pub given: i32,
    pub given_inside_group: i32,
    pub given_outside: i32,
    pub received: i32,
    pub given_in_absence: i32,
    pub received_in_absence: i32,
    /// WON business the member gave, by the date it was won.
    pub closed_value_given: Decimal,
    pub closed_value_received: Decimal,
    pub one_to_ones: i32,
    pub visitors: i32,
    pub attendance: PalmsCounts,
    /// Days in the member's seat, up to the end of the period.
    pub tenure_days: i32,
    pub score: i32,
    pub score_parts: ScoreParts,
    pub traffic_light: TrafficLight,
    pub group_hopping: bool,
}

#[derive(SimpleObject)]
pub struct OneWayPartnership {
    /// The side that gave.
    pub from: Member,
    pub to: Member,
    /// Referrals given in the 12 months up to the end of the period.
    pub given: i32,
}

#[derive(SimpleObject)]
pub struct GroupReport {
    pub from: Date,
    pub to: Date,
    pub totals: ReportTotals,
    pub rows: Vec<ReportRow>,
    pub one_way_partnerships: Vec<OneWayPartnership>,
    /// WON in the period, not thanked 7 days on. Prospect details are not shown to leaders.
    pub unthanked_wins: Vec<Referral>,
    /// In progress with the next follow-up date past.
    pub overdue_follow_ups: Vec<Referral>,
    /// The rows grouped by tenure at `to`: "<6m" (< 183 days), "6-12m"
    /// (< 365), "1-2y" (< 730), "2y+". Bands with no members are omitted.
    pub tenure_bands: Vec<TenureBand>,
}

/// Whether time in the group pays: one tenure band of the group report.
#[derive(SimpleObject)]
pub struct TenureBand {
    pub band: String,
    /// Report rows in the band.
    pub members: i32,
    /// Received referrals of those rows / members / (days in the period,
    /// both ends included, / 7).
    pub received_per_week: f64,
    /// Sum of the rows' closedValueReceived.
    pub won_value: Decimal,
}

impl From<group_report::Report> for GroupReport {
    fn from(r: group_report::Report) -> Self {
        let tenure_bands = group_report::tenure_bands(&r)
            .into_iter()
            .map(|b| TenureBand {
                band: b.band.to_string(),
                members: b.members as i32,
                received_per_week: b.received_per_week,
                won_value: Decimal(b.won_value),
            })
            .collect();
        GroupReport {
            tenure_bands,
            from: Date(r.from),
            to: Date(r.to),
            totals: ReportTotals {
                given: r.totals.given as i32,
                received: r.totals.received as i32,
                given_in_absence: r.totals.given_in_absence as i32,
                closed_value: Decimal(r.totals.closed_value),
                one_to_ones: r.totals.one_to_ones as i32,
                visitors: r.totals.visitors as i32,
            },
            rows: r
                .rows
                .into_iter()
                .map(|row| ReportRow {
                    given: row.given as i32,
                    given_inside_group: row.given_inside_group as i32,
                    given_outside: row.given_outside as i32,
                    received: row.received as i32,
                    given_in_absence: row.given_in_absence as i32,
                    received_in_absence: row.received_in_absence as i32,
                    closed_value_given: Decimal(row.closed_value_given),
                    closed_value_received: Decimal(row.closed_value_received),
                    one_to_ones: row.one_to_ones as i32,
                    visitors: row.visitors as i32,
                    attendance: PalmsCounts::from(&row.attendance),
                    tenure_days: row.tenure_days as i32,
                    score: row.score.total(),
                    score_parts: row.score.into(),
                    traffic_light: row.traffic_light.into(),
                    group_hopping: row.group_hopping,
                    member: Member::from(row.member),
                })
                .collect(),
            one_way_partnerships: r
                .one_way
                .into_iter()
                .map(|o| OneWayPartnership {
                    from: Member::from(o.from),
                    to: Member::from(o.to),
                    given: o.given as i32,
                })
                .collect(),
            unthanked_wins: r
                .unthanked_wins
                .into_iter()
                .map(Referral::for_report)
                .collect(),
            overdue_follow_ups: r
                .overdue_follow_ups
                .into_iter()
                .map(Referral::for_report)
                .collect(),
        }
    }
}

#[derive(SimpleObject)]
pub struct MonthFlow {
    /// YYYY-MM
    pub month: String,
    pub received_in_presence: i32,
    pub received_in_absence: i32,
    pub distinct_absent_givers: i32,
}

#[derive(SimpleObject)]
pub struct Generation {
    pub generation: i32,
    pub referrals: i32,
    pub won_value: Decimal,
}

#[derive(SimpleObject)]
pub struct NetworkReport {
    pub direct_partners: i32,
    pub second_degree_reach: i32,
    /// Received in absence ÷ all received in the period (0 when none).
    pub absence_share: f64,
    pub months: Vec<MonthFlow>,
    pub generations: Vec<Generation>,
}

impl From<network::NetworkReport> for NetworkReport {
    fn from(n: network::NetworkReport) -> Self {
        NetworkReport {
            direct_partners: n.direct_partners as i32,
            second_degree_reach: n.second_degree_reach as i32,
            absence_share: n.absence_share,
            months: n
                .months
                .into_iter()
                .map(|m| MonthFlow {
                    month: m.month,
                    received_in_presence: m.received_in_presence as i32,
                    received_in_absence: m.received_in_absence as i32,
                    distinct_absent_givers: m.distinct_absent_givers as i32,
                })
                .collect(),
            generations: n
                .generations
                .into_iter()
                .map(|g| Generation {
                    generation: g.generation,
                    referrals: g.referrals as i32,
                    won_value: Decimal(g.won_value),
                })
                .collect(),
        }
    }
}

/// A link to the printable report page: open `path` on this server in a
/// browser before `expiresAt`.
#[derive(SimpleObject)]
pub struct ReportLink {
    pub path: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}
