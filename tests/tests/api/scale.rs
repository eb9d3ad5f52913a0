//! Several servers on one PostgreSQL database: pushes cross servers, a lost
//! listener says so, and rate limits stay per process (as documented). On
//! SQLite (one server by design) the cross-server tests have nothing to do.

use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::db_test;
use crate::fixtures::{chapter, give};
use crate::helpers::{TestApp, operation};
use crate::subscriptions::{Socket, connect, next_within as next, subscribe};

fn on_postgres(app: &TestApp) -> bool {
    let pg = app.settings.database_url.starts_with("postgres");
    if !pg {
        eprintln!("SQLite runs one server: nothing crosses servers there");
    }
    pg
}

/// A socket on `app` with `ReferralReceived` running as id "r".
async fn subscribed(app: &TestApp, token: &str) -> Socket {
    let mut socket = connect(app, Some(token)).await;
    assert_eq!(
        next(&mut socket, 10_000).await.unwrap()["type"],
        "connection_ack"
    );
    subscribe(&mut socket, "r", &operation("ReferralReceived")).await;
    socket
}

db_test!(
    a_referral_given_on_one_server_reaches_a_subscriber_on_another,
    |app: TestApp| async move {
        if !on_postgres(&app) {
            return;
        }
        let other = app.second_server().await;
        let c = chapter(&app, 2).await;
        let (giver, receiver) = (&c.members[0], &c.members[1]);
        let mut on_b = subscribed(&other, &receiver.token).await;
        let mut on_a = subscribed(&app, &receiver.token).await;
        let started = Instant::now();
        let id = give(&app, giver, &receiver.id).await;
        for socket in [&mut on_b, &mut on_a] {
            let push = next(socket, 1_000).await.expect("pushed within a second");
            assert_eq!(push["payload"]["data"]["referralReceived"]["id"], json!(id));
        }
        assert!(started.elapsed() < Duration::from_secs(2));
        // A write that fails at commit sends nothing: a deferred check in
        // this test database refuses one prospect's name when the
        // transaction commits, after its notice was issued inside it.
        app.db
            .execute_unprepared(
                "CREATE FUNCTION rx_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN IF NEW.prospect_name = 'Refused At Commit' THEN \
                 RAISE EXCEPTION 'refused at commit'; END IF; RETURN NEW; END $$; \
                 CREATE CONSTRAINT TRIGGER rx_test_refuse AFTER INSERT ON referrals \
                 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION rx_test_refuse();",
            )
            .await
            .unwrap();
        let mut vars = crate::fixtures::give_vars(&receiver.id, "PORTAL", None);
        vars["input"]["prospect"]["name"] = json!("Refused At Commit");
        let refused = app.op(Some(&giver.token), "GiveReferral", vars).await;
        assert_eq!(crate::helpers::code(&refused), "INTERNAL", "{refused:#}");
        for socket in [&mut on_b, &mut on_a] {
            let heard = next(socket, 1_000).await;
            assert!(
                heard.is_none(),
                "a push for a write that never was: {heard:?}"
            );
        }
        // And the next real one still arrives.
        let id = give(&app, giver, &receiver.id).await;
        let push = next(&mut on_b, 1_000).await.expect("pushed");
        assert_eq!(push["payload"]["data"]["referralReceived"]["id"], json!(id));
    }
);

db_test!(
    a_lost_listener_tells_subscribers_to_refetch,
    |app: TestApp| async move {
        if !on_postgres(&app) {
            return;
        }
        let c = chapter(&app, 2).await;
        let (giver, receiver) = (&c.members[0], &c.members[1]);
        let mut socket = subscribed(&app, &receiver.token).await;
        // Cut the server's listening connection from the database side.
        app.cut_listener().await;
        let signal = next(&mut socket, 5_000).await.expect("a refetch signal");
        assert_eq!(signal["type"], "next", "{signal}");
        assert_eq!(signal["id"], "r");
        let error = &signal["payload"]["errors"][0];
        assert_eq!(error["extensions"]["refetch"], true, "{signal}");
        assert_eq!(error["extensions"]["code"], "INTERNAL");
        // The listener is back: the next referral is pushed as before.
        let mut pushed = None;
        for _ in 0..20 {
            let id = give(&app, giver, &receiver.id).await;
            if let Some(push) = next(&mut socket, 500).await {
                pushed = Some((id, push));
                break;
            }
        }
        let (id, push) = pushed.expect("pushes resume after the reconnect");
        assert_eq!(push["payload"]["data"]["referralReceived"]["id"], json!(id));
    }
);

