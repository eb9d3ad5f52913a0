//! `seed-bench`: a small benchmark network seeded into the test database,
//! then read through the server — the bench accounts sign in, the first
//! group's leader reads its report and every total matches a recount in
//! SQL — plus the refusal of a second seed and the same data twice.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, QueryResult, Statement, Value};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::db_test;
use crate::helpers::{Backend, TestApp, code, connect_plain, database_for, drop_database, s};

fn small(today: NaiveDate) -> api::cli::BenchOptions {
    api::cli::BenchOptions {
        members: 200,
        groups: 5,
        referrals: 3_000,
        accounts: 5,
        years: 2,
        today: Some(today),
        progress: false,
    }
}

/// Runs `sql` with `?` placeholders (numbered for PostgreSQL).
async fn rows(db: &DatabaseConnection, sql: &str, values: Vec<Value>) -> Vec<QueryResult> {
    let backend = db.get_database_backend();
    let mut text = String::new();
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' && backend == sea_orm::DatabaseBackend::Postgres {
            n += 1;
            text.push_str(&format!("${n}"));
        } else {
            text.push(c);
        }
    }
    db.query_all_raw(Statement::from_sql_and_values(backend, text, values))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// `(key, n)` rows as a map.
async fn per_member(
    db: &DatabaseConnection,
    sql: &str,
    values: Vec<Value>,
) -> BTreeMap<String, i64> {
    rows(db, sql, values)
        .await
        .iter()
        .map(|r| {
            (
                r.try_get_by_index::<String>(0).expect("key"),
                r.try_get_by_index::<i64>(1).expect("count"),
            )
        })
        .collect()
}

async fn single(db: &DatabaseConnection, sql: &str, values: Vec<Value>) -> i64 {
    rows(db, sql, values).await[0]
        .try_get_by_index::<i64>(0)
        .expect("a number")
}

/// "1250.50" → 12_505_000 (ten-thousandths).
fn e4(decimal: &serde_json::Value) -> i64 {
    let d: rust_decimal::Decimal = s(decimal).parse().expect("a decimal");
    i64::try_from((d * rust_decimal::Decimal::from(10_000)).trunc()).expect("in range")
}

