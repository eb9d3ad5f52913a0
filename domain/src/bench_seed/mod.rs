//! `referral-exchange seed-bench`: a large, deterministic synthetic network
//! for benchmarks (issue 13) — by default 20,000 members in 500 groups of
//! about 40, with 1,000,000 referrals over two years.
//!
//! Generation is pure and separate from writing: `network` makes the
//! standing parts (members, seats with history, partner firms,
//! partnerships, absences) and `activity` one group's meetings, attendance,
//! visitors, one-to-ones, referrals and referral events, from a fixed
//! random seed and counter-derived ids (`ids`), so the same parameters (and
//! the same "today") give the same rows. Writing is bulk: multi-row INSERTs
//! of up to 1,000 rows (fewer for wide tables, to stay under SQLite's
//! 32,766 bound parameters), committed every ~50,000 rows, group by group.
//!
//! Every row is one the services could have written (see `activity` for
//! the referral rules). The seed refuses a database that already has
//! members. It commits as it goes, so a run that fails part-way leaves a
//! partial network: start again from an empty database.

mod activity;
mod ids;
mod network;

use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use entities::{absence, group, member, membership, partner_firm, partnership, partnership_stage};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityName, EntityTrait, Iterable,
    PaginatorTrait, Set, TransactionTrait,
};

use activity::Activity;
use ids::{Ids, Kind};
use network::Network;

/// The bench accounts' (and the bench admin's) password.
pub const BENCH_PASSWORD: &str = "bench-password-1";
/// The bench administrator (no seat).
pub const ADMIN_EMAIL: &str = "bench-admin@bench.example";
/// The bench accounts' emails, `n` from 1: `bench1@bench.example` leads the first group.
pub const ACCOUNT_EMAIL_PATTERN: &str = "bench{n}@bench.example";

/// The email of bench account `n` (from 1).
pub fn account_email(n: usize) -> String {
    format!("bench{n}@bench.example")
}

/// The password hash of every member who is not a bench account: a
/// well-formed Argon2id hash whose output is all zero bytes. Signing in
/// with it does the usual work and fails — no password hashes to zeros.
const NO_SIGN_IN_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2gtbm8tc2lnbi1pbg$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// The defaults of `seed-bench`.
pub const DEFAULT_MEMBERS: usize = 20_000;
pub const DEFAULT_GROUPS: usize = 500;
pub const DEFAULT_REFERRALS: usize = 1_000_000;
pub const DEFAULT_ACCOUNTS: usize = 100;
pub const DEFAULT_YEARS: u32 = 2;

/// The random streams' seed: fixed, so runs repeat.
const SEED: u64 = 0x5EED_0013_BE4C_2026;
/// Rows per INSERT statement at most…
const ROWS_PER_STATEMENT: usize = 1_000;
/// …and bound parameters per statement at most (SQLite's limit).
const MAX_BIND_PARAMETERS: usize = 32_766;
/// Group activity is committed once this many rows are waiting.
const ROWS_PER_TRANSACTION: usize = 50_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub members: usize,
    pub groups: usize,
    pub referrals: usize,
    /// Bench accounts: the first `accounts` members sign in with `BENCH_PASSWORD`.
    pub accounts: usize,
    pub years: u32,
    /// The range ends the day before this one; nothing is dated later.
    pub today: NaiveDate,
}

impl Params {
    /// The defaults: 20,000 members, 500 groups, 1,000,000 referrals, 100
    /// accounts, 2 years up to `today`.
    pub fn defaults(today: NaiveDate) -> Params {
        Params {
            members: DEFAULT_MEMBERS,
            groups: DEFAULT_GROUPS,
            referrals: DEFAULT_REFERRALS,
            accounts: DEFAULT_ACCOUNTS,
            years: DEFAULT_YEARS,
            today,
        }
    }

    /// First day of the seeded range.
    pub fn start(&self) -> NaiveDate {
        self.today
            .checked_sub_months(Months::new(12 * self.years))
            .unwrap_or(self.today - Duration::days(365 * i64::from(self.years)))
    }

