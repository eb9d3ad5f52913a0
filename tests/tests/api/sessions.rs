//! The session view (issue 13): on PostgreSQL a remembered session costs
//! no statement, and every change to it or to its member — on this server,
//! another one, or by hand in the database — still takes effect: at once on
//! the server that made it, on the others when PostgreSQL's notice
//! arrives. SQLite keeps its one statement.

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

/// On PostgreSQL, a member registered and their session remembered: (the
/// access token, the member's id). None on SQLite, which remembers none.
async fn remembered_sam(app: &TestApp) -> Option<(String, String)> {
    if !on_postgres(app) {
        eprintln!("SQLite remembers no session");
        return None;
    }
    let (token, id) = app
        .register("sam@example.org", "Sam Stone", "Plumber")
        .await;
    me(app, &token).await;
    assert_eq!(me(app, &token).await.0, 0, "remembered");
    Some((token, id))
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
        // PostgreSQL's servers hear of every change; SQLite has writers
        // outside the server that it cannot hear, so it reads every time.
        assert_eq!(
            warm,
            if on_postgres(&app) { 0 } else { 1 },
            "authentication"
        );
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
        if !on_postgres(&app) {
            eprintln!("SQLite runs one server and remembers no session");
            return;
        }
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
        let took = until(&other, &token, |r| {
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
            until(server, &token, |r| r["data"]["me"]["name"] == "Sam by Hand").await;
        }
        // A sign-out on the second server: the first refuses the token too.
        assert_eq!(me(&app, &token).await.0, 0, "remembered again");
        assert_eq!(
            other.ok(Some(&token), "SignOut", json!({})).await["signOut"],
            true
        );
        let took = until(&app, &token, refused).await;
        eprintln!("a sign-out reached the other server in {took:?}");
    }
);

db_test!(
    a_lost_listener_forgets_every_session_until_it_listens_again,
    |app: TestApp| async move {
        let Some((token, id)) = remembered_sam(&app).await else {
            return;
        };
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
        let Some((token, _)) = remembered_sam(&app).await else {
            return;
        };
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
