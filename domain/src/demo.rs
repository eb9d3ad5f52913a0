//! `referral-exchange seed-demo`: one realistic chapter with a year of
//! history, so every report has something to show. Deterministic (a fixed
//! random seed) and idempotent: a second run finds the demo leader and
//! writes nothing. Written as plain rows, not migrations, with backdated
//! timestamps that the live API (which stamps "now") cannot produce.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entities::{
    AbsenceReason, AttendanceStatus, BusinessKind, Channel, EventKind, PartnershipStage,
    ReferralStatus, Role, attendance, group, meeting, member, membership, one_to_one, partner_firm,
    partnership, referral, referral_event, reward_tier, visitor,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, TransactionTrait};

use crate::error::DomainResult;
use crate::referrals::lifecycle::Lifecycle;
use crate::validation::new_id;

pub const LEADER_EMAIL: &str = "leader@demo.referral-exchange.org";
pub const DEMO_PASSWORD: &str = "demo-chapter-2026";
const WEEKS: i64 = 52;

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
    let mut rng = StdRng::seed_from_u64(2026);
    let today = Utc::now().date_naive();
    let start = today - Duration::days(WEEKS * 7);
    let txn = db.begin().await?;

    let group_id = new_id();
    group::Entity::insert(group::ActiveModel {
        id: Set(group_id.clone()),
        name: Set("Harbour Business Network (demo)".into()),
        currency: Set("EUR".into()),
        classification_exclusive: Set(true),
        meeting_cadence_days: Set(7),
        follow_up_interval_days: Set(7),
        follow_up_max_unanswered: Set(4),
        revisit_after_months: Set(6),
        created_at: Set(at(start - Duration::days(30), 9)),
    })
    .exec(&txn)
    .await?;

    // Members: most founded the chapter a year ago; a few joined during the year.
    let mut ids = Vec::new();
    let mut joined = Vec::new();
    for (i, (name, profession)) in PEOPLE.iter().enumerate() {
        let id = new_id();
        let joined_on = if i >= 21 {
            today - Duration::days(90 + 20 * (i as i64 - 21))
        } else {
            start - Duration::days(30)
        };
        member::Entity::insert(member::ActiveModel {
            id: Set(id.clone()),
            email: Set(email_for(i)),
            email_lower: Set(email_for(i)),
            name: Set((*name).into()),
            password_hash: Set(password_hash.clone()),
            profession: Set((*profession).into()),
            business_name: Set(Some(format!(
                "{} {}",
                name.split(' ').next_back().unwrap_or(name),
                "& Co"
            ))),
            phone: Set(Some(format!("+46 70 555 {:02} {:02}", i, 10 + i))),
            brief_ideal_referral: Set(Some(format!(
                "Someone who needs a trusted {}",
                profession.to_lowercase()
            ))),
            brief_target_market: Set(Some("Owner-run businesses in the harbour district".into())),
            brief_talking_points: Set(Some("Local, responsive, fixed quotes".into())),
            brief_intro_template: Set(None),
            is_admin: Set(false),
            created_at: Set(at(joined_on, 8)),
            last_seen_at: Set(Some(at(today, 7))),
            previous_sign_in_at: Set(Some(at(today - Duration::days(7), 7))),
        })
        .exec(&txn)
        .await?;
        membership::Entity::insert(membership::ActiveModel {
            id: Set(new_id()),
            group_id: Set(group_id.clone()),
            member_id: Set(id.clone()),
            role: Set(if i == 0 { Role::Leader } else { Role::Member }),
            joined_on: Set(joined_on),
            left_on: Set(None),
            created_at: Set(at(joined_on, 8)),
        })
        .exec(&txn)
        .await?;
        ids.push(id);
        joined.push(joined_on);
    }

    // Weekly meetings with PALMS attendance and the odd visitor.
    let mut meetings: Vec<(String, NaiveDate)> = Vec::new();
    let mut attendance_of: std::collections::HashMap<(usize, usize), AttendanceStatus> =
        Default::default();
    for week in 0..WEEKS {
        let held_on = start + Duration::days(week * 7 + 7);
        let id = new_id();
        meeting::Entity::insert(meeting::ActiveModel {
            id: Set(id.clone()),
            group_id: Set(group_id.clone()),
            held_on: Set(held_on),
            created_at: Set(at(held_on, 6)),
        })
        .exec(&txn)
        .await?;
        let m = meetings.len();
        let mut rows = Vec::new();
        for (i, member_id) in ids.iter().enumerate() {
            if joined[i] > held_on {
                continue;
            }
            let roll: u32 = rng.gen_range(0..100);
            // Member 7 misses a lot: the report's red light.
            let status = match (i == 7, roll) {
                (true, 0..=55) | (false, 0..=84) => AttendanceStatus::Present,
                (true, 56..=60) | (false, 85..=88) => AttendanceStatus::Late,
                (true, 61..=90) | (false, 89..=92) => AttendanceStatus::Absent,
                (_, 93..=96) => AttendanceStatus::Medical,
                _ => AttendanceStatus::Substitute,
            };
            attendance_of.insert((m, i), status);
            rows.push(attendance::ActiveModel {
                id: Set(new_id()),
                meeting_id: Set(id.clone()),
                member_id: Set(member_id.clone()),
                status: Set(status),
                substitute_name: Set(
                    (status == AttendanceStatus::Substitute).then(|| "A colleague".to_string())
                ),
                recorded_at: Set(at(held_on, 9)),
            });
        }
        attendance::Entity::insert_many(rows).exec(&txn).await?;
        if rng.gen_bool(0.6) {
            let by = rng.gen_range(0..ids.len());
            if joined[by] <= held_on {
                visitor::Entity::insert(visitor::ActiveModel {
                    id: Set(new_id()),
                    meeting_id: Set(id.clone()),
                    invited_by_id: Set(ids[by].clone()),
                    name: Set(format!("Visitor {week}")),
                    email: Set(None),
                    created_at: Set(at(held_on, 7)),
                })
                .exec(&txn)
                .await?;
            }
        }
        meetings.push((id, held_on));
    }

    // One-to-ones: a few a week, between seated members.
    let mut one_to_ones = Vec::new();
    for week in 0..WEEKS {
        for _ in 0..3 {
            let (a, b) = (rng.gen_range(0..ids.len()), rng.gen_range(0..ids.len()));
            let held_on = start + Duration::days(week * 7 + rng.gen_range(1..7));
            if a == b || joined[a] > held_on || joined[b] > held_on || held_on > today {
                continue;
            }
            one_to_ones.push(one_to_one::ActiveModel {
                id: Set(new_id()),
                member_id: Set(ids[a].clone()),
                with_member_id: Set(ids[b].clone()),
                held_on: Set(held_on),
                note: Set(Some("Swapped target markets".into())),
                created_at: Set(at(held_on, 12)),
            });
        }
    }
    one_to_one::Entity::insert_many(one_to_ones)
        .exec(&txn)
        .await?;

    // Partnerships that mature over the year, and one imbalanced pair.
    let mut partnerships = Vec::new();
    for i in 0..12usize {
        let (a, b) = (i, (i * 7 + 3) % ids.len());
        if a == b {
            continue;
        }
        let since = start + Duration::days((i as i64) * 20);
        partnerships.push(partnership::ActiveModel {
            id: Set(new_id()),
            member_id: Set(ids[a].clone()),
            partner_member_id: Set(Some(ids[b].clone())),
            partner_contact_id: Set(None),
            since: Set(since),
            stage: Set([
                PartnershipStage::Profitability,
                PartnershipStage::Credibility,
                PartnershipStage::Visibility,
            ][i % 3]),
            created_at: Set(at(since, 10)),
        });
    }
    // Member 3 keeps referring member 12, who never refers back: one-way.
    partnerships.push(partnership::ActiveModel {
        id: Set(new_id()),
        member_id: Set(ids[3].clone()),
        partner_member_id: Set(Some(ids[12].clone())),
        partner_contact_id: Set(None),
        since: Set(start),
        stage: Set(PartnershipStage::Credibility),
        created_at: Set(at(start, 10)),
    });
    partnership::Entity::insert_many(partnerships)
        .exec(&txn)
        .await?;

    let firm_id = new_id();
    partner_firm::Entity::insert(partner_firm::ActiveModel {
        id: Set(firm_id.clone()),
        group_id: Set(group_id.clone()),
        name: Set("Harbour Savings Bank".into()),
        contact_email: Set(Some("partners@harbour-savings.example".into())),
        created_at: Set(at(start, 9)),
    })
    .exec(&txn)
    .await?;
    for (threshold, reward) in [
        (1, "A thank-you coffee voucher"),
        (3, "€50 credit at the chapter dinner"),
        (5, "Premium listing upgrade"),
    ] {
        reward_tier::Entity::insert(reward_tier::ActiveModel {
            id: Set(new_id()),
            group_id: Set(group_id.clone()),
            threshold: Set(threshold),
            reward: Set(reward.into()),
        })
        .exec(&txn)
        .await?;
    }

    // Referrals: ~6 a week. Early on most are passed at meetings with the
    // receiver in the room; as partnerships mature, more arrive while the
    // receiver is away (portal, missed meetings, the partner bank).
    let mut referral_count = 0;
    for (m, (meeting_id, held_on)) in meetings.iter().enumerate() {
        let share_in_absence = 0.15 + 0.55 * (m as f64 / WEEKS as f64);
        for k in 0..6 {
            let giver = rng.gen_range(0..ids.len());
            let mut receiver = rng.gen_range(0..ids.len());
            // Member 3 gives to member 12 again and again, and hears nothing back.
            if k == 5 && m % 4 == 0 {
                receiver = 12;
            }
            let giver = if k == 5 && m % 4 == 0 { 3 } else { giver };
            if giver == receiver
                || joined[giver] > *held_on
                || joined[receiver] > *held_on
                || (receiver == 3 && giver == 12)
            {
                continue;
            }
            let in_absence = rng.gen_bool(share_in_absence);
            let receiver_status = attendance_of.get(&(m, receiver)).copied();
            let (channel, meeting, reason, day) = if in_absence {
                if receiver_status.is_some_and(|s| !s.was_present()) {
                    (
                        Channel::Meeting,
                        Some(meeting_id.clone()),
                        Some(AbsenceReason::MissedMeeting),
                        *held_on,
                    )
                } else {
                    (
                        Channel::Portal,
                        None,
                        Some(AbsenceReason::Remote),
                        *held_on + Duration::days(rng.gen_range(1..6)),
                    )
                }
            } else if receiver_status.is_some_and(AttendanceStatus::was_present) {
                (Channel::Meeting, Some(meeting_id.clone()), None, *held_on)
            } else {
                continue;
            };
            if day > today {
                continue;
            }
            let age = (today - day).num_days();
            let roll: u32 = rng.gen_range(0..100);
            let status = match (age, roll) {
                (0..=6, _) => ReferralStatus::Submitted,
                (7..=20, 0..=49) => ReferralStatus::Accepted,
                (7..=20, _) => ReferralStatus::Contacted,
                (_, 0..=39) => ReferralStatus::Won,
                (_, 40..=59) => ReferralStatus::Lost,
                (_, 60..=64) => ReferralStatus::Declined,
                (_, 65..=69) => ReferralStatus::Parked,
                (_, 70..=79) => ReferralStatus::MeetingSet,
                _ => ReferralStatus::Contacted,
            };
            let value = (status == ReferralStatus::Won)
                .then(|| rng.gen_range(200..20_000) as i64 * 10_000 + 5_000);
            let won_at = (status == ReferralStatus::Won).then(|| at(day + Duration::days(14), 15));
            // A few wins are left unthanked.
            let thanked = won_at
                .filter(|_| rng.gen_bool(0.85))
                .map(|w| w + Duration::days(1));
            let in_progress = status.is_in_progress();
            let id = new_id();
            let created = at(day, 10);
            referral::Entity::insert(referral::ActiveModel {
                id: Set(id.clone()),
                group_id: Set(Some(group_id.clone())),
                giver_member_id: Set(Some(ids[giver].clone())),
                giver_firm_id: Set(None),
                giver_contact_id: Set(None),
                receiver_member_id: Set(Some(ids[receiver].clone())),
                receiver_firm_id: Set(None),
                prospect_name: Set(format!("Prospect {m}-{k}")),
                prospect_email: Set(Some(format!("prospect.{m}.{k}@example.com"))),
                prospect_phone: Set(None),
                prospect_company: Set(Some(format!("Harbour Client {m}{k} Ltd"))),
                prospect_need: Set(Some("Looking for a reliable local provider".into())),
                temperature: Set(rng.gen_range(2..=5)),
                channel: Set(channel),
                meeting_id: Set(meeting),
                ask_id: Set(None),
                note: Set(None),
                made_in_absence: Set(reason.is_some()),
                absence_reason: Set(reason),
                inside_group: Set(true),
                delegate_id: Set(None),
                status: Set(status),
                closed_value_e4: Set(value),
                business_kind: Set((status == ReferralStatus::Won).then(|| {
                    if rng.gen_bool(0.7) {
                        BusinessKind::New
                    } else {
                        BusinessKind::Repeat
                    }
                })),
                version: Set(if status == ReferralStatus::Submitted {
                    1
                } else {
                    2
                }),
                follow_up_count: Set(0),
                unanswered_follow_ups: Set(0),
                // Some follow-ups slipped: due dates in the past show as overdue.
                next_follow_up_on: Set(
                    in_progress.then(|| day + Duration::days(7 + rng.gen_range(0..21)))
                ),
                revisit_on: Set(
                    (status == ReferralStatus::Parked).then(|| day + Duration::days(182))
                ),
                thanked_at: Set(thanked),
                won_at: Set(won_at),
                created_at: Set(created),
                updated_at: Set(won_at.unwrap_or(created)),
            })
            .exec(&txn)
            .await?;
            referral_event::Entity::insert(referral_event::ActiveModel {
                id: Set(new_id()),
                referral_id: Set(id.clone()),
                kind: Set(EventKind::Created),
                from_status: Set(None),
                to_status: Set(Some(ReferralStatus::Submitted)),
                actor_member_id: Set(Some(ids[giver].clone())),
                actor_firm_id: Set(None),
                note: Set(None),
                at: Set(created),
            })
            .exec(&txn)
            .await?;
            referral_count += 1;
        }
        // The partner bank sends a referral most months, always in absence.
        if m % 4 == 1 {
            let receiver = (m * 5) % ids.len();
            let day = *held_on + Duration::days(2);
            if joined[receiver] <= day && day <= today {
                referral::Entity::insert(referral::ActiveModel {
                    id: Set(new_id()),
                    group_id: Set(Some(group_id.clone())),
                    giver_member_id: Set(None),
                    giver_firm_id: Set(Some(firm_id.clone())),
                    giver_contact_id: Set(None),
                    receiver_member_id: Set(Some(ids[receiver].clone())),
                    receiver_firm_id: Set(None),
                    prospect_name: Set(format!("Bank client {m}")),
                    prospect_email: Set(None),
                    prospect_phone: Set(None),
                    prospect_company: Set(None),
                    prospect_need: Set(Some("Business customer asking for an introduction".into())),
                    temperature: Set(3),
                    channel: Set(Channel::PartnerApi),
                    meeting_id: Set(None),
                    ask_id: Set(None),
                    note: Set(None),
                    made_in_absence: Set(true),
                    absence_reason: Set(Some(AbsenceReason::PartnerApi)),
                    inside_group: Set(false),
                    delegate_id: Set(None),
                    status: Set(ReferralStatus::Accepted),
                    closed_value_e4: Set(None),
                    business_kind: Set(None),
                    version: Set(2),
                    follow_up_count: Set(0),
                    unanswered_follow_ups: Set(0),
                    next_follow_up_on: Set(Some(day + Duration::days(7))),
                    revisit_on: Set(None),
                    thanked_at: Set(None),
                    won_at: Set(None),
                    created_at: Set(at(day, 11)),
                    updated_at: Set(at(day, 11)),
                })
                .exec(&txn)
                .await?;
                referral_count += 1;
            }
        }
    }
    txn.commit().await?;
    Ok(Seeded {
        created: true,
        members: ids.len(),
        meetings: meetings.len(),
        referrals: referral_count,
    })
}
