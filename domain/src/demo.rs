//! `referral-exchange seed-demo`: one healthy chapter with a year of
//! history, so every report has something to show.
//!
//! The year is simulated day by day from behaviour the product records —
//! attendance, absences with delegates, one-to-ones, visitors, asks,
//! contacts with NPS history, partnerships moving through the VCP stages,
//! referrals both ways (members, the partner bank, outside contacts) — and
//! written as the domain's own operations would have written it: the
//! presence table decides each referral's `madeInAbsence` from that day's
//! facts, referrals to an away member are routed to the delegate, every
//! step is one event and one version (a follow-up that parks is one version
//! with two events, as `logFollowUp` does), thanks are THANKED events, and
//! reward awards follow the reward rule in the order wins happened. Rows
//! are backdated, which the live API (stamping "now") cannot do — that is
//! the only reason this writes rows rather than calling the services.
//!
//! Members ask specific people for introductions (fellow members and their
//! own clients and peers, never a detractor, never the same person twice
//! within the group's re-ask delay); the referrals those people then give
//! answer the request as `giving::create_in` attributes them, and requests
//! nobody answered with a referral get a recorded NOT_NOW or NO, or none.
//!
//! Nothing is ramped by hand: the share of referrals made in absence rises
//! because partners refer each other more as their partnerships mature,
//! mostly through the portal rather than at the weekly meeting, and because
//! the partner bank sends more as the year goes on.
//!
//! Deterministic (a fixed random seed, dates relative to today) and
//! idempotent: a second run finds the demo leader and writes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use entities::{
    AttendanceStatus, BusinessKind, Channel, ContactKind, EventKind, PartnershipStage,
    ReferralStatus, RequestResponse, Role, absence, ask, attendance, contact, contact_nps_score,
    group, meeting, member, membership, one_to_one, partner_firm, partnership, partnership_stage,
    referral, referral_event, referral_request, reward_award, reward_tier, visitor,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set, TransactionTrait,
};

use crate::error::DomainResult;
use crate::referrals::lifecycle::Lifecycle;
use crate::referrals::presence::{Circumstances, absence_reason};
use crate::validation::new_id;

pub const LEADER_EMAIL: &str = "leader@demo.referral-exchange.org";
pub const DEMO_PASSWORD: &str = "demo-chapter-2026";
const WEEKS: i64 = 52;
/// Follow-up cadence of the demo group (the product's defaults).
const INTERVAL_DAYS: i64 = 7;
const MAX_UNANSWERED: i32 = 4;
const REVISIT_MONTHS: u32 = 6;

const PEOPLE: [(&str, &str); 25] = [
    ("Alma Lindqvist", "Accountant"),
    ("Bruno Costa", "Commercial Lawyer"),
    ("Chloé Martin", "Financial Planner"),
    ("Dev Patel", "IT Support"),
    ("Elena Rossi", "Interior Designer"),
    ("Farid Haddad", "Mortgage Broker"),
    ("Greta Novak", "Photographer"),
    ("Hugo Berg", "Electrician"),
    ("Ines Duarte", "Estate Agent"),
    ("Jonas Weber", "Plumber"),
    ("Kaia Moreau", "Marketing Consultant"),
    ("Liam O'Brien", "Insurance Broker"),
    ("Maya Cohen", "Physiotherapist"),
    ("Nils Andersen", "Architect"),
    ("Olga Petrova", "Translator"),
    ("Pablo Ruiz", "Printer"),
    ("Quinn Taylor", "Web Developer"),
    ("Rosa Jensen", "Florist"),
    ("Sami Khan", "Car Dealer"),
    ("Tara Quinn", "HR Consultant"),
    ("Ugo Bianchi", "Caterer"),
    ("Vera Smit", "Dentist"),
    ("Wim de Vries", "Roofer"),
    ("Xenia Lund", "Event Planner"),
    ("Yusuf Demir", "Solicitor, Family Law"),
];

/// How engaged each member is (0-1): it drives attendance, referrals given,
/// one-to-ones and visitors, so the traffic lights spread from GREEN to
/// GREY with a few stragglers. Member 7 rarely shows up.
const ENGAGEMENT: [f64; 25] = [
    0.9, 0.85, 0.7, 0.9, 0.6, 0.95, 0.55, 0.1, 0.85, 0.5, 0.45, 0.6, 0.4, 0.8, 0.4, 0.5, 0.3, 0.2,
    0.9, 0.05, 0.65, 0.8, 0.5, 0.7, 0.45,
];

/// Members 21-24 joined during the year. Each was first a prospect referred
/// to one of these well-connected members, then a visitor, then a member:
/// their referrals are the hubs' second generation.
const HUBS: [usize; 4] = [5, 1, 18, 8];
const FIRST_LATE_JOINER: usize = 21;

/// Member 3 keeps referring member 12, who never refers back: one-way.
const ONE_WAY: (usize, usize) = (3, 12);

/// Absences: (member, week it starts, days, delegate = the member's first partner).
const ABSENCES: [(usize, i64, i64); 8] = [
    (2, 10, 14),
    (6, 20, 10),
    (9, 30, 14),
    (11, 44, 7),
    (14, 47, 10),
    (16, 25, 21),
    (19, 40, 14),
    (7, 15, 14),
];

pub struct Seeded {
    pub created: bool,
    pub members: usize,
    pub meetings: usize,
    pub referrals: usize,
}

fn email_for(i: usize) -> String {
    if i == 0 {
        LEADER_EMAIL.to_string()
    } else {
        format!("member{i:02}@demo.referral-exchange.org")
    }
}