    pub fn check(&self) -> anyhow::Result<()> {
        if self.groups == 0 {
            anyhow::bail!("--groups must be at least 1");
        }
        if self.members < 3 * self.groups {
            anyhow::bail!(
                "--members must be at least three per group ({} for {} groups)",
                3 * self.groups,
                self.groups
            );
        }
        if self.accounts == 0 || self.accounts > self.members {
            anyhow::bail!(
                "--accounts must be between 1 and the number of members ({})",
                self.members
            );
        }
        if !(1..=20).contains(&self.years) {
            anyhow::bail!("--years must be between 1 and 20");
        }
        Ok(())
    }
}

/// What was written, for the summary line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Members in groups (the bench admin is counted apart).
    pub members: u64,
    pub admins: u64,
    pub groups: u64,
    pub memberships: u64,
    pub partner_firms: u64,
    pub partnerships: u64,
    pub partnership_stages: u64,
    pub absences: u64,
    pub meetings: u64,
    pub attendance: u64,
    pub visitors: u64,
    pub one_to_ones: u64,
    pub referrals: u64,
    pub referral_events: u64,
    /// The first group, led by bench account 1.
    pub first_group_id: String,
    /// The seeded range, both days included.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub seconds: f64,
}

/// `day` at `hour`:00 UTC plus `minutes`.
pub(crate) fn at(day: NaiveDate, hour: u32, minutes: i64) -> DateTime<Utc> {
    day.and_hms_opt(hour, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_default()
        + Duration::minutes(minutes)
}

/// Fills an empty database; `progress` hears a line per phase and about
/// every 5 %.
pub async fn seed(
    db: &DatabaseConnection,
    params: &Params,
    progress: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Summary> {
    params.check()?;
    let existing = member::Entity::find().count(db).await?;
    if existing > 0 {
        anyhow::bail!(
            "the database already has {existing} members; seed-bench fills an empty database \
             only (nothing written)"
        );
    }
    let started = Instant::now();
    progress(&format!(
        "seed-bench: {} members in {} groups, {} referrals from {} to {}, {} bench accounts",
        params.members,
        params.groups,
        params.referrals,
        params.start(),
        params.today - Duration::days(1),
        params.accounts
    ));
    // ONE Argon2 hash for every bench account and the admin: each hash
    // takes tens of milliseconds by design, and distinct salts would buy a
    // benchmark nothing.
    let password_hash = crate::auth::passwords::hash_password(BENCH_PASSWORD.to_string())
        .await
        .map_err(|e| anyhow::anyhow!("hashing the bench password: {}", e.message()))?;
    let mut ids = Ids::default();
    let net = Network::generate(params, &mut ids);
    let mut summary = write_network(db, &net, &mut ids, password_hash, progress).await?;

    let mut pending = Activity::default();
    let mut percent = Percent::default();
    let groups = params.groups;
    for g in 0..groups {
        let referrals = params.referrals / groups + usize::from(g < params.referrals % groups);
        pending.append(activity::generate(&net, g, referrals, &mut ids));
        if pending.rows() >= ROWS_PER_TRANSACTION || g + 1 == groups {
            let batch = std::mem::take(&mut pending);
            summary.meetings += batch.meetings.len() as u64;
            summary.attendance += batch.attendance.len() as u64;
            summary.visitors += batch.visitors.len() as u64;
            summary.one_to_ones += batch.one_to_ones.len() as u64;
            summary.referrals += batch.referrals.len() as u64;
            summary.referral_events += batch.events.len() as u64;
            write_activity(db, batch).await?;
            if let Some(pct) = percent.crossed(g + 1, groups) {
                progress(&format!(
                    "seed-bench: group activity {pct}% ({}/{groups} groups: {} referrals, {} events, \
                     {} meetings, {} attendance rows; {:.0} s)",
                    g + 1,
                    summary.referrals,
                    summary.referral_events,
                    summary.meetings,
                    summary.attendance,
                    started.elapsed().as_secs_f64()
                ));
            }
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    progress(&format!("seed-bench: done in {:.1} s", summary.seconds));
    Ok(summary)
}

/// Members (and the admin) in one transaction, then groups, seats, firms,
/// partnerships and absences in another.
async fn write_network(
    db: &DatabaseConnection,
    net: &Network,
    ids: &mut Ids,
    password_hash: String,
    progress: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Summary> {
    let accounts = net.params.accounts;
    let mut members: Vec<member::ActiveModel> = net
        .members
        .iter()
        .enumerate()
        .map(|(i, p)| member::ActiveModel {
            id: Set(p.id.clone()),
            email: Set(p.email.clone()),
            email_lower: Set(p.email.to_lowercase()),
            name: Set(p.name.clone()),
            password_hash: Set(if i < accounts {
                password_hash.clone()
            } else {
                NO_SIGN_IN_HASH.to_string()
            }),
            profession: Set(p.profession.clone()),
            business_name: Set(p.business_name.clone()),
            phone: Set(p.phone.clone()),
            brief_ideal_referral: Set(None),
            brief_target_market: Set(None),
            brief_talking_points: Set(None),
            brief_intro_template: Set(None),
            is_admin: Set(false),
            created_at: Set(at(p.created_on, 9, 0)),
            last_seen_at: Set(None),
            previous_sign_in_at: Set(None),
        })
        .collect();
    members.push(member::ActiveModel {
        id: Set(ids.next(Kind::Member)),
        email: Set(ADMIN_EMAIL.into()),
        email_lower: Set(ADMIN_EMAIL.into()),
        name: Set("Bench Admin".into()),
        password_hash: Set(password_hash),
        profession: Set("Administrator".into()),
        business_name: Set(None),
        phone: Set(None),
        brief_ideal_referral: Set(None),
        brief_target_market: Set(None),
        brief_talking_points: Set(None),
        brief_intro_template: Set(None),
        is_admin: Set(true),
        created_at: Set(at(net.start - Duration::days(1200), 9, 0)),
        last_seen_at: Set(None),
        previous_sign_in_at: Set(None),
    });
    let total = members.len();
    let txn = db.begin().await?;
    let mut percent = Percent::default();
    let mut done = 0;
    let mut rows = members.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(5_000).collect();
        done += chunk.len();
        insert(&txn, chunk).await?;
        if let Some(pct) = percent.crossed(done, total) {
            progress(&format!("seed-bench: members {pct}% ({done}/{total})"));
        }
    }
    txn.commit().await?;

    let groups: Vec<group::ActiveModel> = net
        .groups
        .iter()
        .map(|c| group::ActiveModel {
            id: Set(c.id.clone()),
            name: Set(c.name.clone()),
            currency: Set(c.currency.into()),
            classification_exclusive: Set(false),
            meeting_cadence_days: Set(7),
            follow_up_interval_days: Set(7),
            follow_up_max_unanswered: Set(4),
            revisit_after_months: Set(6),
            revisit_after_days: Set(None),
            reask_after_days: Set(90),
            created_at: Set(at(c.founded, 9, 0)),
        })
        .collect();
    let seats: Vec<membership::ActiveModel> = net
        .seats
        .iter()
        .map(|s| membership::ActiveModel {
            id: Set(s.id.clone()),
            group_id: Set(net.groups[s.group].id.clone()),
            member_id: Set(net.members[s.member].id.clone()),
            role: Set(s.role),
            joined_on: Set(s.joined),
            left_on: Set(s.left),
            created_at: Set(at(s.joined, 9, 30)),
        })
        .collect();
    let firms: Vec<partner_firm::ActiveModel> = net
        .firms
        .iter()
        .map(|f| partner_firm::ActiveModel {
            id: Set(f.id.clone()),
            group_id: Set(net.groups[f.group].id.clone()),
            name: Set(f.name.clone()),
            contact_email: Set(Some(f.contact_email.clone())),
            created_at: Set(at(net.groups[f.group].founded + Duration::days(30), 10, 0)),
        })
        .collect();
    let mut pairs = Vec::with_capacity(net.pairs.len());
    let mut stages = Vec::new();
    for p in &net.pairs {
        let (_, since, _) = p.stages[0];
        let (_, _, stage) = p.stages[p.stages.len() - 1];
        pairs.push(partnership::ActiveModel {
            id: Set(p.id.clone()),
            member_id: Set(net.members[p.owner].id.clone()),
            partner_member_id: Set(Some(net.members[p.partner].id.clone())),
            partner_contact_id: Set(None),
            since: Set(since),
            stage: Set(stage),
            ended_on: Set(p.ended),
            created_at: Set(at(since, 10, 0)),
        });
        for (id, day, stage) in &p.stages {
            stages.push(partnership_stage::ActiveModel {
                id: Set(id.clone()),
                partnership_id: Set(p.id.clone()),
                stage: Set(*stage),
                changed_on: Set(*day),
                created_at: Set(at(*day, 10, 0)),
            });
        }
    }
    let absences: Vec<absence::ActiveModel> = net
        .absences
        .iter()
        .map(|a| absence::ActiveModel {
            id: Set(a.id.clone()),
            member_id: Set(net.members[a.member].id.clone()),
            from_on: Set(a.from),
            to_on: Set(a.to),
            delegate_id: Set(Some(net.members[a.delegate].id.clone())),
            note: Set(a.note.map(str::to_string)),
            created_at: Set(at(a.from - Duration::days(7), 9, 0)),
        })
        .collect();
    let summary = Summary {
        members: net.members.len() as u64,
        admins: 1,
        groups: groups.len() as u64,
        memberships: seats.len() as u64,
        partner_firms: firms.len() as u64,
        partnerships: pairs.len() as u64,
        partnership_stages: stages.len() as u64,
        absences: absences.len() as u64,
        first_group_id: net.groups[0].id.clone(),
        from: net.start,
        to: net.params.today - Duration::days(1),
        ..Summary::default()
    };
    let txn = db.begin().await?;
    insert(&txn, groups).await?;
    insert(&txn, seats).await?;
    insert(&txn, firms).await?;
    insert(&txn, pairs).await?;
    insert(&txn, stages).await?;
    insert(&txn, absences).await?;
    txn.commit().await?;
    progress(&format!(
        "seed-bench: {} groups, {} seats, {} partner firms, {} partnerships, {} absences",
        summary.groups,
        summary.memberships,
        summary.partner_firms,
        summary.partnerships,
        summary.absences
    ));
    Ok(summary)
}

/// Some groups' activity in one transaction, parents before children.
async fn write_activity(db: &DatabaseConnection, batch: Activity) -> anyhow::Result<()> {
    let txn = db.begin().await?;
    insert(&txn, batch.meetings).await?;
    insert(&txn, batch.attendance).await?;
    insert(&txn, batch.visitors).await?;
    insert(&txn, batch.one_to_ones).await?;
    insert(&txn, batch.referrals).await?;
    insert(&txn, batch.events).await?;
    txn.commit().await?;
    Ok(())
}

/// Multi-row INSERTs: as many rows per statement as the bound-parameter
/// limit allows, at most `ROWS_PER_STATEMENT`.
async fn insert<A>(db: &impl ConnectionTrait, rows: Vec<A>) -> anyhow::Result<()>
where
    A: ActiveModelTrait + Send,
{
    let columns = <<A::Entity as EntityTrait>::Column as Iterable>::iter().count();
    let per_statement = (MAX_BIND_PARAMETERS / columns.max(1)).clamp(1, ROWS_PER_STATEMENT);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(per_statement).collect();
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec_without_returning(db)
            .await
            .with_context(|| {
                format!(
                    "inserting into {}",
                    <A::Entity as Default>::default().table_name()
                )
            })?;
    }
    Ok(())
}

/// Reports progress about every 5 %.
struct Percent {
    next: usize,
}

impl Default for Percent {
    fn default() -> Self {
        Percent { next: 5 }
    }
}

impl Percent {
    fn crossed(&mut self, done: usize, total: usize) -> Option<usize> {
        let pct = done * 100 / total.max(1);
        if pct < self.next {
            return None;
        }
        self.next = (pct / 5 + 1) * 5;
        Some(pct)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(today: NaiveDate) -> Params {
        Params {
            members: 120,
            groups: 3,
            referrals: 900,
            accounts: 4,
            years: 2,
            today,
        }
    }

    #[test]
    fn parameters_are_checked() {
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        assert!(small(today).check().is_ok());
        assert!(Params::defaults(today).check().is_ok());
        for bad in [
            Params {
                groups: 0,
                ..small(today)
            },
            Params {
                members: 8,
                ..small(today)
            },
            Params {
                accounts: 0,
                ..small(today)
            },
            Params {
                accounts: 121,
                ..small(today)
            },
            Params {
                years: 0,
                ..small(today)
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            small(today).start(),
            NaiveDate::from_ymd_opt(2024, 6, 1).unwrap()
        );
    }

    #[tokio::test]
    async fn the_no_sign_in_hash_is_well_formed_and_matches_nothing() {
        for guess in ["", BENCH_PASSWORD, "bench-no-sign-in"] {
            let ok = crate::auth::passwords::verify_password(
                guess.to_string(),
                Some(NO_SIGN_IN_HASH.to_string()),
            )
            .await
            .expect("a readable hash");
            assert!(!ok);
        }
    }

    #[test]
    fn percent_steps_by_five() {
        let mut p = Percent::default();
        let seen: Vec<usize> = (1..=200).filter_map(|d| p.crossed(d, 200)).collect();
        assert_eq!(seen.len(), 20);
        assert_eq!(seen[0], 5);
        assert_eq!(*seen.last().unwrap(), 100);
    }

    /// The pure generation alone: the same parameters give the same rows,
    /// and the rows keep the rules the services keep.
    #[test]
    fn generation_repeats_and_keeps_the_rules() {
        use entities::ReferralStatus;
        use sea_orm::ActiveValue;
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let params = small(today);
        let run = || {
            let mut ids = Ids::default();
            let net = Network::generate(&params, &mut ids);
            let mut all = Activity::default();
            for g in 0..params.groups {
                all.append(activity::generate(&net, g, 300, &mut ids));
            }
            (net, all)
        };
        let (net, a) = run();
        let (_, b) = run();
        assert_eq!(format!("{:?}", a.referrals), format!("{:?}", b.referrals));
        assert_eq!(format!("{:?}", a.events), format!("{:?}", b.events));
        assert_eq!(a.referrals.len(), 900);

        // One leader per group, bench account 1 leads the first.
        for g in 0..params.groups {
            let leaders: Vec<_> = net.rosters[g]
                .iter()
                .filter(|s| net.seats[**s].role == entities::Role::Leader)
                .collect();
            assert_eq!(leaders.len(), 1);
        }
        assert_eq!(net.seats[net.rosters[0][0]].member, 0);
        assert_eq!(net.members[0].email, "bench1@bench.example");

        fn value<V: Into<sea_orm::Value> + Clone>(v: &ActiveValue<V>) -> V {
            v.clone().unwrap()
        }
        let mut absent = 0;
        let mut closed = 0;
        for r in &a.referrals {
            let status: ReferralStatus = value(&r.status);
            let created: DateTime<Utc> = value(&r.created_at);
            assert!(created.date_naive() >= params.start() && created.date_naive() < today);
            let won = status == ReferralStatus::Won;
            assert_eq!(value(&r.closed_value_e4).is_some(), won);
            assert_eq!(value(&r.won_at).is_some(), won);
            let open = matches!(
                status,
                ReferralStatus::Accepted | ReferralStatus::Contacted | ReferralStatus::MeetingSet
            );
            assert_eq!(value(&r.next_follow_up_on).is_some(), open);
            let made_in_absence: bool = value(&r.made_in_absence);
            assert_eq!(made_in_absence, value(&r.absence_reason).is_some());
            absent += usize::from(made_in_absence);
            closed += usize::from(matches!(
                status,
                ReferralStatus::Won
                    | ReferralStatus::Lost
                    | ReferralStatus::Declined
                    | ReferralStatus::Withdrawn
            ));
            // One event per version beyond the first (plus the creation,
            // a routing and thanks, which take no version).
            let id: String = value(&r.id);
            let events = a
                .events
                .iter()
                .filter(|e| value(&e.referral_id) == id)
                .filter(|e| {
                    matches!(
                        value(&e.kind),
                        entities::EventKind::StatusChanged | entities::EventKind::FollowUp
                    )
                })
                .count();
            let version: i32 = value(&r.version);
            assert_eq!(version as usize, events + 1);
        }
        let share = absent as f64 / 900.0;
        assert!((0.10..=0.20).contains(&share), "made in absence: {share}");
        assert!(closed > 700, "closed: {closed}");
    }
}
