//! One group's activity over the range: weekly meetings with attendance and
//! visitors, and its referrals with their histories (and the one-to-ones
//! the ONE_TO_ONE ones were passed in). Pure: a group's rows depend only on
//! the network and the group's own seeded random stream.
//!
//! Every referral is written as the services would have written it on the
//! day: `madeInAbsence`/`absenceReason` come from the presence table
//! (`referrals::presence::absence_reason`) applied to the receiver's
//! attendance at the meeting and their absences; a receiver away on the day
//! has the referral routed to their delegate (a DELEGATED event); each
//! status move is one STATUS_CHANGED event and one version, each follow-up
//! one FOLLOW_UP event and one version, thanks a THANKED event (no
//! version), and the follow-up and revisit dates follow the group's cadence
//! (7 days, six months), as `referrals::moves` sets them.

use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use entities::{
    AttendanceStatus, BusinessKind, Channel, EventKind, ReferralStatus, attendance, meeting,
    one_to_one, referral, referral_event, visitor,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::Set;

use super::ids::{Ids, Kind};
use super::network::{FIRMS, Network};
use super::{SEED, at};
use crate::referrals::lifecycle::Lifecycle;
use crate::referrals::presence::{Circumstances, absence_reason};

/// The groups' cadence (the product's defaults, as the seeded groups have).
const INTERVAL_DAYS: i64 = 7;
const REVISIT_MONTHS: u32 = 6;

const PROSPECT_COMPANIES: [&str; 12] = [
    "Acme Ltd",
    "Blue Harbour Cafe",
    "Cedar Dental",
    "Delta Logistics",
    "Evergreen Homes",
    "Fjord Fitness",
    "Granite Builders",
    "Helix Labs",
    "Iris Boutique",
    "Juniper Foods",
    "Kestrel Media",
    "Lumen Studios",
];

const NEEDS: [&str; 10] = [
    "Needs advice before the end of the quarter",
    "Moving premises in the spring",
    "Looking for a second quote",
    "Expanding to a second site",
    "Unhappy with their current provider",
    "Starting a new business",
    "Buying a house this year",
    "Renovating the office",
    "Hiring their first employees",
    "Planning a family event",
];

const FIRST: [&str; 16] = [
    "Ada", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gina", "Hal", "Iris", "Jack", "Kim", "Leo", "Mia",
    "Ned", "Ola", "Pia",
];

const LAST: [&str; 16] = [
    "Adams", "Brown", "Clark", "Diaz", "Evans", "Ford", "Green", "Hill", "Irwin", "Jones", "King",
    "Lee", "Moss", "Nash", "Owen", "Park",
];

#[derive(Default)]
pub(crate) struct Activity {
    pub meetings: Vec<meeting::ActiveModel>,
    pub attendance: Vec<attendance::ActiveModel>,
    pub visitors: Vec<visitor::ActiveModel>,
    pub one_to_ones: Vec<one_to_one::ActiveModel>,
    pub referrals: Vec<referral::ActiveModel>,
    pub events: Vec<referral_event::ActiveModel>,
}

impl Activity {
    pub fn rows(&self) -> usize {
        self.meetings.len()
            + self.attendance.len()
            + self.visitors.len()
            + self.one_to_ones.len()
            + self.referrals.len()
            + self.events.len()
    }

    pub fn append(&mut self, other: Activity) {
        self.meetings.extend(other.meetings);
        self.attendance.extend(other.attendance);
        self.visitors.extend(other.visitors);
        self.one_to_ones.extend(other.one_to_ones);
        self.referrals.extend(other.referrals);
        self.events.extend(other.events);
    }
}

/// Who gives or receives a referral.
#[derive(Clone, Copy)]
enum Party {
    /// A seat in the group's roster (its position there).
    Member(usize),
    /// One of the group's partner firms (its index in `network.firms`).
    Firm(usize),
}

/// How a referral's story ends, unless "today" cuts it short.
#[derive(Clone, Copy)]
enum Fate {
    Won,
    Lost,
    Declined,
    Withdrawn,
    Parked,
    /// Reaches an in-progress status and stalls: unanswered follow-ups.
    Stale,
}

struct Group<'n> {
    net: &'n Network,
    g: usize,
    rng: StdRng,
    /// Seats of the group (indexes into `net.seats`).
    roster: &'n [usize],
    meeting_days: Vec<NaiveDate>,
    meeting_ids: Vec<String>,
    /// `[meeting][roster position]`: the recorded status, if seated.
    attendance: Vec<Vec<Option<AttendanceStatus>>>,
    /// No status move may happen at or after this instant (today, 00:00 UTC).
    cutoff: DateTime<Utc>,
    out: Activity,
}

