//! The session view (issue 13): a remembered session costs no statement,
//! and every change to it or to its member — on this server, another one,
//! the CLI, or by hand in the database — still takes effect. On PostgreSQL
//! at once on the server that made it, on the others when PostgreSQL's
//! notice arrives; on SQLite, which counts every commit, at once everywhere
//! (and any commit costs each remembered session one read to come back).

use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::*;

const NAME_ONLY: &str = "{ me { id name } }";

fn on_postgres(app: &TestApp) -> bool {
    app.settings.database_url.starts_with("postgres")
}

/// Statements the server sent for `{ me { id name } }` (nothing but the
/// caller's own row), and the answer.
async fn me(app: &TestApp, token: &str) -> (u64, Value) {
    let before = app.statements.get();
    let r = app.gql(Some(token), NAME_ONLY, json!({})).await;
    (app.statements.get() - before, r)
}

/// Asks `server` until `done` holds for its answer, for up to 3 s; the time
/// it took.
async fn until(server: &TestApp, token: &str, done: impl Fn(&Value) -> bool) -> Duration {
    let start = Instant::now();
    loop {
        let (_, r) = me(server, token).await;
        if done(&r) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "the change never reached this server: {r:#}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits for `done` to hold for `server`'s answer: on SQLite, whose every
/// server sees every commit, on the very first request; on PostgreSQL
/// within 3 s (the notice's trip to another server). The time it took.
async fn reaches(
    app: &TestApp,
    server: &TestApp,
    token: &str,
    done: impl Fn(&Value) -> bool,
) -> Duration {
    if on_postgres(app) {
        return until(server, token, done).await;
    }
    let (_, r) = me(server, token).await;
    assert!(done(&r), "not seen at once: {r:#}");
    Duration::ZERO
}

/// The session view's state as `/metrics` shows it: (open, entries).
pub async fn view(app: &TestApp) -> (bool, u64) {
    use crate::operability::{sample, scrape};
    let text = scrape(app).await;
    let read = |name: &str| -> f64 {
        sample(&text, name).unwrap_or_else(|| panic!("{name} not in /metrics"))
    };
    (
        read("rx_session_view_open") == 1.0,
        read("rx_session_view_entries") as u64,
    )
}

/// Renames the member behind `token` through the contract's operation.
async fn rename(app: &TestApp, token: &str, name: &str) {
    app.ok(
        Some(token),
        "UpdateProfile",
        json!({ "input": { "name": name } }),
    )
    .await;
}

/// Waits up to 3 s for the session view to be open (or closed).
async fn view_becomes(app: &TestApp, open: bool) {
    let start = Instant::now();
    while view(app).await.0 != open {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "the session view never became {}",
            if open { "open" } else { "closed" }
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A member registered and their session remembered: (the access token,
/// the member's id).
async fn remembered_sam(app: &TestApp) -> (String, String) {
    let (token, id) = app
        .register("sam@example.org", "Sam Stone", "Plumber")
        .await;
    me(app, &token).await;
    assert_eq!(me(app, &token).await.0, 0, "remembered");
    (token, id)
}

/// Refused as signed out (`code` would panic on an answer with no error).
fn refused(r: &Value) -> bool {
    r["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
}

db_test!(
    a_remembered_session_costs_no_statement_and_its_own_changes_show_at_once,
    |app: TestApp| async move {
        let (token, id) = app
            .register("sam@example.org", "Sam Stone", "Plumber")
            .await;
        // The first request reads the session (and records the member seen).
        let (first, r) = me(&app, &token).await;
        assert_eq!(r["data"]["me"]["name"], "Sam Stone", "{r:#}");
        assert!(first >= 1, "{first}");
        let (warm, r) = me(&app, &token).await;
        assert_eq!(r["data"]["me"]["id"], json!(id));
        assert_eq!(warm, 0, "authentication");
        // This server's own change shows on the very next request.
        rename(&app, &token, "Sam Stone-Gray").await;
        let (_, r) = me(&app, &token).await;
        assert_eq!(r["data"]["me"]["name"], "Sam Stone-Gray", "{r:#}");
        // And a sign-out refuses the token at once.
        me(&app, &token).await;
        assert_eq!(
            app.ok(Some(&token), "SignOut", json!({})).await["signOut"],
            true
        );
        let (_, r) = me(&app, &token).await;
        assert_eq!(code(&r), "UNAUTHENTICATED", "{r:#}");
        // Nothing of the member is left in the database's sessions that
        // could still be served: the next sign-in starts a new one.
        let again = app.sign_in("sam@example.org", PASSWORD).await;
        let token = again["data"]["signIn"]["accessToken"].as_str().unwrap();
        let (_, r) = me(&app, token).await;
        assert_eq!(r["data"]["me"]["name"], "Sam Stone-Gray", "{r:#}");
    }
);

crate::db_test_with!(
    the_session_view_can_be_turned_off,
    |s: &mut api::settings::Settings| s.session_cache_secs = 0,
    |app: TestApp| async move {
        let (token, _) = app
            .register("sam@example.org", "Sam Stone", "Plumber")
            .await;
        me(&app, &token).await;
        for _ in 0..3 {
            let (cost, r) = me(&app, &token).await;
            assert_eq!(r["data"]["me"]["name"], "Sam Stone", "{r:#}");
            assert_eq!(cost, 1, "the session read every time");
        }
    }
);

db_test!(
    changes_made_on_another_server_or_by_hand_reach_every_server,
    |app: TestApp| async move {
        // Two servers on one database (on SQLite, one file).
        let other = app.second_server().await;
        let (token, id) = app
            .register("sam@example.org", "Sam Stone", "Plumber")
            .await;
        // Remembered on both.
        for server in [&app, &other] {
            me(server, &token).await;
            assert_eq!(me(server, &token).await.0, 0);
        }
        // A profile edit on the first server reaches the second.
        rename(&app, &token, "Sam Stone-Gray").await;
        let took = reaches(&app, &other, &token, |r| {
            r["data"]["me"]["name"] == "Sam Stone-Gray"
        })
        .await;
        eprintln!("a rename reached the other server in {took:?}");
        // A change by hand in the database (another tool, an operator):
        // both servers hear it.
        for server in [&app, &other] {
            me(server, &token).await;
        }
        app.db
            .execute_unprepared(&format!(
                "UPDATE members SET name = 'Sam by Hand' WHERE id = '{id}'"
            ))
            .await
            .unwrap();
        for server in [&app, &other] {
            reaches(&app, server, &token, |r| {
                r["data"]["me"]["name"] == "Sam by Hand"
            })
            .await;
        }
        // A sign-out on the second server: the first refuses the token too.
        assert_eq!(me(&app, &token).await.0, 0, "remembered again");
        assert_eq!(
            other.ok(Some(&token), "SignOut", json!({})).await["signOut"],
            true
        );
        let took = reaches(&app, &app, &token, refused).await;
        eprintln!("a sign-out reached the other server in {took:?}");
    }
);

db_test!(
    the_cli_writing_behind_the_servers_back_takes_effect,
    |app: TestApp| async move {
        let c = crate::fixtures::chapter(&app, 1).await;
        let (token, _) = remembered_sam(&app).await;
        assert!(view(&app).await.0, "the view serves on both databases");
        let report = |token: String| {
            let app = &app;
            let vars = json!({ "groupId": c.group, "from": day(-30), "to": day(0) });
            async move { app.op(Some(&token), "GroupReport", vars).await }
        };
        assert_eq!(code(&report(token.clone()).await), "FORBIDDEN");
        assert_eq!(me(&app, &token).await.0, 0, "still remembered");
        // `create-admin` promotes Sam: its own connection writes the row,
        // and tells no server.
        api::cli::create_admin(
            &app.settings.database_url,
            "sam@example.org",
            "Sam Stone",
            "a new password for Sam".into(),
        )
        .await
        .expect("promoted");
        let start = Instant::now();
        loop {
            let r = report(token.clone()).await;
            if r.get("errors").is_none() {
                break;
            }
            assert_eq!(code(&r), "FORBIDDEN", "{r:#}");
            // SQLite sees the CLI's commit on the very next request.
            assert!(
                on_postgres(&app) && start.elapsed() < Duration::from_secs(3),
                "the promotion never took effect: {r:#}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // A commit about someone else: PostgreSQL forgets only that member;
        // SQLite cannot tell whom a commit was about and forgets everyone,
        // so Sam's next request reads his session again, once.
        me(&app, &token).await;
        assert_eq!(me(&app, &token).await.0, 0, "remembered");
        rename(&app, &c.members[0].token, "Member Zero-One").await;
        let (cost, r) = me(&app, &token).await;
        assert_eq!(r["data"]["me"]["name"], "Sam Stone", "{r:#}");
        assert_eq!(cost, if on_postgres(&app) { 0 } else { 1 });
        assert_eq!(me(&app, &token).await.0, 0, "remembered again");
    }
);

db_test!(
    a_lost_listener_forgets_every_session_until_it_listens_again,
    |app: TestApp| async move {
        if !on_postgres(&app) {
            eprintln!("SQLite listens for no notices");
            return;
        }
        let (token, id) = remembered_sam(&app).await;
        // Cut the server's listening connection, then revoke the session by
        // hand: its notice goes to nobody.
        assert_eq!(view(&app).await, (true, 1));
        app.cut_listener().await;
        app.db
            .execute_unprepared(&format!(
                "UPDATE refresh_families SET revoked_at = now() WHERE member_id = '{id}'"
            ))
            .await
            .unwrap();
        // As soon as the server knows its listener is gone it serves
        // nothing from memory (it reconnects after 100 ms at the soonest):
        // the revocation is seen at once, and still after the reconnect.
        view_becomes(&app, false).await;
        assert_eq!(view(&app).await, (false, 0));
        let (cost, r) = me(&app, &token).await;
        assert!(refused(&r), "{r:#}");
        assert_eq!(cost, 1, "read from the database");
        view_becomes(&app, true).await;
        assert!(refused(&me(&app, &token).await.1));
        // Listening again, it remembers sessions again.
        let again = app.sign_in("sam@example.org", PASSWORD).await;
        let fresh = again["data"]["signIn"]["accessToken"].as_str().unwrap();
        let start = Instant::now();
        loop {
            me(&app, fresh).await;
            if me(&app, fresh).await.0 == 0 {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the view never opened again"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
);

db_test!(
    without_its_triggers_the_view_stays_closed_and_own_changes_still_show,
    |app: TestApp| async move {
        if !on_postgres(&app) {
            eprintln!("SQLite's view watches its count of commits, not triggers");
            return;
        }
        let (token, _) = remembered_sam(&app).await;
        // With the triggers gone no change is announced: only the server's
        // own forgetting, after its commit, can show its changes.
        app.db
            .execute_unprepared(
                "DROP TRIGGER trg_members_session_changed ON members; \
                 DROP TRIGGER trg_refresh_families_session_changed ON refresh_families",
            )
            .await
            .unwrap();
        rename(&app, &token, "Sam Stone-Gray").await;
        let (_, r) = me(&app, &token).await;
        assert_eq!(r["data"]["me"]["name"], "Sam Stone-Gray", "{r:#}");
        assert_eq!(me(&app, &token).await.0, 0, "remembered again");
        app.ok(Some(&token), "SignOut", json!({})).await;
        let (_, r) = me(&app, &token).await;
        assert!(refused(&r), "{r:#}");
        // Listening anew, the server checks for the triggers and, without
        // them, keeps the view closed: every request reads its session.
        let cut = app.cut_listener().await;
        view_becomes(&app, false).await;
        let start = Instant::now();
        while !app.listeners().await.iter().any(|&pid| pid != cut) {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "never listened again"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // It opens (or not) right after its LISTEN returns.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let again = app.sign_in("sam@example.org", PASSWORD).await;
        let fresh = again["data"]["signIn"]["accessToken"].as_str().unwrap();
        for _ in 0..3 {
            let (cost, r) = me(&app, fresh).await;
            assert_eq!(r["data"]["me"]["name"], "Sam Stone-Gray", "{r:#}");
            assert_eq!(cost, 1, "the session read every time");
        }
        assert_eq!(view(&app).await, (false, 0));
    }
);
