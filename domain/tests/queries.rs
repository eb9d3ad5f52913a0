//! The domain's read queries and the reward awarder, against the real
//! schema: each test builds its rows directly (entities crate) in a fresh
//! database migrated by the real migrations, on SQLite and, when
//! RX_TEST_POSTGRES_URL is set, on PostgreSQL too.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use domain::absences::service::{active_absence, is_active_delegate_for};
use domain::asks::service::find_ask;
use domain::contacts::service::find_owned_contact;
use domain::meetings::service::{
    attendance_status, count_one_to_ones, find_meeting, had_one_to_one,
};
use domain::rewards::service::{award_tiers, progress};
use entities::{AttendanceStatus, ContactKind};
use futures_util::FutureExt;
use migration::MigratorTrait;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    EntityTrait, PaginatorTrait, Set, TransactionTrait,
};

async fn connect(url: &str, sqlite: bool) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url.to_string());
    options
        // One connection on SQLite, as the server does: writers queue.
        .max_connections(if sqlite { 1 } else { 16 })
        .min_connections(1)
        // No idle reaper (see api::db::connect: sqlx 0.9.0 can spin in it).
        .idle_timeout(None::<Duration>)
        .max_lifetime(None::<Duration>)
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false);
    let db = Database::connect(options).await.expect("connect");
    if sqlite {
        db.execute_unprepared(
            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
        )
        .await
        .expect("sqlite pragmas");
    }
    migration::Migrator::up(&db, None).await.expect("migrate");
    db
}