pub(crate) fn generate(net: &Network, g: usize, referrals: usize, ids: &mut Ids) -> Activity {
    let seed = SEED ^ (g as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut group = Group {
        net,
        g,
        rng: StdRng::seed_from_u64(seed),
        roster: &net.rosters[g],
        meeting_days: Vec::new(),
        meeting_ids: Vec::new(),
        attendance: Vec::new(),
        cutoff: at(net.params.today, 0, 0),
        out: Activity::default(),
    };
    group.meetings(ids);
    for _ in 0..referrals {
        group.referral(ids);
    }
    group.out
}

impl Group<'_> {
    fn seat(&self, pos: usize) -> &super::network::Seat {
        &self.net.seats[self.roster[pos]]
    }

    fn member_of(&self, pos: usize) -> usize {
        self.seat(pos).member
    }

    /// Weekly meetings on the group's weekday, from the range's first week
    /// to yesterday; everyone seated that day has an attendance row.
    fn meetings(&mut self, ids: &mut Ids) {
        let net = self.net;
        let start = net.start;
        let monday = start
            - Duration::days(i64::from(
                chrono::Datelike::weekday(&start).num_days_from_monday(),
            ));
        let mut day = monday + Duration::days(net.groups[self.g].weekday);
        if day < start {
            day += Duration::days(7);
        }
        let group_id = net.groups[self.g].id.clone();
        while day < net.params.today {
            let meeting_id = ids.next(Kind::Meeting);
            self.out.meetings.push(meeting::ActiveModel {
                id: Set(meeting_id.clone()),
                group_id: Set(group_id.clone()),
                held_on: Set(day),
                created_at: Set(at(day - Duration::days(7), 9, 0)),
            });
            let mut statuses = vec![None; self.roster.len()];
            let mut present = Vec::new();
            let roster = self.roster;
            for (pos, status) in statuses.iter_mut().enumerate() {
                let seat = &net.seats[roster[pos]];
                if !seat.active_on(day) {
                    continue;
                }
                let member = &net.members[seat.member];
                let s = if net.away_on(seat.member, day).is_some() {
                    match self.rng.gen_range(0..10) {
                        0..=4 => AttendanceStatus::Substitute,
                        5..=7 => AttendanceStatus::Absent,
                        _ => AttendanceStatus::Medical,
                    }
                } else if self.rng.gen_bool(member.engagement) {
                    AttendanceStatus::Present
                } else {
                    match self.rng.gen_range(0..20) {
                        0..=7 => AttendanceStatus::Late,
                        8..=13 => AttendanceStatus::Absent,
                        14..=16 => AttendanceStatus::Medical,
                        _ => AttendanceStatus::Substitute,
                    }
                };
                *status = Some(s);
                if s.was_present() {
                    present.push(seat.member);
                }
                self.out.attendance.push(attendance::ActiveModel {
                    id: Set(ids.next(Kind::Attendance)),
                    meeting_id: Set(meeting_id.clone()),
                    member_id: Set(member.id.clone()),
                    status: Set(s),
                    substitute_name: Set((s == AttendanceStatus::Substitute)
                        .then(|| format!("Stand-in for {}", member.name))),
                    recorded_at: Set(at(day, 11, 0)),
                });
            }
            // A visitor at about one meeting in five, invited by someone there.
            if !present.is_empty() && self.rng.gen_bool(0.2) {
                let by = present[self.rng.gen_range(0..present.len())];
                let n = self.out.visitors.len() + 1;
                let first = FIRST[self.rng.gen_range(0..FIRST.len())];
                let last = LAST[self.rng.gen_range(0..LAST.len())];
                self.out.visitors.push(visitor::ActiveModel {
                    id: Set(ids.next(Kind::Visitor)),
                    meeting_id: Set(meeting_id.clone()),
                    invited_by_id: Set(net.members[by].id.clone()),
                    name: Set(format!("{first} {last}")),
                    email: Set(self.rng.gen_bool(0.5).then(|| {
                        format!(
                            "{}.{}.{}{n}@visitors.example",
                            first.to_lowercase(),
                            last.to_lowercase(),
                            self.g + 1
                        )
                    })),
                    created_at: Set(at(day, 8, 30)),
                });
            }
            self.meeting_days.push(day);
            self.meeting_ids.push(meeting_id);
            self.attendance.push(statuses);
            day += Duration::days(7);
        }
    }

    /// Roster positions seated on `day`.
    fn seated(&self, day: NaiveDate) -> Vec<usize> {
        (0..self.roster.len())
            .filter(|p| self.seat(*p).active_on(day))
            .collect()
    }

    /// A seated member, the engaged more likely than the rest.
    fn pick_giver(&mut self, seated: &[usize]) -> usize {
        loop {
            let pos = seated[self.rng.gen_range(0..seated.len())];
            let e = self.net.members[self.member_of(pos)].engagement;
            if self.rng.gen_bool(e * e) {
                return pos;
            }
        }
    }

    fn pick_other(&mut self, seated: &[usize], not: usize) -> usize {
        loop {
            let pos = seated[self.rng.gen_range(0..seated.len())];
            if pos != not {
                return pos;
            }
        }
    }

    fn referral(&mut self, ids: &mut Ids) {
        let net = self.net;
        let span = (net.params.today - net.start).num_days();
        let firm_base = self.g * FIRMS.len();
        // Mostly member to member; a few to and from the partner firms.
        let kind: f64 = self.rng.r#gen();
        let to_firm = kind < 0.03;
        let from_firm = (0.03..0.05).contains(&kind);
        let mut channel = if to_firm {
            Channel::Portal
        } else if from_firm {
            Channel::PartnerApi
        } else {
            match self.rng.gen_range(0..100) {
                0..=69 => Channel::Meeting,
                70..=94 => Channel::OneToOne,
                _ => Channel::Portal,
            }
        };
        if channel == Channel::Meeting && self.meeting_days.is_empty() {
            channel = Channel::Portal;
        }
        let (day, meeting) = if channel == Channel::Meeting {
            let m = self.rng.gen_range(0..self.meeting_days.len());
            (self.meeting_days[m], Some(m))
        } else {
            (
                net.start + Duration::days(self.rng.gen_range(0..span)),
                None,
            )
        };
        let created = if meeting.is_some() {
            at(day, 7, self.rng.gen_range(0..90))
        } else {
            at(day, 8, self.rng.gen_range(0..660))
        };
        let seated = self.seated(day);
        let (giver, receiver) = if to_firm {
            (
                Party::Member(self.pick_giver(&seated)),
                Party::Firm(firm_base + self.rng.gen_range(0..FIRMS.len())),
            )
        } else if from_firm {
            (
                Party::Firm(firm_base + self.rng.gen_range(0..FIRMS.len())),
                Party::Member(seated[self.rng.gen_range(0..seated.len())]),
            )
        } else {
            // At a meeting, someone in the room passes it.
            let in_room: Vec<usize> = match meeting {
                Some(m) => seated
                    .iter()
                    .copied()
                    .filter(|p| self.attendance[m][*p].is_some_and(AttendanceStatus::was_present))
                    .collect(),
                None => Vec::new(),
            };
            let giver = self.pick_giver(if in_room.is_empty() {
                &seated
            } else {
                &in_room
            });
            (
                Party::Member(giver),
                Party::Member(self.pick_other(&seated, giver)),
            )
        };
        let member_id = |pos: usize| net.members[self.member_of(pos)].id.clone();
        let party_ids = |p: Party| match p {
            Party::Member(pos) => (Some(member_id(pos)), None),
            Party::Firm(f) => (None, Some(net.firms[f].id.clone())),
        };
        let giver_actor = party_ids(giver);
        let receiver_actor = party_ids(receiver);

        // Presence, as `referrals::routing` decides it on the day.
        let (reason, delegate) = match receiver {
            Party::Member(pos) => {
                let member = self.member_of(pos);
                let away = net.away_on(member, day);
                let reason = absence_reason(Circumstances {
                    channel,
                    meeting_attendance: meeting.and_then(|m| self.attendance[m][pos]),
                    receiver_away: away.is_some(),
                });
                let delegate = away
                    .map(|a| net.members[a.delegate].id.clone())
                    .filter(|d| Some(d) != giver_actor.0.as_ref());
                (reason, delegate)
            }
            Party::Firm(_) => (
                absence_reason(Circumstances {
                    channel,
                    meeting_attendance: None,
                    receiver_away: false,
                }),
                None,
            ),
        };
        if channel == Channel::OneToOne
            && let (Some(a), Some(b)) = (giver_actor.0.clone(), receiver_actor.0.clone())
        {
            self.out.one_to_ones.push(one_to_one::ActiveModel {
                id: Set(ids.next(Kind::OneToOne)),
                member_id: Set(a),
                with_member_id: Set(b),
                held_on: Set(day),
                note: Set(None),
                created_at: Set(at(day, 7, 0)),
            });
        }

        let id = ids.next(Kind::Referral);
        let mut life = Life::new(id.clone(), created);
        life.event(
            ids,
            EventKind::Created,
            &giver_actor,
            None,
            Some(ReferralStatus::Submitted),
            None,
            created,
        );
        if let Some(d) = &delegate {
            let note = format!("routed to delegate {d} while the receiver is away");
            life.event(
                ids,
                EventKind::Delegated,
                &giver_actor,
                None,
                None,
                Some(note),
                created,
            );
        }
        self.story(&mut life, ids, &giver_actor, &receiver_actor);

        let rng = &mut self.rng;
        let temperature = match rng.gen_range(0..100) {
            0..=9 => 1,
            10..=29 => 2,
            30..=64 => 3,
            65..=89 => 4,
            _ => 5,
        };
        let first = FIRST[rng.gen_range(0..FIRST.len())];
        let last = LAST[rng.gen_range(0..LAST.len())];
        let n = self.out.referrals.len() + 1;
        let prospect_email = rng.gen_bool(0.6).then(|| {
            format!(
                "{}.{}.{}-{n}@prospects.example",
                first.to_lowercase(),
                last.to_lowercase(),
                self.g + 1
            )
        });
        let prospect_phone = rng
            .gen_bool(0.4)
            .then(|| format!("+44 161 496 {:04}", rng.gen_range(0..10_000)));
        let prospect_company = rng
            .gen_bool(0.5)
            .then(|| PROSPECT_COMPANIES[rng.gen_range(0..PROSPECT_COMPANIES.len())].to_string());
        let prospect_need = rng
            .gen_bool(0.7)
            .then(|| NEEDS[rng.gen_range(0..NEEDS.len())].to_string());
        let note = rng
            .gen_bool(0.1)
            .then(|| "Warm introduction: mention my name".to_string());
        let (giver_member_id, giver_firm_id) = giver_actor;
        let (receiver_member_id, receiver_firm_id) = receiver_actor;
        // Member to member; firms' referrals are outside the group.
        let inside_group = giver_member_id.is_some() && receiver_member_id.is_some();
        self.out.referrals.push(referral::ActiveModel {
            id: Set(id),
            group_id: Set(Some(net.groups[self.g].id.clone())),
            giver_member_id: Set(giver_member_id),
            giver_firm_id: Set(giver_firm_id),
            giver_contact_id: Set(None),
            inside_group: Set(inside_group),
            receiver_member_id: Set(receiver_member_id),
            receiver_firm_id: Set(receiver_firm_id),
            receiver_contact_id: Set(None),
            prospect_name: Set(format!("{first} {last}")),
            prospect_email: Set(prospect_email),
            prospect_phone: Set(prospect_phone),
            prospect_company: Set(prospect_company),
            prospect_need: Set(prospect_need),
            temperature: Set(temperature),
            channel: Set(channel),
            meeting_id: Set(meeting.map(|m| self.meeting_ids[m].clone())),
            ask_id: Set(None),
            request_id: Set(None),
            note: Set(note),
            made_in_absence: Set(reason.is_some()),
            absence_reason: Set(reason),
            delegate_id: Set(delegate),
            status: Set(life.status),
            closed_value_e4: Set(life.closed_value_e4),
            business_kind: Set(life.business_kind),
            version: Set(life.version),
            follow_up_count: Set(life.follow_ups),
            unanswered_follow_ups: Set(life.unanswered),
            next_follow_up_on: Set(life.next_follow_up_on),
            revisit_on: Set(life.revisit_on),
            thanked_at: Set(life.thanked_at),
            won_at: Set(life.won_at),
            created_at: Set(created),
            updated_at: Set(life.updated_at),
        });
        self.out.events.append(&mut life.events);
    }

    /// The referral's moves after it was made, each a little later than
    /// the one before; a move that would fall today or later does not
    /// happen yet, so recent referrals are still open.
    fn story(
        &mut self,
        life: &mut Life,
        ids: &mut Ids,
        giver: &(Option<String>, Option<String>),
        receiver: &(Option<String>, Option<String>),
    ) {
        use ReferralStatus::*;
        let rng = &mut self.rng;
        let fate = match rng.gen_range(0..100) {
            0..=41 => Fate::Won,
            42..=75 => Fate::Lost,
            76..=83 => Fate::Declined,
            84..=87 => Fate::Withdrawn,
            88..=94 => Fate::Parked,
            _ => Fate::Stale,
        };
        let path: Vec<ReferralStatus> = match fate {
            Fate::Won => {
                let mut p = vec![Accepted, Contacted];
                if rng.gen_bool(0.65) {
                    p.push(MeetingSet);
                }
                p.push(Won);
                p
            }
            Fate::Lost => {
                let mut p = vec![Accepted];
                if rng.gen_bool(0.75) {
                    p.push(Contacted);
                    if rng.gen_bool(0.35) {
                        p.push(MeetingSet);
                    }
                }
                p.push(Lost);
                p
            }
            Fate::Declined => vec![Declined],
            Fate::Withdrawn => vec![Withdrawn],
            Fate::Parked => vec![Accepted, Contacted, Parked],
            Fate::Stale => [Accepted, Contacted, MeetingSet][..rng.gen_range(1..=3)].to_vec(),
        };
        let mut t = life.updated_at;
        for to in path {
            let hours = match to {
                Accepted => rng.gen_range(2..72),
                Contacted => rng.gen_range(24..168),
                MeetingSet => rng.gen_range(48..336),
                Won | Lost => rng.gen_range(72..960),
                Parked => rng.gen_range(168..720),
                _ => rng.gen_range(1..120),
            };
            t += Duration::hours(hours) + Duration::minutes(rng.gen_range(0..60));
            if t >= self.cutoff {
                return;
            }
            let actor = if to == Withdrawn { giver } else { receiver };
            life.step(ids, to, actor, t);
            if to == Won {
                let units: f64 = (rng.gen_range(250f64.ln()..40_000f64.ln())).exp();
                let cents = if rng.gen_bool(0.3) {
                    rng.gen_range(1..100)
                } else {
                    0
                };
                life.closed_value_e4 = Some(((units as i64 / 10) * 10) * 10_000 + cents * 100);
                life.business_kind = Some(if rng.gen_bool(0.75) {
                    BusinessKind::New
                } else {
                    BusinessKind::Repeat
                });
            }
        }
        match fate {
            Fate::Stale => {
                for _ in 0..rng.gen_range(1..=3) {
                    t += Duration::hours(rng.gen_range(168..240));
                    if t >= self.cutoff {
                        return;
                    }
                    life.follow_up(ids, receiver, t);
                }
            }
            // Members thank; firms' systems do not.
            Fate::Won if receiver.0.is_some() && rng.gen_bool(0.85) => {
                t += Duration::hours(rng.gen_range(24..144));
                if t < self.cutoff {
                    life.thank(ids, receiver, t);
                }
            }
            _ => {}
        }
    }
}

