//! What the people who run the server rely on: backups, metrics, request
//! IDs, logs.

use futures_util::future::join_all;

use crate::db_test;
use crate::fixtures::{chapter, give};
use crate::helpers::{TABLES, TestApp, connect_plain};

/// The one value a statement returns, as text.
async fn scalar(db: &sea_orm::DatabaseConnection, sql: &str) -> String {
    use sea_orm::ConnectionTrait;
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0)
        .map(|n| n.to_string())
        .or_else(|_| row.try_get_by_index::<String>(0))
        .unwrap()
}

db_test!(backup_copies_the_live_database, |app: TestApp| async move {
    let c = chapter(&app, 3).await;
    for i in 0..5 {
        give(&app, &c.members[i % 3], &c.members[(i + 1) % 3].id).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let url = app.settings.database_url.clone();
    if !url.starts_with("sqlite:") {
        // PostgreSQL: nothing written, and the way to do it instead.
        let advice = api::cli::backup(&url, &copy).await.err().expect("no copy");
        let advice = advice.to_string();
        assert!(
            advice.starts_with("no backup written: for PostgreSQL"),
            "{advice}"
        );
        assert!(advice.contains(&format!(
            "pg_dump --format=custom --file={}",
            copy.display()
        )));
        assert!(
            !advice.contains(&url),
            "the URL (and its password) is never printed"
        );
        assert!(!copy.exists());
        return;
    }
    // Taken while members keep giving: one consistent moment.
    let (written, _) = tokio::join!(
        api::cli::backup(&url, &copy),
        join_all((0..6).map(|i| give(&app, &c.members[i % 3], &c.members[(i + 2) % 3].id)))
    );
    let written = written.expect("backup written");
    assert_eq!(written.path, copy);
    assert_eq!(written.bytes, std::fs::metadata(&copy).unwrap().len());
    let copied = connect_plain(format!("sqlite://{}?mode=ro", copy.display()))
        .await
        .expect("the copy opens");
    let one = |sql: &'static str| scalar(&copied, sql);
    assert_eq!(one("PRAGMA integrity_check").await, "ok");
    // Every referral the copy holds is whole: its creation event is there.
    let referrals: i64 = one("SELECT COUNT(*) FROM referrals").await.parse().unwrap();
    assert!((5..=11).contains(&referrals), "{referrals}");
    let created: i64 = one("SELECT COUNT(*) FROM referral_events WHERE kind = 'CREATED'")
        .await
        .parse()
        .unwrap();
    assert_eq!(created, referrals);
    // Once the writing stops, a second copy has the live counts exactly.
    let again = dir.path().join("again.db");
    api::cli::backup(&url, &again).await.unwrap();
    let again_db = connect_plain(format!("sqlite://{}?mode=ro", again.display()))
        .await
        .unwrap();
    for table in TABLES {
        let copied = scalar(&again_db, &format!("SELECT COUNT(*) FROM {table}")).await;
        assert_eq!(copied, app.count(table).await.to_string(), "{table}");
    }
    // A path with no database behind it creates nothing and copies nothing.
    let nowhere = format!("sqlite://{}/none.db?mode=rwc", dir.path().display());
    let refused = api::cli::backup(&nowhere, &dir.path().join("empty.db")).await;
    assert!(refused.is_err());
    assert!(!dir.path().join("none.db").exists() && !dir.path().join("empty.db").exists());
    // An existing file is never overwritten.
    let refused = api::cli::backup(&url, &copy).await.err().expect("refused");
    assert!(
        refused
            .to_string()
            .ends_with("already exists; choose a new file")
    );
});

pub(crate) async fn scrape(app: &TestApp) -> String {
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let kind = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    resp.text().await.unwrap()
}

/// The value of one sample line, by its name and labels as printed.
pub(crate) fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

crate::db_test_with!(
    metrics_count_requests_operations_and_refusals,
    |s: &mut api::settings::Settings| s.partners.rate_limit_per_ip_per_minute = 40,
    |app: TestApp| async move {
        let c = chapter(&app, 1).await;
        let member = &c.members[0];
        for _ in 0..3 {
            app.ok(Some(&member.token), "Me", serde_json::json!({}))
                .await;
        }
        // A leader-only operation refused to a member: its outcome is the code.
        app.op(
            Some(&member.token),
            "SetRewardTiers",
            serde_json::json!({ "groupId": c.group, "tiers": [] }),
        )
        .await;
        // Names no contract has fold into one label, however many there are.
        for i in 0..12 {
            app.gql(
                None,
                &format!("query Junk{i} {{ __typename }}"),
                serde_json::json!({}),
            )
            .await;
        }
        // Made-up HTTP methods fold into one label too.
        for i in 0..5 {
            let method = reqwest::Method::from_bytes(format!("FOO{i}").as_bytes()).unwrap();
            app.client
                .request(method, app.url("/x"))
                .send()
                .await
                .unwrap();
        }
        let text = scrape(&app).await;
        assert!(!text.contains("FOO"), "{text}");
        assert_eq!(
            sample(
                &text,
                r#"rx_http_requests_total{route="unmatched",method="other",status="404"}"#
            ),
            Some(5.0),
            "{text}"
        );
        assert_eq!(
            sample(
                &text,
                r#"rx_graphql_operations_total{operation="Me",outcome="ok"}"#
            ),
            Some(3.0),
            "{text}"
        );
        assert_eq!(
            sample(
                &text,
                r#"rx_graphql_operations_total{operation="SetRewardTiers",outcome="FORBIDDEN"}"#
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                r#"rx_graphql_operations_total{operation="other",outcome="ok"}"#
            ),
            Some(12.0)
        );
        assert!(!text.contains("Junk"), "no client-chosen label values");
        assert!(
            sample(
                &text,
                r#"rx_http_requests_total{route="/graphql",method="POST",status="200"}"#
            )
            .is_some_and(|n| n >= 16.0)
        );
        assert!(
            text.contains(r#"rx_graphql_operation_duration_seconds_bucket{le="#)
                || text
                    .contains(r#"rx_graphql_operation_duration_seconds_bucket{operation="Me",le="#)
        );
        assert!(sample(&text, r#"rx_db_connections{state="idle"}"#).is_some());
        assert_eq!(
            sample(&text, r#"rx_webhook_deliveries{state="pending"}"#),
            Some(0.0)
        );
        assert_eq!(sample(&text, "rx_websocket_connections"), Some(0.0));
        // Over the per-IP limit: refusals are counted.
        let mut refused = 0;
        for _ in 0..40 {
            let r = app
                .client
                .get(app.url("/graphql?query=%7B__typename%7D"))
                .send()
                .await
                .unwrap();
            refused += u32::from(r.status() == 429);
        }
        assert!(refused > 0);
        let text = scrape(&app).await;
        assert_eq!(
            sample(&text, r#"rx_rate_limited_total{kind="ip"}"#),
            Some(f64::from(refused)),
            "{text}"
        );
        assert!(
            sample(
                &text,
                r#"rx_http_requests_total{route="/graphql",method="GET",status="429"}"#
            )
            .is_some_and(|n| n >= f64::from(refused))
        );
    }
);

db_test!(
    request_ids_are_returned_and_in_errors,
    |app: TestApp| async move {
        // A fresh ID per request, returned in the header and in every error.
        let resp = app
            .client
            .post(app.url("/graphql"))
            .json(&serde_json::json!({ "query": "{ me { id } }" }))
            .send()
            .await
            .unwrap();
        let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
        assert_eq!(id.len(), 32, "{id}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        assert_eq!(body["errors"][0]["extensions"]["requestId"], id.as_str());
        // A client's own ID is kept when it is a sane one…
        let mine = "portal-7f3a:42";
        let resp = app
            .client
            .post(app.url("/graphql"))
            .header("x-request-id", mine)
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 415);
        assert_eq!(resp.headers()["x-request-id"], mine);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["requestId"], mine);
        // …and replaced when it could spoil a log line.
        for bad in ["a b", "x;y", &"y".repeat(65), "id\"}"] {
            let resp = app
                .client
                .get(app.url("/healthz"))
                .header("x-request-id", bad)
                .send()
                .await
                .unwrap();
            let got = resp.headers()["x-request-id"].to_str().unwrap();
            assert_ne!(got, bad);
            assert_eq!(got.len(), 32);
        }
        // Refusals by an extractor (a malformed query string) carry it too.
        let bad = app
            .client
            .get(app.url("/reports/groups/abc.csv?from=notadate&to=2026-01-01"))
            .send()
            .await
            .unwrap();
        assert!(bad.status().is_client_error(), "{}", bad.status());
        assert_eq!(bad.headers()["x-request-id"].len(), 32);
        // Two requests never share an ID.
        let a = app.client.get(app.url("/healthz")).send().await.unwrap();
        let b = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_ne!(a.headers()["x-request-id"], b.headers()["x-request-id"]);
    }
);

crate::db_test_with!(
    the_pool_size_is_a_setting,
    |s: &mut api::settings::Settings| s.db_pool_size = 3,
    |app: TestApp| async move {
        let c = chapter(&app, 1).await;
        let token = &c.members[0].token;
        // Twenty requests at once would open twenty connections if allowed.
        join_all((0..20).map(|_| app.ok(Some(token), "Me", serde_json::json!({})))).await;
        let text = scrape(&app).await;
        let open = sample(&text, r#"rx_db_connections{state="in_use"}"#).unwrap()
            + sample(&text, r#"rx_db_connections{state="idle"}"#).unwrap();
        let cap = if app.settings.database_url.starts_with("sqlite") {
            1.0
        } else {
            3.0
        };
        assert!(
            open >= 1.0 && open <= cap,
            "{open} connections open, cap {cap}"
        );
    }
);

crate::db_test_with!(
    the_sqlite_readers_pool_size_is_a_setting,
    |s: &mut api::settings::Settings| s.sqlite_readers = 2,
    |app: TestApp| async move {
        let c = chapter(&app, 1).await;
        let token = &c.members[0].token;
        // Twenty queries at once would open up to twenty readers if allowed.
        join_all((0..20).map(|_| app.ok(Some(token), "Me", serde_json::json!({})))).await;
        let text = scrape(&app).await;
        let readers = [
            sample(&text, r#"rx_db_reader_connections{state="in_use"}"#),
            sample(&text, r#"rx_db_reader_connections{state="idle"}"#),
        ];
        if app.settings.database_url.starts_with("sqlite") {
            let open = readers[0].unwrap() + readers[1].unwrap();
            assert!((1.0..=2.0).contains(&open), "{open} readers open, cap 2");
        } else {
            // PostgreSQL has no readers' pool: nothing to report.
            assert_eq!(readers, [None, None], "{text}");
        }
    }
);

db_test!(migrations_go_down_and_up_again, |app: TestApp| async move {
    // Every migration's `down` undoes its `up`: the last three one at a
    // time (they announce session changes on PostgreSQL, make the sparse
    // referral indexes partial, and swap the report's plain indexes for
    // covering ones), then all the way down to an empty schema and back up.
    use migration::MigratorTrait;
    use sea_orm::ConnectionTrait;
    // Borrowed whole: an `async move` block that named only `app.db` would
    // take that field alone and drop the rest, the SQLite file's directory
    // with it.
    let app = &app;
    let db = &app.db;
    let postgres = db.get_database_backend() == sea_orm::DbBackend::Postgres;
    let listed = |sql: &'static str| async move {
        db.query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect::<Vec<String>>()
    };
    // Each index as its name and its definition (its columns too).
    let indexes = || {
        listed(if postgres {
            "SELECT indexname || ': ' || indexdef FROM pg_indexes WHERE tablename IN ('referrals', 'attendance') ORDER BY indexname"
        } else {
            "SELECT name || ': ' || COALESCE(sql, '') FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('referrals', 'attendance') ORDER BY name"
        })
    };
    let tables = || {
        listed(if postgres {
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'seaql_migrations' ORDER BY tablename"
        } else {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('seaql_migrations', 'sqlite_sequence') ORDER BY name"
        })
    };
    // The triggers announcing session changes (PostgreSQL only).
    let triggers = || {
        listed(if postgres {
            "SELECT tgname::text FROM pg_trigger WHERE tgname LIKE '%session_changed' ORDER BY tgname"
        } else {
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%session_changed' ORDER BY name"
        })
    };
    let (all_tables, all_indexes, all_triggers) =
        (tables().await, indexes().await, triggers().await);
    let announcing = [
        "trg_members_session_changed",
        "trg_refresh_families_session_changed",
    ];
    if postgres {
        assert_eq!(all_triggers, announcing, "{all_triggers:?}");
    } else {
        assert!(all_triggers.is_empty(), "{all_triggers:?}");
    }
    migration::Migrator::down(db, Some(1)).await.unwrap();
    assert!(triggers().await.is_empty());
    assert_eq!(indexes().await, all_indexes, "migration 8 touches no index");

    assert!(all_tables.len() >= 20, "{all_tables:?}");
    let has =
        |list: &[String], name: &str| list.iter().any(|n| n.starts_with(&format!("{name}: ")));
    for cover in [
        "idx_referrals_group_id_created_at_cover",
        "idx_referrals_receiver_member_id_created_at_cover",
        "idx_attendance_meeting_id_cover",
    ] {
        assert!(has(&all_indexes, cover), "{cover}: {all_indexes:?}");
    }

    // The sparse columns' indexes hold only the rows with a value…
    let sparse = [
        "idx_referrals_delegate_id",
        "idx_referrals_giver_firm_id",
        "idx_referrals_giver_contact_id",
        "idx_referrals_receiver_firm_id",
        "idx_referrals_receiver_contact_id",
        "idx_referrals_meeting_id",
        "idx_referrals_request_id",
        "idx_referrals_prospect_email",
    ];
    let definition = |list: &[String], name: &str| {
        list.iter()
            .find(|n| n.starts_with(&format!("{name}: ")))
            .cloned()
            .unwrap_or_else(|| panic!("{name}: {list:?}"))
    };
    for name in sparse {
        let column = name.trim_start_matches("idx_referrals_");
        let d = definition(&all_indexes, name).replace('"', "");
        assert!(
            d.ends_with(&format!("WHERE {column} IS NOT NULL"))
                || d.ends_with(&format!("WHERE ({column} IS NOT NULL)")),
            "{d}"
        );
    }
    // …and every row once the last migration is undone.
    migration::Migrator::down(db, Some(1)).await.unwrap();
    let whole = indexes().await;
    for name in sparse {
        let d = definition(&whole, name);
        assert!(!d.contains("WHERE"), "{d}");
    }

    migration::Migrator::down(db, Some(1)).await.unwrap();
    let before = indexes().await;
    for plain in [
        "idx_referrals_group_id_created_at",
        "idx_referrals_receiver_member_id_created_at",
    ] {
        assert!(has(&before, plain), "{plain}: {before:?}");
    }
    assert!(!before.iter().any(|n| n.contains("_cover: ")), "{before:?}");
    // The plain index on a group's referrals as the first migration made it.
    assert!(
        before
            .iter()
            .any(|n| n.starts_with("idx_referrals_group_id_created_at: ")
                && (n.ends_with("(group_id, created_at)")
                    || n.ends_with("(\"group_id\", \"created_at\")"))),
        "{before:?}"
    );

    migration::Migrator::down(db, None).await.unwrap();
    assert_eq!(tables().await, Vec::<String>::new());
    migration::Migrator::up(db, None).await.unwrap();
    assert_eq!(tables().await, all_tables);
    assert_eq!(indexes().await, all_indexes);
    assert_eq!(triggers().await, all_triggers);
});