db_test!(
    signs_in_reports_and_refuses_a_second_seed,
    |app: TestApp| async move {
        let today = Utc::now().date_naive();
        let url = app.settings.database_url.clone();
        let seeded = api::cli::seed_bench(&url, small(today))
            .await
            .expect("seed the bench network");
        assert_eq!(
            (seeded.members, seeded.groups, seeded.referrals),
            (200, 5, 3_000)
        );
        assert_eq!(app.count("members").await, 201, "200 members and the admin");
        assert_eq!(app.count("groups").await, 5);
        assert_eq!(app.count("referrals").await, 3_000);
        assert_eq!(
            app.count("referral_events").await as u64,
            seeded.referral_events
        );
        assert_eq!(app.count("attendance").await as u64, seeded.attendance);
        assert_eq!(app.count("memberships").await as u64, seeded.memberships);
        assert_eq!(app.count("partner_firms").await, 15);
        assert!(
            seeded.referral_events > 3_000,
            "every referral has its creation and moves"
        );
        assert!(seeded.memberships > 200, "some members moved groups");

        // The summary line a bench script parses.
        let line: serde_json::Value = serde_json::from_str(&seeded.summary_line()).expect("JSON");
        assert_eq!(line["referrals"], 3_000);
        assert_eq!(line["firstGroupId"], json!(seeded.first_group_id));
        assert_eq!(line["firstGroupLeaderEmail"], "bench1@bench.example");
        assert_eq!(line["accountEmailPattern"], "bench{n}@bench.example");
        assert_eq!(line["password"], api::cli::BENCH_PASSWORD);
        assert_eq!(line["from"], json!(seeded.from.to_string()));
        assert_eq!(seeded.to, today - Duration::days(1));

        // bench1 signs in with the documented password and leads the first group.
        let session = app
            .sign_in(&api::cli::bench_email(1), api::cli::BENCH_PASSWORD)
            .await;
        assert!(session.get("errors").is_none(), "{session:#}");
        let token = s(&session["data"]["signIn"]["accessToken"]);
        let me = app.ok(Some(&token), "Me", json!({})).await;
        assert_eq!(me["me"]["email"], "bench1@bench.example");
        let seats = me["me"]["memberships"].as_array().expect("memberships");
        assert!(
            seats
                .iter()
                .any(|m| m["group"]["id"] == json!(seeded.first_group_id) && m["role"] == "LEADER"),
            "{me:#}"
        );
        // The last bench account and the admin sign in too; other members cannot.
        let last = app
            .sign_in(&api::cli::bench_email(5), api::cli::BENCH_PASSWORD)
            .await;
        assert!(last.get("errors").is_none(), "{last:#}");
        let admin = app
            .sign_in(api::cli::BENCH_ADMIN_EMAIL, api::cli::BENCH_PASSWORD)
            .await;
        assert!(admin.get("errors").is_none(), "{admin:#}");
        let other = app
            .sign_in("member6@bench.example", api::cli::BENCH_PASSWORD)
            .await;
        assert_eq!(code(&other), "UNAUTHENTICATED");

        // The first group's report over the seeded range, recounted in SQL.
        let group = seeded.first_group_id.clone();
        let report = app
        .ok(
            Some(&token),
            "GroupReport",
            json!({ "groupId": group, "from": seeded.from.to_string(), "to": seeded.to.to_string() }),
        )
        .await["groupReport"]
        .clone();
        let start = seeded.from.and_hms_opt(0, 0, 0).unwrap().and_utc();
        let end = today.and_hms_opt(0, 0, 0).unwrap().and_utc();
        let window = || -> Vec<Value> { vec![group.clone().into(), start.into(), end.into()] };
        let db = &app.db;
        let counted = " FROM referrals WHERE group_id = ? AND created_at >= ? AND created_at < ? \
                   AND status <> 'WITHDRAWN'";
        let given = per_member(
            db,
            &format!(
                "SELECT giver_member_id, CAST(COUNT(*) AS BIGINT){counted} \
             AND giver_member_id IS NOT NULL GROUP BY giver_member_id"
            ),
            window(),
        )
        .await;
        let received = per_member(
            db,
            &format!(
                "SELECT receiver_member_id, CAST(COUNT(*) AS BIGINT){counted} \
             AND receiver_member_id IS NOT NULL GROUP BY receiver_member_id"
            ),
            window(),
        )
        .await;
        let given_in_absence = single(
        db,
        &format!(
            "SELECT CAST(COALESCE(SUM(CASE WHEN made_in_absence THEN 1 ELSE 0 END), 0) AS BIGINT)\
             {counted} AND giver_member_id IS NOT NULL"
        ),
        window(),
    )
    .await;
        let closed_given = per_member(
            db,
            "SELECT giver_member_id, CAST(SUM(closed_value_e4) AS BIGINT) FROM referrals \
         WHERE group_id = ? AND won_at >= ? AND won_at < ? AND status = 'WON' \
         AND giver_member_id IS NOT NULL GROUP BY giver_member_id",
            window(),
        )
        .await;
        let visitors = single(
        db,
        "SELECT CAST(COUNT(*) AS BIGINT) FROM visitors v JOIN meetings m ON m.id = v.meeting_id \
         WHERE m.group_id = ? AND m.held_on >= ? AND m.held_on <= ?",
        vec![group.clone().into(), seeded.from.into(), seeded.to.into()],
    )
    .await;
        let mut one_to_ones = 0;
        for side in ["member_id", "with_member_id"] {
            one_to_ones += single(
            db,
            &format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM one_to_ones o \
                 JOIN memberships s ON s.member_id = o.{side} \
                 WHERE s.group_id = ? AND s.joined_on <= ? AND (s.left_on IS NULL OR s.left_on >= ?) \
                 AND o.held_on >= s.joined_on AND o.held_on >= ? AND o.held_on <= ?"
            ),
            vec![
                group.clone().into(),
                seeded.to.into(),
                seeded.from.into(),
                seeded.from.into(),
                seeded.to.into(),
            ],
        )
        .await;
        }
        let seated = single(
            db,
            "SELECT CAST(COUNT(DISTINCT member_id) AS BIGINT) FROM memberships \
         WHERE group_id = ? AND joined_on <= ? AND (left_on IS NULL OR left_on >= ?)",
            vec![group.clone().into(), seeded.to.into(), seeded.from.into()],
        )
        .await;

        let report_rows = report["rows"].as_array().expect("rows");
        assert_eq!(
            report_rows.len() as i64,
            seated,
            "one row per member seated in the range"
        );
        for row in report_rows {
            let id = s(&row["member"]["id"]);
            assert_eq!(
                row["given"],
                json!(given.get(&id).copied().unwrap_or(0)),
                "given by {id}"
            );
            assert_eq!(
                row["received"],
                json!(received.get(&id).copied().unwrap_or(0)),
                "received by {id}"
            );
            assert_eq!(
                e4(&row["closedValueGiven"]),
                closed_given.get(&id).copied().unwrap_or(0),
                "closed value given by {id}"
            );
        }
        let totals = &report["totals"];
        let given_total: i64 = given.values().sum();
        assert!(
            given_total > 300,
            "the first group has its share of referrals"
        );
        assert_eq!(totals["given"], json!(given_total));
        assert_eq!(totals["received"], json!(received.values().sum::<i64>()));
        assert_eq!(totals["givenInAbsence"], json!(given_in_absence));
        let share = given_in_absence as f64 / given_total as f64;
        assert!((0.05..=0.25).contains(&share), "made in absence: {share}");
        let closed_total: i64 = closed_given.values().sum();
        assert!(closed_total > 0);
        assert_eq!(e4(&totals["closedValue"]), closed_total);
        assert_eq!(totals["oneToOnes"], json!(one_to_ones));
        assert!(one_to_ones > 0);
        assert_eq!(totals["visitors"], json!(visitors));

        // A second seed into the same database is refused; nothing is written.
        let before = app.snapshot().await;
        let refused = api::cli::seed_bench(&url, small(today))
            .await
            .expect_err("a database with members is refused");
        assert!(
            refused.to_string().contains("already has 201 members"),
            "{refused:#}"
        );
        assert_eq!(app.snapshot().await, before);
    }
);