/// A referral's state as its moves apply, the way `referrals::moves` changes it.
struct Life {
    id: String,
    status: ReferralStatus,
    version: i32,
    follow_ups: i32,
    unanswered: i32,
    next_follow_up_on: Option<NaiveDate>,
    revisit_on: Option<NaiveDate>,
    closed_value_e4: Option<i64>,
    business_kind: Option<BusinessKind>,
    won_at: Option<DateTime<Utc>>,
    thanked_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    events: Vec<referral_event::ActiveModel>,
}

impl Life {
    fn new(id: String, created: DateTime<Utc>) -> Life {
        Life {
            id,
            status: ReferralStatus::Submitted,
            version: 1,
            follow_ups: 0,
            unanswered: 0,
            next_follow_up_on: None,
            revisit_on: None,
            closed_value_e4: None,
            business_kind: None,
            won_at: None,
            thanked_at: None,
            updated_at: created,
            events: Vec::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        ids: &mut Ids,
        kind: EventKind,
        actor: &(Option<String>, Option<String>),
        from: Option<ReferralStatus>,
        to: Option<ReferralStatus>,
        note: Option<String>,
        at: DateTime<Utc>,
    ) {
        self.events.push(referral_event::ActiveModel {
            id: Set(ids.next(Kind::ReferralEvent)),
            referral_id: Set(self.id.clone()),
            kind: Set(kind),
            from_status: Set(from),
            to_status: Set(to),
            actor_member_id: Set(actor.0.clone()),
            actor_firm_id: Set(actor.1.clone()),
            note: Set(note),
            at: Set(at),
        });
    }

    /// One status move: one event, one version, the cadence's dates.
    fn step(
        &mut self,
        ids: &mut Ids,
        to: ReferralStatus,
        actor: &(Option<String>, Option<String>),
        at: DateTime<Utc>,
    ) {
        let from = self.status;
        self.event(
            ids,
            EventKind::StatusChanged,
            actor,
            Some(from),
            Some(to),
            None,
            at,
        );
        self.status = to;
        self.version += 1;
        self.updated_at = at;
        let day = at.date_naive();
        if to.is_in_progress() {
            self.next_follow_up_on = Some(day + Duration::days(INTERVAL_DAYS));
            self.unanswered = 0;
            self.revisit_on = None;
        } else if to == ReferralStatus::Parked {
            self.next_follow_up_on = None;
            self.revisit_on = day.checked_add_months(Months::new(REVISIT_MONTHS));
        } else {
            self.next_follow_up_on = None;
            self.revisit_on = None;
        }
        if to == ReferralStatus::Won {
            self.won_at = Some(at);
        }
    }

    /// One unanswered follow-up (fewer than the group's limit of four in a
    /// row, so the referral stays in progress): one event, one version.
    fn follow_up(
        &mut self,
        ids: &mut Ids,
        actor: &(Option<String>, Option<String>),
        at: DateTime<Utc>,
    ) {
        self.event(
            ids,
            EventKind::FollowUp,
            actor,
            None,
            None,
            Some("NO_ANSWER".into()),
            at,
        );
        self.version += 1;
        self.follow_ups += 1;
        self.unanswered += 1;
        self.updated_at = at;
        self.next_follow_up_on = Some(at.date_naive() + Duration::days(INTERVAL_DAYS));
    }

    /// The receiver thanks the giver: an event and `thankedAt`, no version.
    fn thank(
        &mut self,
        ids: &mut Ids,
        actor: &(Option<String>, Option<String>),
        at: DateTime<Utc>,
    ) {
        self.event(
            ids,
            EventKind::Thanked,
            actor,
            None,
            None,
            Some("Thank you for the introduction!".into()),
            at,
        );
        self.thanked_at = Some(at);
        self.updated_at = at;
    }
}
