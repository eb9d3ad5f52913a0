//! What the people who run the server rely on: backups, metrics, request
//! IDs, logs.

use futures_util::future::join_all;

use crate::db_test;
use crate::fixtures::{chapter, give};
use crate::helpers::{TABLES, TestApp, connect_plain};

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
    use sea_orm::ConnectionTrait;
    let one = |sql: String| {
        let copied = &copied;
        async move {
            let row = copied
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DatabaseBackend::Sqlite,
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
    };
    assert_eq!(one("PRAGMA integrity_check".into()).await, "ok");
    // Every referral the copy holds is whole: its creation event is there.
    let referrals: i64 = one("SELECT COUNT(*) FROM referrals".into())
        .await
        .parse()
        .unwrap();
    assert!((5..=11).contains(&referrals), "{referrals}");
    let created: i64 = one("SELECT COUNT(*) FROM referral_events WHERE kind = 'CREATED'".into())
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
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let row = again_db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Sqlite,
                sql,
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            row.try_get_by_index::<i64>(0).unwrap(),
            app.count(table).await,
            "{table}"
        );
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