/// Every seeded row, in id order, hashed (bench accounts' password hashes
/// left out: each run salts its one hash afresh).
async fn fingerprint(db: &DatabaseConnection) -> (String, usize) {
    use entities::*;
    async fn table<E>(db: &DatabaseConnection, lines: &mut Vec<String>)
    where
        E: EntityTrait,
        E::Model: std::fmt::Debug,
    {
        let mut rows: Vec<String> = E::find()
            .all(db)
            .await
            .expect("read a table")
            .iter()
            .map(|m| format!("{m:?}"))
            .collect();
        rows.sort();
        lines.extend(rows);
    }
    let mut lines = Vec::new();
    for mut m in member::Entity::find().all(db).await.expect("members") {
        if m.email.starts_with("bench") {
            m.password_hash.clear();
        }
        lines.push(format!("{m:?}"));
    }
    lines.sort();
    table::<group::Entity>(db, &mut lines).await;
    table::<membership::Entity>(db, &mut lines).await;
    table::<partner_firm::Entity>(db, &mut lines).await;
    table::<partnership::Entity>(db, &mut lines).await;
    table::<partnership_stage::Entity>(db, &mut lines).await;
    table::<absence::Entity>(db, &mut lines).await;
    table::<meeting::Entity>(db, &mut lines).await;
    table::<attendance::Entity>(db, &mut lines).await;
    table::<visitor::Entity>(db, &mut lines).await;
    table::<one_to_one::Entity>(db, &mut lines).await;
    table::<referral::Entity>(db, &mut lines).await;
    table::<referral_event::Entity>(db, &mut lines).await;
    let mut hash = Sha256::new();
    for line in &lines {
        hash.update(line.as_bytes());
        hash.update(b"\n");
    }
    (hex::encode(hash.finalize()), lines.len())
}

db_test!(
    same_parameters_give_the_same_data,
    |app: TestApp| async move {
        // The whole app, temporary directory included, lives to the end (the
        // block would otherwise keep only the fields it reads).
        let app = app;
        let today = Utc::now().date_naive();
        let backend = if app.settings.database_url.starts_with("sqlite") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        api::cli::seed_bench(&app.settings.database_url, small(today))
            .await
            .expect("first seed");
        let (other_url, _dir) = database_for(backend).await.expect("a second database");
        api::cli::seed_bench(&other_url, small(today))
            .await
            .expect("second seed");
        let other = connect_plain(&other_url).await.expect("connect");
        let (a, n) = fingerprint(&app.db).await;
        let (b, m) = fingerprint(&other).await;
        other.close().await.ok();
        if backend == Backend::Postgres {
            drop_database(&other_url).await;
        }
        assert!(n > 20_000, "{n} rows");
        assert_eq!(n, m);
        assert_eq!(a, b, "two seeds with the same parameters differ");
    }
);
