//! Runs the migration up / down / up on SQLite (always) and PostgreSQL (when
//! `RX_TEST_POSTGRES_URL` is set, e.g. under `scripts/with-postgres`; required when
//! `RX_REQUIRE_POSTGRES=1`), then checks that the entities round-trip and that the
//! constraints behave as the data model says.

use chrono::{NaiveDate, SubsecRound, Utc};
use entities::prelude::*;
use entities::{group, member, membership, referral};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, ModelTrait, Set, SqlErr, Statement,
};

const TABLES: [&str; 25] = [
    "members",
    "groups",
    "memberships",
    "contacts",
    "partner_firms",
    "partnerships",
    "meetings",
    "attendance",
    "visitors",
    "one_to_ones",
    "absences",
    "asks",
    "referrals",
    "referral_events",
    "reward_tiers",
    "reward_awards",
    "api_tokens",
    "refresh_families",
    "refresh_tokens",
    "idempotency_keys",
    "webhook_endpoints",
    "webhook_deliveries",
    "webhook_attempts",
    "partnership_stages",
    "contact_nps_scores",
];

fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn table_exists(db: &DatabaseConnection, table: &str) -> bool {
    let sql = match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => {
            format!("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{table}'")
        }
        _ => format!("SELECT 1 FROM information_schema.tables WHERE table_name = '{table}'"),
    };
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .is_some()
}

fn sql_err(result: Result<impl std::fmt::Debug, DbErr>) -> SqlErr {
    let err = result.expect_err("the database should have rejected this");
    err.sql_err()
        .unwrap_or_else(|| panic!("not a constraint error: {err:?}"))
}

fn new_membership(n: u32, left_on: Option<NaiveDate>) -> membership::ActiveModel {
    membership::ActiveModel {
        id: Set(id(n)),
        group_id: Set(id(2)),
        member_id: Set(id(1)),
        role: Set(entities::Role::Member),
        joined_on: Set(date("2024-01-01")),
        left_on: Set(left_on),
        created_at: Set(Utc::now()),
    }
}