crate::db_test_with!(
    rate_limits_are_counted_per_server,
    |s: &mut api::settings::Settings| s.partners.rate_limit_per_ip_per_minute = 5,
    |app: TestApp| async move {
        // Per process, by design (README, "Running at scale"): N servers
        // allow N times the per-IP budget, so set it to limit ÷ servers.
        let other = app.second_server().await;
        for server in [&app, &other] {
            let mut answered = 0;
            for _ in 0..8 {
                let r = server
                    .client
                    .get(server.url("/graphql?query=%7B__typename%7D"))
                    .send()
                    .await
                    .unwrap();
                answered += u32::from(r.status() == 200);
            }
            assert_eq!(answered, 5, "each server spends its own budget");
        }
    }
);

db_test!(
    reports_read_from_a_replica_that_has_caught_up,
    |app: TestApp| async move {
        if !on_postgres(&app) {
            return;
        }
        let standby = std::env::var("RX_TEST_STANDBY_URL")
            .expect("RX_TEST_STANDBY_URL: scripts/with-postgres starts a streaming standby");
        let (_, name) = app.settings.database_url.rsplit_once('/').unwrap();
        let (prefix, _) = standby.rsplit_once('/').unwrap();
        let read_url = format!("{prefix}/{name}");
        // The test database reaches the standby by replication: behind every
        // database the suite's other tests create (each written whole to the
        // WAL), so allow it two minutes under the full suite's load.
        let mut tries = 0;
        while crate::helpers::connect_plain(&read_url).await.is_err() {
            tries += 1;
            assert!(tries < 1200, "the standby never got {name} in 120 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The test cluster commits asynchronously for speed; this database
        // commits as production must, so a commit is flushed (and can be
        // replicated) before it is acknowledged.
        app.db
            .execute_unprepared(&format!(
                "ALTER DATABASE {name} SET synchronous_commit = on"
            ))
            .await
            .unwrap();
        let reader = app
            .second_server_with(|s| s.database_read_urls = vec![read_url.clone()])
            .await;
        let c = chapter(&reader, 2).await;
        let (giver, receiver) = (&c.members[0], &c.members[1]);
        let vars = json!({ "groupId": c.group, "from": crate::helpers::day(-30), "to": crate::helpers::day(0) });
        let token = c.leader.token.clone();
        let report =
            async |server: &TestApp| server.ok(Some(&token), "GroupReport", vars.clone()).await;
        // Read-your-writes: a referral given is in the next report at once,
        // whether the replica or the primary answers it.
        for n in 1..=3 {
            give(&reader, giver, &receiver.id).await;
            let read = report(&reader).await;
            assert_eq!(read["groupReport"]["totals"]["given"], n, "{read:#}");
        }
        let read = report(&reader).await;
        assert_eq!(
            read,
            report(&app).await,
            "the replica's report is the primary's"
        );
        // Once caught up, the report runs on the replica: the primary sees
        // only the sign-in check and the WAL position.
        // The suite's other tests write to the same cluster all the while,
        // so the standby is caught up only between their commits: try for
        // up to 15 s, stopping at the first report it serves.
        let mut primary_statements = u64::MAX;
        for _ in 0..150 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let before = reader.statements.get();
            assert_eq!(report(&reader).await, read);
            primary_statements = primary_statements.min(reader.statements.get() - before);
            if primary_statements <= 2 {
                break;
            }
        }
        // The leader's page read from the replica still records the
        // leader's sign-in (stale after five minutes) on the primary: a
        // standby refuses writes.
        let linked = reader
            .gql(
                Some(&token),
                "mutation($g: ID!, $f: Date!, $t: Date!) { groupReportLink(groupId: $g, from: $f, to: $t) { path } }",
                json!({ "g": c.group, "f": crate::helpers::day(-30), "t": crate::helpers::day(0) }),
            )
            .await;
        let path = linked["data"]["groupReportLink"]["path"]
            .as_str()
            .unwrap_or_else(|| panic!("{linked:#}"))
            .to_string();
        let seen = format!(
            "SELECT last_seen_at IS NOT NULL FROM members WHERE id = '{}'",
            c.leader.id
        );
        let mut page_statements = u64::MAX;
        for _ in 0..150 {
            // Committed durably (this connection predates the database's
            // setting), so a replica that has caught up has it. A change of
            // `last_seen_at` alone is not announced to the servers' session
            // views (migration 8): announced here by hand, so the reader
            // reads the session again and sees it stale.
            app.db
                .execute_unprepared(&format!(
                    "BEGIN; SET LOCAL synchronous_commit = on; \
                     UPDATE members SET last_seen_at = NULL WHERE id = '{0}'; \
                     SELECT pg_notify('rx_session_changes', '{0}'); COMMIT",
                    c.leader.id
                ))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
            let before = reader.statements.get();
            let page = reader.client.get(reader.url(&path)).send().await.unwrap();
            let status = page.status();
            assert_eq!(status, 200, "{}", page.text().await.unwrap());
            page_statements = page_statements.min(reader.statements.get() - before);
            let row = app
                .db
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DatabaseBackend::Postgres,
                    seen.clone(),
                ))
                .await
                .unwrap()
                .unwrap();
            assert!(
                row.try_get_by_index::<bool>(0).unwrap(),
                "last sign-in not recorded"
            );
            // On the primary: the WAL position and the sign-in's record.
            if page_statements <= 2 {
                break;
            }
        }
        assert!(
            page_statements <= 2,
            "the replica never served the leader's page ({page_statements} statements on the primary)"
        );
        // A session read on the replica is not remembered: the replica may
        // not yet hold a change whose notice the server has already heard.
        // Told by hand to forget the leader's session (no change to it, so
        // the page writes nothing), the reader serves the page from the
        // replica and remembers no more sessions than before.
        let mut checked = false;
        for _ in 0..150 {
            app.db
                .execute_unprepared(&format!(
                    "SELECT pg_notify('rx_session_changes', '{}')",
                    c.leader.id
                ))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
            let (_, remembered) = crate::sessions::view(&reader).await;
            let before = reader.statements.get();
            let page = reader.client.get(reader.url(&path)).send().await.unwrap();
            assert_eq!(page.status(), 200);
            if reader.statements.get() - before <= 2 {
                assert_eq!(crate::sessions::view(&reader).await.1, remembered);
                checked = true;
                break;
            }
        }
        assert!(checked, "the replica never served the leader's page again");
        // With the standby stopped, reads go to the primary, and readyz says so.
        let stop = std::env::var("RX_TEST_STANDBY_STOP").unwrap();
        let user = std::env::var("RX_TEST_STANDBY_USER").unwrap_or_default();
        let status = if user.is_empty() {
            std::process::Command::new("sh")
                .args(["-c", &stop])
                .status()
        } else {
            std::process::Command::new("runuser")
                .args(["-u", &user, "--", "sh", "-c", &stop])
                .status()
        }
        .unwrap();
        assert!(status.success(), "stopping the standby");
        let before = reader.statements.get();
        let on_primary = report(&reader).await;
        let fallback_statements = reader.statements.get() - before;
        assert_eq!(on_primary, read);
        eprintln!(
            "group report: {primary_statements} statements on the primary with the replica, {fallback_statements} without"
        );
        assert!(
            primary_statements + 3 <= fallback_statements,
            "the replica took the report's statements: {primary_statements} on the primary with it, {fallback_statements} without"
        );
        let ready: Value = reader
            .client
            .get(reader.url("/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            ready,
            json!({ "status": "ready", "replicas": "down: reading from the primary" })
        );
    }
);