/// Runs `body` on a fresh SQLite database, then on a fresh PostgreSQL
/// database when RX_TEST_POSTGRES_URL (an admin URL) is set; with
/// RX_REQUIRE_POSTGRES=1 a missing URL fails the test.
async fn on_each_database<F, Fut>(body: F)
where
    F: Fn(DatabaseConnection) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let db = connect(&url, true).await;
    body(db.clone()).await;
    db.close().await.ok();

    let admin_url = match std::env::var("RX_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                std::env::var("RX_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "RX_REQUIRE_POSTGRES=1 but RX_TEST_POSTGRES_URL is not set"
            );
            return;
        }
    };
    let name = format!("rx_dom_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(admin_url.as_str())
        .await
        .expect("connect to PostgreSQL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    let mut url = url::Url::parse(&admin_url).expect("RX_TEST_POSTGRES_URL is a URL");
    url.set_path(&format!("/{name}"));
    let outcome = async {
        let db = connect(url.as_str(), false).await;
        let outcome = AssertUnwindSafe(body(db.clone())).catch_unwind().await;
        db.close().await.ok();
        outcome
    };
    let outcome = AssertUnwindSafe(outcome).catch_unwind().await;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .expect("drop database");
    admin.close().await.ok();
    if let Err(panic) = outcome.and_then(|inner| inner) {
        std::panic::resume_unwind(panic);
    }
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn d(offset: i64) -> NaiveDate {
    Utc::now().date_naive() + chrono::Duration::days(offset)
}

async fn member(db: &impl ConnectionTrait, name: &str) -> String {
    let id = new_id();
    let email = format!("{}-{}@example.com", name.to_lowercase(), &id[24..]);
    entities::member::ActiveModel {
        id: Set(id.clone()),
        email: Set(email.clone()),
        email_lower: Set(email.to_lowercase()),
        name: Set(name.to_string()),
        password_hash: Set("not-a-hash".into()),
        profession: Set("Architect".into()),
        is_admin: Set(false),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap_or_else(|e| panic!("insert member: {e}"));
    id
}

async fn group(db: &impl ConnectionTrait, name: &str) -> String {
    let id = new_id();
    entities::group::ActiveModel {
        id: Set(id.clone()),
        name: Set(name.to_string()),
        currency: Set("EUR".into()),
        classification_exclusive: Set(true),
        meeting_cadence_days: Set(7),
        follow_up_interval_days: Set(7),
        follow_up_max_unanswered: Set(3),
        revisit_after_months: Set(6),
        revisit_after_days: Set(None),
        reask_after_days: Set(90),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .unwrap_or_else(|e| panic!("insert group: {e}"));
    id
}

#[tokio::test]
async fn the_absence_in_force_and_its_delegate() {
    on_each_database(|db| async move {
        let (mia, max, ivy) = (
            member(&db, "Mia").await,
            member(&db, "Max").await,
            member(&db, "Ivy").await,
        );
        let absence = |from: i64, to: i64, delegate: &str| entities::absence::ActiveModel {
            id: Set(new_id()),
            member_id: Set(mia.clone()),
            from_on: Set(d(from)),
            to_on: Set(d(to)),
            delegate_id: Set(Some(delegate.to_string())),
            note: Set(None),
            created_at: Set(Utc::now()),
        };
        // Away for two weeks with Max covering; then, declared later and
        // overlapping the first days, a short absence with Ivy covering.
        absence(0, 14, &max).insert(&db).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let later = absence(-2, 3, &ivy).insert(&db).await.unwrap().id;

        assert!(active_absence(&db, &mia, d(-3)).await.unwrap().is_none());
        let on_day_one = active_absence(&db, &mia, d(1)).await.unwrap().unwrap();
        assert_eq!(
            on_day_one.id, later,
            "the most recently declared is in force"
        );
        assert_eq!(on_day_one.delegate_id.as_deref(), Some(ivy.as_str()));
        let on_day_ten = active_absence(&db, &mia, d(10)).await.unwrap().unwrap();
        assert_eq!(on_day_ten.delegate_id.as_deref(), Some(max.as_str()));
        assert_eq!((on_day_ten.from_on, on_day_ten.to_on), (d(0), d(14)));
        assert!(active_absence(&db, &mia, d(14)).await.unwrap().is_some());
        assert!(active_absence(&db, &mia, d(15)).await.unwrap().is_none());
        assert!(active_absence(&db, &max, d(1)).await.unwrap().is_none());

        assert!(is_active_delegate_for(&db, &ivy, &mia, d(1)).await.unwrap());
        assert!(!is_active_delegate_for(&db, &max, &mia, d(1)).await.unwrap());
        assert!(
            is_active_delegate_for(&db, &max, &mia, d(10))
                .await
                .unwrap()
        );
        assert!(
            !is_active_delegate_for(&db, &max, &mia, d(20))
                .await
                .unwrap()
        );
        assert!(
            !is_active_delegate_for(&db, &mia, &max, d(10))
                .await
                .unwrap()
        );
    })
    .await;
}

#[tokio::test]
async fn finding_an_ask() {
    on_each_database(|db| async move {
        let (mia, max) = (member(&db, "Mia").await, member(&db, "Max").await);
        let harbour = group(&db, "Harbour").await;
        let ask = |by: &str, text: &str| entities::ask::ActiveModel {
            id: Set(new_id()),
            member_id: Set(by.to_string()),
            group_id: Set(harbour.clone()),
            text: Set(text.to_string()),
            target_profession: Set(None),
            expires_on: Set(Some(d(30))),
            created_at: Set(Utc::now()),
        };
        ask(&mia, "An introduction to the facilities manager")
            .insert(&db)
            .await
            .unwrap();
        let second = ask(&max, "Landlords").insert(&db).await.unwrap().id;
        ask(&mia, "Caterers").insert(&db).await.unwrap();

        let found = find_ask(&db, &second).await.unwrap().unwrap();
        assert_eq!(
            (found.member_id.as_str(), found.text.as_str()),
            (max.as_str(), "Landlords")
        );
        let unknown = uuid::Uuid::new_v4().to_string();
        assert!(find_ask(&db, &unknown).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn finding_an_owned_contact() {
    on_each_database(|db| async move {
        let (mia, max) = (member(&db, "Mia").await, member(&db, "Max").await);
        let contact = |owner: &str, name: &str, kind: ContactKind| entities::contact::ActiveModel {
            id: Set(new_id()),
            owner_id: Set(owner.to_string()),
            name: Set(name.to_string()),
            kind: Set(kind),
            email: Set(None),
            phone: Set(None),
            company: Set(None),
            nps_score: Set(None),
            nps_on: Set(None),
            created_at: Set(Utc::now()),
        };
        let carla = contact(&mia, "Carla Client", ContactKind::Client)
            .insert(&db)
            .await
            .unwrap()
            .id;
        contact(&max, "Zed", ContactKind::Other)
            .insert(&db)
            .await
            .unwrap();

        // The caller's own contacts only.
        let found = find_owned_contact(&db, &mia, &carla)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (found.name.as_str(), found.kind.to_value().as_str()),
            ("Carla Client", "CLIENT")
        );
        assert!(
            find_owned_contact(&db, &max, &carla)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            find_owned_contact(&db, &mia, "nope")
                .await
                .unwrap()
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn a_meeting_and_its_attendance() {
    on_each_database(|db| async move {
        let (mia, max, ned) = (
            member(&db, "Mia").await,
            member(&db, "Max").await,
            member(&db, "Ned").await,
        );
        let harbour = group(&db, "Harbour").await;
        let meeting = entities::meeting::ActiveModel {
            id: Set(new_id()),
            group_id: Set(harbour.clone()),
            held_on: Set(d(-7)),
            created_at: Set(Utc::now()),
        }
        .insert(&db)
        .await
        .unwrap()
        .id;
        for (who, status, substitute) in [
            (&mia, AttendanceStatus::Late, None),
            (&max, AttendanceStatus::Substitute, Some("Sam".to_string())),
        ] {
            entities::attendance::ActiveModel {
                id: Set(new_id()),
                meeting_id: Set(meeting.clone()),
                member_id: Set(who.clone()),
                status: Set(status),
                substitute_name: Set(substitute),
                recorded_at: Set(Utc::now()),
            }
            .insert(&db)
            .await
            .unwrap();
        }

        let found = find_meeting(&db, &meeting).await.unwrap().unwrap();
        assert_eq!(found.group_id, harbour);
        assert_eq!(found.held_on, d(-7));
        let unknown = uuid::Uuid::new_v4().to_string();
        assert!(find_meeting(&db, &unknown).await.unwrap().is_none());
        let mut statuses = Vec::new();
        for who in [&mia, &max, &ned] {
            let status = attendance_status(&db, &meeting, who).await.unwrap();
            statuses.push(status.map(|s| s.to_value()));
        }
        assert_eq!(
            statuses,
            [
                Some("LATE".to_string()),
                Some("SUBSTITUTE".to_string()),
                None
            ]
        );
        assert!(
            AttendanceStatus::try_from_value(&"LATE".to_string())
                .unwrap()
                .was_present()
                && !AttendanceStatus::try_from_value(&"SUBSTITUTE".to_string())
                    .unwrap()
                    .was_present()
        );
    })
    .await;
}

#[tokio::test]
async fn one_to_ones_had_and_counted() {
    on_each_database(|db| async move {
        let (mia, max, leader) = (
            member(&db, "Mia").await,
            member(&db, "Max").await,
            member(&db, "Lea").await,
        );
        // Mia with Max yesterday; Max with Mia today and ten days ago.
        for (by, with, held_on, note) in [
            (&mia, &max, d(-1), Some("Coffee at the harbour".to_string())),
            (&max, &mia, d(0), None),
            (&max, &mia, d(-10), None),
        ] {
            entities::one_to_one::ActiveModel {
                id: Set(new_id()),
                member_id: Set(by.clone()),
                with_member_id: Set(with.clone()),
                held_on: Set(held_on),
                note: Set(note),
                created_at: Set(Utc::now()),
            }
            .insert(&db)
            .await
            .unwrap();
        }

        assert!(had_one_to_one(&db, &mia, &max, d(-1), d(-1)).await.unwrap());
        assert!(had_one_to_one(&db, &max, &mia, d(-1), d(-1)).await.unwrap());
        assert!(
            had_one_to_one(&db, &max, &mia, d(-12), d(-8))
                .await
                .unwrap()
        );
        assert!(!had_one_to_one(&db, &mia, &max, d(-9), d(-2)).await.unwrap());
        assert!(
            !had_one_to_one(&db, &mia, &leader, d(-30), d(0))
                .await
                .unwrap()
        );
        assert_eq!(count_one_to_ones(&db, &mia, d(-30), d(0)).await.unwrap(), 3);
        assert_eq!(count_one_to_ones(&db, &max, d(-5), d(0)).await.unwrap(), 2);
        assert_eq!(
            count_one_to_ones(&db, &max, d(-10), d(-10)).await.unwrap(),
            1
        );
        assert_eq!(
            count_one_to_ones(&db, &leader, d(-30), d(0)).await.unwrap(),
            0
        );
    })
    .await;
}

/// Writes a referral row directly (the referral core is not needed here).
async fn referral(
    db: &impl ConnectionTrait,
    group: &str,
    giver: &str,
    receiver: &str,
    status: &str,
) -> String {
    let now: DateTime<Utc> = Utc::now();
    let id = new_id();
    entities::referral::ActiveModel {
        id: Set(id.clone()),
        group_id: Set(Some(group.to_string())),
        giver_member_id: Set(Some(giver.to_string())),
        receiver_member_id: Set(Some(receiver.to_string())),
        prospect_name: Set("Pia Prospect".into()),
        temperature: Set(4),
        channel: Set(entities::Channel::Portal),
        made_in_absence: Set(true),
        absence_reason: Set(Some(entities::AbsenceReason::Remote)),
        inside_group: Set(true),
        status: Set(ActiveEnum::try_from_value(&status.to_string()).unwrap()),
        closed_value_e4: Set((status == "WON").then_some(12_500_000)),
        won_at: Set((status == "WON").then_some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap_or_else(|e| panic!("insert referral: {e}"));
    id
}

#[tokio::test]
async fn tiers_are_awarded_exactly_once() {
    on_each_database(|db| async move {
        let (mia, max) = (member(&db, "Mia").await, member(&db, "Max").await);
        let harbour = group(&db, "Harbour").await;
        let other_group = group(&db, "Elsewhere").await;
        for (threshold, reward) in [
            (1, "Gift"),
            (2, "Credit"),
            (3, "Premium"),
            (5, "Dinner"),
            (8, "Trip"),
            (12, "Gold"),
        ] {
            entities::reward_tier::ActiveModel {
                id: Set(new_id()),
                group_id: Set(harbour.clone()),
                threshold: Set(threshold),
                reward: Set(reward.to_string()),
            }
            .insert(&db)
            .await
            .unwrap();
        }
        let awards_stored = || async {
            entities::reward_award::Entity::find()
                .count(&db)
                .await
                .unwrap()
        };

        // Two wins by Mia in the group; what does not count: a win elsewhere, a
        // referral not won, and Max's win.
        referral(&db, &harbour, &mia, &max, "WON").await;
        let second = referral(&db, &harbour, &mia, &max, "WON").await;
        referral(&db, &other_group, &mia, &max, "WON").await;
        referral(&db, &harbour, &mia, &max, "ACCEPTED").await;
        referral(&db, &harbour, &max, &mia, "WON").await;

        let none_yet = progress(&db, &mia, &harbour).await.unwrap();
        assert_eq!(none_yet.won_given, 2);
        assert!(none_yet.awards.is_empty());

        let txn = db.begin().await.unwrap();
        let awards = award_tiers(&txn, &mia, &harbour, &second, Utc::now())
            .await
            .unwrap();
        txn.commit().await.unwrap();
        let summary: Vec<(i32, &str, &str, &str, &str)> = awards
            .iter()
            .map(|a| {
                (
                    a.threshold,
                    a.reward.as_str(),
                    a.member_id.as_str(),
                    a.group_id.as_str(),
                    a.referral_id.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (1, "Gift", mia.as_str(), harbour.as_str(), second.as_str()),
                (2, "Credit", mia.as_str(), harbour.as_str(), second.as_str()),
            ]
        );

        // Nothing new the second time; Max's own win reaches his first tier.
        let txn = db.begin().await.unwrap();
        assert!(
            award_tiers(&txn, &mia, &harbour, &second, Utc::now())
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            award_tiers(&txn, &max, &harbour, &second, Utc::now())
                .await
                .unwrap()
                .len(),
            1
        );
        txn.commit().await.unwrap();
        assert_eq!(awards_stored().await, 3);

        let p = progress(&db, &mia, &harbour).await.unwrap();
        assert_eq!(p.won_given, 2);
        assert_eq!(
            p.next_tier.map(|t| (t.threshold, t.reward)),
            Some((3, "Premium".to_string()))
        );
        let reached: Vec<(i32, &str)> = p
            .awards
            .iter()
            .map(|a| (a.tier.threshold, a.tier.reward.as_str()))
            .collect();
        assert_eq!(reached, [(1, "Gift"), (2, "Credit")]);
        assert_eq!(p.awards[0].at, awards[0].awarded_at);

        // Ten wins at once, each recorded and awarded in its own transaction as
        // the referral core does. Each awarder counts the wins committed before
        // it, so every tier up to 12 is reached, and each exactly once.
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (db, group, giver, receiver) =
                (db.clone(), harbour.clone(), mia.clone(), max.clone());
            tasks.push(tokio::spawn(async move {
                let txn = db.begin().await.unwrap();
                let won = referral(&txn, &group, &giver, &receiver, "WON").await;
                let awards = award_tiers(&txn, &giver, &group, &won, Utc::now())
                    .await
                    .unwrap();
                txn.commit().await.unwrap();
                assert!(
                    awards
                        .iter()
                        .all(|a| a.referral_id == won && a.member_id == giver)
                );
                awards.into_iter().map(|a| a.threshold).collect::<Vec<_>>()
            }));
        }
        let mut awarded = Vec::new();
        for task in tasks {
            awarded.extend(task.await.expect("awarding task"));
        }
        awarded.sort();
        assert_eq!(awarded, [3, 5, 8, 12]);

        let p = progress(&db, &mia, &harbour).await.unwrap();
        assert_eq!(p.won_given, 12);
        assert_eq!(p.next_tier, None);
        // Oldest first is the order the tiers were reached in.
        let reached: Vec<i32> = p.awards.iter().map(|a| a.tier.threshold).collect();
        assert_eq!(reached, [1, 2, 3, 5, 8, 12]);
        assert!(p.awards.windows(2).all(|w| w[0].at <= w[1].at));
        assert_eq!(awards_stored().await, 7);
        // Progress is per group.
        let elsewhere = progress(&db, &mia, &other_group).await.unwrap();
        assert_eq!(
            (
                elsewhere.won_given,
                elsewhere.next_tier,
                elsewhere.awards.len()
            ),
            (1, None, 0)
        );
    })
    .await;
}