async fn exercise(db: &DatabaseConnection) {
    Migrator::up(db, None).await.unwrap();
    Migrator::down(db, None).await.unwrap();
    for table in TABLES {
        assert!(!table_exists(db, table).await, "{table} survived down");
    }
    Migrator::up(db, None).await.unwrap();
    for table in TABLES {
        assert!(table_exists(db, table).await, "{table} missing after up");
    }

    let now = Utc::now().trunc_subsecs(6);

    // Defaults come from the database when the column is left unset.
    let m = member::ActiveModel {
        id: Set(id(1)),
        email: Set("Ann@Example.com".into()),
        email_lower: Set("ann@example.com".into()),
        name: Set("Ann".into()),
        password_hash: Set("hash".into()),
        profession: Set("Lawyer".into()),
        brief_ideal_referral: Set(Some("x".repeat(5000))),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    assert!(!m.is_admin);
    assert_eq!(
        Member::find_by_id(id(1)).one(db).await.unwrap(),
        Some(m.clone())
    );

    let g = group::ActiveModel {
        id: Set(id(2)),
        name: Set("Chapter".into()),
        currency: Set("EUR".into()),
        classification_exclusive: Set(true),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    assert_eq!(
        (
            g.meeting_cadence_days,
            g.follow_up_interval_days,
            g.follow_up_max_unanswered,
            g.revisit_after_months
        ),
        (7, 7, 4, 6)
    );

    // email_lower is unique.
    let dup = member::ActiveModel {
        id: Set(id(9)),
        email_lower: Set("ann@example.com".into()),
        ..m.clone().into_active_model()
    };
    assert!(matches!(
        sql_err(dup.insert(db).await),
        SqlErr::UniqueConstraintViolation(_)
    ));

    // At most one active membership per (group, member); history rows are fine.
    let first = new_membership(10, None).insert(db).await.unwrap();
    assert!(matches!(
        sql_err(new_membership(11, None).insert(db).await),
        SqlErr::UniqueConstraintViolation(_)
    ));
    let mut left = first.into_active_model();
    left.left_on = Set(Some(date("2024-06-30")));
    left.update(db).await.unwrap();
    new_membership(12, None).insert(db).await.unwrap();
    new_membership(13, Some(date("2023-12-31")))
        .insert(db)
        .await
        .unwrap();
    assert_eq!(g.find_related(Membership).all(db).await.unwrap().len(), 3);

    // Foreign keys are enforced.
    let mut orphan = new_membership(14, Some(date("2023-01-01")));
    orphan.member_id = Set(id(999));
    assert!(matches!(
        sql_err(orphan.insert(db).await),
        SqlErr::ForeignKeyConstraintViolation(_)
    ));

    // A referral round-trips, including money beyond i32 and dates/timestamps.
    let r = referral::ActiveModel {
        id: Set(id(20)),
        group_id: Set(Some(id(2))),
        giver_member_id: Set(Some(id(1))),
        prospect_name: Set("Prospect".into()),
        temperature: Set(5),
        channel: Set(entities::Channel::Portal),
        made_in_absence: Set(true),
        absence_reason: Set(Some(entities::AbsenceReason::Remote)),
        inside_group: Set(false),
        status: Set(entities::ReferralStatus::Won),
        closed_value_e4: Set(Some(9_007_199_254_740_993)),
        next_follow_up_on: Set(Some(date("2026-02-28"))),
        won_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    assert_eq!((r.version, r.follow_up_count), (1, 0));
    assert_eq!(Referral::find_by_id(id(20)).one(db).await.unwrap(), Some(r));

    // Referral history keeps its giver (RESTRICT; SQLite reports that as a trigger
    // constraint, which `DbErr::sql_err` does not classify, so only check it fails) ...
    Member::delete_by_id(id(1))
        .exec(db)
        .await
        .expect_err("a member who gave a referral must not be deletable");
    assert!(Member::find_by_id(id(1)).one(db).await.unwrap().is_some());
    // ... but loses only its group context when the group goes (SET NULL), while
    // the group's memberships go with it (CASCADE).
    Group::delete_by_id(id(2)).exec(db).await.unwrap();
    let r = Referral::find_by_id(id(20)).one(db).await.unwrap().unwrap();
    assert_eq!(r.group_id, None);
    assert_eq!(r.giver_member_id, Some(id(1)));
    assert!(Membership::find().all(db).await.unwrap().is_empty());

    Migrator::down(db, None).await.unwrap();
    for table in TABLES {
        assert!(!table_exists(db, table).await, "{table} survived down");
    }
}

#[tokio::test]
async fn sqlite_schema() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let db = Database::connect(&url).await.unwrap();
    exercise(&db).await;
    db.close().await.unwrap();
}

#[tokio::test]
async fn postgres_schema() {
    let Ok(base) = std::env::var("RX_TEST_POSTGRES_URL") else {
        assert_ne!(
            std::env::var("RX_REQUIRE_POSTGRES").as_deref(),
            Ok("1"),
            "RX_REQUIRE_POSTGRES=1 but RX_TEST_POSTGRES_URL is not set"
        );
        eprintln!("RX_TEST_POSTGRES_URL not set; skipping the PostgreSQL schema test");
        return;
    };
    // A database of our own, so nothing else on the server is touched.
    let name = format!("rx_migration_test_{}", std::process::id());
    let admin = Database::connect(&base).await.unwrap();
    let backend = admin.get_database_backend();
    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    admin
        .execute_raw(Statement::from_string(backend, drop.clone()))
        .await
        .unwrap();
    admin
        .execute_raw(Statement::from_string(
            backend,
            format!("CREATE DATABASE {name}"),
        ))
        .await
        .unwrap();

    let (prefix, query) = match base.split_once('?') {
        Some((p, q)) => (p, format!("?{q}")),
        None => (base.as_str(), String::new()),
    };
    let server = prefix.rsplit_once('/').map_or(prefix, |(s, _)| s);
    let db = Database::connect(format!("{server}/{name}{query}"))
        .await
        .unwrap();
    exercise(&db).await;
    db.close().await.unwrap();

    admin
        .execute_raw(Statement::from_string(backend, drop))
        .await
        .unwrap();
    admin.close().await.unwrap();
}
