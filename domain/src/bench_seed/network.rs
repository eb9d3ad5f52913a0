//! The network's standing parts, generated before any activity: members,
//! groups and their seats (with history), partner firms, partnerships and
//! absences. Pure: the same parameters give the same network.

use chrono::{Duration, NaiveDate};
use entities::{PartnershipStage, Role};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::ids::{Ids, Kind};
use super::{Params, SEED, account_email};

/// Partner firms per group (names: `FIRMS[k]` and the group's number).
pub(crate) const FIRMS: [&str; 3] = ["Harbour Bank", "Northgate Legal", "Summit Insurance"];

const FIRST: [&str; 40] = [
    "Alma", "Bruno", "Chloe", "Dev", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kaia",
    "Liam", "Maya", "Nils", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Ugo", "Vera", "Wim",
    "Xenia", "Yusuf", "Zoe", "Amir", "Bea", "Carl", "Dora", "Emil", "Fay", "Gil", "Hana", "Ivo",
    "Jade", "Kofi", "Lena", "Milo", "Nora",
];

const LAST: [&str; 40] = [
    "Lindqvist",
    "Costa",
    "Martin",
    "Patel",
    "Rossi",
    "Haddad",
    "Novak",
    "Berg",
    "Duarte",
    "Weber",
    "Moreau",
    "OBrien",
    "Cohen",
    "Andersen",
    "Petrova",
    "Ruiz",
    "Taylor",
    "Jensen",
    "Khan",
    "Quinn",
    "Bianchi",
    "Smit",
    "de Vries",
    "Lund",
    "Demir",
    "Nakamura",
    "Okafor",
    "Silva",
    "Fischer",
    "Dubois",
    "Kowalski",
    "Murphy",
    "Horvat",
    "Larsen",
    "Santos",
    "Meyer",
    "Novotny",
    "Ahmed",
    "Varga",
    "Ionescu",
];

const PROFESSIONS: [&str; 48] = [
    "Accountant",
    "Commercial Lawyer",
    "Financial Planner",
    "IT Support",
    "Interior Designer",
    "Mortgage Broker",
    "Photographer",
    "Electrician",
    "Estate Agent",
    "Plumber",
    "Marketing Consultant",
    "Insurance Broker",
    "Physiotherapist",
    "Architect",
    "Translator",
    "Printer",
    "Web Developer",
    "Florist",
    "Car Dealer",
    "HR Consultant",
    "Caterer",
    "Dentist",
    "Roofer",
    "Event Planner",
    "Family Solicitor",
    "Landscaper",
    "Signmaker",
    "Bookkeeper",
    "Copywriter",
    "Personal Trainer",
    "Optician",
    "Locksmith",
    "Travel Agent",
    "Video Producer",
    "Tax Adviser",
    "Removals",
    "Cleaning Services",
    "Security Systems",
    "Business Coach",
    "Chiropractor",
    "Joiner",
    "Painter and Decorator",
    "Solar Installer",
    "Wedding Planner",
    "Recruiter",
    "Surveyor",
    "Office Supplies",
    "Telecoms",
];

const CITIES: [&str; 20] = [
    "Harbour",
    "Hilltop",
    "Riverside",
    "Old Town",
    "Northgate",
    "Southbank",
    "Eastfield",
    "Westend",
    "Lakeside",
    "Parkview",
    "Bridgeport",
    "Marketplace",
    "Stonegate",
    "Millbrook",
    "Seaview",
    "Kingsway",
    "Queensbury",
    "Oakwood",
    "Ashford",
    "Cliffside",
];

pub(crate) struct Person {
    pub id: String,
    pub name: String,
    pub email: String,
    pub profession: String,
    pub business_name: Option<String>,
    pub phone: Option<String>,
    /// 0-1: how reliably they attend and how much they give.
    pub engagement: f64,
    pub created_on: NaiveDate,
    /// The group of their last seat (their block's).
    pub home: usize,
}

pub(crate) struct Chapter {
    pub id: String,
    pub name: String,
    pub currency: &'static str,
    pub founded: NaiveDate,
    /// Days after the range's first Monday on which the group meets (0-4).
    pub weekday: i64,
}

pub(crate) struct Seat {
    pub id: String,
    pub member: usize,
    pub group: usize,
    pub role: Role,
    pub joined: NaiveDate,
    pub left: Option<NaiveDate>,
}

impl Seat {
    pub fn active_on(&self, day: NaiveDate) -> bool {
        self.joined <= day && self.left.is_none_or(|l| day <= l)
    }
}

pub(crate) struct Firm {
    pub id: String,
    pub group: usize,
    pub name: String,
    pub contact_email: String,
}