fn at(day: NaiveDate, hour: u32) -> DateTime<Utc> {
    day.and_hms_opt(hour, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_default()
}

/// Loads the demo chapter unless it is already there.
pub async fn seed(db: &DatabaseConnection) -> DomainResult<Seeded> {
    let existing = member::Entity::find()
        .filter(member::Column::EmailLower.eq(LEADER_EMAIL))
        .one(db)
        .await?;
    if existing.is_some() {
        return Ok(Seeded {
            created: false,
            members: 0,
            meetings: 0,
            referrals: 0,
        });
    }
    let password_hash = crate::auth::passwords::hash_password(DEMO_PASSWORD.to_string()).await?;
    let mut world = World::new(Utc::now().date_naive());
    world.simulate();
    let seeded = Seeded {
        created: true,
        members: world.people.len(),
        meetings: world.meetings.len(),
        referrals: world.referrals.len(),
    };
    let txn = db.begin().await?;
    world.write(&txn, password_hash).await?;
    txn.commit().await?;
    Ok(seeded)
}

struct Person {
    id: String,
    joined: NaiveDate,
    engagement: f64,
}

/// A partnership and the days its stage changed (first entry: `since`).
struct Pair {
    id: String,
    owner: usize,
    partner: usize,
    stages: Vec<(NaiveDate, PartnershipStage)>,
    ended_on: Option<NaiveDate>,
}

struct DemoContact {
    id: String,
    owner: usize,
    kind: ContactKind,
    name: String,
    nps: Vec<(NaiveDate, i32)>,
    partnership: Option<(String, Vec<(NaiveDate, PartnershipStage)>)>,
}

/// A request for introductions, as `requests::service` writes it.
struct DemoRequest {
    id: String,
    requester: usize,
    to: Source,
    asked_on: NaiveDate,
    response: Option<RequestResponse>,
    reason: Option<String>,
    answered_on: Option<NaiveDate>,
    circle_back_on: Option<NaiveDate>,
}

/// The group's re-ask delay in the demo (the default).
const REASK_DAYS: i64 = 90;

struct Away {
    id: String,
    member: usize,
    from: NaiveDate,
    to: NaiveDate,
    delegate: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Source {
    Member(usize),
    Firm,
    Contact(usize),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Member(usize),
    Firm,
    Contact(usize),
}

struct World {
    rng: StdRng,
    today: NaiveDate,
    start: NaiveDate,
    group_id: String,
    firm_id: String,
    people: Vec<Person>,
    meetings: Vec<(String, NaiveDate)>,
    attendance: HashMap<(usize, usize), AttendanceStatus>,
    attendance_rows: Vec<attendance::ActiveModel>,
    visitors: Vec<visitor::ActiveModel>,
    one_to_ones: Vec<one_to_one::ActiveModel>,
    pairs: Vec<Pair>,
    contacts: Vec<DemoContact>,
    aways: Vec<Away>,
    asks: Vec<(String, usize, NaiveDate, NaiveDate)>,
    referrals: Vec<referral::ActiveModel>,
    /// Giver, receiving member and creation time of each referral (same
    /// order as `referrals`), for attributing them to requests.
    referral_keys: Vec<(Source, Option<usize>, DateTime<Utc>)>,
    requests: Vec<DemoRequest>,
    events: Vec<referral_event::ActiveModel>,
    /// (won at, giver, referral) of member-given wins in the group.
    wins: Vec<(DateTime<Utc>, usize, String)>,
    prospect_seq: usize,
}

impl World {
    fn new(today: NaiveDate) -> World {
        World {
            rng: StdRng::seed_from_u64(2026),
            today,
            start: today - Duration::days(WEEKS * 7),
            group_id: new_id(),
            firm_id: new_id(),
            people: Vec::new(),
            meetings: Vec::new(),
            attendance: HashMap::new(),
            attendance_rows: Vec::new(),
            visitors: Vec::new(),
            one_to_ones: Vec::new(),
            pairs: Vec::new(),
            contacts: Vec::new(),
            aways: Vec::new(),
            asks: Vec::new(),
            referrals: Vec::new(),
            referral_keys: Vec::new(),
            requests: Vec::new(),
            events: Vec::new(),
            wins: Vec::new(),
            prospect_seq: 0,
        }
    }

    fn simulate(&mut self) {
        self.people();
        self.partnerships();
        self.absences();
        self.contacts();
        self.asks();
        self.meetings();
        self.introductions();
        self.member_referrals();
        self.one_to_ones();
        self.firm_referrals();
        self.contact_referrals();
        self.requests();
        self.attribute_requests();
    }

    fn people(&mut self) {
        for (i, e) in ENGAGEMENT.iter().enumerate() {
            // Founders of different vintages, and late joiners: the tenure
            // bands of the group report each have someone in them.
            let joined = if i == FIRST_LATE_JOINER {
                self.today - Duration::days(250)
            } else if i > FIRST_LATE_JOINER {
                self.today - Duration::days(90 + 20 * (i - FIRST_LATE_JOINER) as i64)
            } else if i % 4 == 1 {
                self.start - Duration::days(430)
            } else {
                self.start - Duration::days(30)
            };
            self.people.push(Person {
                id: new_id(),
                joined,
                engagement: *e,
            });
        }
    }

    fn seated(&self, i: usize, day: NaiveDate) -> bool {
        self.people[i].joined <= day
    }

    fn partnerships(&mut self) {
        let founders = FIRST_LATE_JOINER;
        let mut seen = HashSet::new();
        for i in 0..founders {
            for k in [1, 4, 9] {
                let j = (i + k) % founders;
                let key = (i.min(j), i.max(j));
                if i == j || !seen.insert(key) {
                    continue;
                }
                let since = self.start + Duration::days(self.rng.gen_range(0..45));
                let credibility = since + Duration::days(self.rng.gen_range(80..150));
                let profitability = credibility + Duration::days(self.rng.gen_range(80..120));
                let mut stages = vec![(since, PartnershipStage::Visibility)];
                if credibility <= self.today {
                    stages.push((credibility, PartnershipStage::Credibility));
                }
                if profitability <= self.today {
                    stages.push((profitability, PartnershipStage::Profitability));
                }
                let n = self.pairs.len();
                // The odd partnership slips back a stage; one ends.
                if n % 17 == 5 && profitability + Duration::days(40) <= self.today {
                    stages.push((
                        profitability + Duration::days(40),
                        PartnershipStage::Credibility,
                    ));
                }
                let ended_on = (n == 20).then(|| self.today - Duration::days(60));
                self.pairs.push(Pair {
                    id: new_id(),
                    owner: i,
                    partner: j,
                    stages,
                    ended_on,
                });
            }
        }
        for (k, hub) in HUBS.iter().enumerate() {
            let joiner = FIRST_LATE_JOINER + k;
            let since = self.people[joiner].joined + Duration::days(7);
            let mut stages = vec![(since, PartnershipStage::Visibility)];
            if since + Duration::days(45) <= self.today {
                stages.push((since + Duration::days(45), PartnershipStage::Credibility));
            }
            self.pairs.push(Pair {
                id: new_id(),
                owner: *hub,
                partner: joiner,
                stages,
                ended_on: None,
            });
        }
    }

    /// The stage of the partnership between two members on a day (`None`
    /// when they are not partners that day).
    fn stage(&self, a: usize, b: usize, day: NaiveDate) -> Option<PartnershipStage> {
        let pair = self
            .pairs
            .iter()
            .find(|p| (p.owner == a && p.partner == b) || (p.owner == b && p.partner == a))?;
        if pair.ended_on.is_some_and(|e| e < day) {
            return None;
        }
        pair.stages
            .iter()
            .take_while(|(d, _)| *d <= day)
            .last()
            .map(|(_, s)| *s)
    }

    fn partners_of(&self, a: usize) -> Vec<usize> {
        self.pairs
            .iter()
            .filter_map(|p| {
                if p.owner == a {
                    Some(p.partner)
                } else if p.partner == a {
                    Some(p.owner)
                } else {
                    None
                }
            })
            .collect()
    }

    fn absences(&mut self) {
        for (member, week, days) in ABSENCES {
            let from = self.start + Duration::days(week * 7 + 2);
            let delegate = self.partners_of(member)[0];
            self.aways.push(Away {
                id: new_id(),
                member,
                from,
                to: from + Duration::days(days - 1),
                delegate,
            });
        }
    }

    fn away_on(&self, member: usize, day: NaiveDate) -> Option<&Away> {
        self.aways
            .iter()
            .rev()
            .find(|a| a.member == member && a.from <= day && day <= a.to)
    }

    fn contacts(&mut self) {
        for (owner, (owner_name, _)) in PEOPLE.iter().enumerate() {
            let first = self.people[owner].joined.max(self.start)
                + Duration::days(self.rng.gen_range(0..40));
            let later = first + Duration::days(self.rng.gen_range(120..240));
            let specs: [(ContactKind, String, Vec<i32>); 4] = [
                (
                    ContactKind::Client,
                    format!("Client of {owner_name}"),
                    vec![8, 9],
                ),
                (
                    ContactKind::Client,
                    format!("Former client of {owner_name}"),
                    if owner % 3 == 0 { vec![6, 4] } else { vec![7] },
                ),
                (
                    ContactKind::Professional,
                    format!("Peer of {owner_name}"),
                    vec![9, 10],
                ),
                (
                    ContactKind::Other,
                    format!("Neighbour of {owner_name}"),
                    vec![],
                ),
            ];
            for (kind, name, scores) in specs {
                let nps: Vec<(NaiveDate, i32)> = scores
                    .iter()
                    .enumerate()
                    .map(|(k, s)| (if k == 0 { first } else { later }, *s))
                    .filter(|(d, _)| *d <= self.today)
                    .collect();
                let partnership = (kind == ContactKind::Professional).then(|| {
                    let mut stages = vec![(first, PartnershipStage::Visibility)];
                    for (offset, stage) in [
                        (100, PartnershipStage::Credibility),
                        (220, PartnershipStage::Profitability),
                    ] {
                        let d = first + Duration::days(offset);
                        if d <= self.today {
                            stages.push((d, stage));
                        }
                    }
                    (new_id(), stages)
                });
                self.contacts.push(DemoContact {
                    id: new_id(),
                    owner,
                    kind,
                    name,
                    nps,
                    partnership,
                });
            }
        }
    }

    fn asks(&mut self) {
        for member in 0..self.people.len() {
            for k in 0..3i64 {
                let week = (member as i64 * 3 + k * 17) % WEEKS;
                let posted = self.start + Duration::days(week * 7 + 1);
                if !self.seated(member, posted) || posted > self.today {
                    continue;
                }
                self.asks
                    .push((new_id(), member, posted, posted + Duration::days(28)));
            }
        }
    }

    fn meetings(&mut self) {
        for week in 0..WEEKS {
            let held_on = self.start + Duration::days(week * 7 + 7);
            let meeting_id = new_id();
            let m = self.meetings.len();
            for i in 0..self.people.len() {
                if !self.seated(i, held_on) {
                    continue;
                }
                let e = self.people[i].engagement;
                let status = if self.away_on(i, held_on).is_some() {
                    if self.rng.gen_bool(0.6) {
                        AttendanceStatus::Substitute
                    } else {
                        AttendanceStatus::Absent
                    }
                } else if self.rng.gen_bool(0.03 + 0.35 * (1.0 - e) * (1.0 - e)) {
                    match self.rng.gen_range(0..100) {
                        0..=59 => AttendanceStatus::Absent,
                        60..=74 => AttendanceStatus::Medical,
                        _ => AttendanceStatus::Substitute,
                    }
                } else if self.rng.gen_bool(0.06) {
                    AttendanceStatus::Late
                } else {
                    AttendanceStatus::Present
                };
                self.attendance.insert((m, i), status);
                self.attendance_rows.push(attendance::ActiveModel {
                    id: Set(new_id()),
                    meeting_id: Set(meeting_id.clone()),
                    member_id: Set(self.people[i].id.clone()),
                    status: Set(status),
                    substitute_name: Set(
                        (status == AttendanceStatus::Substitute).then(|| "A colleague".to_string())
                    ),
                    recorded_at: Set(at(held_on, 9)),
                });
                if status.was_present() && self.rng.gen_bool(0.02 + 0.3 * e) {
                    self.visitors.push(visitor::ActiveModel {
                        id: Set(new_id()),
                        meeting_id: Set(meeting_id.clone()),
                        invited_by_id: Set(self.people[i].id.clone()),
                        name: Set(format!("Guest {week}-{i}")),
                        email: Set(None),
                        created_at: Set(at(held_on, 7)),
                    });
                }
            }
            // Each late joiner visited three weeks before joining, invited by their hub.
            for (k, hub) in HUBS.iter().enumerate() {
                let joiner = FIRST_LATE_JOINER + k;
                let visit = self.people[joiner].joined - Duration::days(21);
                if visit > held_on - Duration::days(7) && visit <= held_on {
                    self.visitors.push(visitor::ActiveModel {
                        id: Set(new_id()),
                        meeting_id: Set(meeting_id.clone()),
                        invited_by_id: Set(self.people[*hub].id.clone()),
                        name: Set(PEOPLE[joiner].0.to_string()),
                        email: Set(Some(email_for(joiner))),
                        created_at: Set(at(held_on, 7)),
                    });
                }
            }
            self.meetings.push((meeting_id, held_on));
        }
    }

    fn was_present(&self, m: usize, i: usize) -> bool {
        self.attendance
            .get(&(m, i))
            .is_some_and(|s| s.was_present())
    }

    /// The prospects that became members: a referral to each hub, about two
    /// months before the prospect joined, that was won.
    fn introductions(&mut self) {
        for (k, hub) in HUBS.iter().enumerate() {
            let joiner = FIRST_LATE_JOINER + k;
            let day = self.people[joiner].joined - Duration::days(60);
            let giver = self.partners_of(*hub)[0];
            let stage = self.stage(giver, *hub, day);
            let prospect = (
                PEOPLE[joiner].0.to_string(),
                Some(email_for(joiner)),
                format!("{} & Co", PEOPLE[joiner].0),
            );
            self.refer(
                Source::Member(giver),
                Target::Member(*hub),
                day,
                Channel::Portal,
                None,
                stage,
                Some(prospect),
                Some(Destiny::Won),
            );
        }
    }

    fn receiver_weight(&self, giver: usize, receiver: usize, day: NaiveDate) -> f64 {
        let partner = match self.stage(giver, receiver, day) {
            None => 1.0,
            Some(PartnershipStage::Visibility) => 2.0,
            Some(PartnershipStage::Credibility) => 4.0,
            Some(PartnershipStage::Profitability) => 20.0,
        };
        let hub = if HUBS.contains(&receiver) { 2.5 } else { 1.0 };
        partner * hub
    }

    fn pick_receiver(&mut self, giver: usize, day: NaiveDate) -> Option<usize> {
        let candidates: Vec<(usize, f64)> = (0..self.people.len())
            .filter(|r| {
                *r != giver && self.seated(*r, day) && (giver, *r) != (ONE_WAY.1, ONE_WAY.0)
            })
            .map(|r| (r, self.receiver_weight(giver, r, day)))
            .collect();
        let total: f64 = candidates.iter().map(|(_, w)| w).sum();
        if total <= 0.0 {
            return None;
        }
        let mut roll = self.rng.gen_range(0.0..total);
        for (r, w) in candidates {
            if roll < w {
                return Some(r);
            }
            roll -= w;
        }
        None
    }

    /// About one referral per engaged member per week: at the meeting while
    /// a partnership is young, more and more through the portal (often
    /// while the receiver is away) as it matures.
    fn member_referrals(&mut self) {
        for m in 0..self.meetings.len() {
            let held_on = self.meetings[m].1;
            for giver in 0..self.people.len() {
                if !self.seated(giver, held_on) {
                    continue;
                }
                let rate = 0.1 + 1.05 * self.people[giver].engagement;
                let n = rate.floor() as usize + usize::from(self.rng.gen_bool(rate.fract()));
                let mut receivers = Vec::new();
                for _ in 0..n {
                    if let Some(r) = self.pick_receiver(giver, held_on) {
                        receivers.push(r);
                    }
                }
                if giver == ONE_WAY.0 && m % 4 == 0 {
                    receivers.push(ONE_WAY.1);
                }
                // Mature partners refer each other more often, on top.
                for partner in self.partners_of(giver) {
                    if self.stage(giver, partner, held_on) == Some(PartnershipStage::Profitability)
                        && self.seated(partner, held_on)
                        && (giver, partner) != (ONE_WAY.1, ONE_WAY.0)
                        && self.rng.gen_bool(0.12 * self.people[giver].engagement)
                    {
                        receivers.push(partner);
                    }
                }
                for receiver in receivers {
                    let stage = self.stage(giver, receiver, held_on);
                    let at_meeting = match stage {
                        None | Some(PartnershipStage::Visibility) => 0.96,
                        Some(PartnershipStage::Credibility) => 0.5,
                        Some(PartnershipStage::Profitability) => 0.08,
                    };
                    let meeting = self.rng.gen_bool(at_meeting) && self.was_present(m, giver);
                    // A young partnership's slip goes to someone in the room:
                    // most givers hold it for a week rather than leave it on a chair.
                    if meeting
                        && !self.was_present(m, receiver)
                        && matches!(stage, None | Some(PartnershipStage::Visibility))
                        && self.rng.gen_bool(0.85)
                    {
                        continue;
                    }
                    let day = if meeting {
                        held_on
                    } else {
                        held_on + Duration::days(self.rng.gen_range(1..7))
                    };
                    if day > self.today || !self.seated(receiver, day) {
                        continue;
                    }
                    let channel = if meeting {
                        Channel::Meeting
                    } else {
                        Channel::Portal
                    };
                    self.refer(
                        Source::Member(giver),
                        Target::Member(receiver),
                        day,
                        channel,
                        meeting.then_some(m),
                        stage,
                        None,
                        None,
                    );
                }
            }
        }
    }

    fn one_to_ones(&mut self) {
        let mut held = HashSet::new();
        for week in 0..WEEKS {
            for a in 0..self.people.len() {
                let e = self.people[a].engagement;
                let day = self.start + Duration::days(week * 7 + self.rng.gen_range(1..7));
                if !self.rng.gen_bool(0.05 + 0.6 * e) || day > self.today || !self.seated(a, day) {
                    continue;
                }
                let partners = self.partners_of(a);
                let b = if self.rng.gen_bool(0.7) && !partners.is_empty() {
                    partners[self.rng.gen_range(0..partners.len())]
                } else {
                    self.rng.gen_range(0..self.people.len())
                };
                if a == b
                    || !self.seated(b, day)
                    || self.away_on(a, day).is_some()
                    || self.away_on(b, day).is_some()
                    || !held.insert((a.min(b), a.max(b), day))
                {
                    continue;
                }
                self.one_to_ones.push(one_to_one::ActiveModel {
                    id: Set(new_id()),
                    member_id: Set(self.people[a].id.clone()),
                    with_member_id: Set(self.people[b].id.clone()),
                    held_on: Set(day),
                    note: Set(Some("Swapped target markets".into())),
                    created_at: Set(at(day, 12)),
                });
                if self.rng.gen_bool(0.2) && (a, b) != (ONE_WAY.1, ONE_WAY.0) {
                    let stage = self.stage(a, b, day);
                    self.refer(
                        Source::Member(a),
                        Target::Member(b),
                        day,
                        Channel::OneToOne,
                        None,
                        stage,
                        None,
                        None,
                    );
                }
            }
        }
    }

    /// The partner bank sends a little more each month, and members send it
    /// the odd client.
    fn firm_referrals(&mut self) {
        for month in 0..12i64 {
            let first = self.start + Duration::days(month * 30);
            for _ in 0..month {
                let day = first + Duration::days(self.rng.gen_range(0..30));
                if day > self.today {
                    continue;
                }
                let receiver = self.rng.gen_range(0..self.people.len());
                if !self.seated(receiver, day) {
                    continue;
                }
                self.refer(
                    Source::Firm,
                    Target::Member(receiver),
                    day,
                    Channel::PartnerApi,
                    None,
                    None,
                    None,
                    None,
                );
            }
            let day = first + Duration::days(self.rng.gen_range(0..30));
            let giver = self.rng.gen_range(0..self.people.len());
            if day <= self.today && self.seated(giver, day) {
                self.refer(
                    Source::Member(giver),
                    Target::Firm,
                    day,
                    Channel::Portal,
                    None,
                    None,
                    None,
                    None,
                );
            }
        }
    }

    /// Outside referrals both ways: a member's professional peer and clients
    /// send business (recorded by the member), and the member sends the
    /// peer business in return.
    fn contact_referrals(&mut self) {
        for c in 0..self.contacts.len() {
            let owner = self.contacts[c].owner;
            let e = self.people[owner].engagement;
            let (gives_per_week, receives_per_week) = match self.contacts[c].kind {
                ContactKind::Professional => (0.12 * e + 0.02, 0.15 * e + 0.02),
                ContactKind::Client => (0.04 * e, 0.0),
                _ => (0.015, 0.0),
            };
            for week in 0..WEEKS {
                let day = self.start + Duration::days(week * 7 + self.rng.gen_range(0..7));
                let known = self.contacts[c].nps.first().map_or(self.start, |(d, _)| *d);
                if day > self.today || day < known || !self.seated(owner, day) {
                    continue;
                }
                if self.rng.gen_bool(gives_per_week) {
                    self.refer(
                        Source::Contact(c),
                        Target::Member(owner),
                        day,
                        Channel::Portal,
                        None,
                        None,
                        None,
                        None,
                    );
                }
                if receives_per_week > 0.0 && self.rng.gen_bool(receives_per_week) {
                    self.refer(
                        Source::Member(owner),
                        Target::Contact(c),
                        day,
                        Channel::Portal,
                        None,
                        None,
                        None,
                        None,
                    );
                }
            }
        }
    }

    /// The contact's NPS score on `day` (the latest given by then).
    fn nps_on(&self, c: usize, day: NaiveDate) -> Option<i32> {
        self.contacts[c]
            .nps
            .iter()
            .take_while(|(d, _)| *d <= day)
            .last()
            .map(|(_, s)| *s)
    }

    /// Every six weeks or so each member asks one person for introductions:
    /// a partner, a client or a peer, in turn. Promoters and mature
    /// partners often answer with a referral within a few weeks.
    fn requests(&mut self) {
        let mut last_asked: HashMap<(usize, Source), NaiveDate> = HashMap::new();
        for requester in 0..self.people.len() {
            let e = self.people[requester].engagement;
            let mut turn = requester;
            let mut day = self.start + Duration::days(3 + (requester as i64 * 5) % 40);
            while day <= self.today {
                if self.seated(requester, day) && self.rng.gen_bool((0.3 + e).min(0.95)) {
                    let mut candidates: Vec<Source> = self
                        .partners_of(requester)
                        .into_iter()
                        .filter(|p| {
                            self.seated(*p, day - Duration::days(30)) && self.seated(*p, day)
                        })
                        .map(Source::Member)
                        .collect();
                    candidates.extend(
                        (0..self.contacts.len())
                            .filter(|c| {
                                let k = &self.contacts[*c];
                                k.owner == requester
                                    && matches!(
                                        k.kind,
                                        ContactKind::Client | ContactKind::Professional
                                    )
                                    && self.nps_on(*c, day).is_some_and(|s| s >= 5)
                            })
                            .map(Source::Contact),
                    );
                    candidates.retain(|t| {
                        last_asked
                            .get(&(requester, *t))
                            .is_none_or(|d| day >= *d + Duration::days(REASK_DAYS))
                    });
                    if !candidates.is_empty() {
                        turn += 1;
                        let to = candidates[turn % candidates.len()];
                        last_asked.insert((requester, to), day);
                        self.ask_for_introductions(requester, to, day);
                    }
                }
                day += Duration::days(42);
            }
        }
    }

    fn ask_for_introductions(&mut self, requester: usize, to: Source, day: NaiveDate) {
        let id = new_id();
        self.requests.push(DemoRequest {
            id,
            requester,
            to,
            asked_on: day,
            response: None,
            reason: None,
            answered_on: None,
            circle_back_on: None,
        });
        let keen = match to {
            Source::Member(p) => match self.stage(requester, p, day) {
                Some(PartnershipStage::Profitability) => 0.65,
                Some(PartnershipStage::Credibility) => 0.45,
                _ => 0.3,
            },
            Source::Contact(c) => match self.nps_on(c, day) {
                Some(9..) => 0.6,
                Some(7..=8) => 0.35,
                _ => 0.15,
            },
            Source::Firm => 0.0,
        };
        if self.rng.gen_bool(keen) {
            let answered = day + Duration::days(self.rng.gen_range(2..25));
            if answered <= self.today && self.seated(requester, answered) {
                let stage = match to {
                    Source::Member(p) => self.stage(p, requester, answered),
                    _ => None,
                };
                self.refer(
                    to,
                    Target::Member(requester),
                    answered,
                    Channel::Portal,
                    None,
                    stage,
                    None,
                    None,
                );
            }
        }
    }

    /// Attributes every referral to the request it answers, as
    /// `giving::create_in` does: the receiver's latest request to the giver
    /// made before it. A request with a referral reads YES from the first
    /// one's day; the others get an answer recorded, or none.
    fn attribute_requests(&mut self) {
        let mut by_pair: HashMap<(usize, Source), Vec<usize>> = HashMap::new();
        for (i, r) in self.requests.iter().enumerate() {
            by_pair.entry((r.requester, r.to)).or_default().push(i);
        }
        for (k, (giver, receiver, created)) in self.referral_keys.iter().enumerate() {
            let Some(receiver) = receiver else { continue };
            let Some(list) = by_pair.get(&(*receiver, *giver)) else {
                continue;
            };
            let latest = list
                .iter()
                .copied()
                .filter(|i| at(self.requests[*i].asked_on, 9) <= *created)
                .max_by_key(|i| self.requests[*i].asked_on);
            if let Some(i) = latest {
                let req = &mut self.requests[i];
                self.referrals[k].request_id = Set(Some(req.id.clone()));
                let day = created.date_naive();
                if req.answered_on.is_none_or(|d| day < d) {
                    req.response = Some(RequestResponse::Yes);
                    req.answered_on = Some(day);
                }
            }
        }
        for req in &mut self.requests {
            if req.response.is_some() {
                continue;
            }
            let answered = req.asked_on + Duration::days(self.rng.gen_range(1..10));
            let roll: f64 = self.rng.gen_range(0.0..1.0);
            if answered > self.today || roll >= 0.75 {
                req.circle_back_on = Some(req.asked_on + Duration::days(14));
            } else if roll < 0.5 {
                req.response = Some(RequestResponse::NotNow);
                req.reason = Some("Busy season; ask me again after the holidays".into());
                req.answered_on = Some(answered);
                req.circle_back_on = Some(answered + Duration::days(REASK_DAYS));
            } else {
                req.response = Some(RequestResponse::No);
                req.reason = Some("None of my clients need that right now".into());
                req.answered_on = Some(answered);
            }
        }
    }

    fn member_id(&self, i: usize) -> String {
        self.people[i].id.clone()
    }

    /// One referral, decided and written as `giving::create_in` would, then
    /// lived through its lifecycle up to today.
    #[allow(clippy::too_many_arguments)]
    fn refer(
        &mut self,
        from: Source,
        to: Target,
        day: NaiveDate,
        channel: Channel,
        meeting: Option<usize>,
        stage: Option<PartnershipStage>,
        prospect: Option<(String, Option<String>, String)>,
        destiny: Option<Destiny>,
    ) {
        let receiver_member = match to {
            Target::Member(r) => Some(r),
            _ => None,
        };
        // The presence table, on that day's facts.
        let reason = match (from, to) {
            (Source::Contact(_), _) | (_, Target::Contact(_)) => None,
            _ => absence_reason(Circumstances {
                channel,
                meeting_attendance: match (meeting, receiver_member) {
                    (Some(m), Some(r)) => self.attendance.get(&(m, r)).copied(),
                    _ => None,
                },
                receiver_away: receiver_member.is_some_and(|r| self.away_on(r, day).is_some()),
            }),
        };
        let away: Option<(usize, NaiveDate)> = receiver_member
            .and_then(|r| self.away_on(r, day))
            .map(|a| (a.delegate, a.to));
        let delegate = away.map(|(d, _)| d).filter(|d| from != Source::Member(*d));
        let (giver_member, giver_firm, giver_contact) = match from {
            Source::Member(g) => (Some(self.member_id(g)), None, None),
            Source::Firm => (None, Some(self.firm_id.clone()), None),
            Source::Contact(c) => (None, None, Some(self.contacts[c].id.clone())),
        };
        let (receiver_member_id, receiver_firm, receiver_contact) = match to {
            Target::Member(r) => (Some(self.member_id(r)), None, None),
            Target::Firm => (None, Some(self.firm_id.clone()), None),
            Target::Contact(c) => (None, None, Some(self.contacts[c].id.clone())),
        };
        // Who creates it: the giving member, the firm, or — for a contact's
        // referral — the member who records it.
        let creator = match (from, to) {
            (Source::Member(g), _) => Actor::Member(g),
            (Source::Firm, _) => Actor::Firm,
            (Source::Contact(c), _) => Actor::Member(self.contacts[c].owner),
        };
        // Who moves it forward: the receiver (their delegate while away),
        // the firm, or the giver for an outside contact.
        let mover = match (from, to) {
            (_, Target::Member(r)) => Actor::Member(r),
            (_, Target::Firm) => Actor::Firm,
            (Source::Member(g), Target::Contact(_)) => Actor::Member(g),
            (_, Target::Contact(c)) => Actor::Member(self.contacts[c].owner),
        };
        let temperature = self.rng.gen_range(2..=5);
        let bonus = match (from, to, stage) {
            (Source::Member(_), Target::Member(_), Some(PartnershipStage::Profitability)) => 0.15,
            (Source::Member(_), Target::Member(_), Some(PartnershipStage::Credibility)) => 0.07,
            (Source::Contact(c), _, _) if self.contacts[c].kind == ContactKind::Professional => 0.2,
            (Source::Contact(c), _, _) if self.contacts[c].kind == ContactKind::Client => -0.05,
            _ => 0.0,
        } + if channel == Channel::OneToOne {
            0.1
        } else {
            0.0
        };
        let destiny = destiny.unwrap_or_else(|| {
            let p_win: f64 = (0.12 + 0.07 * f64::from(temperature) + bonus).clamp(0.05, 0.8);
            let roll: f64 = self.rng.gen_range(0.0..1.0);
            if roll < 0.02 && giver_member.is_some() {
                Destiny::Withdrawn
            } else if roll < 0.07 && !matches!(to, Target::Contact(_)) {
                Destiny::Declined
            } else if self.rng.gen_bool(p_win) {
                Destiny::Won
            } else {
                match self.rng.gen_range(0..100) {
                    0..=54 => Destiny::Lost,
                    55..=69 => Destiny::Parked,
                    _ => Destiny::Stale,
                }
            }
        });
        self.prospect_seq += 1;
        let seq = self.prospect_seq;
        let (prospect_name, prospect_email, company) = prospect.unwrap_or_else(|| {
            (
                format!("Prospect {seq}"),
                Some(format!("prospect.{seq}@example.com")),
                format!("Harbour Client {seq} Ltd"),
            )
        });
        let ask_id = match (from, to) {
            (Source::Member(g), Target::Member(r)) if self.rng.gen_bool(0.5) => self
                .asks
                .iter()
                .find(|(_, who, posted, expires)| {
                    *who == r && *who != g && *posted <= day && day <= *expires
                })
                .map(|(id, ..)| id.clone()),
            _ => None,
        };
        let id = new_id();
        let created = at(day, 10);
        let mut life = Life::new(id.clone(), created);
        let creator_actor = self.actor(creator);
        life.event(
            EventKind::Created,
            &creator_actor,
            None,
            Some(ReferralStatus::Submitted),
            None,
            created,
        );
        if let Some(d) = delegate {
            let note = format!(
                "routed to delegate {} while the receiver is away",
                self.people[d].id
            );
            life.event(
                EventKind::Delegated,
                &creator_actor,
                None,
                None,
                Some(note),
                created,
            );
        }
        let giver_actor = match from {
            Source::Member(g) => Some(self.actor(Actor::Member(g))),
            _ => None,
        };
        self.live(
            &mut life,
            destiny,
            day,
            mover,
            giver_actor,
            away.filter(|_| delegate.is_some()),
        );
        let is_win = life.status == ReferralStatus::Won;
        let value = is_win.then(|| self.rng.gen_range(200..20_000) as i64 * 10_000 + 5_000);
        let business_kind = is_win.then(|| {
            if self.rng.gen_bool(0.7) {
                BusinessKind::New
            } else {
                BusinessKind::Repeat
            }
        });
        // Most wins are thanked within days; a few are left unthanked.
        let mut thanked_at = None;
        if let (Some(won_at), Target::Member(r)) = (life.won_at, to)
            && self.rng.gen_bool(0.85)
        {
            let t = won_at + Duration::days(self.rng.gen_range(1..4));
            if t.date_naive() <= self.today {
                let actor = self.actor(Actor::Member(r));
                life.event(
                    EventKind::Thanked,
                    &actor,
                    None,
                    None,
                    Some("Thank you, the introduction turned into business.".into()),
                    t,
                );
                life.updated_at = t;
                thanked_at = Some(t);
            }
        }
        if let (Some(won_at), Source::Member(g)) = (life.won_at, from) {
            self.wins.push((won_at, g, id.clone()));
        }
        self.referral_keys.push((from, receiver_member, created));
        self.referrals.push(referral::ActiveModel {
            id: Set(id),
            group_id: Set(Some(self.group_id.clone())),
            giver_member_id: Set(giver_member),
            giver_firm_id: Set(giver_firm),
            giver_contact_id: Set(giver_contact),
            receiver_member_id: Set(receiver_member_id),
            receiver_firm_id: Set(receiver_firm),
            receiver_contact_id: Set(receiver_contact),
            prospect_name: Set(prospect_name),
            prospect_email: Set(prospect_email),
            prospect_phone: Set(None),
            prospect_company: Set(Some(company)),
            prospect_need: Set(Some("Looking for a reliable local provider".into())),
            temperature: Set(temperature),
            channel: Set(channel),
            meeting_id: Set(meeting.map(|m| self.meetings[m].0.clone())),
            ask_id: Set(ask_id),
            request_id: Set(None),
            note: Set(None),
            made_in_absence: Set(reason.is_some()),
            absence_reason: Set(reason),
            inside_group: Set(matches!((from, to), (Source::Member(_), Target::Member(_)))),
            delegate_id: Set(delegate.map(|d| self.member_id(d))),
            status: Set(life.status),
            closed_value_e4: Set(value),
            business_kind: Set(business_kind),
            version: Set(life.version),
            follow_up_count: Set(life.follow_ups),
            unanswered_follow_ups: Set(life.unanswered),
            next_follow_up_on: Set(life.next_follow_up_on),
            revisit_on: Set(life.revisit_on),
            thanked_at: Set(thanked_at),
            won_at: Set(life.won_at),
            created_at: Set(created),
            updated_at: Set(life.updated_at),
        });
        self.events.append(&mut life.events);
    }

    fn actor(&self, a: Actor) -> (Option<String>, Option<String>) {
        match a {
            Actor::Member(m) => (Some(self.member_id(m)), None),
            Actor::Firm => (None, Some(self.firm_id.clone())),
        }
    }

    /// The referral's steps after creation, as far as today reaches.
    fn live(
        &mut self,
        life: &mut Life,
        destiny: Destiny,
        day: NaiveDate,
        mover: Actor,
        giver: Option<(Option<String>, Option<String>)>,
        delegate_until: Option<(usize, NaiveDate)>,
    ) {
        let mover_on = |w: &World, d: NaiveDate| match delegate_until {
            Some((delegate, until)) if d <= until => w.actor(Actor::Member(delegate)),
            _ => w.actor(mover),
        };
        let mut d = day + Duration::days(self.rng.gen_range(1..4));
        use ReferralStatus::*;
        match destiny {
            Destiny::Withdrawn => {
                if let Some(giver) = giver {
                    life.step(
                        Withdrawn,
                        &giver,
                        at(day + Duration::days(1), 15),
                        self.today,
                    );
                }
                return;
            }
            Destiny::Declined => {
                let who = mover_on(self, d);
                life.step(Declined, &who, at(d, 15), self.today);
                return;
            }
            _ => {}
        }
        let who = mover_on(self, d);
        if !life.step(Accepted, &who, at(d, 15), self.today) {
            return;
        }
        d += Duration::days(self.rng.gen_range(2..7));
        let who = mover_on(self, d);
        if !life.step(Contacted, &who, at(d, 15), self.today) {
            return;
        }
        match destiny {
            Destiny::Won | Destiny::Lost => {
                let meets = self
                    .rng
                    .gen_bool(if destiny == Destiny::Won { 0.7 } else { 0.4 });
                if meets {
                    d += Duration::days(self.rng.gen_range(3..11));
                    let who = mover_on(self, d);
                    if !life.step(MeetingSet, &who, at(d, 15), self.today) {
                        return;
                    }
                }
                d += Duration::days(self.rng.gen_range(5..26));
                let who = mover_on(self, d);
                let to = if destiny == Destiny::Won { Won } else { Lost };
                life.step(to, &who, at(d, 15), self.today);
            }
            Destiny::Parked => {
                for _ in 0..MAX_UNANSWERED {
                    d += Duration::days(INTERVAL_DAYS);
                    let who = mover_on(self, d);
                    if !life.follow_up(false, &who, at(d, 16), self.today) {
                        return;
                    }
                }
            }
            Destiny::Stale => {
                d += Duration::days(INTERVAL_DAYS);
                let who = mover_on(self, d);
                life.follow_up(true, &who, at(d, 16), self.today);
            }
            Destiny::Withdrawn | Destiny::Declined => {}
        }
    }

    async fn write(self, txn: &impl ConnectionTrait, password_hash: String) -> DomainResult<()> {
        let founded = at(self.start - Duration::days(30), 9);
        group::ActiveModel {
            id: Set(self.group_id.clone()),
            name: Set("Harbour Business Network (demo)".into()),
            currency: Set("EUR".into()),
            classification_exclusive: Set(true),
            meeting_cadence_days: Set(7),
            follow_up_interval_days: Set(INTERVAL_DAYS as i32),
            follow_up_max_unanswered: Set(MAX_UNANSWERED),
            revisit_after_months: Set(REVISIT_MONTHS as i32),
            revisit_after_days: Set(None),
            reask_after_days: Set(90),
            created_at: Set(founded),
        }
        .insert(txn)
        .await?;
        let mut members = Vec::new();
        let mut seats = Vec::new();
        for (i, p) in self.people.iter().enumerate() {
            let (name, profession) = PEOPLE[i];
            members.push(member::ActiveModel {
                id: Set(p.id.clone()),
                email: Set(email_for(i)),
                email_lower: Set(email_for(i)),
                name: Set(name.into()),
                password_hash: Set(password_hash.clone()),
                profession: Set(profession.into()),
                business_name: Set(Some(format!(
                    "{} & Co",
                    name.split(' ').next_back().unwrap_or(name)
                ))),
                phone: Set(Some(format!("+46 70 555 {:02} {:02}", i, 10 + i))),
                brief_ideal_referral: Set(Some(format!(
                    "Someone who needs a trusted {}",
                    profession.to_lowercase()
                ))),
                brief_target_market: Set(Some(
                    "Owner-run businesses in the harbour district".into(),
                )),
                brief_talking_points: Set(Some("Local, responsive, fixed quotes".into())),
                brief_intro_template: Set(None),
                is_admin: Set(false),
                created_at: Set(at(p.joined, 8)),
                last_seen_at: Set(Some(at(self.today, 7))),
                previous_sign_in_at: Set(Some(at(self.today - Duration::days(7), 7))),
            });
            seats.push(membership::ActiveModel {
                id: Set(new_id()),
                group_id: Set(self.group_id.clone()),
                member_id: Set(p.id.clone()),
                role: Set(if i == 0 { Role::Leader } else { Role::Member }),
                joined_on: Set(p.joined),
                left_on: Set(None),
                created_at: Set(at(p.joined, 8)),
            });
        }
        insert_all(txn, members).await?;
        insert_all(txn, seats).await?;
        let meetings = self
            .meetings
            .iter()
            .map(|(id, held_on)| meeting::ActiveModel {
                id: Set(id.clone()),
                group_id: Set(self.group_id.clone()),
                held_on: Set(*held_on),
                created_at: Set(at(*held_on, 6)),
            })
            .collect();
        insert_all(txn, meetings).await?;
        insert_all(txn, self.attendance_rows).await?;
        insert_all(txn, self.visitors).await?;
        insert_all(txn, self.one_to_ones).await?;

        let mut partnerships = Vec::new();
        let mut stages = Vec::new();
        let stage_rows = |pid: &str,
                          list: &[(NaiveDate, PartnershipStage)],
                          out: &mut Vec<partnership_stage::ActiveModel>| {
            for (d, s) in list {
                out.push(partnership_stage::ActiveModel {
                    id: Set(new_id()),
                    partnership_id: Set(pid.to_string()),
                    stage: Set(*s),
                    changed_on: Set(*d),
                    created_at: Set(at(*d, 11)),
                });
            }
        };
        for p in &self.pairs {
            let (since, _) = p.stages[0];
            partnerships.push(partnership::ActiveModel {
                id: Set(p.id.clone()),
                member_id: Set(self.people[p.owner].id.clone()),
                partner_member_id: Set(Some(self.people[p.partner].id.clone())),
                partner_contact_id: Set(None),
                since: Set(since),
                stage: Set(p
                    .stages
                    .last()
                    .map_or(PartnershipStage::Visibility, |s| s.1)),
                ended_on: Set(p.ended_on),
                created_at: Set(at(since, 11)),
            });
            stage_rows(&p.id, &p.stages, &mut stages);
        }
        let mut contacts = Vec::new();
        let mut scores = Vec::new();
        for c in &self.contacts {
            let created = c.nps.first().map_or(self.start, |(d, _)| *d);
            let latest = c.nps.last().copied();
            contacts.push(contact::ActiveModel {
                id: Set(c.id.clone()),
                owner_id: Set(self.people[c.owner].id.clone()),
                name: Set(c.name.clone()),
                kind: Set(c.kind),
                email: Set(None),
                phone: Set(None),
                company: Set(None),
                nps_score: Set(latest.map(|(_, s)| s)),
                nps_on: Set(latest.map(|(d, _)| d)),
                created_at: Set(at(created, 9)),
            });
            for (d, s) in &c.nps {
                scores.push(contact_nps_score::ActiveModel {
                    id: Set(new_id()),
                    contact_id: Set(c.id.clone()),
                    score: Set(*s),
                    scored_on: Set(*d),
                    created_at: Set(at(*d, 9)),
                });
            }
            if let Some((pid, list)) = &c.partnership {
                let (since, _) = list[0];
                partnerships.push(partnership::ActiveModel {
                    id: Set(pid.clone()),
                    member_id: Set(self.people[c.owner].id.clone()),
                    partner_member_id: Set(None),
                    partner_contact_id: Set(Some(c.id.clone())),
                    since: Set(since),
                    stage: Set(list.last().map_or(PartnershipStage::Visibility, |s| s.1)),
                    ended_on: Set(None),
                    created_at: Set(at(since, 11)),
                });
                stage_rows(pid, list, &mut stages);
            }
        }
        insert_all(txn, contacts).await?;
        insert_all(txn, scores).await?;
        insert_all(txn, partnerships).await?;
        insert_all(txn, stages).await?;

        let absences = self
            .aways
            .iter()
            .map(|a| absence::ActiveModel {
                id: Set(a.id.clone()),
                member_id: Set(self.people[a.member].id.clone()),
                from_on: Set(a.from),
                to_on: Set(a.to),
                delegate_id: Set(Some(self.people[a.delegate].id.clone())),
                note: Set(Some("Away; my partner covers for me".into())),
                created_at: Set(at(a.from - Duration::days(3), 9)),
            })
            .collect();
        insert_all(txn, absences).await?;
        let asks = self
            .asks
            .iter()
            .map(|(id, who, posted, expires)| ask::ActiveModel {
                id: Set(id.clone()),
                member_id: Set(self.people[*who].id.clone()),
                group_id: Set(self.group_id.clone()),
                text: Set(format!(
                    "Looking for an introduction to a business that needs a {}",
                    PEOPLE[*who].1.to_lowercase()
                )),
                target_profession: Set(None),
                expires_on: Set(Some(*expires)),
                created_at: Set(at(*posted, 9)),
            })
            .collect();
        insert_all(txn, asks).await?;

        partner_firm::ActiveModel {
            id: Set(self.firm_id.clone()),
            group_id: Set(self.group_id.clone()),
            name: Set("Harbour Savings Bank".into()),
            contact_email: Set(Some("partners@harbour-savings.example".into())),
            created_at: Set(at(self.start, 9)),
        }
        .insert(txn)
        .await?;
        let tiers = [
            (1, "A thank-you coffee voucher"),
            (3, "€50 credit at the chapter dinner"),
            (5, "Premium listing upgrade"),
        ];
        let tier_rows = tiers
            .iter()
            .map(|(threshold, reward)| reward_tier::ActiveModel {
                id: Set(new_id()),
                group_id: Set(self.group_id.clone()),
                threshold: Set(*threshold),
                reward: Set((*reward).into()),
            })
            .collect();
        insert_all(txn, tier_rows).await?;
        let requests = self
            .requests
            .iter()
            .map(|r| {
                let (to_member_id, to_contact_id) = match r.to {
                    Source::Member(m) => (Some(self.people[m].id.clone()), None),
                    Source::Contact(c) => (None, Some(self.contacts[c].id.clone())),
                    Source::Firm => (None, None),
                };
                let asked_at = at(r.asked_on, 9);
                referral_request::ActiveModel {
                    id: Set(r.id.clone()),
                    requester_id: Set(self.people[r.requester].id.clone()),
                    to_member_id: Set(to_member_id),
                    to_contact_id: Set(to_contact_id),
                    text: Set(request_text(r, &self.contacts)),
                    asked_on: Set(r.asked_on),
                    response: Set(r.response),
                    reason: Set(r.reason.clone()),
                    answered_on: Set(r.answered_on),
                    circle_back_on: Set(r.circle_back_on),
                    created_at: Set(asked_at),
                    updated_at: Set(r.answered_on.map_or(asked_at, |d| at(d, 10))),
                }
            })
            .collect();
        insert_all(txn, requests).await?;
        insert_all(txn, self.referrals).await?;
        insert_all(txn, self.events).await?;

        // The reward rule, in the order wins happened: each tier once.
        let mut wins = self.wins;
        wins.sort();
        let mut counts: BTreeMap<usize, i32> = BTreeMap::new();
        let mut awards = Vec::new();
        for (won_at, giver, referral_id) in wins {
            let n = counts.entry(giver).or_default();
            *n += 1;
            if let Some((threshold, reward)) = tiers.iter().find(|(t, _)| t == n) {
                awards.push(reward_award::ActiveModel {
                    id: Set(new_id()),
                    member_id: Set(self.people[giver].id.clone()),
                    group_id: Set(self.group_id.clone()),
                    threshold: Set(*threshold),
                    reward: Set((*reward).into()),
                    referral_id: Set(referral_id),
                    awarded_at: Set(won_at),
                });
            }
        }
        insert_all(txn, awards).await?;
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Actor {
    Member(usize),
    Firm,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Destiny {
    Won,
    Lost,
    Declined,
    Withdrawn,
    Parked,
    /// Still in progress, its follow-ups slipping.
    Stale,
}

/// A referral's state as its steps apply, the way `moves` changes it.
struct Life {
    id: String,
    status: ReferralStatus,
    version: i32,
    follow_ups: i32,
    unanswered: i32,
    next_follow_up_on: Option<NaiveDate>,
    revisit_on: Option<NaiveDate>,
    won_at: Option<DateTime<Utc>>,
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
            won_at: None,
            updated_at: created,
            events: Vec::new(),
        }
    }

    fn event(
        &mut self,
        kind: EventKind,
        actor: &(Option<String>, Option<String>),
        from: Option<ReferralStatus>,
        to: Option<ReferralStatus>,
        note: Option<String>,
        at: DateTime<Utc>,
    ) {
        self.events.push(referral_event::ActiveModel {
            id: Set(new_id()),
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

    fn schedule(&mut self, to: ReferralStatus, day: NaiveDate) {
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
    }

    /// One status change (if `at` is not after today): one event, one version.
    fn step(
        &mut self,
        to: ReferralStatus,
        actor: &(Option<String>, Option<String>),
        at: DateTime<Utc>,
        today: NaiveDate,
    ) -> bool {
        if at.date_naive() > today {
            return false;
        }
        let from = self.status;
        self.event(
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
        self.schedule(to, at.date_naive());
        if to == ReferralStatus::Won {
            self.won_at = Some(at);
        }
        true
    }

    /// One follow-up: one version; the unanswered limit parks the referral
    /// in the same write (two events), as `logFollowUp` does.
    fn follow_up(
        &mut self,
        responded: bool,
        actor: &(Option<String>, Option<String>),
        at: DateTime<Utc>,
        today: NaiveDate,
    ) -> bool {
        if at.date_naive() > today {
            return false;
        }
        let label = if responded { "RESPONDED" } else { "NO_ANSWER" };
        self.event(
            EventKind::FollowUp,
            actor,
            None,
            None,
            Some(label.into()),
            at,
        );
        self.follow_ups += 1;
        self.version += 1;
        self.updated_at = at;
        let day = at.date_naive();
        if responded {
            self.unanswered = 0;
            self.next_follow_up_on = Some(day + Duration::days(INTERVAL_DAYS));
        } else {
            self.unanswered += 1;
            if self.unanswered >= MAX_UNANSWERED {
                let from = self.status;
                self.event(
                    EventKind::StatusChanged,
                    actor,
                    Some(from),
                    Some(ReferralStatus::Parked),
                    Some("parked after unanswered follow-ups".into()),
                    at,
                );
                self.status = ReferralStatus::Parked;
                self.next_follow_up_on = None;
                self.revisit_on = day.checked_add_months(Months::new(REVISIT_MONTHS));
            } else {
                self.next_follow_up_on = Some(day + Duration::days(INTERVAL_DAYS));
            }
        }
        true
    }
}

/// Inserts rows in batches small enough for PostgreSQL's bind-parameter limit.
fn request_text(r: &DemoRequest, contacts: &[DemoContact]) -> String {
    let trade = PEOPLE[r.requester].1.to_lowercase();
    match r.to {
        Source::Contact(c) if contacts[c].kind == ContactKind::Professional => {
            format!("Do you know anyone who needs a {trade}? Happy to return the favour.")
        }
        Source::Contact(_) => {
            format!("You were happy with my work: do you know anyone else who needs a {trade}?")
        }
        _ => format!("Who among your clients this month could use a {trade}?"),
    }
}

async fn insert_all<A>(txn: &impl ConnectionTrait, rows: Vec<A>) -> DomainResult<()>
where
    A: ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(500).collect();
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}