pub(crate) struct Pair {
    pub id: String,
    pub owner: usize,
    pub partner: usize,
    /// Stage changes, the first on `since`; each gets a `partnership_stages` row.
    pub stages: Vec<(String, NaiveDate, PartnershipStage)>,
    pub ended: Option<NaiveDate>,
}

pub(crate) struct Away {
    pub id: String,
    pub member: usize,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub delegate: usize,
    pub note: Option<&'static str>,
}

pub(crate) struct Network {
    pub params: Params,
    /// First day of the seeded range (`years` before `today`).
    pub start: NaiveDate,
    pub members: Vec<Person>,
    pub groups: Vec<Chapter>,
    pub seats: Vec<Seat>,
    /// Per group: indexes into `seats`, in member order.
    pub rosters: Vec<Vec<usize>>,
    /// `FIRMS.len()` per group, group by group.
    pub firms: Vec<Firm>,
    pub pairs: Vec<Pair>,
    pub absences: Vec<Away>,
    /// Per member: their absence (at most one), as an index into `absences`.
    pub away_of: Vec<Option<usize>>,
}

/// How a member's seats look.
enum History {
    /// Seated before the range began, still seated.
    Founder,
    /// Joined during the range.
    Late,
    /// Founder whose seat ended during the range (no seat since).
    Leaver,
    /// Sat in the next group, then moved to their home group.
    Mover,
}

impl Network {
    pub fn generate(params: &Params, ids: &mut Ids) -> Network {
        let mut rng = StdRng::seed_from_u64(SEED);
        let start = params.start();
        let today = params.today;
        let days = (today - start).num_days();
        let (m, g) = (params.members, params.groups);
        let home_of = |i: usize| i * g / m;
        let mut block_start = vec![0usize; g];
        for i in (0..m).rev() {
            block_start[home_of(i)] = i;
        }
        let block_len = |h: usize| {
            if h + 1 < g {
                block_start[h + 1] - block_start[h]
            } else {
                m - block_start[h]
            }
        };

        let groups: Vec<Chapter> = (0..g)
            .map(|h| Chapter {
                id: ids.next(Kind::Group),
                name: format!(
                    "{} Chapter {}",
                    CITIES[h % CITIES.len()],
                    h / CITIES.len() + 1
                ),
                currency: if h % 10 == 9 { "GBP" } else { "EUR" },
                founded: start - Duration::days(1100),
                weekday: (h % 5) as i64,
            })
            .collect();

        let mut members = Vec::with_capacity(m);
        let mut seats = Vec::with_capacity(m + m / 20);
        for i in 0..m {
            let home = home_of(i);
            let pos = i - block_start[home];
            let first = FIRST[rng.gen_range(0..FIRST.len())];
            let last = LAST[rng.gen_range(0..LAST.len())];
            let profession = PROFESSIONS[(pos + home) % PROFESSIONS.len()];
            let email = if i < params.accounts {
                account_email(i + 1)
            } else {
                format!("member{}@bench.example", i + 1)
            };
            // The leader, the next member and the bench accounts keep one
            // seat from before the range on: every group always has two
            // members to refer between, and the accounts always have a seat.
            let steady = pos < 2 || i < params.accounts;
            let roll: f64 = rng.r#gen();
            let history = if steady {
                History::Founder
            } else if roll < 0.04 && g > 1 {
                History::Mover
            } else if roll < 0.08 {
                History::Leaver
            } else if roll < 0.18 {
                History::Late
            } else {
                History::Founder
            };
            let role = if pos == 0 { Role::Leader } else { Role::Member };
            let mut seat =
                |group: usize, role: Role, joined: NaiveDate, left: Option<NaiveDate>| {
                    seats.push(Seat {
                        id: ids.next(Kind::Membership),
                        member: i,
                        group,
                        role,
                        joined,
                        left,
                    });
                    joined
                };
            let first_joined = match history {
                History::Founder => seat(
                    home,
                    role,
                    start - Duration::days(rng.gen_range(14..900)),
                    None,
                ),
                History::Late => seat(
                    home,
                    role,
                    start + Duration::days(rng.gen_range(0..days - 30)),
                    None,
                ),
                History::Leaver => {
                    let joined = start - Duration::days(rng.gen_range(14..700));
                    let left = start + Duration::days(rng.gen_range(30..days - 14));
                    seat(home, role, joined, Some(left))
                }
                History::Mover => {
                    let before = start - Duration::days(rng.gen_range(60..700));
                    let moved = start + Duration::days(rng.gen_range(30..days - 30));
                    let earlier = seat(
                        (home + 1) % g,
                        Role::Member,
                        before,
                        Some(moved - Duration::days(1)),
                    );
                    seat(home, role, moved, None);
                    earlier
                }
            };
            let engagement = if steady {
                rng.gen_range(0.9..0.99)
            } else {
                rng.gen_range(0.7..0.99)
            };
            members.push(Person {
                id: ids.next(Kind::Member),
                name: format!("{first} {last}"),
                email,
                profession: profession.to_string(),
                business_name: rng.gen_bool(0.7).then(|| format!("{last} {profession}")),
                phone: rng
                    .gen_bool(0.5)
                    .then(|| format!("+44 20 7946 {:04}", i % 10_000)),
                engagement,
                created_on: first_joined - Duration::days(3),
                home,
            });
        }

        let mut rosters = vec![Vec::new(); g];
        for (s, seat) in seats.iter().enumerate() {
            rosters[seat.group].push(s);
        }
        // The seat a member holds in their home group (their last one).
        let mut home_seat = vec![0usize; m];
        for (s, seat) in seats.iter().enumerate() {
            if seat.group == members[seat.member].home {
                home_seat[seat.member] = s;
            }
        }

        let mut firms = Vec::with_capacity(g * FIRMS.len());
        for h in 0..g {
            for name in FIRMS {
                let n = firms.len() + 1;
                firms.push(Firm {
                    id: ids.next(Kind::PartnerFirm),
                    group: h,
                    name: format!("{name} {}", h + 1),
                    contact_email: format!("partners{n}@firms.bench.example"),
                });
            }
        }

        // Partnerships between members of a block: each member with the
        // next one and the one five on, most of the time.
        let mut pairs = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..m {
            let h = members[i].home;
            let len = block_len(h);
            for offset in [1, 5] {
                let pos = i - block_start[h];
                let j = block_start[h] + (pos + offset) % len;
                if j == i || !seen.insert((i.min(j), i.max(j))) || !rng.gen_bool(0.6) {
                    continue;
                }
                let (a, b) = (&seats[home_seat[i]], &seats[home_seat[j]]);
                let earliest = a.joined.max(b.joined).max(start - Duration::days(365));
                let since = earliest + Duration::days(rng.gen_range(0..120));
                let last_day = [a.left, b.left, Some(today - Duration::days(1))]
                    .into_iter()
                    .flatten()
                    .min()
                    .unwrap_or(today);
                if since >= last_day {
                    continue;
                }
                let id = ids.next(Kind::Partnership);
                let mut stages = vec![(
                    ids.next(Kind::PartnershipStage),
                    since,
                    PartnershipStage::Visibility,
                )];
                let mut day = since;
                for stage in [
                    PartnershipStage::Credibility,
                    PartnershipStage::Profitability,
                ] {
                    day += Duration::days(rng.gen_range(60..200));
                    if day >= last_day {
                        break;
                    }
                    stages.push((ids.next(Kind::PartnershipStage), day, stage));
                }
                let quits = a.left.is_some() || b.left.is_some();
                let ended = if quits {
                    Some(last_day)
                } else if rng.gen_bool(0.04) && (last_day - day).num_days() > 30 {
                    Some(day + Duration::days(rng.gen_range(30..(last_day - day).num_days())))
                } else {
                    None
                };
                pairs.push(Pair {
                    id,
                    owner: i,
                    partner: j,
                    stages,
                    ended,
                });
            }
        }

        // About one member in three is away once, for 5-21 days, while in
        // their home seat; the next member of the block holds their referrals.
        let mut absences = Vec::new();
        let mut away_of = vec![None; m];
        for i in 0..m {
            if !rng.gen_bool(0.3) {
                continue;
            }
            let seat = &seats[home_seat[i]];
            let lo = seat.joined.max(start);
            let hi = seat.left.unwrap_or(today).min(today - Duration::days(1));
            let room = (hi - lo).num_days();
            if room < 30 {
                continue;
            }
            let from = lo + Duration::days(rng.gen_range(0..room - 21));
            let to = from + Duration::days(rng.gen_range(4..21));
            let h = members[i].home;
            let delegate = block_start[h] + (i - block_start[h] + 1) % block_len(h);
            away_of[i] = Some(absences.len());
            absences.push(Away {
                id: ids.next(Kind::Absence),
                member: i,
                from,
                to,
                delegate,
                note: match rng.gen_range(0..3) {
                    0 => Some("Holiday"),
                    1 => Some("Trade fair abroad"),
                    _ => None,
                },
            });
        }

        let mut groups = groups;
        for (h, roster) in rosters.iter().enumerate() {
            if let Some(first) = roster.iter().map(|s| seats[*s].joined).min() {
                groups[h].founded = first - Duration::days(14);
            }
        }
        Network {
            params: params.clone(),
            start,
            members,
            groups,
            seats,
            rosters,
            firms,
            pairs,
            absences,
            away_of,
        }
    }

    /// The member's absence covering `day`, if any.
    pub fn away_on(&self, member: usize, day: NaiveDate) -> Option<&Away> {
        self.away_of[member]
            .map(|a| &self.absences[a])
            .filter(|a| a.from <= day && day <= a.to)
    }
}
